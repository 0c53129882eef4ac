//! Link prediction as one library call: Kipf and Welling's (2016) protocol on
//! Cora or CiteSeer (85 / 5 / 10 edge split by [`random_link_split`], input
//! features used, 200 epochs of Adam at 0.01), GAE, VGAE or GraphSAGE with
//! a Hadamard-product decoder, over seeds; the summary `cargo xtask train
//! link` prints.
//!
//! Two losses: [`LinkLoss::Dense`], Kipf's original (every pair of nodes,
//! positives `A + I` weighted by `pos_weight`, the default of GAE and VGAE,
//! as the paper trained), and [`LinkLoss::Sampled`], PyG's example (the
//! training edges against as many fresh uniform negatives each epoch).
//!
//! ```no_run
//! use graph_models::link_recipe::{link_prediction, LinkArch, LinkConfig};
//! let config = LinkConfig { model: LinkArch::Vgae, seeds: 3, ..LinkConfig::default() };
//! let s = link_prediction(&config)?;
//! println!("VGAE on Cora: AUC {:.4} ± {:.4}, AP {:.4}", s.auc_mean, s.auc_std, s.ap_mean);
//! # Ok::<(), train_utils::TrainError>(())
//! ```

use std::time::Instant;

use graph_data::link::metrics::{average_precision, roc_auc};
use graph_data::link::{random_link_split, LinkPart, NegativeSampler, SplitConfig};
use graph_data::EdgeList;
use serde::Serialize;
use serde_json::json;
use tch::{nn, Device, Kind, Tensor};
use train_utils::{Adam, Checkpointing, RunIdentity, TrainError, TrainOptions, Trainer};

use crate::arch::Arch;
use crate::features::NodeFeatures;
use crate::graph::Graph;
use crate::link::{
    dense_loss, sampled_loss, Decoder, EncoderDecoder, Gae, HadamardConfig, HadamardDecoder, LinkModel, Vgae,
};

/// The model of [`link_prediction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkArch {
    /// [`Gae`]: GCN encoder, inner-product decoder.
    Gae,
    /// [`Vgae`]: variational GCN encoder, inner-product decoder, KL term.
    Vgae,
    /// Two GraphSAGE layers and a [`HadamardDecoder`].
    Sage,
}

impl LinkArch {
    /// By name: `gae`, `vgae`, `sage`.
    pub fn parse(name: &str) -> Option<LinkArch> {
        match name {
            "gae" => Some(LinkArch::Gae),
            "vgae" => Some(LinkArch::Vgae),
            "sage" => Some(LinkArch::Sage),
            _ => None,
        }
    }

    /// The short name.
    pub fn name(self) -> &'static str {
        match self {
            LinkArch::Gae => "gae",
            LinkArch::Vgae => "vgae",
            LinkArch::Sage => "sage",
        }
    }

    /// The loss its published protocol trains with: dense for GAE and VGAE
    /// (Kipf and Welling), sampled for SAGE (its decoder scores pairs, not
    /// all of them at once).
    pub fn default_loss(self) -> LinkLoss {
        match self {
            LinkArch::Gae | LinkArch::Vgae => LinkLoss::Dense,
            LinkArch::Sage => LinkLoss::Sampled,
        }
    }
}

/// The training loss of [`link_prediction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkLoss {
    /// Training edges against as many uniform negatives, fresh each epoch
    /// ([`sampled_loss`], PyG's GAE example).
    Sampled,
    /// All pairs, Kipf's weighted reconstruction loss ([`dense_loss`]);
    /// inner-product decoders only.
    Dense,
}

impl LinkLoss {
    /// By name: `sampled`, `dense`.
    pub fn parse(name: &str) -> Option<LinkLoss> {
        match name {
            "sampled" => Some(LinkLoss::Sampled),
            "dense" => Some(LinkLoss::Dense),
            _ => None,
        }
    }

    /// The short name.
    pub fn name(self) -> &'static str {
        match self {
            LinkLoss::Sampled => "sampled",
            LinkLoss::Dense => "dense",
        }
    }
}

/// What [`link_prediction`] runs. `Default`: GAE on Cora, Kipf and
/// Welling's settings, 10 seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// The model.
    pub model: LinkArch,
    /// `cora` or `citeseer`.
    pub dataset: String,
    /// Seeds `0..seeds`; seed `s` draws both the split and the model.
    pub seeds: u64,
    /// Training epochs (200).
    pub epochs: usize,
    /// Adam's learning rate (0.01).
    pub lr: f64,
    /// Hidden width (32) and embedding width (16).
    pub hidden: i64,
    /// Embedding width.
    pub out: i64,
    /// The loss (`None`: [`LinkArch::default_loss`]).
    pub loss: Option<LinkLoss>,
    /// Row-normalise the features (Kipf's GAE code does not).
    pub normalize_features: bool,
    /// The edge split (its seed is replaced by each run's).
    pub split: SplitConfig,
    /// Checkpoints and resume.
    pub checkpointing: Checkpointing,
    /// Where to train.
    pub device: Device,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            model: LinkArch::Gae,
            dataset: "cora".into(),
            seeds: 10,
            epochs: 200,
            lr: 0.01,
            hidden: 32,
            out: 16,
            loss: None,
            normalize_features: false,
            split: SplitConfig {
                train_negatives: false,
                ..SplitConfig::default()
            },
            checkpointing: Checkpointing::default(),
            device: Device::cuda_if_available(),
        }
    }
}

/// The result over seeds (the JSON of `train link --json`). AUC and AP are
/// in [0, 1], on the test edges after the last epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkSummary {
    /// The model's short name.
    pub model: String,
    /// The data set.
    pub dataset: String,
    /// The loss's short name.
    pub loss: String,
    /// Mean test ROC AUC.
    pub auc_mean: f64,
    /// Sample standard deviation of the test ROC AUCs.
    pub auc_std: f64,
    /// Mean test average precision.
    pub ap_mean: f64,
    /// Sample standard deviation of the test APs.
    pub ap_std: f64,
    /// Each seed's test ROC AUC.
    pub aucs: Vec<f64>,
    /// Each seed's test AP.
    pub aps: Vec<f64>,
    /// Each seed's validation ROC AUC.
    pub val_aucs: Vec<f64>,
    /// Median wall time of one training step (negatives, forward, backward, Adam), ms.
    pub ms_per_epoch: f64,
    /// Seeds run.
    pub seeds: u64,
    /// Epochs per seed.
    pub epochs: usize,
    /// The device, as tch prints it.
    pub device: String,
    /// libtorch's intra-op threads.
    pub threads: i32,
}

/// One seed's result.
#[derive(Debug, Clone)]
pub struct LinkRun {
    /// Test ROC AUC.
    pub test_auc: f64,
    /// Test AP.
    pub test_ap: f64,
    /// Validation ROC AUC.
    pub val_auc: f64,
    /// Validation AP.
    pub val_ap: f64,
    /// Wall time of each training step, ms.
    pub epoch_ms: Vec<f64>,
}

fn ids(v: &[u32], device: Device) -> Tensor {
    Tensor::from_slice(&v.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(device)
}

fn graph_of(edges: &EdgeList, device: Device) -> Result<Graph, TrainError> {
    Ok(Graph::new(
        &edges.edge_index().to_device(device),
        edges.num_nodes as i64,
    )?)
}

/// ROC AUC and AP of a part's positives against its negatives.
pub fn score_part(
    model: &dyn LinkModel,
    x: &NodeFeatures,
    graph: &Graph,
    part: &LinkPart,
) -> Result<(f64, f64), TrainError> {
    let device = graph.device();
    tch::no_grad(|| {
        let z = model.f_encode(x, graph, false)?.z;
        let logits = |e: &EdgeList| -> Result<Vec<f64>, TrainError> {
            let l = model.f_decode(&z, &ids(&e.src, device), &ids(&e.dst, device))?;
            Ok(Vec::<f64>::try_from(
                &l.to_kind(Kind::Double).to_device(Device::Cpu),
            )?)
        };
        let (pos, neg) = (logits(&part.pos)?, logits(&part.neg)?);
        Ok((roc_auc(&pos, &neg)?, average_precision(&pos, &neg)?))
    })
}

/// Builds `config.model` for `in_dim` input features under `p`.
pub fn build_link_model(
    config: &LinkConfig,
    p: &nn::Path,
    in_dim: i64,
) -> Result<Box<dyn LinkModel>, TrainError> {
    Ok(match config.model {
        LinkArch::Gae => Box::new(Gae::f_new(p, in_dim, config.hidden, config.out)?),
        LinkArch::Vgae => Box::new(Vgae::f_new(p, in_dim, config.hidden, config.out)?),
        LinkArch::Sage => Box::new(EncoderDecoder {
            encoder: Arch::Sage.f_build(p / "encoder", in_dim, config.out.max(2), 2)?,
            decoder: Decoder::Hadamard(HadamardDecoder::f_new(
                p / "decoder",
                config.out.max(2),
                HadamardConfig::default(),
            )?),
        }),
    })
}

/// Trains one seed on a loaded data set: split, model, `config.epochs`
/// epochs through `train_utils::Trainer` (checkpoints, resume, NaN guard),
/// then validation and test scores.
pub fn train_link(
    config: &LinkConfig,
    ds: &graph_data::dataset::NodeDataset,
    x: &NodeFeatures,
    seed: u64,
    options: TrainOptions,
) -> Result<LinkRun, TrainError> {
    let device = config.device;
    let loss_kind = config.loss.unwrap_or(config.model.default_loss());
    let split = random_link_split(
        &ds.edges,
        &SplitConfig {
            seed,
            ..config.split.clone()
        },
    )?;
    let n = ds.num_nodes() as i64;
    let train_graph = graph_of(&split.train.message, device)?;
    let (pos_src, pos_dst) = (
        ids(&split.train.pos.src, device),
        ids(&split.train.pos.dst, device),
    );
    let negatives = NegativeSampler::new(&split.train.message, split.undirected)?;
    let dense_label = (loss_kind == LinkLoss::Dense).then(|| {
        let mut label = Tensor::eye(n, (Kind::Float, device));
        let ei = split.train.message.edge_index().to_device(device);
        let _ = label.index_put_(
            &[Some(ei.get(0)), Some(ei.get(1))],
            &Tensor::from(1f32).to_device(device),
            false,
        );
        label
    });

    train_utils::determinism::seed_everything(seed);
    let vs = nn::VarStore::new(device);
    let model = build_link_model(config, &vs.root(), x.shape()[1])?;
    if loss_kind == LinkLoss::Dense && !model.inner_product() {
        return Err(TrainError::Config(format!(
            "the dense loss needs an inner-product decoder; {} has none (use --loss sampled)",
            config.model.name()
        )));
    }
    let identity = RunIdentity::new(
        format!("link-{}", config.model.name()),
        json!({"loss": loss_kind.name(), "lr": config.lr, "hidden": config.hidden, "out": config.out,
               "normalize_features": config.normalize_features, "split": format!("{:?}", config.split)}),
        ds.name.clone(),
        train_utils::data_checksum(&[&x.to_dense(), train_graph.edge_index()]),
        seed,
    );
    let mut trainer = Trainer::new(&vs, Adam::new(config.lr), identity, options);
    let mut epoch_ms = Vec::new();
    trainer.run(|epoch| -> Result<f64, TrainError> {
        let start = Instant::now();
        let enc = model.f_encode(x, &train_graph, true)?;
        let mut loss = match &dense_label {
            Some(label) => dense_loss(&enc.z, label),
            None => {
                let key = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch.index() as u64;
                let neg = negatives.sample(split.train.pos.len(), key)?;
                let pos_logits = model.f_decode(&enc.z, &pos_src, &pos_dst)?;
                let neg_logits = model.f_decode(&enc.z, &ids(&neg.src, device), &ids(&neg.dst, device))?;
                sampled_loss(&pos_logits, &neg_logits)
            }
        };
        if let Some(kl) = &enc.kl {
            loss += kl / n as f64;
        }
        epoch.step(&loss)?;
        epoch_ms.push(start.elapsed().as_secs_f64() * 1e3);
        Ok(loss.f_double_value(&[])?)
    })?;
    let (val_auc, val_ap) = score_part(
        model.as_ref(),
        x,
        &graph_of(&split.val.message, device)?,
        &split.val,
    )?;
    let (test_auc, test_ap) = score_part(
        model.as_ref(),
        x,
        &graph_of(&split.test.message, device)?,
        &split.test,
    )?;
    Ok(LinkRun {
        test_auc,
        test_ap,
        val_auc,
        val_ap,
        epoch_ms,
    })
}

/// Trains `config.model` on `config.dataset` from seeds `0..config.seeds`
/// and summarises the test ROC AUC and AP.
pub fn link_prediction(config: &LinkConfig) -> Result<LinkSummary, TrainError> {
    if !matches!(config.dataset.as_str(), "cora" | "citeseer") {
        return Err(TrainError::Config(format!(
            "unknown link-prediction data set `{}` (cora, citeseer)",
            config.dataset
        )));
    }
    let seeds = config.seeds.max(1);
    config.checkpointing.check(seeds)?;
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let mut ds = graph_data::planetoid::load(&config.dataset, &fetcher)?;
    if config.normalize_features {
        ds.normalize_features();
    }
    let x = NodeFeatures::from_features(&ds.features, config.device);
    let mut runs = Vec::new();
    for seed in 0..seeds {
        let options = config.checkpointing.options(config.epochs, None, seed, seeds);
        runs.push(train_link(config, &ds, &x, seed, options)?);
    }
    let aucs: Vec<f64> = runs.iter().map(|r| r.test_auc).collect();
    let aps: Vec<f64> = runs.iter().map(|r| r.test_ap).collect();
    let (auc_mean, auc_std) = train_utils::stats::mean_std(&aucs);
    let (ap_mean, ap_std) = train_utils::stats::mean_std(&aps);
    let times: Vec<f64> = runs.iter().flat_map(|r| r.epoch_ms.iter().copied()).collect();
    Ok(LinkSummary {
        model: config.model.name().into(),
        dataset: config.dataset.clone(),
        loss: config.loss.unwrap_or(config.model.default_loss()).name().into(),
        auc_mean,
        auc_std,
        ap_mean,
        ap_std,
        aucs,
        aps,
        val_aucs: runs.iter().map(|r| r.val_auc).collect(),
        ms_per_epoch: train_utils::stats::median(&times),
        seeds,
        epochs: config.epochs,
        device: format!("{:?}", config.device),
        threads: tch::get_num_threads(),
    })
}
