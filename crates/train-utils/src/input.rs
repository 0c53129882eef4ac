//! The one typed description of an input that does not fit a layer, shared by
//! every seqgraph crate: `seq_models::SeqError`, `graph_models::GnnError` and
//! `hybrid::HybridError` each carry an [`InputError`], and all of them convert
//! into [`TrainError::Input`](crate::TrainError::Input), so a caller matches
//! one type whichever layer refused the tensor.
//!
//! ```
//! use train_utils::{InputError, Mismatch};
//! let e = InputError::shape("GcnConv", "x", "[num_nodes=4, 3]", vec![4, 4]);
//! assert_eq!(e.to_string(), "GcnConv expects x of shape [num_nodes=4, 3], got [4, 4]");
//! assert!(matches!(e.mismatch, Mismatch::Shape { .. }));
//! ```

use tch::{Device, Kind, Tensor};

/// What about a tensor does not fit.
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
        /// The kind the layer needs (its parameters' kind for inputs).
        expected: Kind,
        /// The kind given.
        got: Kind,
    },
    /// A value outside the range a layer can index (a token id past the
    /// vocabulary, a node id past the graph).
    Range {
        /// The allowed values, in words (e.g. `token ids in 0..10`).
        expected: String,
        /// The first offending value found.
        found: i64,
    },
    /// Another device than the parameters' (or the graph's).
    Device {
        /// The device the layer needs.
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

/// A tensor given to a named layer that does not fit it, e.g.
/// `Lstm expects input of shape [batch, time, 12], got [4, 12]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{layer} expects {what} of {mismatch}")]
pub struct InputError {
    /// The layer or model (`Lstm`, `GcnConv`, `Tgcn`, `Forecaster`, ...).
    pub layer: String,
    /// Which tensor (`input`, `x`, `state h`, `edge_index`, ...).
    pub what: String,
    /// What does not fit.
    pub mismatch: Mismatch,
}

impl InputError {
    /// A shape mismatch: `layer expects what of shape expected, got got`.
    pub fn shape(
        layer: impl Into<String>,
        what: impl Into<String>,
        expected: impl Into<String>,
        got: Vec<i64>,
    ) -> Self {
        InputError {
            layer: layer.into(),
            what: what.into(),
            mismatch: Mismatch::Shape {
                expected: expected.into(),
                got,
            },
        }
    }

    /// A value out of range: `layer expects what of expected, found found`.
    pub fn range(
        layer: impl Into<String>,
        what: impl Into<String>,
        expected: impl Into<String>,
        found: i64,
    ) -> Self {
        InputError {
            layer: layer.into(),
            what: what.into(),
            mismatch: Mismatch::Range {
                expected: expected.into(),
                found,
            },
        }
    }

    /// Checks that `x` has `kind` and lives on `device`; the kind is checked
    /// first (a wrong kind on the wrong device reports the kind).
    pub fn check_kind_device(
        layer: &str,
        what: &str,
        x: &Tensor,
        kind: Kind,
        device: Device,
    ) -> Result<(), InputError> {
        let mismatch = if x.kind() != kind {
            Mismatch::Kind {
                expected: kind,
                got: x.kind(),
            }
        } else if x.device() != device {
            Mismatch::Device {
                expected: device,
                got: x.device(),
            }
        } else {
            return Ok(());
        };
        Err(InputError {
            layer: layer.into(),
            what: what.into(),
            mismatch,
        })
    }
}
