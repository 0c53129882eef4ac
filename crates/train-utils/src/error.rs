//! The errors of training: I/O, corrupt or mismatched checkpoints, NaN/Inf, divergence, interruption.

use crate::input::InputError;
use std::path::PathBuf;

/// What can stop a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading or writing a checkpoint failed.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checkpoint file could not be parsed (truncated, not safetensors, bad JSON, missing tensor).
    #[error("checkpoint {path} is not usable: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint belongs to another run: another model, config, seed or data set.
    #[error(
        "refusing to resume from {path}: it was written for {field} `{checkpoint}`, \
         but this run has {field} `{run}`"
    )]
    Mismatch {
        /// The checkpoint.
        path: PathBuf,
        /// Which field differs (`model`, `dataset`, `data checksum`, `seed`, `config.lr`, `parameter x`, ...).
        field: String,
        /// The checkpoint's value.
        checkpoint: String,
        /// This run's value.
        run: String,
    },
    /// The loss or a gradient became NaN or Inf; parameters were left as they were before this step.
    #[error(
        "training stopped at epoch {epoch}: {what}{}. Hint: {hint}{}",
        param.as_ref().map(|p| format!(" (first bad gradient: `{p}`)")).unwrap_or_default(),
        last_checkpoint.as_ref().map(|p| format!(". Last good checkpoint: {}", p.display())).unwrap_or_default()
    )]
    NonFinite {
        /// The epoch (1-based) whose step went bad.
        epoch: usize,
        /// What went bad, with its value ("loss is NaN", "gradient norm of `w` is inf").
        what: String,
        /// The first parameter (in name order) whose gradient is not finite, if any.
        param: Option<String>,
        /// What to try.
        hint: String,
        /// The last checkpoint written before the failure, kept untouched.
        last_checkpoint: Option<PathBuf>,
    },
    /// The run stayed finite but diverged: the loss grew past
    /// [`crate::Divergence::loss_factor`] times its reference, or a gradient
    /// norm past [`crate::Divergence::max_grad_norm`]. Parameters were left
    /// as they were before this step.
    #[error(
        "training diverged at epoch {epoch}: {what}{}. Hint: {hint}{}",
        param.as_ref().map(|p| format!(" (largest gradient: `{p}`)")).unwrap_or_default(),
        last_checkpoint.as_ref().map(|p| format!(". Last good checkpoint: {}", p.display())).unwrap_or_default()
    )]
    Diverged {
        /// The epoch (1-based) whose step diverged.
        epoch: usize,
        /// What grew past which limit, with the values.
        what: String,
        /// The parameter with the largest gradient norm at that step, if any.
        param: Option<String>,
        /// What to try.
        hint: String,
        /// The last checkpoint written before the failure, kept untouched.
        last_checkpoint: Option<PathBuf>,
    },
    /// Ctrl-C was pressed; a checkpoint was saved when a path was given.
    #[error(
        "interrupted after epoch {epoch}{}",
        checkpoint.as_ref().map(|p| format!("; checkpoint saved to {} (continue with --resume)", p.display())).unwrap_or_default()
    )]
    Interrupted {
        /// Epochs completed.
        epoch: usize,
        /// Where the checkpoint went.
        checkpoint: Option<PathBuf>,
    },
    /// A tensor does not fit a layer (the payload every crate's input errors share).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The recipe or the model refused its configuration (zero layers, an
    /// unknown data set for this protocol, ...), before any step was taken.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The data set could not be fetched or read.
    #[error(transparent)]
    Data(#[from] graph_data::DataError),
    /// Another error of a model crate (a malformed graph, a missing
    /// state-dict entry): the crate's own typed error, boxed; downcast it
    /// (`GnnError`, `SeqError`, `HybridError`) to match on it.
    #[error(transparent)]
    Model(Box<dyn std::error::Error + Send + Sync>),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
