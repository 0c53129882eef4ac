//! `seqgraph train link`: flags into a [`LinkConfig`], [`link_prediction`],
//! print. The recipe (split, models, losses, seeds) is
//! `graph_models::link_recipe`.

use anyhow::{anyhow, Result};
use clap::Parser;
use graph_models::{link_prediction, LinkArch, LinkConfig, LinkLoss};

use super::flags::RunFlags;

/// Arguments of `train link`.
#[derive(Debug, Parser)]
#[command(
    name = "seqgraph train link",
    about = "Link prediction on Planetoid data sets (Kipf and Welling's GAE protocol)"
)]
struct Args {
    /// gae, vgae or sage.
    #[arg(long, default_value = "gae")]
    model: String,
    /// cora or citeseer.
    #[arg(long, default_value = "cora")]
    dataset: String,
    /// Number of seeds (0, 1, ...); each draws its own split.
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Training epochs.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// `dense` (Kipf's all-pairs loss; default for gae and vgae) or `sampled`
    /// (training edges against fresh negatives; default for sage).
    #[arg(long)]
    loss: Option<String>,
    /// Row-normalise the input features (Kipf's code does not).
    #[arg(long)]
    normalize_features: bool,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    run: RunFlags,
}

/// Runs the command with the words after `link`.
pub fn run(args: &[String]) -> Result<()> {
    let a = Args::try_parse_from(std::iter::once("link".to_string()).chain(args.iter().cloned()))?;
    let model =
        LinkArch::parse(&a.model).ok_or_else(|| anyhow!("unknown model `{}` (gae, vgae, sage)", a.model))?;
    let loss = match &a.loss {
        Some(name) => {
            Some(LinkLoss::parse(name).ok_or_else(|| anyhow!("unknown --loss `{name}` (sampled, dense)"))?)
        }
        None => None,
    };
    a.run.set_threads(None);
    let config = LinkConfig {
        model,
        dataset: a.dataset.clone(),
        seeds: a.seeds,
        epochs: a.epochs,
        lr: a.lr,
        loss,
        normalize_features: a.normalize_features,
        checkpointing: a.run.checkpointing(),
        ..LinkConfig::default()
    };
    let s = link_prediction(&config)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "{} on {} ({} loss, {} seeds, {} epochs, {}): test ROC AUC {:.4} ± {:.4}, AP {:.4} ± {:.4}, {:.2} ms per training epoch (median)",
            s.model, s.dataset, s.loss, s.seeds, s.epochs, s.device, s.auc_mean, s.auc_std, s.ap_mean, s.ap_std, s.ms_per_epoch
        );
    }
    Ok(())
}
