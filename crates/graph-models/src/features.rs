//! Node features as the first layer sees them: dense, or sparse CSR. Cora's
//! bag-of-words matrix is 1.3 % non-zero: dropout then touches its 49 k stored
//! values instead of 3.9 M dense entries, and a sparse-dense product replaces
//! the dense one (measurements: docs/benchmarks.md).

use tch::{Device, Kind, Tensor};

use crate::layer::FastDropout;

/// Input node features.
#[derive(Debug)]
pub enum NodeFeatures {
    /// A dense `[N, F]` float tensor.
    Dense(Tensor),
    /// A sparse `[N, F]` matrix in CSR parts.
    Sparse {
        /// Row pointers, `N + 1` int64.
        crow: Tensor,
        /// Column of each stored value, int64.
        col: Tensor,
        /// Stored values, float.
        values: Tensor,
        /// `[N, F]`.
        shape: [i64; 2],
    },
}

impl NodeFeatures {
    /// Converts graph-data's features, keeping sparse ones sparse.
    pub fn from_features(features: &graph_data::Features, device: Device) -> Self {
        let t = features.to_tensor_keep_sparse().to_device(device);
        match features {
            graph_data::Features::Dense { .. } => NodeFeatures::Dense(t),
            graph_data::Features::Sparse(m) => NodeFeatures::Sparse {
                crow: t.crow_indices(),
                col: t.col_indices(),
                values: t.values(),
                shape: [m.nrows as i64, m.ncols as i64],
            },
        }
    }

    /// `[N, F]`.
    pub fn shape(&self) -> [i64; 2] {
        match self {
            NodeFeatures::Dense(t) => {
                let s = t.size();
                [s[0], s[1]]
            }
            NodeFeatures::Sparse { shape, .. } => *shape,
        }
    }

    /// The features as a tensor (sparse CSR when sparse), with dropout of rate
    /// `p` on the stored values when `train`.
    pub fn dropout(&self, p: f64, train: bool) -> Tensor {
        match self {
            NodeFeatures::Dense(t) => t.fast_dropout(p, train),
            NodeFeatures::Sparse {
                crow,
                col,
                values,
                shape,
            } => {
                let v = if train && p > 0.0 {
                    values.fast_dropout(p, true)
                } else {
                    values.shallow_clone()
                };
                // The structure was checked when loaded; skipping libtorch's re-check
                // of 49 k indices every epoch halves the cost of this step.
                Tensor::internal_sparse_csr_tensor_unsafe(crow, col, &v, shape, (Kind::Float, v.device()))
            }
        }
    }

    /// The features as a tensor, without dropout.
    pub fn tensor(&self) -> Tensor {
        self.dropout(0.0, false)
    }

    /// A dense copy.
    pub fn to_dense(&self) -> Tensor {
        match self {
            NodeFeatures::Dense(t) => t.shallow_clone(),
            NodeFeatures::Sparse { .. } => self.tensor().to_dense(None, false),
        }
    }
}
