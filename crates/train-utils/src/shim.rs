//! The Rust side of the C++ entry points (`shim.h`): call one that writes a
//! new tensor or an error message, and take ownership of the result.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use tch::{Device, Kind, TchError, Tensor};
use torch_sys::C_tensor;

/// Calls `entry(out, err, err_len)`, a C++ entry point built on
/// `seqgraph::tensor_or_error`, and returns its tensor, or its message as
/// [`TchError::Torch`] prefixed with `what`.
///
/// # Safety
/// `entry` must call such an entry point with live tensor pointers: on
/// success (0) it has written a fresh heap `at::Tensor*` to `out`, on failure
/// a NUL-terminated message of at most `err_len` bytes to `err`.
pub(crate) unsafe fn tensor_from(
    what: &str,
    entry: impl FnOnce(*mut *mut C_tensor, *mut c_char, usize) -> c_int,
) -> Result<Tensor, TchError> {
    let mut out: *mut C_tensor = std::ptr::null_mut();
    let mut err = [0 as c_char; 512];
    let rc = entry(&mut out, err.as_mut_ptr(), err.len());
    if rc == 0 && !out.is_null() {
        // SAFETY: the caller's contract: `out` is a fresh heap at::Tensor owned by us.
        Ok(unsafe { Tensor::from_ptr(out) })
    } else {
        // SAFETY: the shim NUL-terminates the message within the buffer.
        let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy();
        Err(TchError::Torch(format!("{what}{msg}")))
    }
}

/// `Ok` when `t` is of `kind` on `device`, else [`TchError::Kind`] reading
/// "`op`: `what` must be `kind` on `device`, got ... on ...": the one check
/// every entry point makes before handing raw pointers to C++.
pub(crate) fn check_kind_device(
    op: &str,
    what: &str,
    t: &Tensor,
    kind: Kind,
    device: Device,
) -> Result<(), TchError> {
    if t.kind() == kind && t.device() == device {
        return Ok(());
    }
    Err(TchError::Kind(format!(
        "{op}: {what} must be {kind:?} on {device:?}, got {:?} on {:?}",
        t.kind(),
        t.device()
    )))
}
