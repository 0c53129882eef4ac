//! The sequence recipes' building blocks: the adding problem's batches and
//! learning curves.

use seq_models::recipe::{adding_batch, adding_curve, AddingCurveConfig};
use seq_models::CellKind;
use tch::{Device, Kind};

#[test]
fn adding_batches_mark_one_value_in_each_half_and_sum_them() {
    tch::manual_seed(0);
    let (x, y) = adding_batch(16, 10, Device::Cpu);
    assert_eq!(x.size(), [16, 10, 2]);
    assert_eq!(y.size(), [16, 1]);
    let marks = x.select(2, 1);
    let first = marks.narrow(1, 0, 5).sum_dim_intlist(1, false, Kind::Float);
    let second = marks.narrow(1, 5, 5).sum_dim_intlist(1, false, Kind::Float);
    assert_eq!(first.min().double_value(&[]), 1.0);
    assert_eq!(first.max().double_value(&[]), 1.0);
    assert_eq!(second.min().double_value(&[]), 1.0);
    assert_eq!(second.max().double_value(&[]), 1.0);
    let sum = (x.select(2, 0) * &marks).sum_dim_intlist(1, true, Kind::Float);
    assert!((sum - &y).abs().max().double_value(&[]) < 1e-6);
}

#[test]
fn adding_curves_start_at_step_zero_and_end_at_the_last_step() {
    let c = AddingCurveConfig {
        cell: CellKind::Gru,
        length: 6,
        steps: 5,
        eval_every: 2,
        batch: 4,
        test: 8,
        hidden: 4,
        lr: 1e-2,
        seed: 0,
        device: Device::Cpu,
    };
    let points = adding_curve(&c).unwrap();
    let steps: Vec<f64> = points.iter().map(|p| p.0).collect();
    assert_eq!(steps, [0.0, 2.0, 4.0, 5.0]);
    assert!(points.iter().all(|p| p.1.is_finite()));
}
