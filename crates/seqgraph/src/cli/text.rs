//! `seqgraph train text`: flags into a [`TextConfig`], [`train_text`], print.
//! The recipe (the three views, SST and UPOS) is `seqgraph::text`.

use anyhow::{anyhow, Result};
use clap::Parser;
use seqgraph::text::{train_text, ReadoutKind, Supervise, TextConfig, TextModel, TextTask, View};

use super::flags::RunFlags;

/// Arguments of `train text`.
#[derive(Debug, Clone, Parser)]
#[command(name = "seqgraph train text", about = "Text as a sequence, a tree or a graph")]
pub struct Args {
    /// sst-binary, sst-fine or ud-upos.
    #[arg(long, default_value = "sst-binary")]
    pub task: String,
    /// sequence, tree or graph.
    #[arg(long, default_value = "tree")]
    pub view: String,
    /// sequence: lstm | bilstm; tree: child-sum | n-ary; graph: gcn | gat
    /// (default: the first of the view's; ud-upos: bilstm | bilstm-gcn).
    #[arg(long)]
    pub model: Option<String>,
    /// Graph readout: root, mean or attention.
    #[arg(long, default_value = "attention")]
    pub readout: String,
    /// SST supervision: `all` (every labelled node or phrase) or `root` (sentence labels only).
    #[arg(long, default_value = "all")]
    pub supervise: String,
    /// Number of seeds (0, 1, ...).
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// Training epochs.
    #[arg(long, default_value_t = 6)]
    pub epochs: usize,
    /// Embedding size (the same for every view).
    #[arg(long, default_value_t = 100)]
    pub embed: i64,
    /// Hidden size.
    #[arg(long, default_value_t = 100)]
    pub hidden: i64,
    /// Examples (sentences, or phrases for the sequence view with `--supervise all`) per batch.
    #[arg(long, default_value_t = 25)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Use only N training sentences, evenly spaced (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Use only N dev and test sentences (SST), or N test sentences (UPOS), evenly spaced (quick runs).
    #[arg(long)]
    pub eval_limit: Option<usize>,
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    pub run: RunFlags,
}

impl Args {
    /// The library config these flags describe.
    pub fn config(&self) -> Result<TextConfig> {
        let task = TextTask::parse(&self.task)
            .ok_or_else(|| anyhow!("unknown task `{}` (sst-binary, sst-fine, ud-upos)", self.task))?;
        let view = View::parse(&self.view)
            .ok_or_else(|| anyhow!("unknown view `{}` (sequence, tree, graph)", self.view))?;
        let model = self
            .model
            .as_deref()
            .map(|m| {
                TextModel::parse(m).ok_or_else(|| {
                    anyhow!("unknown model `{m}` (lstm, bilstm, child-sum, n-ary, gcn, gat, bilstm-gcn)")
                })
            })
            .transpose()?;
        let readout = ReadoutKind::parse(&self.readout)
            .ok_or_else(|| anyhow!("unknown readout `{}` (root, mean, attention)", self.readout))?;
        let supervise = match self.supervise.as_str() {
            "all" => Supervise::All,
            "root" => Supervise::Root,
            other => return Err(anyhow!("unknown --supervise `{other}` (all, root)")),
        };
        Ok(TextConfig {
            task,
            view,
            model,
            readout,
            supervise,
            seeds: self.seeds,
            epochs: self.epochs,
            embed: self.embed,
            hidden: self.hidden,
            batch: self.batch,
            lr: self.lr,
            limit: self.limit,
            eval_limit: self.eval_limit,
            checkpointing: self.run.checkpointing(),
            verbose: !self.run.json,
            ..TextConfig::default()
        })
    }
}

/// Runs the command with the words after its name.
pub fn run(args: &[String]) -> Result<()> {
    let a =
        Args::try_parse_from(std::iter::once("seqgraph train text".to_string()).chain(args.iter().cloned()))?;
    a.run.set_threads(Some(1));
    let s = train_text(&a.config()?)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        let sup = s
            .supervise
            .as_ref()
            .map(|m| format!(", supervise {m}"))
            .unwrap_or_default();
        println!(
            "{} {} {}: {} {:.4} ± {:.4} over {} seeds {:?} ({} epochs, embed {}{sup}, random embeddings; {:.0} s)",
            s.task, s.view, s.model, s.metric, s.value, s.std, s.seeds, s.values, s.epochs, s.embed, s.seconds
        );
    }
    Ok(())
}
