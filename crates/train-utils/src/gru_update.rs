//! The GRU's state update `h' = (1 - z) ⊙ tanh(p) + z ⊙ h` as one custom
//! autograd function (`gru_update.cpp`).
//!
//! Composed from libtorch's operators (a tanh, a lerp, and in the backward
//! pass tanh's backward and five elementwise products and sums), the update
//! moves about twice the memory it needs to, and libtorch's float tanh alone
//! took 8 % of a 10,000-node GConvGRU training step. Here the forward pass is
//! one pass writing `h'` and `n = tanh(p)` (kept for the backward pass), and
//! the backward pass one pass writing `dp = g (1 - z) (1 - n²)`, `dz = g (h -
//! n)` and `dh = g z`. Float tensors on an x86-64 CPU with AVX2 and FMA take
//! a vector loop whose tanh is within 2 ulp of the exact value; double tensors and
//! other CPUs a scalar loop over the C library's `tanh`. Gradients flow to
//! all three inputs, once (no double backward).
//!
//! ```
//! use tch::{Kind, Tensor};
//! let p = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
//! let h = Tensor::ones([2, 3], (Kind::Float, tch::Device::Cpu));
//! let z = Tensor::full([2, 3], 0.25, (Kind::Float, tch::Device::Cpu));
//! // (1 - 0.25) * tanh(0) + 0.25 * 1
//! let out = train_utils::gru_update::gru_update(&p, &h, &z);
//! assert_eq!(out.double_value(&[1, 2]), 0.25);
//! ```

use std::os::raw::{c_char, c_int};

use tch::{Device, Kind, TchError, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn seqgraph_gru_update(
        p: *const C_tensor,
        h: *const C_tensor,
        z: *const C_tensor,
        out: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn seqgraph_gru_update_tanh(
        x: *const C_tensor,
        out: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
}

/// `(1 - z) ⊙ tanh(p) + z ⊙ h` for `p`, `h`, `z` of one shape, kind (float or
/// double) and device. Panics with [`f_gru_update`]'s message on bad input.
pub fn gru_update(p: &Tensor, h: &Tensor, z: &Tensor) -> Tensor {
    f_gru_update(p, h, z).unwrap_or_else(|e| panic!("{e}"))
}

/// [`gru_update`], or [`TchError::Shape`] / [`TchError::Kind`] naming the
/// tensor that does not match `p`. Tensors off the CPU take libtorch's
/// operators (`p.tanh().lerp(h, z)`), with the same result.
pub fn f_gru_update(p: &Tensor, h: &Tensor, z: &Tensor) -> Result<Tensor, TchError> {
    for (what, t) in [("h", h), ("z", z)] {
        if t.size() != p.size() {
            return Err(TchError::Shape(format!(
                "gru_update: {what} must have the shape of p {:?}, got {:?}",
                p.size(),
                t.size()
            )));
        }
    }
    if !matches!(p.kind(), Kind::Float | Kind::Double) {
        return Err(TchError::Kind(format!(
            "gru_update: p must be Float or Double, got {:?}",
            p.kind()
        )));
    }
    for (what, t) in [("h", h), ("z", z)] {
        crate::shim::check_kind_device("gru_update", what, t, p.kind(), p.device())?;
    }
    if p.device() != Device::Cpu {
        return p.f_tanh()?.f_lerp_tensor(h, z);
    }
    // SAFETY: the tensors are live (tch's C_tensor is an at::Tensor*) and the
    // entry point is built on `tensor_or_error`.
    unsafe {
        crate::shim::tensor_from("gru_update: ", |out, err, len| {
            seqgraph_gru_update(p.as_ptr(), h.as_ptr(), z.as_ptr(), out, err, len)
        })
    }
}

/// The tanh [`gru_update`] computes, without autograd: for testing it against
/// libtorch's. Float or double CPU tensors only.
pub fn update_tanh(x: &Tensor) -> Result<Tensor, TchError> {
    crate::shim::check_kind_device("gru_update", "x", x, x.kind(), Device::Cpu)?;
    if !matches!(x.kind(), Kind::Float | Kind::Double) {
        return Err(TchError::Kind(format!(
            "gru_update: x must be Float or Double, got {:?}",
            x.kind()
        )));
    }
    // SAFETY: as in `f_gru_update`.
    unsafe {
        crate::shim::tensor_from("gru_update: ", |out, err, len| {
            seqgraph_gru_update_tanh(x.as_ptr(), out, err, len)
        })
    }
}
