//! `seqgraph train node`: full-batch node classification on Planetoid (Cora,
//! CiteSeer, public split) with the published recipes; mean and standard
//! deviation of test accuracy over seeds, median ms per training epoch.
//!
//! Training goes through `train_utils::Trainer` (via
//! `graph_models::train::train_node_with`): `--checkpoint PATH` saves
//! parameters, Adam's state and the model selection every
//! `--checkpoint-every` epochs, after the last one, on early stopping and on
//! Ctrl-C; `--resume PATH` continues bit for bit (CPU) and refuses a
//! checkpoint of another model, recipe, seed or data set; a NaN or Inf loss or
//! gradient stops the run naming the epoch and the parameter.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use graph_models::train::{train_node_with, TrainOptions};
use graph_models::{median, train_node, Arch, NodeData, Select};
use tch::Device;
use train_utils::checkpoint::seed_path;

/// Arguments of `train node`.
#[derive(Debug, Parser)]
#[command(
    name = "seqgraph train node",
    about = "Node classification on Planetoid data sets"
)]
struct Args {
    /// gcn, res, gat, sage, appnp, gcn2 or jk.
    #[arg(long, default_value = "gcn")]
    model: String,
    /// cora or citeseer.
    #[arg(long, default_value = "cora")]
    dataset: String,
    /// Graph layers (default: 2; gcn2 64; jk 4).
    #[arg(long)]
    layers: Option<usize>,
    /// Number of seeds (0, 1, ...).
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Override the recipe's maximum number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// libtorch intra-op threads (default: libtorch's choice, one per core).
    #[arg(long)]
    threads: Option<i32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Adam's learning rate (default: the recipe's).
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
    /// Which epoch's test accuracy is reported (default: the recipe's): `acc` (best validation
    /// accuracy; GCN, SAGE, APPNP, GCNII, JK), `loss` (lowest validation loss) or `acc-and-loss`
    /// (GAT's reference code: both at their best at once; ties restart the patience counter).
    #[arg(long)]
    select: Option<String>,
}

/// The summary over seeds.
#[derive(Debug, serde::Serialize)]
struct Summary {
    model: String,
    dataset: String,
    layers: usize,
    test_acc_mean: f64,
    test_acc_std: f64,
    test_accs: Vec<f64>,
    ms_per_epoch: f64,
    seeds: u64,
    epochs: usize,
    device: String,
    threads: i32,
}

fn load(dataset: &str, device: Device) -> Result<NodeData> {
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load(dataset, &fetcher).with_context(|| format!("loading {dataset}"))?;
    Ok(NodeData::from_dataset(ds, device)?)
}

fn summarise(arch: Arch, layers: usize, a: &Args) -> Result<Summary> {
    let device = Device::cuda_if_available();
    let data = load(&a.dataset, device)?;
    let mut recipe = arch.recipe();
    if let Some(e) = a.epochs {
        recipe.epochs = e;
    }
    if let Some(lr) = a.lr {
        recipe.lr = lr;
    }
    if let Some(name) = &a.select {
        recipe.select = match name.as_str() {
            "acc" => Select::BestValAcc,
            "loss" => Select::BestValLoss,
            "acc-and-loss" => Select::BestValAccAndLoss,
            other => return Err(anyhow!("unknown --select `{other}` (acc, loss, acc-and-loss)")),
        };
    }
    let seeds = a.seeds.max(1);
    let (mut accs, mut times, mut epochs_run) = (Vec::new(), Vec::new(), 0);
    for seed in 0..seeds {
        let options = TrainOptions {
            epochs: recipe.epochs,
            checkpoint: a.checkpoint.as_deref().map(|p| seed_path(p, seed, seeds)),
            checkpoint_every: a.checkpoint_every,
            resume: a.resume.clone(),
            clip: a.clip,
            catch_interrupt: a.checkpoint.is_some(),
        };
        let run = train_node_with(arch, &data, &a.dataset, layers, seed, &recipe, options)?;
        accs.push(run.test_acc * 100.0);
        times.extend(run.epoch_ms);
        epochs_run = epochs_run.max(run.epochs);
    }
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let var = accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (accs.len().max(2) - 1) as f64;
    Ok(Summary {
        model: arch.name().into(),
        dataset: a.dataset.clone(),
        layers,
        test_acc_mean: mean,
        test_acc_std: var.sqrt(),
        test_accs: accs,
        ms_per_epoch: median(&times),
        seeds,
        epochs: epochs_run,
        device: format!("{device:?}"),
        threads: tch::get_num_threads(),
    })
}

/// Runs the command with the words after `node`.
pub fn run(args: &[String]) -> Result<()> {
    let args = Args::try_parse_from(std::iter::once("node".to_string()).chain(args.iter().cloned()))?;
    let arch = Arch::parse(&args.model).ok_or_else(|| anyhow!("unknown model `{}`", args.model))?;
    if !matches!(args.dataset.as_str(), "cora" | "citeseer") {
        return Err(anyhow!("unknown dataset `{}` (cora, citeseer)", args.dataset));
    }
    if let Some(t) = args.threads {
        tch::set_num_threads(t.max(1));
    }
    if args.resume.is_some() && args.seeds > 1 {
        return Err(anyhow!("--resume continues one run: use it with --seeds 1"));
    }
    let layers = args.layers.unwrap_or(arch.default_layers());
    let s = summarise(arch, layers, &args)?;
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "{} on {} ({} layers, {} seeds, up to {} epochs, {}): test accuracy {:.2} ± {:.2} %, {:.2} ms per training epoch (median)",
            s.model, s.dataset, s.layers, s.seeds, s.epochs, s.device, s.test_acc_mean, s.test_acc_std, s.ms_per_epoch
        );
    }
    Ok(())
}

/// Trains Kipf's GCN on Cora (public split, 200 epochs) from `seed` and
/// returns its test accuracy in percent (for `seqgraph demo`).
pub fn gcn_cora_quick(seed: u64) -> Result<f64> {
    let data = load("cora", Device::cuda_if_available())?;
    Ok(train_node(Arch::Gcn, &data, 2, seed, &Arch::Gcn.recipe()).test_acc * 100.0)
}
