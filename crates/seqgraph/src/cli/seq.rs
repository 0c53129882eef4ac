//! `seqgraph train seq --task adding|japanese-vowels|moby-dick|sunspots [--model rnn|lstm|gru]
//! [--seeds S] [--json]`: flags into a [`SeqConfig`], [`train_seq`], print. The
//! recipes are `seq_models::recipe`.

use anyhow::{anyhow, bail, Result};
use clap::Parser;
use seq_models::recipe::{parse_cell, train_seq, SeqConfig, SeqTask};

use super::flags::RunFlags;

#[derive(Parser, Debug)]
#[command(name = "seqgraph train seq", about = "Train a recurrent model on one task")]
struct Args {
    /// adding | japanese-vowels | moby-dick | sunspots
    #[arg(long)]
    task: String,
    /// rnn (tanh) | lstm | gru
    #[arg(long, default_value = "lstm")]
    model: String,
    /// Number of seeds (0, 1, ...); the reported value is their mean.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Training budget in seconds per seed for moby-dick.
    #[arg(long, default_value_t = 120.0)]
    budget: f64,
    /// Sequence length of the adding problem.
    #[arg(long, default_value_t = 100)]
    length: i64,
    /// Threads, checkpoints, resume, JSON: the flags every `train` command shares.
    #[command(flatten)]
    run: RunFlags,
    /// Epochs (default: the task's; on moby-dick training also ends when the budget is spent).
    #[arg(long)]
    epochs: Option<usize>,
    /// Adam's learning rate (default: the task's).
    #[arg(long)]
    lr: Option<f64>,
    /// Clip the global gradient norm at this value (default: the task's).
    #[arg(long)]
    clip: Option<f64>,
}

/// Runs the command with the words after `train seq`.
pub fn run(args: &[String]) -> Result<()> {
    let a =
        Args::try_parse_from(std::iter::once("seqgraph train seq".to_owned()).chain(args.iter().cloned()))?;
    let cell = parse_cell(&a.model).ok_or_else(|| anyhow!("unknown model `{}` (rnn, lstm, gru)", a.model))?;
    let task = match a.task.as_str() {
        "adding" => SeqTask::Adding { length: a.length },
        "japanese-vowels" => SeqTask::JapaneseVowels,
        "moby-dick" => SeqTask::MobyDick {
            budget_secs: a.budget,
        },
        "sunspots" => SeqTask::Sunspots,
        other => bail!("unknown task `{other}` (adding, japanese-vowels, moby-dick, sunspots)"),
    };
    a.run.set_threads(None);
    let config = SeqConfig {
        task,
        cell,
        seeds: a.seeds,
        epochs: a.epochs,
        lr: a.lr,
        clip: a.clip,
        checkpointing: a.run.checkpointing(),
        ..SeqConfig::default()
    };
    let s = train_seq(&config)?;
    if a.run.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(());
    }
    for (seed, r) in s.runs.iter().enumerate() {
        if let Some(sample) = &r.sample {
            println!("--- sample ({} training steps) ---\n{sample}\n---", r.train_steps);
        }
        let baseline = match (task, r.baseline) {
            (SeqTask::MobyDick { .. }, Some(b)) => format!(" (unigram {b:.4})"),
            (SeqTask::Sunspots, Some(b)) => format!(" (persistence {b:.4})"),
            _ => String::new(),
        };
        println!("seed {seed}: {} = {:.4}{baseline}", s.metric, r.value);
    }
    println!(
        "{} {}: {} = {:.4} (mean of {} seeds, {:.1} s)",
        s.task, s.model, s.metric, s.value, s.seeds, s.seconds
    );
    Ok(())
}
