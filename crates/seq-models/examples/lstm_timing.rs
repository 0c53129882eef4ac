//! Times forward + backward of a one-layer LSTM (fused and explicit) at the bench shapes, with the
//! same work and statistic as `benches/peers/torch_lstm.py` (median over repeated runs after a
//! warm-up; loss = sum of outputs; gradients of the parameters). For quick same-process comparisons
//! on a loaded machine:
//!
//! ```sh
//! cargo run --release -p seq-models --example lstm_timing -- [seconds per case, default 3]
//! ```
//! The two implementations are timed in alternating rounds (fused, explicit, fused, ...), so that a
//! change in the machine's load falls on both; the ratio is of the medians over all rounds. Each
//! median is also split into forward and backward. Threads follow `SEQGRAPH_BENCH_THREADS`, else
//! `OMP_NUM_THREADS`, else 2, as the peer's do.

use std::time::{Duration, Instant};

use seq_models::{Implementation, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};

/// Rounds per implementation and shape.
const ROUNDS: u32 = 6;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let threads = ["SEQGRAPH_BENCH_THREADS", "OMP_NUM_THREADS"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    for (b, t, i, h) in [(64, 100, 32, 128), (32, 29, 12, 64)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Recurrent::lstm(vs.root(), i, h, RecurrentConfig::default());
        let params = vs.trainable_variables();
        let x = Tensor::randn([b, t, i], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        // One step: (forward ms, backward ms).
        let step = |imp: Implementation| {
            let t0 = Instant::now();
            let out = lstm
                .f_forward_with(imp, &x, None, None, true)
                .expect("valid input");
            let loss = out.output.sum(Kind::Float);
            let t1 = Instant::now();
            Tensor::run_backward(&[loss], &params, false, false);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            (ms(t1 - t0), ms(t1.elapsed()))
        };
        let imps = [Implementation::Fused, Implementation::Explicit];
        let mut times: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
        for imp in imps {
            for _ in 0..5 {
                step(imp);
            }
        }
        for _ in 0..ROUNDS {
            for (k, imp) in imps.into_iter().enumerate() {
                let deadline = Instant::now() + Duration::from_secs_f64(secs / f64::from(ROUNDS));
                let start = times[k].len();
                while Instant::now() < deadline || times[k].len() < start + 4 {
                    times[k].push(step(imp));
                }
            }
        }
        let mut totals = [0.0; 2];
        for (k, imp) in imps.into_iter().enumerate() {
            let total = median(times[k].iter().map(|(f, b)| f + b).collect());
            let fwd = median(times[k].iter().map(|t| t.0).collect());
            let bwd = median(times[k].iter().map(|t| t.1).collect());
            totals[k] = total;
            println!(
                "ours {imp:?} B{b}_T{t}_I{i}_H{h}: {total:.3} ms (forward {fwd:.3}, backward {bwd:.3}; \
                 median of {}, {threads} threads)",
                times[k].len()
            );
        }
        println!(
            "explicit / fused B{b}_T{t}_I{i}_H{h}: {:.2}x",
            totals[1] / totals[0]
        );
    }
}
