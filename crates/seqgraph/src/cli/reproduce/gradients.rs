//! `gradients`: ||dL/dS_k|| against the distance T-k, for tanh RNNs at three spectral radii, an
//! LSTM and a GRU, and the effect of gradient clipping where the gradient explodes.
//!
//! Runs seq-models' explicit cells step by step, keeps every state, and asks autograd for the
//! gradient of a loss at step T with respect to each of them.

use super::Ctx;
use crate::report::{ExperimentReport, Figure, Metric, Series};
use anyhow::Result;
use seq_models::{CellKind, RecurrentCell, RnnState};
use tch::{nn, Device, Kind, Tensor};

const INPUT: i64 = 8;
const HIDDEN: i64 = 64;
const BATCH: i64 = 32;
const STEPS: usize = 100;
/// Standard deviation of the Gaussian inputs: small, so that the tanh units work near their linear
/// range and rho decides between vanishing and exploding.
const INPUT_STD: f64 = 0.1;

/// What one gradient measurement gives.
struct Trace {
    /// `||dL/dS_k||` for k = T, T-1, ..., 1 (index = distance T-k).
    norms: Vec<f64>,
    /// Mean of tanh'(a) = 1 - h^2 over all steps, units and batch (tanh RNN only).
    mean_tanh_prime: f64,
}

/// Scaled orthogonal matrix `rho * Q` (Q from the QR decomposition of a Gaussian matrix).
fn scaled_orthogonal(n: i64, rho: f64) -> Tensor {
    let (q, r) = Tensor::linalg_qr(&Tensor::randn([n, n], (Kind::Float, Device::Cpu)), "reduced");
    // Fix the signs so Q is Haar-distributed.
    q * r.diagonal(0, 0, 1).sign().unsqueeze(0) * rho
}

/// A cell of `kind`: for the tanh RNN, recurrent weight `rho * orthogonal` and no bias; for the LSTM,
/// forget-gate bias `gate_bias` (split between `bias_ih` and `bias_hh`); for the GRU, update-gate bias
/// `gate_bias` likewise. Other parameters as PyTorch initialises them.
fn cell(vs: &nn::VarStore, kind: CellKind, rho: f64, gate_bias: f64) -> RecurrentCell {
    let cell = RecurrentCell::new(vs.root(), kind, INPUT, HIDDEN);
    tch::no_grad(|| {
        let vars = vs.variables();
        // Row block of the gate whose bias is set: LSTM gates i, f, g, o; GRU gates r, z, n.
        let block = match kind {
            CellKind::RnnTanh | CellKind::RnnRelu => {
                vars["weight_hh"]
                    .shallow_clone()
                    .copy_(&scaled_orthogonal(HIDDEN, rho));
                for name in ["bias_ih", "bias_hh"] {
                    let _ = vars[name].shallow_clone().zero_();
                }
                return;
            }
            CellKind::Lstm | CellKind::Gru => 1,
        };
        for name in ["bias_ih", "bias_hh"] {
            let _ = vars[name]
                .narrow(0, block * HIDDEN, HIDDEN)
                .fill_(gate_bias / 2.0);
        }
    });
    cell
}

/// Runs `STEPS` steps on Gaussian inputs and measures `||dL/dS_k||` for a linear read-out loss at T.
fn trace(kind: CellKind, rho: f64, gate_bias: f64, seed: i64) -> Result<Trace> {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = cell(&vs, kind, rho, gate_bias);
    let xs = Tensor::randn([STEPS as i64, BATCH, INPUT], (Kind::Float, Device::Cpu)) * INPUT_STD;
    let readout = Tensor::randn([HIDDEN], (Kind::Float, Device::Cpu)) / (HIDDEN as f64).sqrt();
    let mut states: Vec<RnnState> = Vec::with_capacity(STEPS);
    for t in 0..STEPS {
        let s = cell.f_step(&xs.get(t as i64), states.last())?;
        states.push(s);
    }
    let last = &states[STEPS - 1].h;
    let loss = last.matmul(&readout).mean(Kind::Float);
    let mut inputs: Vec<&Tensor> = states.iter().map(|s| &s.h).collect();
    inputs.extend(states.iter().filter_map(|s| s.c.as_ref()));
    let grads = Tensor::f_run_backward(&[loss], &inputs, false, false)?;
    let sq = |g: &Tensor| g.square().sum(Kind::Double).double_value(&[]);
    let norms = (0..STEPS)
        .rev()
        .map(|k| {
            let mut s = sq(&grads[k]);
            if kind.has_cell() {
                s += sq(&grads[STEPS + k]);
            }
            s.sqrt()
        })
        .collect();
    let mean_tanh_prime = if kind == CellKind::RnnTanh {
        let hs = Tensor::stack(&inputs[..STEPS], 0);
        (hs.square().neg() + 1.0).mean(Kind::Double).double_value(&[])
    } else {
        f64::NAN
    };
    Ok(Trace {
        norms,
        mean_tanh_prime,
    })
}

/// Least-squares slope of `ln(norm)` against the distance.
fn log_slope(norms: &[f64]) -> f64 {
    let pts: Vec<(f64, f64)> = norms
        .iter()
        .enumerate()
        .filter(|(_, n)| n.is_finite() && **n > 0.0)
        .map(|(d, n)| (d as f64, n.ln()))
        .collect();
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

fn series(name: &str, norms: &[f64]) -> Series {
    Series::new(
        name,
        norms.iter().enumerate().map(|(d, &n)| (d as f64, n)).collect(),
    )
}

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let seeds: Vec<i64> = (0..ctx.size(1, 5)).collect();
    // (legend, cell, rho for the tanh RNN, forget or update gate bias for LSTM and GRU)
    let configs: [(&str, CellKind, f64, f64); 7] = [
        ("tanh RNN rho=0.9", CellKind::RnnTanh, 0.9, 0.0),
        ("tanh RNN rho=1.0", CellKind::RnnTanh, 1.0, 0.0),
        ("tanh RNN rho=1.1", CellKind::RnnTanh, 1.1, 0.0),
        ("LSTM forget bias 1", CellKind::Lstm, 1.0, 1.0),
        ("LSTM forget bias 3", CellKind::Lstm, 1.0, 3.0),
        ("GRU", CellKind::Gru, 1.0, 0.0),
        ("GRU update bias 3", CellKind::Gru, 1.0, 3.0),
    ];
    let bar = ctx.bar((configs.len() * seeds.len()) as u64, "gradients: ||dL/dS_k||");
    let mut lines = Vec::new();
    let (mut theory, mut fitted) = (Vec::new(), Vec::new());
    for (name, kind, rho, gate_bias) in configs {
        // Geometric mean over seeds of the norms; mean of slopes and of E[tanh'].
        let mut log_sum = vec![0.0; STEPS];
        let mut tanh_prime = 0.0;
        for &seed in &seeds {
            let t = trace(kind, rho, gate_bias, seed)?;
            for (acc, n) in log_sum.iter_mut().zip(&t.norms) {
                *acc += n.ln();
            }
            tanh_prime += t.mean_tanh_prime;
            bar.inc();
        }
        let n = seeds.len() as f64;
        let norms: Vec<f64> = log_sum.iter().map(|s| (s / n).exp()).collect();
        let ratio = norms[STEPS - 1] / norms[0];
        let slope = log_slope(&norms);
        lines.push(series(name, &norms));
        if kind == CellKind::RnnTanh {
            let tp = tanh_prime / n;
            let predicted = (rho * tp).ln();
            theory.push(predicted);
            fitted.push(slope);
            let close = (slope - predicted).abs() <= 0.01 + 0.1 * predicted.abs();
            report.metrics.push(
                Metric::new(format!("{name}: slope of ln||dL/dS_k|| per step"), slope).expect(
                    format!("ln(rho*E[tanh']) = ln({rho} * {tp:.3}) = {predicted:.4}"),
                    close,
                ),
            );
        }
        let m = Metric::new(format!("{name}: ||dL/dS_1|| / ||dL/dS_T|| (T = {STEPS})"), ratio);
        report.metrics.push(match kind {
            CellKind::RnnTanh if rho < 1.0 => m.expect("< 1e-3 (vanishes)", ratio < 1e-3),
            CellKind::RnnTanh if rho > 1.0 => m.expect("> 1 (explodes)", ratio > 1.0),
            CellKind::Lstm if gate_bias >= 3.0 => {
                m.expect(">= 1e-3 (issue 4, open forget gate)", ratio >= 1e-3)
            }
            _ => m,
        });
    }
    bar.finish();
    report.figures.push(
        Figure::lines(
            "gradients-norms",
            &format!("||dL/dS_k|| against distance T-k (T = {STEPS}, H = {HIDDEN})"),
            "distance T - k",
            "||dL/dS_k||",
            lines,
        )
        .log_y(),
    );
    let lo = theory
        .iter()
        .chain(&fitted)
        .cloned()
        .fold(f64::INFINITY, f64::min);
    let hi = theory
        .iter()
        .chain(&fitted)
        .cloned()
        .fold(f64::NEG_INFINITY, f64::max);
    report.figures.push(Figure::lines(
        "gradients-slopes",
        "tanh RNN: fitted slope against ln(rho * E[tanh'])  (rho = 0.9, 1.0, 1.1)",
        "ln(rho * E[tanh'])",
        "fitted slope of ln||dL/dS_k||",
        vec![
            Series::new("y = x", vec![(lo, lo), (hi, hi)]),
            Series::new(
                "measured",
                theory.iter().copied().zip(fitted.iter().copied()).collect(),
            ),
        ],
    ));
    report.notes.push(format!(
        "Explicit seq-models cells, hidden {HIDDEN}, input {INPUT}, batch {BATCH}, Gaussian inputs, loss = mean \
         of a random linear read-out of S_T; tanh RNN recurrent weight = rho * random orthogonal, no bias; \
         LSTM forget-gate and GRU update-gate biases as named (split between bias_ih and bias_hh), other \
         parameters as PyTorch initialises them. At initialisation a gate of bias b passes a fraction \
         sigmoid(b) per step (0.73 for b = 1, 0.95 for b = 3): gates cure vanishing when they are open. Norms are geometric means over {} seed(s); \
         for the LSTM, S_k = (h_k, c_k).",
        seeds.len()
    ));
    clipping(ctx, report)?;
    Ok(())
}

/// Trains a tanh RNN with rho = 1.1 (exploding regime) on a many-to-one regression, with and without
/// clipping the gradient norm to 1, and records the loss and the pre-clip gradient norm per step.
fn clipping(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let steps = ctx.size(60, 200);
    let rho = 1.5;
    let bar = ctx.bar(2 * steps as u64, "gradients: clipping");
    let mut loss_lines = Vec::new();
    let mut norm_lines = Vec::new();
    for clip in [None, Some(1.0)] {
        tch::manual_seed(7);
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = cell(&vs, CellKind::RnnTanh, rho, 0.0);
        let head = nn::linear(vs.root() / "head", HIDDEN, 1, Default::default());
        let mut opt = nn::OptimizerConfig::build(nn::Sgd::default(), &vs, 0.05)?;
        let (mut losses, mut norms) = (Vec::new(), Vec::new());
        for step in 0..steps {
            let xs = Tensor::randn([50, BATCH, INPUT], (Kind::Float, Device::Cpu));
            // Target: the mean of the first channel over the sequence (needs memory of every step).
            let target = xs.select(2, 0).mean_dim(0, false, Kind::Float).unsqueeze(1);
            let mut s: Option<RnnState> = None;
            for t in 0..50 {
                s = Some(cell.f_step(&xs.get(t), s.as_ref())?);
            }
            let pred = s.expect("steps").h.apply(&head);
            let loss = (pred - target).square().mean(Kind::Float);
            opt.zero_grad();
            loss.backward();
            let norm = vs
                .trainable_variables()
                .iter()
                .map(|v| v.grad().square().sum(Kind::Double).double_value(&[]))
                .sum::<f64>()
                .sqrt();
            if let Some(max) = clip {
                opt.clip_grad_norm(max);
            }
            opt.step();
            losses.push((step as f64, loss.double_value(&[])));
            norms.push((step as f64, norm));
            bar.inc();
        }
        let label = match clip {
            None => "no clipping".to_owned(),
            Some(m) => format!("clip norm {m}"),
        };
        let finite: Vec<f64> = losses.iter().map(|p| p.1).filter(|l| l.is_finite()).collect();
        let tail = &finite[finite.len().saturating_sub(10)..];
        let final_loss = if tail.is_empty() {
            f64::NAN
        } else {
            tail.iter().sum::<f64>() / tail.len() as f64
        };
        report.metrics.push(Metric::new(
            format!("tanh RNN rho={rho}, {label}: mean training loss of the last 10 steps"),
            final_loss,
        ));
        report.metrics.push(Metric::new(
            format!("tanh RNN rho={rho}, {label}: largest pre-clip gradient norm"),
            norms.iter().map(|p| p.1).fold(0.0, f64::max),
        ));
        loss_lines.push(Series::new(label.clone(), losses));
        norm_lines.push(Series::new(label, norms));
    }
    bar.finish();
    report.figures.push(
        Figure::lines(
            "gradients-clipping-loss",
            &format!("tanh RNN, rho = {rho}: training loss with and without clipping"),
            "SGD step",
            "MSE",
            loss_lines,
        )
        .log_y(),
    );
    report.figures.push(
        Figure::lines(
            "gradients-clipping-norm",
            &format!("tanh RNN, rho = {rho}: gradient norm before clipping"),
            "SGD step",
            "||grad||",
            norm_lines,
        )
        .log_y(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_an_exact_exponential() {
        let norms: Vec<f64> = (0..20).map(|d| 3.0 * (-0.25 * d as f64).exp()).collect();
        assert!((log_slope(&norms) + 0.25).abs() < 1e-12);
    }

    #[test]
    fn tanh_rnn_vanishes_below_one_and_lstm_keeps_more() {
        let small = trace(CellKind::RnnTanh, 0.5, 0.0, 0).unwrap();
        assert_eq!(small.norms.len(), STEPS);
        assert!(
            small.norms[STEPS - 1] < 1e-20 * small.norms[0],
            "0.5^99 ~ 1.6e-30"
        );
        assert!(small.mean_tanh_prime > 0.0 && small.mean_tanh_prime <= 1.0);
        let lstm = trace(CellKind::Lstm, 1.0, 3.0, 0).unwrap();
        assert!(lstm.norms[20] / lstm.norms[0] > small.norms[20] / small.norms[0]);
    }
}
