//! Inner products of row pairs, `out[e] = z[src[e]] . z[dst[e]]` (the
//! inner-product decoder of link prediction), as one custom autograd function
//! (`pair_dot.cpp`).
//!
//! Written with libtorch's ops it is two `index_select`s, a product and a sum,
//! and each `index_select`'s backward is an `index_add` that sorts its
//! indices and fills an `[N, d]` zero block. [`pair_dot`] is one pass over the
//! pairs forward and one backward (`dz[src[e]] += g[e] z[dst[e]]`,
//! `dz[dst[e]] += g[e] z[src[e]]`), on the CPU for `f32` and `f64`; on other
//! devices and kinds it runs the libtorch formula, so callers need not care.
//! The gradient flows to `z` only, and once (no double backward through the
//! CPU path).
//!
//! ```
//! use tch::{Kind, Tensor};
//! let z = Tensor::from_slice2(&[[1f32, 2.0], [3.0, 4.0], [5.0, 6.0]]);
//! let (src, dst) = (Tensor::from_slice(&[0i64, 2]), Tensor::from_slice(&[1i64, 2]));
//! let s = train_utils::pair_dot::pair_dot(&z, &src, &dst);
//! assert_eq!(Vec::<f32>::try_from(&s).unwrap(), [11.0, 61.0]);
//! ```

use std::os::raw::{c_char, c_int};

use tch::{Device, Kind, TchError, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn seqgraph_pair_dot(
        z: *const C_tensor,
        src: *const C_tensor,
        dst: *const C_tensor,
        out: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
}

/// `(z[src] * z[dst]).sum(1)`: `z` `[N, d]`, `src` and `dst` int64 `[P]`
/// with ids in `0..N`, giving `[P]`.
///
/// Panics with [`f_pair_dot`]'s message on bad input.
pub fn pair_dot(z: &Tensor, src: &Tensor, dst: &Tensor) -> Tensor {
    f_pair_dot(z, src, dst).unwrap_or_else(|e| panic!("{e}"))
}

/// [`pair_dot`], or [`TchError::Shape`] / [`TchError::Kind`] naming what does
/// not fit (`z` not 2-D, ids not int64 `[P]` of one length or on another
/// device), or [`TchError::Torch`] naming an id outside `0..N`.
pub fn f_pair_dot(z: &Tensor, src: &Tensor, dst: &Tensor) -> Result<Tensor, TchError> {
    if z.dim() != 2 {
        return Err(TchError::Shape(format!(
            "pair_dot: z must be [N, d], got {:?}",
            z.size()
        )));
    }
    for (what, t) in [("src", src), ("dst", dst)] {
        crate::shim::check_kind_device("pair_dot", what, t, Kind::Int64, z.device())?;
        if t.dim() != 1 || t.size() != src.size() {
            return Err(TchError::Shape(format!(
                "pair_dot: {what} must be [P] with P = {} (src's length), got {:?}",
                src.size().first().copied().unwrap_or(0),
                t.size()
            )));
        }
    }
    if z.device() != Device::Cpu || !matches!(z.kind(), Kind::Float | Kind::Double) {
        return Ok((z.f_index_select(0, src)? * z.f_index_select(0, dst)?).sum_dim_intlist(-1, false, None));
    }
    // SAFETY: `z`, `src` and `dst` are live tensors (tch's C_tensor is an
    // at::Tensor*) and the entry point is built on `tensor_or_error`.
    unsafe {
        crate::shim::tensor_from("", |out, err, len| {
            seqgraph_pair_dot(z.as_ptr(), src.as_ptr(), dst.as_ptr(), out, err, len)
        })
    }
}
