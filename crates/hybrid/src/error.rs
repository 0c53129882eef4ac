//! Errors of the hybrid models: wrong shapes and graphs are refused before
//! libtorch sees them.

use train_utils::TrainError;
pub use train_utils::{InputError, Mismatch};

/// What can go wrong when calling a hybrid model.
#[derive(Debug, thiserror::Error)]
pub enum HybridError {
    /// An input tensor does not fit the model (shape, kind, device): the
    /// payload every seqgraph crate shares.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The graph operators do not fit the input or the model.
    #[error("graph: {0}")]
    Graph(String),
    /// A configuration value is out of range.
    #[error("config: {0}")]
    Config(String),
    /// A state dict to load (PyG Temporal's, [`crate::interop`]) lacks a
    /// tensor or has one of the wrong shape.
    #[error(transparent)]
    StateDict(#[from] StateDictError),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// A state dict that does not fit the model it is loaded into; both cases
/// name the tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateDictError {
    /// The tensor is not in the state dict.
    #[error("{model} state dict: no tensor `{name}`")]
    Missing {
        /// The model being loaded (`PGT GConvGRU`, ...).
        model: String,
        /// The tensor's full name in the state dict.
        name: String,
    },
    /// The tensor has the wrong shape.
    #[error("{model} state dict: tensor `{name}` has shape {got:?}, expected {expected}")]
    Shape {
        /// The model being loaded.
        model: String,
        /// The tensor's full name in the state dict.
        name: String,
        /// The expected shape, in words (`[H=4, F=2]`).
        expected: String,
        /// The shape found.
        got: Vec<i64>,
    },
}

/// Result with [`HybridError`].
pub type Result<T> = std::result::Result<T, HybridError>;

/// Names `layer` in a graph error (`"Tgcn: support 0 ..."`); other errors pass through.
pub(crate) fn in_layer(layer: &str, e: HybridError) -> HybridError {
    match e {
        HybridError::Graph(m) => HybridError::Graph(format!("{layer}: {m}")),
        e => e,
    }
}

/// Checks that `t` has the rank of `expected` and the sizes given as `Some`;
/// `words` is the expected shape in words (`[B, T, N, F=2]`).
pub(crate) fn check_shape(
    layer: &str,
    what: &str,
    t: &tch::Tensor,
    expected: &[Option<i64>],
    words: &str,
) -> Result<Vec<i64>> {
    let got = t.size();
    let ok = got.len() == expected.len() && got.iter().zip(expected).all(|(g, e)| e.is_none_or(|e| e == *g));
    if ok {
        Ok(got)
    } else {
        Err(InputError::shape(layer, what, words, got).into())
    }
}

impl From<HybridError> for TrainError {
    /// Input, configuration and libtorch errors keep their type; a graph that
    /// does not fit is kept whole as [`TrainError::Model`] (downcast to [`HybridError`]).
    fn from(e: HybridError) -> TrainError {
        match e {
            HybridError::Input(e) => TrainError::Input(e),
            HybridError::Config(m) => TrainError::Config(m),
            HybridError::Torch(e) => TrainError::Torch(e),
            e @ (HybridError::Graph(_) | HybridError::StateDict(_)) => TrainError::Model(Box::new(e)),
        }
    }
}
