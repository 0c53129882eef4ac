//! `seqgraph train temporal`: flags into a [`ForecastConfig`], [`forecast`],
//! print. The protocols and their defaults (the settings behind
//! docs/temporal.md) are `hybrid::recipe`; the training loop is
//! `hybrid::train::fit_forecaster`.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Parser;
use hybrid::protocol::Scaling;
use hybrid::recipe::{forecast, Dataset, ForecastConfig, Protocol};
use hybrid::{Head, ModelKind};

use super::flags::RunFlags;

#[derive(Parser, Debug)]
#[command(
    name = "seqgraph train temporal",
    about = "Train a graph recurrent forecaster"
)]
struct Args {
    /// dcrnn, gconvgru, gconvlstm, tgcn, a3tgcn, stgcn, graphwavenet or dcrnn-seq2seq.
    #[arg(long, default_value = "dcrnn")]
    model: String,
    /// chickenpox (PyG Temporal's recipe), los-loop (T-GCN's protocol), flu-bybw, england-covid,
    /// or metr-la / pems-bay (files you provide, --data-dir; --protocol dcrnn).
    #[arg(long, default_value = "chickenpox")]
    dataset: String,
    /// `native` (the data set's own protocol) or `dcrnn` (DCRNN's and Graph WaveNet's
    /// METR-LA protocol: 12 in, 12 out, 70/10/20, z-score + time of day, masked metrics at
    /// horizons 3, 6, 12).
    #[arg(long, default_value = "native")]
    protocol: String,
    /// Folder with METR-LA's or PEMS-BAY's files (PGT's zip or npy, DCRNN's adj_mx.pkl);
    /// default datasets/cache/NAME.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Number of seeds (1, 2, ...); mean and standard deviation are reported.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Epochs (default: the protocol's; 200 on Chickenpox as PGT, 60 on Los-loop).
    #[arg(long)]
    epochs: Option<usize>,
    /// Hidden size (default: the protocol's).
    #[arg(long)]
    hidden: Option<i64>,
    /// Filter size K (diffusion terms or Chebyshev order; default: the protocol's).
    #[arg(long)]
    k: Option<i64>,
    /// Steps forecast (default 3 on Los-loop, T-GCN's 15 minutes; one model per horizon).
    #[arg(long)]
    horizon: Option<i64>,
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    run: RunFlags,
    /// Adam's learning rate (default: the protocol's).
    #[arg(long)]
    lr: Option<f64>,
    /// Clip the global gradient norm at this value.
    #[arg(long)]
    clip: Option<f64>,
    /// Adam's weight decay (L2 on every parameter; default 0).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Samples per optimiser step (default: the protocol's).
    #[arg(long)]
    batch_size: Option<i64>,
    /// Fraction of the training windows (the chronological tail) held out for
    /// model selection (default 0.1; 0 on Chickenpox, whose recipe has none).
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Stop after this many epochs without a better validation RMSE (0: never; default: the protocol's).
    #[arg(long)]
    patience: Option<usize>,
    /// Input steps (default: 12 on Los-loop, 8 weeks on flu-bybw, 8 days on england-covid, 4 lags on Chickenpox).
    #[arg(long)]
    t_in: Option<i64>,
    /// Head: `relu` (ReLU then linear, PyG Temporal's recipes) or `linear`
    /// (T-GCN's regressor). Default: linear on Los-loop, relu elsewhere.
    #[arg(long)]
    head: Option<String>,
    /// Los-loop and flu-bybw scaling: `max` (divided by the maximum) or
    /// `zscore` (the training part's mean and standard deviation; the default).
    #[arg(long)]
    scaling: Option<String>,
    /// Print each epoch's training loss and validation RMSE to stderr.
    #[arg(long)]
    verbose: bool,
    /// Use only the first N windows of each part (train, validation, test): quick runs.
    #[arg(long)]
    limit: Option<usize>,
}

/// Runs the command with the words after its name.
pub fn run(args: &[String]) -> Result<()> {
    let a = Args::try_parse_from(std::iter::once("temporal".to_owned()).chain(args.iter().cloned()))?;
    let model: ModelKind = a.model.parse()?;
    let dataset = Dataset::parse(&a.dataset).ok_or_else(|| {
        anyhow!(
            "unknown data set `{}` (chickenpox, los-loop, flu-bybw, england-covid, metr-la, pems-bay)",
            a.dataset
        )
    })?;
    let protocol = Protocol::parse(&a.protocol)
        .ok_or_else(|| anyhow!("unknown protocol `{}` (native, dcrnn)", a.protocol))?;
    let head = match a.head.as_deref() {
        None => None,
        Some("relu") => Some(Head::ReluLinear),
        Some("linear") => Some(Head::Linear),
        Some(other) => bail!("unknown head `{other}` (relu, linear)"),
    };
    let scaling = match a.scaling.as_deref() {
        None => None,
        Some("max") => Some(Scaling::Max),
        Some("zscore") => Some(Scaling::ZScore),
        Some(other) => bail!("unknown scaling `{other}` (max, zscore)"),
    };
    a.run.set_threads(None);
    let config = ForecastConfig {
        model,
        dataset,
        protocol,
        data_dir: a.data_dir.clone(),
        seeds: a.seeds,
        epochs: a.epochs,
        hidden: a.hidden,
        k: a.k,
        t_in: a.t_in,
        horizon: a.horizon,
        lr: a.lr,
        weight_decay: a.weight_decay,
        batch_size: a.batch_size,
        val_fraction: a.val_fraction,
        patience: a.patience,
        head,
        scaling,
        clip: a.clip,
        limit: a.limit,
        checkpointing: a.run.checkpointing(),
        verbose: a.verbose,
        ..ForecastConfig::default()
    };
    let s = forecast(&config)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(());
    }
    for r in &s.runs {
        let e = &r.evaluation;
        println!(
            "seed {}: test MSE {:.4} MAE {:.4} RMSE {:.4} (persistence RMSE {:.4}, historical average RMSE {:.4}), \
             {:.4} s/epoch, kept epoch {} of {}",
            r.seed,
            e.model.overall.mse,
            e.model.overall.mae,
            e.model.overall.rmse,
            e.persistence.overall.rmse,
            e.historical_average.overall.rmse,
            r.fit.seconds_per_epoch,
            r.fit.best_epoch,
            r.fit.epochs_run
        );
    }
    println!(
        "{} on {}: test MSE {:.4} ± {:.4}, MAE {:.4} ± {:.4}, RMSE {:.4} ± {:.4} over all {} steps, {} seeds, \
         {:.4} s/epoch; persistence RMSE {:.4} MAE {:.4}, historical average RMSE {:.4} MAE {:.4}",
        s.model,
        s.dataset,
        s.mse,
        s.mse_std,
        s.mae,
        s.mae_std,
        s.rmse,
        s.rmse_std,
        s.horizon,
        s.seeds,
        s.s_per_epoch,
        s.persistence.rmse,
        s.persistence.mae,
        s.historical_average.rmse,
        s.historical_average.mae
    );
    if !s.horizons.is_empty() {
        println!("masked test metrics per horizon (the step alone; DCRNN's and Graph WaveNet's tables):");
        println!("horizon | MAE | RMSE | MAPE % | persistence MAE / RMSE / MAPE %");
        for h in &s.horizons {
            println!(
                "{} ({} min) | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.2} ± {:.2} | {:.3} / {:.3} / {:.2}",
                h.step,
                h.minutes,
                h.mae,
                h.mae_std,
                h.rmse,
                h.rmse_std,
                h.mape,
                h.mape_std,
                h.persistence.mae,
                h.persistence.rmse,
                h.persistence.mape
            );
        }
    } else if s.horizon > 1 {
        println!("per horizon step: {}", serde_json::to_string(&s.per_horizon)?);
    }
    Ok(())
}
