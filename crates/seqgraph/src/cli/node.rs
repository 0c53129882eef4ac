//! `seqgraph train node`: flags into a [`NodeConfig`], [`node_classification`],
//! print. The recipe (Planetoid, published hyperparameters, seeds) is
//! `graph_models::recipe`; the training loop `graph_models::train`.

use anyhow::{anyhow, Result};
use clap::Parser;
use graph_models::{node_classification, Arch, NodeConfig, Select};

use super::flags::RunFlags;

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
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    run: RunFlags,
    /// Adam's learning rate (default: the recipe's).
    #[arg(long)]
    lr: Option<f64>,
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
    a.run.set_threads(None);
    let config = NodeConfig {
        arch,
        dataset: a.dataset.clone(),
        layers: a.layers,
        seeds: a.seeds,
        hyper: Some(hyper),
        clip: a.clip,
        checkpointing: a.run.checkpointing(),
        ..NodeConfig::default()
    };
    let s = node_classification(&config)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "{} on {} ({} layers, {} seeds, up to {} epochs, {}): test accuracy {:.2} ± {:.2} %, {:.2} ms per training epoch (median)",
            s.model, s.dataset, s.layers, s.seeds, s.epochs, s.device, s.test_acc_mean, s.test_acc_std, s.ms_per_epoch
        );
    }
    Ok(())
}
