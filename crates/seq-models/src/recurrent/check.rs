//! Input checks shared by the layers and cells: they say what does not fit
//! before libtorch is called.

use tch::{Device, Kind, Tensor};

use crate::error::{InputError, Mismatch, Result, SeqError};

/// `layer expects what of shape expected, got got`.
pub(crate) fn shape_error(
    layer: &'static str,
    what: &'static str,
    expected: String,
    got: Vec<i64>,
) -> SeqError {
    SeqError::Input(InputError::shape(layer, what, expected, got))
}

/// Checks that `x` has the parameters' kind and device.
pub(crate) fn check_tensor(
    layer: &'static str,
    what: &'static str,
    x: &Tensor,
    kind: Kind,
    device: Device,
) -> Result<()> {
    Ok(InputError::check_kind_device(layer, what, x, kind, device)?)
}

/// `layer expects what of mismatch`.
pub(crate) fn input_error(layer: &str, what: &str, mismatch: Mismatch) -> SeqError {
    SeqError::Input(InputError {
        layer: layer.into(),
        what: what.into(),
        mismatch,
    })
}

/// Checks one length per batch row, each in `1..=time`.
pub(crate) fn check_lengths(layer: &'static str, lengths: &[i64], batch: i64, time: i64) -> Result<()> {
    if lengths.len() as i64 != batch {
        return Err(SeqError::Lengths(format!(
            "{layer} got {} lengths for a batch of {batch}",
            lengths.len()
        )));
    }
    if let Some(&bad) = lengths.iter().find(|&&n| n < 1 || n > time) {
        return Err(SeqError::Lengths(format!(
            "{layer} got length {bad}, outside 1..={time}"
        )));
    }
    Ok(())
}
