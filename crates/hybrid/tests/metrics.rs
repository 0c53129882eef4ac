//! Masked metrics, per horizon.

use hybrid::metrics::masked_mae_loss;
use hybrid::{metrics, metrics_per_horizon, HybridError, Mask};
use tch::{Device, Kind, Tensor};

fn t(v: &[f32], shape: &[i64]) -> Tensor {
    Tensor::from_slice(v).reshape(shape)
}

#[test]
fn zeros_in_the_target_are_left_out_only_when_masking() {
    let target = t(&[2.0, 0.0, 4.0, 5.0], &[1, 4]);
    let pred = t(&[3.0, 9.0, 2.0, 5.0], &[1, 4]);
    let m = metrics(&pred, &target, Mask::Zeros).unwrap();
    assert_eq!(m.count, 3);
    assert!((m.mae - 1.0).abs() < 1e-9, "{m:?}"); // (1 + 2 + 0) / 3
    assert!((m.mse - 5.0 / 3.0).abs() < 1e-9);
    assert!((m.rmse - (5.0f64 / 3.0).sqrt()).abs() < 1e-9);
    assert!((m.mape - 100.0 * (0.5 + 0.5 + 0.0) / 3.0).abs() < 1e-9);
    let all = metrics(&pred, &target, Mask::None).unwrap();
    assert_eq!(all.count, 4);
    assert!((all.mae - 12.0 / 4.0).abs() < 1e-9);
    assert!((all.mse - 86.0 / 4.0).abs() < 1e-9);
    // MAPE never divides by a zero target.
    assert!((all.mape - m.mape).abs() < 1e-9);
    let loss = masked_mae_loss(&pred, &target, Mask::Zeros)
        .unwrap()
        .double_value(&[]);
    assert!((loss - 1.0).abs() < 1e-6);
}

#[test]
fn per_horizon_metrics_split_the_last_axis() {
    // (S = 2, N = 1, horizon = 3): errors 0 at horizon 0, 1 at 1, 2 at 2 (one missing target at 2).
    let target = t(&[1.0, 1.0, 1.0, 1.0, 1.0, 0.0], &[2, 1, 3]);
    let pred = t(&[1.0, 2.0, 3.0, 1.0, 2.0, 7.0], &[2, 1, 3]);
    let per = metrics_per_horizon(&pred, &target, Mask::Zeros).unwrap();
    let maes: Vec<f64> = per.iter().map(|m| m.mae).collect();
    assert_eq!(maes, [0.0, 1.0, 2.0]);
    assert_eq!(per[2].count, 1);
    let bad = metrics(
        &pred,
        &Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)),
        Mask::None,
    );
    assert!(matches!(bad, Err(HybridError::Input(_))));
}
