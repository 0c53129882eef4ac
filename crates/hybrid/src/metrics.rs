//! Forecasting metrics, optionally masked: in the traffic literature a zero
//! reading is a missing value (a broken loop detector), not a speed of zero.

use crate::error::{InputError, Result};
use tch::{Kind, Tensor};

/// Errors of a forecast against its target.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute percentage error, in percent (targets equal to zero are
    /// always left out of it).
    pub mape: f64,
    /// Number of target values counted.
    pub count: i64,
}

/// Which target values count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Every value counts (e.g. Chickenpox, whose values are standardised).
    None,
    /// Targets equal to zero are missing and left out.
    Zeros,
}

pub(crate) fn check_same(pred: &Tensor, target: &Tensor) -> Result<()> {
    if pred.size() != target.size() {
        let expected = format!("{:?} (the target's shape)", target.size());
        return Err(InputError::shape("metrics", "prediction", expected, pred.size()).into());
    }
    Ok(())
}

/// MAE, RMSE, MSE and MAPE of `pred` against `target` (same shape).
pub fn metrics(pred: &Tensor, target: &Tensor, mask: Mask) -> Result<Metrics> {
    check_same(pred, target)?;
    let pred = pred.to_kind(Kind::Double);
    let target = target.to_kind(Kind::Double);
    let nonzero = target.ne(0.0).to_kind(Kind::Double);
    let m = match mask {
        Mask::None => target.ones_like(),
        Mask::Zeros => nonzero.shallow_clone(),
    };
    let count = m.sum(Kind::Double).double_value(&[]);
    let err = (&pred - &target) * &m;
    let mse = err.square().sum(Kind::Double).double_value(&[]) / count;
    let mae = err.abs().sum(Kind::Double).double_value(&[]) / count;
    // |target| + (1 - nonzero) avoids 0/0 where the target is zero; those terms are masked anyway.
    let keep: Tensor = &m * &nonzero;
    let safe: Tensor = target.abs() + (1.0 - &nonzero);
    let ape: Tensor = (&pred - &target).abs() / safe * &keep;
    let mape = 100.0 * ape.sum(Kind::Double).double_value(&[]) / keep.sum(Kind::Double).double_value(&[]);
    Ok(Metrics {
        mae,
        rmse: mse.sqrt(),
        mse,
        mape,
        count: count as i64,
    })
}

/// [`metrics`] for each index of the last axis (the forecast horizon):
/// `pred` and `target` of shape `(..., horizon)`.
pub fn metrics_per_horizon(pred: &Tensor, target: &Tensor, mask: Mask) -> Result<Vec<Metrics>> {
    check_same(pred, target)?;
    let horizon = *pred.size().last().unwrap_or(&0);
    (0..horizon)
        .map(|h| metrics(&pred.select(-1, h), &target.select(-1, h), mask))
        .collect()
}

/// Mean absolute error over the values `mask` keeps, as a differentiable loss.
pub fn masked_mae_loss(pred: &Tensor, target: &Tensor, mask: Mask) -> Result<Tensor> {
    check_same(pred, target)?;
    Ok(match mask {
        Mask::None => (pred - target).abs().mean(Kind::Float),
        Mask::Zeros => {
            let m = target.ne(0.0).to_kind(pred.kind());
            ((pred - target).abs() * &m).sum(Kind::Float) / m.sum(Kind::Float).clamp_min(1.0)
        }
    })
}
