//! A sparse-dense product `A @ X` whose backward reuses a cached transpose
//! (a custom autograd function in `sparse_mm.cpp`).
//!
//! libtorch's `mm(sparse, dense)` rebuilds `A^T` with a sort of the nonzeros
//! in every backward pass, and its COO kernel is several times slower than its
//! CSR one. A graph's operator is built once and used for hundreds of steps:
//! [`sparse_mm`] converts a COO operator to CSR once, builds the transpose's
//! structure once per CSR structure (values are gathered per call, so dropout
//! on sparse features still works), and its backward is one CSR product
//! `dX = A^T dY`. No gradient flows to `A`: [`f_sparse_mm`] refuses an
//! operator that requires one.
//!
//! [`sparse_addmm`] adds an accumulator, `acc + A @ X`, in the same pass (each
//! output row starts from `acc`'s row): a graph filter's other terms are
//! added while the product's rows are in registers, not in a pass of their
//! own over the output.
//!
//! ```
//! use tch::{Kind, Tensor};
//! let a = Tensor::eye(3, (Kind::Float, tch::Device::Cpu)).to_sparse_sparse_dim(2);
//! let x = Tensor::ones([3, 2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
//! let y = train_utils::sparse::sparse_mm(&a, &x);
//! y.sum(Kind::Float).backward();
//! assert_eq!(x.grad().sum(Kind::Float).double_value(&[]), 6.0);
//! ```

use std::os::raw::{c_char, c_int};

use tch::{TchError, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn seqgraph_cached_sparse_mm(
        acc: *const C_tensor,
        a: *const C_tensor,
        x: *const C_tensor,
        out: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn seqgraph_cached_sparse_mm_entries() -> usize;
    fn seqgraph_tensor_is_sparse(t: *const C_tensor) -> bool;
    fn seqgraph_cached_sparse_mm_clear() -> usize;
}

/// True for a tensor with a sparse layout (COO, CSR, CSC, BSR, BSC). tch has
/// no layout query, and probing with `f_crow_indices` costs milliseconds on a
/// dense tensor (libtorch records a backtrace for the error it throws).
pub fn is_sparse(t: &Tensor) -> bool {
    // SAFETY: `t` is a live tensor; the shim only reads its layout.
    unsafe { seqgraph_tensor_is_sparse(t.as_ptr()) }
}

/// `a @ x` for a constant sparse (COO or CSR) `a` `[n, m]` and a dense `x`
/// `[m, k]` of the same kind and device; the gradient flows to `x` only.
///
/// Panics with [`f_sparse_mm`]'s message on bad input.
pub fn sparse_mm(a: &Tensor, x: &Tensor) -> Tensor {
    f_sparse_mm(a, x).unwrap_or_else(|e| panic!("{e}"))
}

/// [`sparse_mm`], or [`TchError::Shape`] / [`TchError::Kind`] naming what does
/// not fit: `a` not sparse, not 2-D or requiring a gradient, `x` not 2-D,
/// inner sizes that differ, other kinds or devices.
pub fn f_sparse_mm(a: &Tensor, x: &Tensor) -> Result<Tensor, TchError> {
    f_sparse_addmm(None, a, x)
}

/// `acc + a @ x` (`acc` `None`: `a @ x`) for a constant sparse (COO or CSR)
/// `a` `[n, m]`, a dense `x` `[m, k]` and `acc` `[n, k]`, all of one kind and
/// device; gradients flow to `x` and `acc`.
///
/// ```
/// use tch::{Kind, Tensor};
/// let a = Tensor::eye(3, (Kind::Float, tch::Device::Cpu)).to_sparse_sparse_dim(2);
/// let x = Tensor::ones([3, 2], (Kind::Float, tch::Device::Cpu));
/// let acc = Tensor::full([3, 2], 2.0, (Kind::Float, tch::Device::Cpu));
/// let y = train_utils::sparse::sparse_addmm(Some(&acc), &a, &x);
/// assert_eq!(y.sum(Kind::Float).double_value(&[]), 18.0);
/// ```
///
/// Panics with [`f_sparse_addmm`]'s message on bad input.
pub fn sparse_addmm(acc: Option<&Tensor>, a: &Tensor, x: &Tensor) -> Tensor {
    f_sparse_addmm(acc, a, x).unwrap_or_else(|e| panic!("{e}"))
}

/// [`sparse_addmm`], or the errors of [`f_sparse_mm`] and one naming an
/// accumulator of another shape, kind or device.
pub fn f_sparse_addmm(acc: Option<&Tensor>, a: &Tensor, x: &Tensor) -> Result<Tensor, TchError> {
    if !is_sparse(a) || a.dim() != 2 {
        return Err(TchError::Shape(format!(
            "sparse_mm: the operator must be a 2-D sparse (COO or CSR) tensor, got {:?}",
            a.size()
        )));
    }
    if a.requires_grad() {
        return Err(TchError::Shape(
            "sparse_mm: the operator requires a gradient; use Tensor::mm, which gives it one".into(),
        ));
    }
    if x.dim() != 2 || x.size()[0] != a.size()[1] {
        return Err(TchError::Shape(format!(
            "sparse_mm: operator {:?} and dense {:?} do not multiply (x must be [{}, k])",
            a.size(),
            x.size(),
            a.size()[1]
        )));
    }
    crate::shim::check_kind_device("sparse_mm", "the dense operand", x, a.kind(), a.device())?;
    if let Some(acc) = acc {
        let want = [a.size()[0], x.size()[1]];
        if acc.size() != want {
            return Err(TchError::Shape(format!(
                "sparse_mm: the accumulator must be {want:?} (rows of the operator, columns of x), got {:?}",
                acc.size()
            )));
        }
        crate::shim::check_kind_device("sparse_mm", "the accumulator", acc, a.kind(), a.device())?;
    }
    let acc = acc.map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: `a` and `x` are live tensors (tch's C_tensor is an at::Tensor*),
    // `acc` one or null, and the entry point is built on `tensor_or_error`.
    unsafe {
        crate::shim::tensor_from("sparse_mm: ", |out, err, len| {
            seqgraph_cached_sparse_mm(acc, a.as_ptr(), x.as_ptr(), out, err, len)
        })
    }
}

/// How many cached entries [`sparse_mm`] holds (transposed structures and COO
/// operators' CSR forms; an entry whose tensor died is dropped when the next
/// one is added).
pub fn cached_entries() -> usize {
    // SAFETY: takes a lock and reads a size.
    unsafe { seqgraph_cached_sparse_mm_entries() }
}

/// Drops every cached entry; returns how many there were.
pub fn clear_cache() -> usize {
    // SAFETY: takes a lock and clears the maps; later calls rebuild entries.
    unsafe { seqgraph_cached_sparse_mm_clear() }
}
