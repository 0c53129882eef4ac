//! `seqgraph train temporal`: graph recurrent forecasters on real sensor
//! graphs with published protocols (PyG Temporal's Chickenpox recipe, T-GCN's
//! Los-loop protocol) and on flu_bybw and england_covid (a graph per day)
//! against the persistence and historical-average baselines, over several
//! seeds. With a validation tail (`--val-fraction`, default 0.1 except on
//! Chickenpox) the parameters of the epoch with the best validation RMSE are
//! kept, and `--patience` stops after that many epochs without improvement.
//!
//! Training goes through `train_utils::Trainer`: `--checkpoint PATH` saves
//! parameters and Adam's state every `--checkpoint-every` epochs, after the
//! last one and on Ctrl-C; `--resume PATH` continues bit for bit (CPU) and
//! refuses a checkpoint of another model, config, seed or data; a NaN or Inf
//! loss or gradient stops the run naming the epoch and the parameter.

use anyhow::{Context, Result};
use clap::Parser;
use graph_data::fetch::Fetcher;
use hybrid::recipe::{self, Part, Prepared, RunResult, CHICKENPOX_FIT};
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
    /// chickenpox (PyG Temporal's recipe), los-loop (T-GCN's protocol), flu-bybw or england-covid.
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
    /// Adam's weight decay (L2 on every parameter; default 0).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Samples per optimiser step (default: the protocol's; Los-loop 32 as T-GCN).
    #[arg(long)]
    batch_size: Option<i64>,
    /// Fraction of the training windows (the chronological tail) held out for
    /// model selection (default 0.1; 0 on Chickenpox, whose recipe has none).
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Stop after this many epochs without a better validation RMSE (0: never).
    #[arg(long, default_value_t = 0)]
    patience: usize,
    /// Input steps (default: 12 on Los-loop, 8 weeks on flu-bybw, 8 days (lags) on england-covid).
    #[arg(long)]
    t_in: Option<i64>,
    /// Head: `relu` (ReLU then linear, PyG Temporal's recipes) or `linear`
    /// (T-GCN's regressor). Default: linear on Los-loop, relu elsewhere.
    #[arg(long)]
    head: Option<String>,
    /// Los-loop and flu-bybw scaling: `max` (divided by the maximum: of the
    /// whole series on Los-loop as T-GCN, of the training part on flu-bybw) or
    /// `zscore` (the training part's mean and standard deviation).
    #[arg(long)]
    scaling: Option<String>,
    /// Print each epoch's training loss and validation RMSE to stderr.
    #[arg(long)]
    verbose: bool,
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

/// The head and the model selection of a run.
#[derive(Debug, Clone, Copy)]
struct Selection {
    /// ReLU before the linear head.
    relu: bool,
    /// Epochs without a better validation RMSE before stopping (0: never).
    patience: usize,
    /// Print each epoch.
    verbose: bool,
}

/// One seed's result and its model selection.
struct SeedRun {
    result: RunResult,
    /// 1-based epoch whose parameters were kept (the last without validation).
    best_epoch: usize,
    /// Epochs trained.
    epochs_run: usize,
    /// Validation RMSE of the kept parameters.
    val_rmse: Option<f64>,
}

/// `hybrid::recipe::run` with the training safety net: builds the model with
/// `seed`, trains it (Adam as PyTorch's, shuffled batches, checkpoints, NaN
/// guard; on a dynamic graph one sample at a time with its own graphs, the
/// batch's losses averaged), keeps the parameters of the best validation
/// epoch when there is a validation part, then evaluates on the test samples.
fn run_seed(
    data: &Prepared,
    config: &ModelConfig,
    fit: &FitConfig,
    select: Selection,
    seed: i64,
    device: Device,
    options: TrainOptions,
) -> Result<SeedRun> {
    let Selection {
        relu,
        patience,
        verbose,
    } = select;
    train_utils::determinism::seed_everything(seed as u64);
    let vs = nn::VarStore::new(device);
    let model = Forecaster::with_relu(vs.root(), config, relu)?;
    let graph = data.graph.to_device(device);
    let train = data.train.to_device(device);
    let sample_graphs: Option<Vec<hybrid::Graph>> = data
        .graphs(Part::Train)
        .map(|g| g.iter().map(|g| g.to_device(device)).collect());
    let adam = Adam::new(fit.lr).with_weight_decay(fit.weight_decay);
    let mut trainer = Trainer::new(&vs, adam, identity(data, config, fit, seed), options);
    let n = train.len();
    anyhow::ensure!(n > 0, "no training samples");
    let batch = fit.batch_size.unwrap_or(n).clamp(1, n);
    let params: Vec<Tensor> = vs.trainable_variables();
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut epochs_run = 0;
    let report = trainer.run(|epoch| -> Result<f64> {
        let order = (batch < n).then(|| epoch.permutation(n, device));
        let (mut total, mut steps) = (0.0, 0);
        let batches_per_epoch = (n as usize).div_ceil(batch as usize);
        for first in (0..n).step_by(batch as usize) {
            let len = batch.min(n - first);
            let idx = match &order {
                Some(o) => o.narrow(0, first, len),
                None => Tensor::arange_start(first, first + len, (Kind::Int64, device)),
            };
            let batches_seen = epoch.index() * batches_per_epoch + steps;
            let loss = match &sample_graphs {
                None => {
                    let (x, y) = (train.x.index_select(0, &idx), train.y.index_select(0, &idx));
                    loss_of(
                        fit.loss,
                        &model.f_forward_train(&x, &graph, &y, batches_seen)?,
                        &y,
                    )?
                }
                Some(graphs) => {
                    // Each sample has its own graphs: the batch's mean loss, sample by sample.
                    let losses = Vec::<i64>::try_from(&idx)?
                        .into_iter()
                        .map(|i| {
                            let (x, y) = (train.x.narrow(0, i, 1), train.y.narrow(0, i, 1));
                            let pred = model.f_forward_train(&x, &graphs[i as usize], &y, batches_seen)?;
                            loss_of(fit.loss, &pred, &y)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Tensor::stack(&losses, 0).mean(Kind::Float)
                }
            };
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
            steps += 1;
        }
        epochs_run = epoch.index() + 1;
        if data.val.is_some() {
            let rmse = recipe::score(&model, &graph, data, Part::Val, device)?.rmse;
            let improved = best.as_ref().is_none_or(|(b, _, _)| rmse < *b);
            if verbose {
                eprintln!(
                    "epoch {}: train loss {:.6}, validation RMSE {rmse:.4}",
                    epoch.index() + 1,
                    total / steps as f64
                );
            }
            if improved {
                let copy = tch::no_grad(|| params.iter().map(|p| p.detach().copy()).collect());
                best = Some((rmse, epoch.index() + 1, copy));
            } else if patience > 0 && epoch.index() + 1 >= best.as_ref().map_or(0, |b| b.1) + patience {
                epoch.stop();
            }
        }
        Ok(total / steps as f64)
    })?;
    let (best_epoch, val_rmse) = match best {
        Some((rmse, at, saved)) => {
            tch::no_grad(|| {
                for (p, s) in params.iter().zip(&saved) {
                    p.shallow_clone().copy_(s);
                }
            });
            (at, Some(rmse))
        }
        None => (epochs_run, None),
    };
    let final_loss = report.losses.last().copied().unwrap_or(f64::NAN);
    let result = recipe::evaluate(&model, &graph, data, device, report.seconds_per_epoch, final_loss)?;
    Ok(SeedRun {
        result,
        best_epoch,
        epochs_run,
        val_rmse,
    })
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
    let dataset = match a.dataset.as_str() {
        "chickenpox" => "chickenpox",
        "los-loop" | "los_loop" => "los-loop",
        "flu-bybw" | "flu_bybw" => "flu-bybw",
        "england-covid" | "england_covid" => "england-covid",
        other => anyhow::bail!("unknown data set `{other}` (chickenpox, los-loop, flu-bybw, england-covid)"),
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
    let val_fraction = a.val_fraction.unwrap_or(0.1);
    anyhow::ensure!(
        (0.0..0.9).contains(&val_fraction),
        "--val-fraction must be in [0, 0.9), got {val_fraction}"
    );
    // Windowed protocols: Adam 0.001 (T-GCN), MSE, shuffled batches.
    let windowed = |epochs: usize, batch: i64| FitConfig {
        epochs: a.epochs.unwrap_or(epochs),
        lr: 0.001,
        weight_decay: 0.0,
        batch_size: Some(a.batch_size.unwrap_or(batch)),
        loss: Loss::Mse,
    };
    let scaling = match a.scaling.as_deref() {
        None | Some("max") => recipe::Scaling::Max,
        Some("zscore") => recipe::Scaling::ZScore,
        Some(other) => anyhow::bail!("unknown scaling `{other}` (max, zscore)"),
    };
    let (data, fit_config, hidden, k, protocol): (Prepared, FitConfig, i64, i64, String) = match dataset {
        "chickenpox" => {
            let signal = match graph_data::pgt::load("chickenpox", &fetcher).context("loading Chickenpox")? {
                graph_data::pgt::Signal::Static(s) => s,
                graph_data::pgt::Signal::Dynamic(_) => anyhow::bail!("Chickenpox should have a static graph"),
            };
            let fit = FitConfig {
                epochs: a.epochs.unwrap_or(CHICKENPOX_FIT.epochs),
                batch_size: a.batch_size.or(CHICKENPOX_FIT.batch_size),
                ..CHICKENPOX_FIT
            };
            let mut data = recipe::chickenpox(&signal, kind, 4, 0.2)?;
            if a.val_fraction.is_some_and(|f| f > 0.0) {
                anyhow::bail!("Chickenpox follows PGT's recipe, which has no validation part");
            }
            data.val = None;
            let protocol = "PyG Temporal's recipe: lags 4 as features, train ratio 0.2, one Adam step per epoch on the mean MSE";
            (data, fit, default_hidden(32), default_k(1), protocol.into())
        }
        "los-loop" => {
            let signal = graph_data::tabular::load_los_loop(&fetcher).context("loading Los-loop")?;
            let t_in = a.t_in.unwrap_or(12);
            let horizon = a.horizon.unwrap_or(12);
            let protocol = format!(
                "T-GCN: speeds scaled ({scaling:?}), 80/20 chronological split, {t_in} steps in, {horizon} out, \
                 last {val_fraction} of the training windows for validation (best epoch kept), metrics over \
                 all {horizon} steps flattened (T-GCN's convention) and per step, unmasked (no zero speeds)"
            );
            (
                recipe::los_loop(&signal, kind, t_in, horizon, val_fraction, scaling)?,
                windowed(100, 32),
                default_hidden(64),
                default_k(2),
                protocol,
            )
        }
        "flu-bybw" => {
            let signal = graph_data::tabular::load_flu_bybw(&fetcher).context("loading flu_bybw")?;
            let t_in = a.t_in.unwrap_or(8);
            let horizon = a.horizon.unwrap_or(1);
            let protocol = format!(
                "weekly windows: {t_in} weeks in, next {horizon} out, 80/20 chronological split of the weeks, \
                 counts scaled ({scaling:?}, training part), last {val_fraction} of the training windows for validation, unmasked"
            );
            (
                recipe::flu_bybw(&signal, kind, t_in, horizon, val_fraction, scaling)?,
                windowed(100, 32),
                default_hidden(32),
                default_k(2),
                protocol,
            )
        }
        _ => {
            let signal =
                match graph_data::pgt::load("england-covid", &fetcher).context("loading england_covid")? {
                    graph_data::pgt::Signal::Dynamic(s) => s,
                    graph_data::pgt::Signal::Static(_) => {
                        anyhow::bail!("england_covid should have a graph per day")
                    }
                };
            anyhow::ensure!(
                a.horizon.unwrap_or(1) == 1,
                "england-covid forecasts the next day only"
            );
            let lags = a.t_in.unwrap_or(8);
            let protocol = format!(
                "PGT's lag view (lags {lags}, next day) with the days as steps, each step on its own day's graph, \
                 80/20 split of the windows in time order, cases / training max, last {val_fraction} of the \
                 training windows for validation, unmasked"
            );
            (
                recipe::england_covid(&signal, kind, lags, val_fraction)?,
                windowed(200, 8),
                default_hidden(32),
                default_k(2),
                protocol,
            )
        }
    };
    let relu = match a.head.as_deref() {
        None => dataset != "los-loop",
        Some("relu") => true,
        Some("linear") => false,
        Some(other) => anyhow::bail!("unknown head `{other}` (relu, linear)"),
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
        weight_decay: a.weight_decay.unwrap_or(fit_config.weight_decay),
        ..fit_config
    };
    if a.resume.is_some() && a.seeds > 1 {
        anyhow::bail!("--resume continues one run: use it with --seeds 1");
    }
    let device = Device::cuda_if_available();
    let mut seeds: Vec<SeedRun> = Vec::new();
    for seed in 1..=a.seeds.max(1) {
        let options = TrainOptions {
            epochs: fit_config.epochs,
            checkpoint: a.checkpoint.as_deref().map(|p| seed_path(p, seed, a.seeds)),
            checkpoint_every: a.checkpoint_every,
            resume: a.resume.clone(),
            clip: a.clip,
            catch_interrupt: a.checkpoint.is_some(),
        };
        let s = run_seed(
            &data,
            &config,
            &fit_config,
            Selection {
                relu,
                patience: a.patience,
                verbose: a.verbose,
            },
            seed,
            device,
            options,
        )?;
        let r = &s.result;
        if !a.json {
            println!(
                "seed {seed}: test MSE {:.4} MAE {:.4} RMSE {:.4} (persistence RMSE {:.4}, historical average RMSE {:.4}), \
                 {:.4} s/epoch, kept epoch {} of {}",
                r.test.mse,
                r.test.mae,
                r.test.rmse,
                r.persistence.rmse,
                r.historical_average.rmse,
                r.seconds_per_epoch,
                s.best_epoch,
                s.epochs_run
            );
        }
        seeds.push(s);
    }
    let runs: Vec<&RunResult> = seeds.iter().map(|s| &s.result).collect();
    let stat = |f: &dyn Fn(&RunResult) -> f64| mean_std(&runs.iter().map(|r| f(r)).collect::<Vec<_>>());
    let (mse, mse_std) = stat(&|r| r.test.mse);
    let (mae, mae_std) = stat(&|r| r.test.mae);
    let (rmse, rmse_std) = stat(&|r| r.test.rmse);
    let (mape, _) = stat(&|r| r.test.mape);
    let (spe, _) = stat(&|r| r.seconds_per_epoch);
    let steps: Vec<usize> = (0..data.horizon as usize)
        .filter(|h| data.horizon <= 3 || (h + 1) % 3 == 0)
        .collect();
    let horizons: Vec<_> = steps
        .iter()
        .map(|&h| {
            let (hmae, _) = stat(&|r| r.per_horizon[h].mae);
            let (hrmse, hrmse_std) = stat(&|r| r.per_horizon[h].rmse);
            let (hmape, _) = stat(&|r| r.per_horizon[h].mape);
            let base = &runs[0].persistence_per_horizon[h];
            let ha = &runs[0].historical_average_per_horizon[h];
            let (cmae, _) = stat(&|r| r.to_step[h].mae);
            let (crmse, crmse_std) = stat(&|r| r.to_step[h].rmse);
            let (cb, cha) = (
                &runs[0].persistence_to_step[h],
                &runs[0].historical_average_to_step[h],
            );
            json!({"step": h + 1, "mae": hmae, "rmse": hrmse, "rmse_std": hrmse_std, "mape": hmape,
                   "persistence_mae": base.mae, "persistence_rmse": base.rmse,
                   "ha_mae": ha.mae, "ha_rmse": ha.rmse,
                   "to_step": {"mae": cmae, "rmse": crmse, "rmse_std": crmse_std,
                               "persistence_mae": cb.mae, "persistence_rmse": cb.rmse,
                               "ha_mae": cha.mae, "ha_rmse": cha.rmse}})
        })
        .collect();
    let base = &runs[0].persistence;
    let ha = &runs[0].historical_average;
    let out = json!({
        "model": kind.name(),
        "dataset": data.dataset,
        "protocol": protocol,
        "horizon": data.horizon,
        "metrics_over": format!("all {} horizon steps flattened", data.horizon),
        "mae": mae, "mae_std": mae_std,
        "rmse": rmse, "rmse_std": rmse_std,
        "mse": mse, "mse_std": mse_std,
        "mape": mape,
        "seeds": runs.len(),
        "per_seed_rmse": runs.iter().map(|r| r.test.rmse).collect::<Vec<_>>(),
        "best_epoch": seeds.iter().map(|s| s.best_epoch).collect::<Vec<_>>(),
        "epochs_run": seeds.iter().map(|s| s.epochs_run).collect::<Vec<_>>(),
        "val_rmse": seeds.iter().map(|s| s.val_rmse).collect::<Vec<_>>(),
        "s_per_epoch": spe,
        "peak_rss_mib": hybrid::peak_rss_mib(),
        "epochs": fit_config.epochs,
        "patience": a.patience,
        "lr": fit_config.lr,
        "weight_decay": fit_config.weight_decay,
        "batch_size": fit_config.batch_size,
        "hidden": hidden,
        "k": k,
        "head": if relu { "relu+linear" } else { "linear" },
        "per_horizon": horizons,
        "persistence": {"mae": base.mae, "rmse": base.rmse, "mse": base.mse, "mape": base.mape},
        "historical_average": {"mae": ha.mae, "rmse": ha.rmse, "mse": ha.mse, "mape": ha.mape},
        "device": format!("{device:?}"),
        "threads": tch::get_num_threads(),
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "{} on {}: test MSE {mse:.4} ± {mse_std:.4}, MAE {mae:.4} ± {mae_std:.4}, RMSE {rmse:.4} ± {rmse_std:.4} \
             over all {} steps, {} seeds, {spe:.4} s/epoch; persistence RMSE {:.4} MAE {:.4}, historical average RMSE {:.4} MAE {:.4}",
            kind.name(),
            data.dataset,
            data.horizon,
            runs.len(),
            base.rmse,
            base.mae,
            ha.rmse,
            ha.mae
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
