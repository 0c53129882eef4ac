//! Conversion to and from `tch` tensors (feature `tch`), on the CPU; move the
//! results with `.to_device(..)`.
//!
//! - [`EdgeList::edge_index`] / [`Csr::edge_index`]: PyG's `edge_index`, a
//!   `2 x E` int64 tensor with sources in row 0 and targets in row 1.
//! - [`Csr::to_sparse_csr_tensor`] / [`Csr::to_sparse_coo_tensor`]: the
//!   adjacency as an `N x N` float sparse tensor.
//! - [`Features::to_tensor`] (dense) and [`Features::to_tensor_keep_sparse`] /
//!   [`SparseMatrix::to_sparse_csr_tensor`]: feature matrices, kept sparse
//!   when they are (Cora's are 1.3 % non-zero).
//!
//! The `from_*` functions convert back, checking shapes and ids.
//!
//! ```
//! use graph_data::{csr::Csr, EdgeList};
//! let e = EdgeList::from_pairs(3, &[(0, 1), (2, 0)]).unwrap();
//! let ei = e.edge_index();
//! assert_eq!(ei.size(), vec![2, 2]);
//! assert_eq!(Vec::<i64>::try_from(&ei.get(0)).unwrap(), vec![0, 2]);
//! let a = Csr::from_edge_list(&e).unwrap().to_sparse_csr_tensor();
//! assert_eq!(a.to_dense(None, false).sum(tch::Kind::Float).double_value(&[]), 2.0);
//! ```

use tch::{Kind, Tensor};

use crate::csr::Csr;
use crate::edges::EdgeList;
use crate::error::{DataError, Result};
use crate::features::{Features, SparseMatrix};

fn i64s(v: impl Iterator<Item = usize>) -> Tensor {
    Tensor::from_slice(&v.map(|x| x as i64).collect::<Vec<_>>())
}

fn edge_index_of(src: &[u32], dst: &[u32]) -> Tensor {
    let ids: Vec<i64> = src.iter().chain(dst).map(|&v| v as i64).collect();
    Tensor::from_slice(&ids).view([2, src.len() as i64])
}

fn tch_err(what: &str) -> impl Fn(tch::TchError) -> DataError + '_ {
    move |e| DataError::Invalid(format!("{what}: {e}"))
}

fn vec_of<T: tch::kind::Element + Copy>(t: &Tensor, what: &str) -> Result<Vec<T>> {
    Vec::<T>::try_from(&t.f_flatten(0, -1).map_err(tch_err(what))?).map_err(tch_err(what))
}

/// `(row pointers, column indices, values, rows, cols)` of a sparse matrix.
type SparseParts = (Vec<usize>, Vec<u32>, Vec<f32>, usize, usize);

/// Reads the CSR parts of a sparse CSR or COO tensor.
fn sparse_parts(t: &Tensor, what: &str) -> Result<SparseParts> {
    let size = t.size();
    if size.len() != 2 {
        return Err(DataError::Invalid(format!(
            "{what}: expected a 2-D tensor, got shape {size:?}"
        )));
    }
    let (rows, cols) = (size[0] as usize, size[1] as usize);
    let (crow, col, values): (Vec<i64>, Vec<i64>, Vec<f32>) = if t.is_sparse() {
        // COO: coalescing sorts by (row, col) and sums duplicates.
        let t = t.f_coalesce().map_err(tch_err(what))?;
        let idx = t.f_indices().map_err(tch_err(what))?;
        let row: Vec<i64> = vec_of(&idx.get(0), what)?;
        let mut crow = vec![0i64; rows + 1];
        for &r in &row {
            crow[r as usize + 1] += 1;
        }
        for i in 0..rows {
            crow[i + 1] += crow[i];
        }
        (
            crow,
            vec_of(&idx.get(1), what)?,
            vec_of(&t.f_values().map_err(tch_err(what))?, what)?,
        )
    } else if let Ok(crow) = t.f_crow_indices() {
        (
            vec_of(&crow, what)?,
            vec_of(&t.col_indices(), what)?,
            vec_of(&t.values(), what)?,
        )
    } else {
        return Err(DataError::Invalid(format!(
            "{what}: expected a sparse COO or CSR tensor"
        )));
    };
    let col = col
        .into_iter()
        .map(|c| u32::try_from(c).map_err(|_| DataError::Invalid(format!("{what}: column {c} out of range"))))
        .collect::<Result<Vec<u32>>>()?;
    if crow.iter().any(|&p| p < 0) {
        return Err(DataError::Invalid(format!("{what}: negative row pointer")));
    }
    Ok((
        crow.into_iter().map(|p| p as usize).collect(),
        col,
        values,
        rows,
        cols,
    ))
}

impl EdgeList {
    /// PyG's `edge_index`: `2 x E` int64, row 0 the sources.
    pub fn edge_index(&self) -> Tensor {
        edge_index_of(&self.src, &self.dst)
    }

    /// The weights as a float tensor of length `E`, if any.
    pub fn edge_weight(&self) -> Option<Tensor> {
        self.weight.as_ref().map(|w| Tensor::from_slice(w))
    }

    /// Reads a `2 x E` integer `edge_index` (and optional `E` weights) back,
    /// checking shape and ids.
    pub fn from_edge_index(edge_index: &Tensor, num_nodes: usize, weight: Option<&Tensor>) -> Result<Self> {
        let size = edge_index.size();
        if size.len() != 2 || size[0] != 2 {
            return Err(DataError::Invalid(format!(
                "edge_index: expected shape [2, E], got {size:?}"
            )));
        }
        let ids: Vec<i64> = vec_of(edge_index, "edge_index")?;
        let id = |v: i64| {
            u32::try_from(v)
                .map_err(|_| DataError::Invalid(format!("edge_index: node id {v} is out of range")))
        };
        let e = size[1] as usize;
        let src = ids[..e].iter().map(|&v| id(v)).collect::<Result<_>>()?;
        let dst = ids[e..].iter().map(|&v| id(v)).collect::<Result<_>>()?;
        let weight = weight.map(|w| vec_of(w, "edge_weight")).transpose()?;
        EdgeList::new(num_nodes, src, dst, weight)
    }
}

impl Csr {
    /// PyG's `edge_index` of the entries, in row order.
    pub fn edge_index(&self) -> Tensor {
        self.to_edge_list().edge_index()
    }

    /// The entry weights (ones when unweighted), float, length `nnz`.
    pub fn edge_weight(&self) -> Tensor {
        Tensor::from_slice(&self.values())
    }

    /// The adjacency as an `N x N` float sparse CSR tensor (int64 indices).
    pub fn to_sparse_csr_tensor(&self) -> Tensor {
        let n = self.num_nodes() as i64;
        Tensor::sparse_csr_tensor_crow_col_value_size(
            &i64s(self.indptr().iter().copied()),
            &i64s(self.indices().iter().map(|&c| c as usize)),
            &self.edge_weight(),
            [n, n],
            (Kind::Float, tch::Device::Cpu),
        )
    }

    /// The adjacency as an `N x N` float sparse COO tensor, coalesced
    /// (duplicate entries summed).
    pub fn to_sparse_coo_tensor(&self) -> Tensor {
        let n = self.num_nodes() as i64;
        Tensor::sparse_coo_tensor_indices_size(
            &self.edge_index(),
            &self.edge_weight(),
            [n, n],
            (Kind::Float, tch::Device::Cpu),
            false,
        )
        .coalesce()
    }

    /// Reads a square sparse COO or CSR tensor back (weights always kept).
    pub fn from_sparse_tensor(t: &Tensor) -> Result<Csr> {
        let (indptr, indices, values, rows, cols) = sparse_parts(t, "sparse adjacency")?;
        if rows != cols {
            return Err(DataError::Invalid(format!(
                "sparse adjacency: {rows} x {cols} is not square"
            )));
        }
        Csr::new(rows, indptr, indices, Some(values))
    }
}

impl SparseMatrix {
    /// A `rows x cols` float sparse CSR tensor.
    pub fn to_sparse_csr_tensor(&self) -> Tensor {
        Tensor::sparse_csr_tensor_crow_col_value_size(
            &i64s(self.indptr.iter().copied()),
            &i64s(self.indices.iter().map(|&c| c as usize)),
            &Tensor::from_slice(&self.values),
            [self.nrows as i64, self.ncols as i64],
            (Kind::Float, tch::Device::Cpu),
        )
    }

    /// A `rows x cols` float sparse COO tensor, coalesced.
    pub fn to_sparse_coo_tensor(&self) -> Tensor {
        let rows: Vec<u32> = (0..self.nrows)
            .flat_map(|r| std::iter::repeat_n(r as u32, self.indptr[r + 1] - self.indptr[r]))
            .collect();
        Tensor::sparse_coo_tensor_indices_size(
            &edge_index_of(&rows, &self.indices),
            &Tensor::from_slice(&self.values),
            [self.nrows as i64, self.ncols as i64],
            (Kind::Float, tch::Device::Cpu),
            false,
        )
        .coalesce()
    }

    /// Reads a sparse COO or CSR tensor back, checking its structure.
    pub fn from_sparse_tensor(t: &Tensor) -> Result<SparseMatrix> {
        let (indptr, indices, values, rows, cols) = sparse_parts(t, "sparse matrix")?;
        SparseMatrix::new(rows, cols, indptr, indices, values)
    }
}

impl Features {
    /// A dense `rows x cols` float tensor.
    pub fn to_tensor(&self) -> Tensor {
        let (r, c) = self.shape();
        match self {
            Features::Dense { data, .. } => Tensor::from_slice(data).view([r as i64, c as i64]),
            Features::Sparse(m) => Tensor::from_slice(&m.to_dense()).view([r as i64, c as i64]),
        }
    }

    /// Dense features as a dense tensor, sparse ones as a sparse CSR tensor.
    pub fn to_tensor_keep_sparse(&self) -> Tensor {
        match self {
            Features::Dense { .. } => self.to_tensor(),
            Features::Sparse(m) => m.to_sparse_csr_tensor(),
        }
    }

    /// Reads a 2-D float tensor back: dense stays dense, sparse (COO or CSR)
    /// stays sparse. Non-finite values are refused.
    pub fn from_tensor(t: &Tensor) -> Result<Features> {
        if t.is_sparse() || t.f_crow_indices().is_ok() {
            return Ok(Features::Sparse(SparseMatrix::from_sparse_tensor(t)?));
        }
        let size = t.size();
        if size.len() != 2 {
            return Err(DataError::Invalid(format!(
                "features: expected a 2-D tensor, got shape {size:?}"
            )));
        }
        let data: Vec<f32> = vec_of(t, "features")?;
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            let c = size[1].max(1) as usize;
            return Err(DataError::Invalid(format!(
                "features: value at row {}, column {} is {}",
                i / c,
                i % c,
                data[i]
            )));
        }
        Ok(Features::Dense {
            rows: size[0] as usize,
            cols: size[1] as usize,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_round_trips_through_both_layouts() {
        let e = EdgeList::new(3, vec![2, 0, 0], vec![1, 2, 1], Some(vec![1.5, 2.0, -1.0])).unwrap();
        let a = Csr::from_edge_list(&e).unwrap();
        assert_eq!(Csr::from_sparse_tensor(&a.to_sparse_csr_tensor()).unwrap(), a);
        assert_eq!(Csr::from_sparse_tensor(&a.to_sparse_coo_tensor()).unwrap(), a);
        let dense: Vec<f32> = vec_of(&a.to_sparse_csr_tensor().to_dense(None, false), "t").unwrap();
        assert_eq!(dense, vec![0.0, -1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0]);
        let ei = a.edge_index();
        assert_eq!(Vec::<i64>::try_from(&ei.get(1)).unwrap(), vec![1, 2, 1]);
        let back = EdgeList::from_edge_index(&ei, 3, Some(&a.edge_weight())).unwrap();
        assert_eq!(back, a.to_edge_list());
        assert!(EdgeList::from_edge_index(&ei, 2, None).is_err());
        assert!(EdgeList::from_edge_index(&Tensor::from_slice(&[0i64, 1, 2]), 3, None).is_err());
        assert!(Csr::from_sparse_tensor(&Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu))).is_err());
    }

    #[test]
    fn features_stay_sparse_and_round_trip() {
        let m = SparseMatrix::new(2, 4, vec![0, 1, 3], vec![2, 0, 3], vec![1.0, 0.5, 2.0]).unwrap();
        let f = Features::Sparse(m.clone());
        let t = f.to_tensor_keep_sparse();
        assert!(t.f_crow_indices().is_ok());
        assert_eq!(Features::from_tensor(&t).unwrap(), f);
        assert_eq!(
            SparseMatrix::from_sparse_tensor(&m.to_sparse_coo_tensor()).unwrap(),
            m
        );
        let d = f.to_tensor();
        assert_eq!(d.size(), vec![2, 4]);
        let dense = Features::from_tensor(&d).unwrap();
        assert_eq!(dense.to_dense(), m.to_dense());
        let nan = Tensor::from_slice(&[1.0f32, f32::NAN]).view([1, 2]);
        assert!(Features::from_tensor(&nan)
            .unwrap_err()
            .to_string()
            .contains("column 1"));
    }
}
