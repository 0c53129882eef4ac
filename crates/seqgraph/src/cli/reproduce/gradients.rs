//! `gradients`: ||dL/dS_k|| against the distance T-k, for tanh RNNs at three spectral radii, an
//! LSTM and a GRU, and the effect of gradient clipping where the gradient explodes.
//!
//! The measurements are seq-models' `gradients` module (explicit cells step by step, every state
//! kept, autograd's gradient of a loss at step T with respect to each); this file reports them.

use super::Ctx;
use crate::report::{ExperimentReport, Figure, Metric, Series};
use anyhow::Result;
use seq_models::gradients::{clipping_run, gradient_trace, log_slope, ClippingConfig, TraceConfig};
use seq_models::CellKind;

/// Steps `T` of every trace (the library's default).
const STEPS: usize = 100;

fn series(name: &str, norms: &[f64]) -> Series {
    Series::new(
        name,
        norms.iter().enumerate().map(|(d, &n)| (d as f64, n)).collect(),
    )
}

/// Runs the experiment.
pub fn run(ctx: &Ctx, report: &mut ExperimentReport) -> Result<()> {
    let seeds: Vec<u64> = (0..ctx.size(1, 5)).collect();
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
            let config = TraceConfig {
                cell: kind,
                rho,
                gate_bias,
                seed,
                ..TraceConfig::default()
            };
            let t = gradient_trace(&config)?;
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
            &format!("||dL/dS_k|| against distance T-k (T = {STEPS}, H = 64)"),
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
        "seq-models' gradient_trace: explicit cells, hidden 64, input 8, batch 32, Gaussian inputs (std 0.1), loss = mean \
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
        let run = clipping_run(&ClippingConfig {
            rho,
            steps,
            clip,
            ..ClippingConfig::default()
        })?;
        bar.inc_by(steps as u64);
        let (losses, norms) = (run.losses, run.norms);
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
