//! `seqgraph train node`: flags into a [`NodeConfig`], [`node_classification`],
//! print. The recipe (Planetoid, published hyperparameters, seeds) is
//! `graph_models::recipe`; the training loop `graph_models::train`.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::Parser;
use graph_models::{node_classification, Arch, NodeConfig, Select};
use train_utils::Checkpointing;

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

/// Runs the command with the words after `node`.
pub fn run(args: &[String]) -> Result<()> {
    let a = Args::try_parse_from(std::iter::once("node".to_string()).chain(args.iter().cloned()))?;
    let arch = Arch::parse(&a.model).ok_or_else(|| anyhow!("unknown model `{}`", a.model))?;
    let mut hyper = arch.hyperparams();
    if let Some(e) = a.epochs {
        hyper.epochs = e;
    }
    if let Some(lr) = a.lr {
        hyper.lr = lr;
    }
    if let Some(name) = &a.select {
        hyper.select = match name.as_str() {
            "acc" => Select::BestValAcc,
            "loss" => Select::BestValLoss,
            "acc-and-loss" => Select::BestValAccAndLoss,
            other => return Err(anyhow!("unknown --select `{other}` (acc, loss, acc-and-loss)")),
        };
    }
    if let Some(t) = a.threads {
        tch::set_num_threads(t.max(1));
    }
    let config = NodeConfig {
        arch,
        dataset: a.dataset.clone(),
        layers: a.layers,
        seeds: a.seeds,
        hyper: Some(hyper),
        clip: a.clip,
        checkpointing: Checkpointing {
            path: a.checkpoint.clone(),
            every: a.checkpoint_every,
            resume: a.resume.clone(),
        },
        ..NodeConfig::default()
    };
    let s = node_classification(&config)?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "{} on {} ({} layers, {} seeds, up to {} epochs, {}): test accuracy {:.2} ± {:.2} %, {:.2} ms per training epoch (median)",
            s.model, s.dataset, s.layers, s.seeds, s.epochs, s.device, s.test_acc_mean, s.test_acc_std, s.ms_per_epoch
        );
    }
    Ok(())
}
