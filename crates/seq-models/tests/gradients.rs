//! Gradients through time: the trace's slope, vanishing below rho = 1, gates keeping more.

use seq_models::gradients::{clipping_run, gradient_trace, log_slope, ClippingConfig, TraceConfig};
use seq_models::CellKind;

#[test]
fn slope_of_an_exact_exponential() {
    let norms: Vec<f64> = (0..20).map(|d| 3.0 * (-0.25 * d as f64).exp()).collect();
    assert!((log_slope(&norms) + 0.25).abs() < 1e-12);
}

#[test]
fn tanh_rnn_vanishes_below_one_and_lstm_keeps_more() {
    let t = TraceConfig::default();
    let small = gradient_trace(&TraceConfig { rho: 0.5, ..t }).unwrap();
    assert_eq!(small.norms.len(), t.steps);
    assert!(
        small.norms[t.steps - 1] < 1e-20 * small.norms[0],
        "0.5^99 ~ 1.6e-30"
    );
    assert!(small.mean_tanh_prime > 0.0 && small.mean_tanh_prime <= 1.0);
    let lstm = gradient_trace(&TraceConfig {
        cell: CellKind::Lstm,
        gate_bias: 3.0,
        ..t
    })
    .unwrap();
    assert!(lstm.norms[20] / lstm.norms[0] > small.norms[20] / small.norms[0]);
}

#[test]
fn clipping_runs_record_every_step_with_finite_pre_clip_norms() {
    let c = ClippingConfig {
        steps: 3,
        clip: Some(1.0),
        ..ClippingConfig::default()
    };
    let run = clipping_run(&c).unwrap();
    assert_eq!(run.losses.len(), 3);
    assert!(run.norms.iter().all(|p| p.1.is_finite() && p.1 > 0.0));
}
