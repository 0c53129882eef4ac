//! `seqgraph train temporal`: graph recurrent forecasters on real sensor
//! graphs with published protocols (PyG Temporal's Chickenpox recipe, T-GCN's
//! Los-loop protocol), over several seeds.
//!
//! Training goes through `train_utils::Trainer`: `--checkpoint PATH` saves
//! parameters and Adam's state every `--checkpoint-every` epochs, after the
//! last one and on Ctrl-C; `--resume PATH` continues bit for bit (CPU) and
//! refuses a checkpoint of another model, config, seed or data; a NaN or Inf
//! loss or gradient stops the run naming the epoch and the parameter.

use anyhow::{Context, Result};
use clap::Parser;
use graph_data::fetch::Fetcher;
use hybrid::recipe::{self, Prepared, RunResult, CHICKENPOX_FIT};
use hybrid::Forecaster;
use hybrid::{FitConfig, Loss, ModelConfig, ModelKind};
use serde_json::json;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};
use train_utils::{Adam, RunIdentity, TrainOptions, Trainer};

#[derive(Parser, Debug)]
#[command(
    name = "seqgraph train temporal",
    about = "Train a graph recurrent forecaster"
)]
struct Args {
    /// dcrnn, gconvgru, gconvlstm, tgcn, a3tgcn, stgcn, graphwavenet or dcrnn-seq2seq.
    #[arg(long, default_value = "dcrnn")]
    model: String,
    /// chickenpox (PyG Temporal's recipe) or los-loop (T-GCN's protocol).
    #[arg(long, default_value = "chickenpox")]
    dataset: String,
    /// Number of seeds (1, 2, ...); mean and standard deviation are reported.
    #[arg(long, default_value_t = 1)]
    seeds: i64,
    /// Epochs (default: 200 on Chickenpox as PGT, 100 on Los-loop).
    #[arg(long)]
    epochs: Option<usize>,
    /// Hidden size (default: 32 on Chickenpox as PGT, 64 on Los-loop as T-GCN; Graph WaveNet 32, its paper's residual channels).
    #[arg(long)]
    hidden: Option<i64>,
    /// Filter size K (diffusion terms or Chebyshev order; default 1 on Chickenpox as PGT, 2 on Los-loop;
    /// 3 for stgcn and graphwavenet, their papers' Ks = 3 and diffusion order 2).
    #[arg(long)]
    k: Option<i64>,
    /// Steps forecast on Los-loop (default 12, reported at 3, 6, 9, 12; T-GCN trains one model per
    /// horizon, e.g. 3 for its 15-minute numbers).
    #[arg(long)]
    horizon: Option<i64>,
    /// libtorch's intra-op threads (default: libtorch's choice). Small graphs train fastest on 1.
    #[arg(long)]
    threads: Option<i32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Adam's learning rate (default: the protocol's).
    #[arg(long)]
    lr: Option<f64>,
    /// Save checkpoints here (with several seeds: NAME.seedS.EXT), also on Ctrl-C.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Save a checkpoint every this many epochs (0: only after the last epoch and on Ctrl-C).
    #[arg(long, default_value_t = 0)]
    checkpoint_every: usize,
    /// Continue from this checkpoint (one seed only; the checkpoint must be of the same run).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Clip the global gradient norm at this value.
    #[arg(long)]
    clip: Option<f64>,
}

/// The checkpoint path of seed `seed`: `path` itself for a single seed.
fn seed_path(path: &Path, seed: i64, seeds: i64) -> PathBuf {
    if seeds <= 1 {
        return path.to_owned();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
    let name = match ext {
        Some(e) => format!("{stem}.seed{seed}.{e}"),
        None => format!("{stem}.seed{seed}"),
    };
    path.with_file_name(name)
}

/// What a checkpoint of this run must match: the model, every size and
/// training setting except the epoch count (a run may be extended), the data
/// (checksum of the train and test tensors) and the seed.
fn identity(data: &Prepared, config: &ModelConfig, fit: &FitConfig, seed: i64) -> RunIdentity {
    let c = config;
    RunIdentity::new(
        c.kind.name(),
        json!({
            "in_features": c.in_features, "hidden": c.hidden, "k": c.k, "periods": c.periods,
            "horizon": c.horizon, "lr": fit.lr, "weight_decay": fit.weight_decay,
            "batch_size": fit.batch_size, "loss": format!("{:?}", fit.loss),
        }),
        data.dataset.clone(),
        train_utils::data_checksum(&[&data.train.x, &data.train.y, &data.test.x, &data.test.y]),
        seed as u64,
    )
}

fn loss_of(loss: Loss, pred: &Tensor, y: &Tensor) -> Result<Tensor> {
    Ok(match loss {
        Loss::Mse => (pred - y).square().mean(Kind::Float),
        Loss::MaskedMae => hybrid::metrics::masked_mae_loss(pred, y, hybrid::Mask::Zeros)?,
    })
}

/// `hybrid::recipe::run` with the training safety net: builds the model with
/// `seed`, trains it (Adam as PyTorch's, shuffled batches, checkpoints, NaN
/// guard), then evaluates it on the test samples.
fn run_seed(
    data: &Prepared,
    config: &ModelConfig,
    fit: &FitConfig,
    seed: i64,
    device: Device,
    options: TrainOptions,
) -> Result<RunResult> {
    train_utils::determinism::seed_everything(seed as u64);
    let vs = nn::VarStore::new(device);
    let model = Forecaster::new(vs.root(), config)?;
    let graph = data.graph.to_device(device);
    let train = data.train.to_device(device);
    let adam = Adam::new(fit.lr).with_weight_decay(fit.weight_decay);
    let mut trainer = Trainer::new(&vs, adam, identity(data, config, fit, seed), options);
    let n = train.len();
    anyhow::ensure!(n > 0, "no training samples");
    let batch = fit.batch_size.unwrap_or(n).clamp(1, n);
    let report = trainer.run(|epoch| -> Result<f64> {
        let order = (batch < n).then(|| epoch.permutation(n, device));
        let (mut total, mut steps) = (0.0, 0);
        let batches_per_epoch = (n as usize).div_ceil(batch as usize);
        for first in (0..n).step_by(batch as usize) {
            let len = batch.min(n - first);
            let (x, y) = match &order {
                Some(o) => {
                    let idx = o.narrow(0, first, len);
                    (train.x.index_select(0, &idx), train.y.index_select(0, &idx))
                }
                None => (train.x.shallow_clone(), train.y.shallow_clone()),
            };
            let batches_seen = epoch.index() * batches_per_epoch + steps;
            let loss = loss_of(
                fit.loss,
                &model.f_forward_train(&x, &graph, &y, batches_seen)?,
                &y,
            )?;
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
            steps += 1;
        }
        Ok(total / steps as f64)
    })?;
    let final_loss = report.losses.last().copied().unwrap_or(f64::NAN);
    Ok(recipe::evaluate(
        &model,
        &graph,
        data,
        device,
        report.seconds_per_epoch,
        final_loss,
    )?)
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Runs the command with the words after its name.
pub fn run(args: &[String]) -> Result<()> {
    let a = Args::try_parse_from(std::iter::once("temporal".to_owned()).chain(args.iter().cloned()))?;
    let kind: ModelKind = a.model.parse()?;
    if let Some(t) = a.threads {
        tch::set_num_threads(t);
    }
    let fetcher = Fetcher::from_env();
    let chickenpox = match a.dataset.as_str() {
        "chickenpox" => true,
        "los-loop" | "los_loop" => false,
        other => anyhow::bail!("unknown data set `{other}` (chickenpox, los-loop)"),
    };
    let convolutional = matches!(kind, ModelKind::Stgcn | ModelKind::GraphWaveNet);
    let default_k = |recurrent_k: i64| a.k.unwrap_or(if convolutional { 3 } else { recurrent_k });
    let default_hidden = |hidden: i64| {
        a.hidden.unwrap_or(if kind == ModelKind::GraphWaveNet {
            32
        } else {
            hidden
        })
    };
    let (data, fit_config, hidden, k): (Prepared, FitConfig, i64, i64) = if chickenpox {
        let signal = match graph_data::pgt::load("chickenpox", &fetcher).context("loading Chickenpox")? {
            graph_data::pgt::Signal::Static(s) => s,
            graph_data::pgt::Signal::Dynamic(_) => anyhow::bail!("Chickenpox should have a static graph"),
        };
        let fit = FitConfig {
            epochs: a.epochs.unwrap_or(CHICKENPOX_FIT.epochs),
            ..CHICKENPOX_FIT
        };
        (
            recipe::chickenpox(&signal, kind, 4, 0.2)?,
            fit,
            default_hidden(32),
            default_k(1),
        )
    } else {
        let signal = graph_data::tabular::load_los_loop(&fetcher).context("loading Los-loop")?;
        // T-GCN: Adam 0.001, batch 32, L2 1.5e-3 (their loss adds it; Adam's weight decay is the same term).
        let fit = FitConfig {
            epochs: a.epochs.unwrap_or(100),
            lr: 0.001,
            weight_decay: 0.0,
            batch_size: Some(32),
            loss: Loss::Mse,
        };
        (
            recipe::los_loop(&signal, kind, 12, a.horizon.unwrap_or(12))?,
            fit,
            default_hidden(64),
            default_k(2),
        )
    };
    let config = ModelConfig {
        kind,
        in_features: data.in_features,
        hidden,
        k,
        periods: data.periods,
        nodes: data.nodes(),
        horizon: data.horizon,
    };
    let fit_config = FitConfig {
        lr: a.lr.unwrap_or(fit_config.lr),
        ..fit_config
    };
    if a.resume.is_some() && a.seeds > 1 {
        anyhow::bail!("--resume continues one run: use it with --seeds 1");
    }
    let device = Device::cuda_if_available();
    let mut runs: Vec<RunResult> = Vec::new();
    for seed in 1..=a.seeds.max(1) {
        let options = TrainOptions {
            epochs: fit_config.epochs,
            checkpoint: a.checkpoint.as_deref().map(|p| seed_path(p, seed, a.seeds)),
            checkpoint_every: a.checkpoint_every,
            resume: a.resume.clone(),
            clip: a.clip,
            catch_interrupt: a.checkpoint.is_some(),
        };
        let r = run_seed(&data, &config, &fit_config, seed, device, options)?;
        if !a.json {
            println!(
                "seed {seed}: test MSE {:.4} MAE {:.4} RMSE {:.4} (persistence MSE {:.4}), {:.4} s/epoch",
                r.test.mse, r.test.mae, r.test.rmse, r.persistence.mse, r.seconds_per_epoch
            );
        }
        runs.push(r);
    }
    let stat = |f: &dyn Fn(&RunResult) -> f64| mean_std(&runs.iter().map(f).collect::<Vec<_>>());
    let (mse, mse_std) = stat(&|r| r.test.mse);
    let (mae, mae_std) = stat(&|r| r.test.mae);
    let (rmse, rmse_std) = stat(&|r| r.test.rmse);
    let (mape, _) = stat(&|r| r.test.mape);
    let (spe, _) = stat(&|r| r.seconds_per_epoch);
    let horizons: Vec<_> = (0..data.horizon as usize)
        .filter(|h| data.horizon == 1 || (h + 1) % 3 == 0)
        .map(|h| {
            let (hmae, _) = stat(&|r| r.per_horizon[h].mae);
            let (hrmse, _) = stat(&|r| r.per_horizon[h].rmse);
            let (hmape, _) = stat(&|r| r.per_horizon[h].mape);
            let base = &runs[0].persistence_per_horizon[h];
            json!({"step": h + 1, "mae": hmae, "rmse": hrmse, "mape": hmape,
                   "persistence_mae": base.mae, "persistence_rmse": base.rmse})
        })
        .collect();
    let base = &runs[0].persistence;
    let out = json!({
        "model": kind.name(),
        "dataset": data.dataset,
        "horizon": data.horizon,
        "mae": mae, "mae_std": mae_std,
        "rmse": rmse, "rmse_std": rmse_std,
        "mse": mse, "mse_std": mse_std,
        "mape": mape,
        "seeds": runs.len(),
        "s_per_epoch": spe,
        "epochs": fit_config.epochs,
        "hidden": hidden,
        "k": k,
        "per_horizon": horizons,
        "persistence": {"mae": base.mae, "rmse": base.rmse, "mse": base.mse},
        "device": format!("{device:?}"),
        "threads": tch::get_num_threads(),
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "{} on {}: test MSE {mse:.4} ± {mse_std:.4}, MAE {mae:.4} ± {mae_std:.4}, RMSE {rmse:.4} ± {rmse_std:.4} \
             over {} seeds, {spe:.4} s/epoch; persistence MSE {:.4}",
            kind.name(),
            data.dataset,
            runs.len(),
            base.mse
        );
        if data.horizon > 1 {
            println!(
                "per horizon step: {}",
                serde_json::to_string(&out["per_horizon"])?
            );
        }
    }
    Ok(())
}
