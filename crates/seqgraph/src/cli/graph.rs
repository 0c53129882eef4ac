//! `seqgraph train graph`: flags into a [`GraphConfig`],
//! [`graph_classification`] (or, with `--grid`, [`graph_classification_grid`]
//! over [`xu_grid`] or [`errica_grid`]), print. The recipe (TU data sets, the Xu et al.
//! and Errica et al. protocols) is `graph_models::graph_recipe`; the network
//! `graph_models::graph_level`.

use anyhow::{anyhow, Result};
use clap::Parser;
use graph_models::{
    errica_grid, graph_classification, graph_classification_grid, xu_grid, GinNetConfig, GinReadout,
    GinVariant, GraphConfig, GraphSummary, Protocol,
};

use super::flags::RunFlags;

/// Arguments of `train graph`.
#[derive(Debug, Parser)]
#[command(
    name = "seqgraph train graph",
    about = "Graph classification on the TU data sets (GIN, Xu et al. and Errica et al. protocols)"
)]
struct Args {
    /// gin (GIN-0), gin-eps or gine (edge features; MUTAG).
    #[arg(long, default_value = "gin")]
    model: String,
    /// mutag, proteins, enzymes, nci1 or imdb-binary.
    #[arg(long, default_value = "mutag")]
    dataset: String,
    /// Put the continuous node attributes in front of the one-hot labels (PROTEINS, ENZYMES; Errica
    /// et al. use them on ENZYMES).
    #[arg(long)]
    node_attr: bool,
    /// xu (the epoch chosen on the fold-averaged held-out curve; no separate test set) or errica
    /// (outer folds for test, an inner 10 % hold-out for selection).
    #[arg(long, default_value = "xu")]
    protocol: String,
    /// Folds of the (outer) cross validation.
    #[arg(long, default_value_t = 10)]
    folds: usize,
    /// Run only the first this many folds (quick runs).
    #[arg(long)]
    max_folds: Option<usize>,
    /// Epochs per fold.
    #[arg(long, default_value_t = 350)]
    epochs: usize,
    /// Graphs per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Multiply the rate by --lr-gamma every this many epochs (StepLR; both papers: 50); 0: constant.
    #[arg(long, default_value_t = 50)]
    lr_step: usize,
    /// The factor of each step of the rate (both papers: 0.5).
    #[arg(long, default_value_t = 0.5)]
    lr_gamma: f64,
    /// What an epoch is: N batches of random graphs drawn anew (Xu et al.'s code: 50), or `pass`
    /// (one shuffled pass, Errica et al.). Default: the protocol's.
    #[arg(long)]
    iters_per_epoch: Option<String>,
    /// Dropout on each layer's readout.
    #[arg(long, default_value_t = 0.5)]
    dropout: f64,
    /// Hidden units.
    #[arg(long, default_value_t = 64)]
    hidden: i64,
    /// Layers counting the input (GIN layers + 1).
    #[arg(long, default_value_t = 5)]
    layers: usize,
    /// The readout's pooling of each layer: sum (Xu et al.) or mean.
    #[arg(long, default_value = "sum")]
    readout: String,
    /// Seed of the folds, the initialisation and the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run the protocol's hyperparameter search instead of one configuration. `xu`: hidden 16 and
    /// 32 (64 on IMDB-BINARY), batch 32 and 128, dropout 0 and 0.5 (8 runs, 4 on IMDB-BINARY),
    /// reporting the best mean, as their paper does; replaces --hidden, --batch-size and
    /// --dropout. `errica`: their GIN space (GIN layers x units 4 x 64, 4 x 32, 1 x 64, 2 x 32;
    /// eps learnt or 0; mean or sum readout; batch 32 and 128; dropout 0.5 and 0: 64 runs, 32 for
    /// gine), each outer fold scored by the configuration best on its inner hold-out; replaces
    /// --layers, --readout and --model (but gine) too.
    #[arg(long)]
    grid: bool,
    /// Write one JSON line per finished fold to stderr (its held-out accuracy per epoch): progress
    /// on long runs, and the finished folds of an interrupted one.
    #[arg(long)]
    progress: bool,
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    run: RunFlags,
}

/// Runs the command with the words after `graph`.
pub fn run(args: &[String]) -> Result<()> {
    let a = Args::try_parse_from(std::iter::once("graph".to_string()).chain(args.iter().cloned()))?;
    let variant = GinVariant::parse(&a.model)
        .ok_or_else(|| anyhow!("unknown model `{}` (gin, gin-eps, gine)", a.model))?;
    let readout = GinReadout::parse(&a.readout)
        .ok_or_else(|| anyhow!("unknown readout `{}` (sum, mean)", a.readout))?;
    let protocol = Protocol::parse(&a.protocol)
        .ok_or_else(|| anyhow!("unknown protocol `{}` (xu, errica)", a.protocol))?;
    a.run.set_threads(None);
    let base = GraphConfig::for_protocol(protocol);
    let iters_per_epoch = match a.iters_per_epoch.as_deref() {
        None => base.iters_per_epoch,
        Some("pass") => None,
        Some(n) => Some(
            n.parse()
                .map_err(|_| anyhow!("--iters-per-epoch takes a number or `pass`, got `{n}`"))?,
        ),
    };
    let config = GraphConfig {
        dataset: a.dataset.clone(),
        node_attributes: a.node_attr,
        model: GinNetConfig {
            variant,
            layers: a.layers,
            hidden: a.hidden,
            dropout: a.dropout,
            readout,
        },
        protocol,
        folds: a.folds,
        max_folds: a.max_folds,
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        lr_step: a.lr_step,
        lr_gamma: a.lr_gamma,
        iters_per_epoch,
        seed: a.seed,
        checkpointing: a.run.checkpointing(),
        verbose: a.progress,
        ..base
    };
    if a.grid {
        let grid = match protocol {
            Protocol::Xu => xu_grid(&config),
            Protocol::Errica => errica_grid(&config),
        };
        let g = graph_classification_grid(&grid)?;
        if a.run.json {
            println!("{}", serde_json::to_string(&g)?);
            return Ok(());
        }
        for (i, s) in g.runs.iter().enumerate() {
            let folds = g.chosen.iter().filter(|&&k| k == i).count();
            let mark = match protocol {
                Protocol::Xu if i == g.best => "  <- chosen".to_string(),
                Protocol::Errica if folds > 0 => format!("  <- chosen on {folds} fold(s)"),
                _ => String::new(),
            };
            println!(
                "{i:>2}: {} x {} {:<7} {:<4}, batch {:>3}, dropout {:.1}: {:.2} ± {:.2} %, epoch {:?}, {:.0} s{mark}",
                s.layers - 1,
                s.hidden,
                s.model,
                s.readout,
                s.batch_size,
                s.dropout,
                s.test_acc_mean,
                s.test_acc_std,
                s.selected_epochs,
                s.seconds
            );
        }
        match protocol {
            Protocol::Xu => {
                print_summary(g.best_run());
                println!(
                    "chosen among {} configurations on the same folds ({:.0} s in all)",
                    g.runs.len(),
                    g.seconds
                );
            }
            Protocol::Errica => println!(
                "{} on {}, errica protocol with model selection: accuracy {:.2} ± {:.2} % over {} outer folds, each scored by the configuration best on its inner hold-out (runs {:?}) among {} ({:.0} s in all)",
                config.model.variant.name(),
                config.dataset,
                g.test_acc_mean,
                g.test_acc_std,
                g.chosen.len(),
                g.chosen,
                g.runs.len(),
                g.seconds
            ),
        }
        return Ok(());
    }
    let s = graph_classification(&config)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        print_summary(&s);
    }
    Ok(())
}

/// One run as a line of text, and what its number means.
fn print_summary(s: &GraphSummary) {
    println!(
            "{} on {} ({} node features, {} protocol, {} of {} folds, {} epochs of {}, batch {}, {} layers of {}, {} readout, dropout {}, seed {}, {}): accuracy {:.2} ± {:.2} % (majority class {:.2} %), selected epoch(s) {:?}, {:.1} ms per training epoch (median), {:.1} s\n{}",
            s.model, s.dataset, s.node_features, s.protocol, s.folds_run, s.folds, s.epochs,
            s.iters_per_epoch.map_or("one pass".to_string(), |n| format!("{n} random batches")), s.batch_size, s.layers, s.hidden, s.readout, s.dropout, s.seed, s.device, s.test_acc_mean,
            s.test_acc_std, s.majority_acc, s.selected_epochs, s.ms_per_epoch, s.seconds, s.note
        );
}
