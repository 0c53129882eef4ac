//! The typed error of every fallible entry point of this crate.

use tch::{Device, Kind};

/// What about a tensor does not fit a layer: the typed part of [`SeqError::Input`].
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// Wrong number of dimensions or wrong size along one.
    Shape {
        /// The expected shape, in words (e.g. `[batch, time, 12]`).
        expected: String,
        /// The shape given.
        got: Vec<i64>,
    },
    /// Wrong element type.
    Kind {
        /// The parameters' kind.
        expected: Kind,
        /// The kind given.
        got: Kind,
    },
    /// A value outside the range a layer can index (a token id past the vocabulary).
    Range {
        /// The allowed values, in words (e.g. `token ids in 0..10`).
        expected: String,
        /// The first offending value found.
        found: i64,
    },
    /// Another device than the parameters'.
    Device {
        /// The parameters' device.
        expected: Device,
        /// The device given.
        got: Device,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Shape { expected, got } => write!(f, "shape {expected}, got {got:?}"),
            Mismatch::Kind { expected, got } => write!(f, "dtype {expected:?}, got {got:?}"),
            Mismatch::Device { expected, got } => write!(f, "device {expected:?}, got {got:?}"),
            Mismatch::Range { expected, found } => write!(f, "{expected}, found {found}"),
        }
    }
}

/// What went wrong, said before libtorch is called where the input is at fault.
#[derive(Debug, thiserror::Error)]
pub enum SeqError {
    /// A tensor given to a named layer does not fit it, e.g.
    /// `Lstm expects input of shape [batch, time, 12], got [4, 12]`.
    #[error("{layer} expects {what} of {mismatch}")]
    Input {
        /// The layer: `Rnn`, `Lstm`, `Gru`, `RnnCell`, `LstmCell`, `GruCell`, `OneToMany`, `Seq2Seq`.
        layer: &'static str,
        /// Which tensor (`input`, `state h`, `source tokens`, ...).
        what: &'static str,
        /// What does not fit.
        mismatch: Mismatch,
    },
    /// A tensor has the wrong number of dimensions or the wrong size along one.
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which tensor.
        what: &'static str,
        /// The expected shape, in words (e.g. `[batch, time, 12]`).
        expected: String,
        /// The shape given.
        got: Vec<i64>,
    },
    /// A tensor has the wrong element type.
    #[error("{what}: expected dtype {expected:?}, got {got:?}")]
    Kind {
        /// Which tensor.
        what: &'static str,
        /// The expected kind (the parameters' kind for inputs).
        expected: Kind,
        /// The kind given.
        got: Kind,
    },
    /// A tensor lives on another device than the parameters.
    #[error("{what}: expected device {expected:?}, got {got:?}")]
    Device {
        /// Which tensor.
        what: &'static str,
        /// The parameters' device.
        expected: Device,
        /// The device given.
        got: Device,
    },
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
