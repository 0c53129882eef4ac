//! Node feature matrices, dense or sparse. Cora's features are 1.3 % non-zero:
//! keeping them sparse saves memory and lets the first layer use a
//! sparse-dense product.

use crate::error::{DataError, Result};

/// A row-major CSR matrix of `f32` (rows are nodes, columns features).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMatrix {
    /// Number of rows.
    pub nrows: usize,
    /// Number of columns.
    pub ncols: usize,
    /// Row pointers, `nrows + 1` long, non-decreasing, ending at `nnz`.
    pub indptr: Vec<usize>,
    /// Column of each stored value, below `ncols`.
    pub indices: Vec<u32>,
    /// Stored values.
    pub values: Vec<f32>,
}

impl SparseMatrix {
    /// Builds a CSR matrix, checking every structural invariant.
    pub fn new(
        nrows: usize,
        ncols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f32>,
    ) -> Result<Self> {
        let bad = |m: String| Err(DataError::Invalid(format!("sparse matrix {nrows}x{ncols}: {m}")));
        if indptr.len() != nrows + 1 {
            return bad(format!(
                "indptr has {} entries, expected {}",
                indptr.len(),
                nrows + 1
            ));
        }
        if indptr[0] != 0 || indptr.windows(2).any(|w| w[0] > w[1]) {
            return bad("indptr must start at 0 and never decrease".into());
        }
        if indptr[nrows] != indices.len() || indices.len() != values.len() {
            return bad(format!(
                "indptr ends at {}, with {} indices and {} values",
                indptr[nrows],
                indices.len(),
                values.len()
            ));
        }
        if let Some(&c) = indices.iter().find(|&&c| c as usize >= ncols) {
            return bad(format!("column index {c} is out of range"));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return bad(format!("stored value {i} is {}", values[i]));
        }
        Ok(SparseMatrix {
            nrows,
            ncols,
            indptr,
            indices,
            values,
        })
    }

    /// An all-zero matrix.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        SparseMatrix {
            nrows,
            ncols,
            indptr: vec![0; nrows + 1],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Number of stored values.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Fraction of entries stored (non-zero), in `[0, 1]`.
    pub fn density(&self) -> f64 {
        if self.nrows == 0 || self.ncols == 0 {
            return 0.0;
        }
        self.nnz() as f64 / (self.nrows as f64 * self.ncols as f64)
    }

    /// Column indices and values of row `i`.
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Row-major dense copy (`nrows * ncols` values).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.nrows * self.ncols];
        for i in 0..self.nrows {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                out[i * self.ncols + c as usize] += v;
            }
        }
        out
    }

    /// Divides each row by its sum (rows summing to zero stay zero), as
    /// PyG's `NormalizeFeatures`.
    pub fn row_normalize(&mut self) {
        for i in 0..self.nrows {
            let (a, b) = (self.indptr[i], self.indptr[i + 1]);
            let sum: f32 = self.values[a..b].iter().sum();
            if sum != 0.0 {
                self.values[a..b].iter_mut().for_each(|v| *v /= sum);
            }
        }
    }
}

/// A node feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Row-major dense values, `rows * cols` long.
    Dense {
        /// Number of rows (nodes).
        rows: usize,
        /// Number of columns (features).
        cols: usize,
        /// The values.
        data: Vec<f32>,
    },
    /// Sparse CSR values.
    Sparse(SparseMatrix),
}

impl Features {
    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Features::Dense { rows, cols, .. } => (*rows, *cols),
            Features::Sparse(m) => (m.nrows, m.ncols),
        }
    }

    /// Fraction of non-zero entries.
    pub fn density(&self) -> f64 {
        match self {
            Features::Dense { rows, cols, data } => {
                let nz = data.iter().filter(|v| **v != 0.0).count();
                if rows * cols == 0 {
                    0.0
                } else {
                    nz as f64 / (rows * cols) as f64
                }
            }
            Features::Sparse(m) => m.density(),
        }
    }

    /// Row-major dense copy.
    pub fn to_dense(&self) -> Vec<f32> {
        match self {
            Features::Dense { data, .. } => data.clone(),
            Features::Sparse(m) => m.to_dense(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invariants_are_checked_and_rows_normalise() {
        assert!(SparseMatrix::new(2, 3, vec![0, 1], vec![0], vec![1.0]).is_err());
        assert!(SparseMatrix::new(1, 3, vec![0, 1], vec![3], vec![1.0]).is_err());
        assert!(SparseMatrix::new(1, 3, vec![0, 1], vec![1], vec![f32::NAN]).is_err());
        let mut m = SparseMatrix::new(2, 3, vec![0, 2, 2], vec![0, 2], vec![1.0, 3.0]).unwrap();
        assert_eq!(m.to_dense(), vec![1.0, 0.0, 3.0, 0.0, 0.0, 0.0]);
        assert!((m.density() - 2.0 / 6.0).abs() < 1e-12);
        m.row_normalize();
        assert_eq!(m.to_dense(), vec![0.25, 0.0, 0.75, 0.0, 0.0, 0.0]);
    }
}
