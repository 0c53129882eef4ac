//! `acc + x W^T + b` for many rows and a small weight (`small_linear.cpp`, a
//! custom autograd function), falling back to libtorch's `addmm` where the
//! kernel does not apply.
//!
//! A graph-recurrent step multiplies `nodes * batch` rows of `H = 32`
//! features by `32 x 32` gate weights. libtorch's GEMM runs such skinny
//! products at about half its large-matrix rate; the kernel here keeps a block
//! of output rows in vector registers (instantiated for AVX-512 and for
//! AVX2 with FMA, with as many rows per block as each one's registers hold,
//! chosen at run time) and runs them faster, forward and in the input
//! gradient; the weight gradient is one pass over the rows. It applies on an
//! x86-64 CPU with AVX2 and FMA (or AVX-512) to `f32` / `f64` with an output
//! width of one to four 64-byte vectors (`f32`: 16, 32, 48 or 64; `f64`: 8,
//! 16, 24 or 32) and at least [`MIN_ROWS`] rows; anything else (another CPU
//! included) takes `addmm`, with the same result. Gradients flow to `acc`,
//! `x`, `W` and `b`, once (no double backward through the kernel).
//!
//! ```
//! use tch::{Kind, Tensor};
//! let x = Tensor::ones([1000, 3], (Kind::Float, tch::Device::Cpu));
//! let w = Tensor::ones([16, 3], (Kind::Float, tch::Device::Cpu));
//! let y = train_utils::small_linear::linear(None, &x, &w, None);
//! assert_eq!(y.size(), [1000, 16]);
//! assert_eq!(y.double_value(&[7, 5]), 3.0);
//! ```

use std::os::raw::{c_char, c_int};

use tch::{Device, Kind, TchError, Tensor};
use torch_sys::C_tensor;

extern "C" {
    fn seqgraph_small_linear_fits(n: i64, kind: c_int) -> bool;
    fn seqgraph_small_linear_isa() -> c_int;
    fn seqgraph_small_linear(
        acc: *const C_tensor,
        x: *const C_tensor,
        w: *const C_tensor,
        bias: *const C_tensor,
        out: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
}

/// Fewer rows than this take `addmm` (the kernel's setup is not worth it).
pub const MIN_ROWS: i64 = 256;

/// The instruction set the kernel runs with on this CPU: `Some("avx512")`,
/// `Some("avx2+fma")`, or `None` (not x86-64, or neither: every call takes
/// `addmm`).
pub fn kernel_isa() -> Option<&'static str> {
    // SAFETY: no arguments; reads the CPU's features once.
    match unsafe { seqgraph_small_linear_isa() } {
        2 => Some("avx512"),
        1 => Some("avx2+fma"),
        _ => None,
    }
}

/// Whether this CPU runs the kernel at all ([`kernel_isa`] is `Some`).
pub fn kernel_available() -> bool {
    kernel_isa().is_some()
}

/// Whether [`linear`] runs the kernel for these tensors (else `addmm`).
pub fn uses_kernel(x: &Tensor, w: &Tensor) -> bool {
    let kind = match x.kind() {
        Kind::Float => 0,
        Kind::Double => 1,
        _ => return false,
    };
    x.device() == Device::Cpu
        && x.dim() == 2
        && w.dim() == 2
        && w.kind() == x.kind()
        && w.device() == Device::Cpu
        && x.size()[0] >= MIN_ROWS
        // SAFETY: a pure function of two integers.
        && unsafe { seqgraph_small_linear_fits(w.size()[0], kind) }
}

/// `acc + x W^T + b`: `x` `[M, K]`, `w` `[N, K]`, `acc` `[M, N]`, `b` `[N]`,
/// giving `[M, N]`. Panics with [`f_linear`]'s message on bad input.
pub fn linear(acc: Option<&Tensor>, x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Tensor {
    f_linear(acc, x, w, bias).unwrap_or_else(|e| panic!("{e}"))
}

/// [`linear`], or [`TchError::Shape`] / [`TchError::Kind`] naming what does
/// not fit.
pub fn f_linear(
    acc: Option<&Tensor>,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor, TchError> {
    if x.dim() != 2 || w.dim() != 2 || x.size()[1] != w.size()[1] {
        return Err(TchError::Shape(format!(
            "small_linear: x {:?} and w {:?} do not multiply (x [M, K], w [N, K])",
            x.size(),
            w.size()
        )));
    }
    let (m, n) = (x.size()[0], w.size()[0]);
    if let Some(a) = acc {
        if a.size() != [m, n] {
            return Err(TchError::Shape(format!(
                "small_linear: acc must be [{m}, {n}], got {:?}",
                a.size()
            )));
        }
    }
    if let Some(b) = bias {
        if b.size() != [n] {
            return Err(TchError::Shape(format!(
                "small_linear: bias must be [{n}], got {:?}",
                b.size()
            )));
        }
    }
    for (what, t) in [("w", Some(w)), ("acc", acc), ("bias", bias)] {
        if let Some(t) = t {
            crate::shim::check_kind_device("small_linear", what, t, x.kind(), x.device())?;
        }
    }
    if !uses_kernel(x, w) {
        let out = match acc {
            Some(a) => a.f_addmm(x, &w.tr())?,
            None => x.f_mm(&w.tr())?,
        };
        return Ok(match bias {
            Some(b) => out + b,
            None => out,
        });
    }
    let ptr = |t: Option<&Tensor>| t.map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: the tensors are live (tch's C_tensor is an at::Tensor*) or null
    // for an absent acc / bias, and the entry point is built on `tensor_or_error`.
    unsafe {
        crate::shim::tensor_from("small_linear: ", |out, err, len| {
            seqgraph_small_linear(ptr(acc), x.as_ptr(), w.as_ptr(), ptr(bias), out, err, len)
        })
    }
}
