//! Errors of the hybrid models: wrong shapes and graphs are refused before
//! libtorch sees them.

/// What can go wrong when calling a hybrid model.
#[derive(Debug, thiserror::Error)]
pub enum HybridError {
    /// An input tensor has the wrong rank or size.
    #[error("{what}: expected {expected}, got shape {got:?}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The shape that was expected, in words.
        expected: String,
        /// The shape that was given.
        got: Vec<i64>,
    },
    /// The graph operators do not fit the input or the model.
    #[error("graph: {0}")]
    Graph(String),
    /// A configuration value is out of range.
    #[error("config: {0}")]
    Config(String),
    /// An error raised by libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
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

/// Checks that `t` has rank `rank` (and the sizes given as `Some`).
pub(crate) fn check_shape(
    what: &'static str,
    t: &tch::Tensor,
    expected: &[Option<i64>],
    words: &str,
) -> Result<Vec<i64>> {
    let got = t.size();
    let ok = got.len() == expected.len() && got.iter().zip(expected).all(|(g, e)| e.is_none_or(|e| e == *g));
    if ok {
        Ok(got)
    } else {
        Err(HybridError::Shape {
            what,
            expected: words.to_owned(),
            got,
        })
    }
}
