//! The error every fallible forward pass returns.

/// What went wrong in a graph layer, said before libtorch is asked.
#[derive(Debug, thiserror::Error)]
pub enum GnnError {
    /// An input has the wrong shape, kind or device.
    #[error("{0}")]
    Shape(String),
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

/// Formats a tensor shape as PyTorch prints it: `[2708, 1433]`.
pub(crate) fn dims(t: &tch::Tensor) -> String {
    format!("{:?}", t.size())
}
