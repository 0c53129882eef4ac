//! The flags every `train` command shares: threads, checkpoints, resume and
//! JSON output, flattened into each command's arguments so that they are
//! spelled, documented and applied the same way everywhere.

use std::path::PathBuf;

use clap::Args;
use train_utils::Checkpointing;

/// `--threads`, `--checkpoint`, `--checkpoint-every`, `--resume`, `--json`.
#[derive(Debug, Clone, Args)]
pub struct RunFlags {
    /// libtorch intra-op threads (default: the command's own choice). The same seed and thread
    /// count give the same run, byte for byte.
    #[arg(long)]
    pub threads: Option<i32>,
    /// Save checkpoints here (with several seeds or folds: NAME.seedS.EXT), also on Ctrl-C.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Save a checkpoint every this many epochs (0: only after the last epoch and on Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: usize,
    /// Continue from this checkpoint (one seed only; it must be of the same run).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

impl RunFlags {
    /// Sets libtorch's intra-op threads: `--threads`, else `default` (`None`:
    /// libtorch's own choice, one per core).
    pub fn set_threads(&self, default: Option<i32>) {
        if let Some(t) = self.threads.or(default) {
            tch::set_num_threads(t.max(1));
        }
    }

    /// The checkpoint settings for a recipe's config.
    pub fn checkpointing(&self) -> Checkpointing {
        Checkpointing {
            path: self.checkpoint.clone(),
            every: self.checkpoint_every,
            resume: self.resume.clone(),
        }
    }
}
