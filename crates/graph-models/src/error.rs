//! The error every fallible constructor and forward pass of this crate returns.

use train_utils::TrainError;
pub use train_utils::{InputError, Mismatch};

/// What went wrong in a graph layer, said before libtorch is asked.
#[derive(Debug, thiserror::Error)]
pub enum GnnError {
    /// An input tensor does not fit the layer (shape, kind, device, index
    /// range): the payload every seqgraph crate shares.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The graph itself is malformed (node ids out of range, bad edge weights).
    #[error("{0}")]
    Graph(String),
    /// A model or layer cannot be built with these sizes.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// libtorch refused an operation after the checks passed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// Result of a graph layer.
pub type Result<T> = std::result::Result<T, GnnError>;

impl From<GnnError> for TrainError {
    /// Input and configuration errors keep their type; a malformed graph is
    /// kept whole as [`TrainError::Model`] (downcast it to [`GnnError`]).
    fn from(e: GnnError) -> TrainError {
        match e {
            GnnError::Input(e) => TrainError::Input(e),
            GnnError::Config(m) => TrainError::Config(m),
            GnnError::Torch(e) => TrainError::Torch(e),
            e @ GnnError::Graph(_) => TrainError::Model(Box::new(e)),
        }
    }
}

/// Refuses a size below 1 (`what` of `layer`).
pub(crate) fn check_positive(layer: &str, what: &str, value: i64) -> Result<()> {
    if value < 1 {
        return Err(GnnError::Config(format!(
            "{layer}: {what} must be at least 1, got {value}"
        )));
    }
    Ok(())
}

/// Refuses a dropout rate outside `[0, 1)`.
pub(crate) fn check_dropout(layer: &str, p: f64) -> Result<()> {
    if !(0.0..1.0).contains(&p) {
        return Err(GnnError::Config(format!(
            "{layer}: dropout must be in [0, 1), got {p}"
        )));
    }
    Ok(())
}

/// Formats a tensor shape as PyTorch prints it: `[2708, 1433]`.
pub(crate) fn dims(t: &tch::Tensor) -> String {
    format!("{:?}", t.size())
}
