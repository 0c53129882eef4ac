//! Node classification as one library call: a Planetoid data set by name, an
//! architecture with its published hyperparameters, several seeds, the summary
//! `cargo xtask train node` prints.
//!
//! ```no_run
//! use graph_models::recipe::{node_classification, NodeConfig};
//! use graph_models::Arch;
//!
//! let config = NodeConfig { arch: Arch::Gat, seeds: 3, ..NodeConfig::default() };
//! let summary = node_classification(&config)?;
//! println!("GAT on Cora: {:.2} ± {:.2} %", summary.test_acc_mean, summary.test_acc_std);
//! # Ok::<(), train_utils::TrainError>(())
//! ```

use serde::Serialize;
use tch::Device;
use train_utils::{Checkpointing, TrainError};

use crate::arch::{Arch, Hyperparams};
use crate::train::{train_node_with, NodeData, NodeRun};

/// What [`node_classification`] runs. `Default`: Kipf's GCN on Cora, 10
/// seeds, the published hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// The network.
    pub arch: Arch,
    /// `cora` or `citeseer` (Planetoid, public split), fetched through the
    /// verified mirror or URL.
    pub dataset: String,
    /// Graph layers (`None`: [`Arch::default_layers`]).
    pub layers: Option<usize>,
    /// Seeds `0..seeds` (at least one is run).
    pub seeds: u64,
    /// Training settings (`None`: [`Arch::hyperparams`], the published ones).
    pub hyper: Option<Hyperparams>,
    /// Clip the global gradient norm at this value.
    pub clip: Option<f64>,
    /// Checkpoints and resume.
    pub checkpointing: Checkpointing,
    /// Where to train.
    pub device: Device,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            arch: Arch::Gcn,
            dataset: "cora".into(),
            layers: None,
            seeds: 10,
            hyper: None,
            clip: None,
            checkpointing: Checkpointing::default(),
            device: Device::cuda_if_available(),
        }
    }
}

/// The result over seeds (the JSON of `train node --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeSummary {
    /// The architecture's short name.
    pub model: String,
    /// The data set.
    pub dataset: String,
    /// Graph layers.
    pub layers: usize,
    /// Mean test accuracy at the selected epochs, in percent.
    pub test_acc_mean: f64,
    /// Sample standard deviation of the test accuracies, in percent.
    pub test_acc_std: f64,
    /// Each seed's test accuracy, in percent.
    pub test_accs: Vec<f64>,
    /// Each seed's validation accuracy at the selected epoch, in percent.
    pub val_accs: Vec<f64>,
    /// Median wall time of one training step (forward, backward, Adam), ms.
    pub ms_per_epoch: f64,
    /// Seeds run.
    pub seeds: u64,
    /// The most epochs any seed ran.
    pub epochs: usize,
    /// The device, as tch prints it.
    pub device: String,
    /// libtorch's intra-op threads.
    pub threads: i32,
}

/// Loads a Planetoid data set by name onto `device`, features row-normalised.
pub fn load_planetoid(name: &str, device: Device) -> Result<NodeData, TrainError> {
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load(name, &fetcher)?;
    Ok(NodeData::from_dataset(ds, device)?)
}

/// Trains `config.arch` on `config.dataset` from seeds `0..config.seeds`,
/// each through `train_utils::Trainer` (checkpoints, resume, NaN guard), and
/// summarises the test accuracies at the selected epochs.
pub fn node_classification(config: &NodeConfig) -> Result<NodeSummary, TrainError> {
    if !matches!(config.dataset.as_str(), "cora" | "citeseer") {
        return Err(TrainError::Config(format!(
            "unknown node-classification data set `{}` (cora, citeseer)",
            config.dataset
        )));
    }
    let seeds = config.seeds.max(1);
    config.checkpointing.check(seeds)?;
    let data = load_planetoid(&config.dataset, config.device)?;
    let hyper = config.hyper.clone().unwrap_or_else(|| config.arch.hyperparams());
    let layers = config.layers.unwrap_or(config.arch.default_layers());
    let mut runs: Vec<NodeRun> = Vec::new();
    for seed in 0..seeds {
        let options = config
            .checkpointing
            .options(hyper.epochs, config.clip, seed, seeds);
        runs.push(train_node_with(
            config.arch,
            &data,
            &config.dataset,
            layers,
            seed,
            &hyper,
            options,
        )?);
    }
    let test_accs: Vec<f64> = runs.iter().map(|r| r.test_acc * 100.0).collect();
    let (mean, std) = train_utils::stats::mean_std(&test_accs);
    let times: Vec<f64> = runs.iter().flat_map(|r| r.epoch_ms.iter().copied()).collect();
    Ok(NodeSummary {
        model: config.arch.name().into(),
        dataset: config.dataset.clone(),
        layers,
        test_acc_mean: mean,
        test_acc_std: std,
        val_accs: runs.iter().map(|r| r.val_acc * 100.0).collect(),
        test_accs,
        ms_per_epoch: train_utils::stats::median(&times),
        seeds,
        epochs: runs.iter().map(|r| r.epochs).max().unwrap_or(0),
        device: format!("{:?}", config.device),
        threads: tch::get_num_threads(),
    })
}
