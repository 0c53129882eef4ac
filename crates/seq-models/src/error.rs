//! The typed error of every fallible entry point of this crate.

use train_utils::TrainError;
pub use train_utils::{InputError, Mismatch};

/// What went wrong, said before libtorch is called where the input is at fault.
#[derive(Debug, thiserror::Error)]
pub enum SeqError {
    /// A tensor given to a named layer does not fit it, e.g.
    /// `Lstm expects input of shape [batch, time, 12], got [4, 12]`: the
    /// payload every seqgraph crate shares.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Sequence lengths that do not fit the batch (wrong count, zero, or longer than the time axis).
    #[error("lengths: {0}")]
    Lengths(String),
    /// An empty batch or a zero-length time axis.
    #[error("empty input: {0}")]
    Empty(String),
    /// A configuration that cannot be built (zero sizes, dropout outside [0, 1), ...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A missing or misshapen entry in a state dict being loaded.
    #[error("state dict: {0}")]
    StateDict(String),
    /// libtorch reported an error (I/O of safetensors files, for example).
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// A data set could not be read.
    #[error(transparent)]
    Data(#[from] graph_data::DataError),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, SeqError>;

impl From<SeqError> for TrainError {
    /// Input, configuration, data and libtorch errors keep their type; the
    /// others are kept whole as [`TrainError::Model`] (downcast to [`SeqError`]).
    fn from(e: SeqError) -> TrainError {
        match e {
            SeqError::Input(e) => TrainError::Input(e),
            SeqError::Config(m) => TrainError::Config(m),
            SeqError::Torch(e) => TrainError::Torch(e),
            SeqError::Data(e) => TrainError::Data(e),
            e => TrainError::Model(Box::new(e)),
        }
    }
}
