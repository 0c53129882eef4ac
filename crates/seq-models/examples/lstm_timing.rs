//! Times forward + backward of a one-layer LSTM (fused and explicit) at the bench shapes, with the
//! same work and statistic as `benches/peers/torch_lstm.py` (median over repeated runs after a
//! warm-up; loss = sum of outputs; gradients of the parameters). For quick interleaved comparisons
//! with the peer on a loaded machine:
//!
//! ```sh
//! cargo run --release -p seq-models --example lstm_timing -- [seconds per case, default 3]
//! ```
//! Threads follow `SEQGRAPH_BENCH_THREADS`, else `OMP_NUM_THREADS`, else 2, as the peer's do.

use std::time::{Duration, Instant};

use seq_models::{Implementation, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};

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
        for imp in [Implementation::Fused, Implementation::Explicit] {
            let step = || {
                let out = lstm
                    .f_forward_with(imp, &x, None, None, true)
                    .expect("valid input");
                Tensor::run_backward(&[out.output.sum(Kind::Float)], &params, false, false)
            };
            for _ in 0..5 {
                step();
            }
            let mut times = Vec::new();
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            while Instant::now() < deadline || times.len() < 20 {
                let t0 = Instant::now();
                step();
                times.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "ours {imp:?} B{b}_T{t}_I{i}_H{h}: {:.3} ms (median of {}, {threads} threads)",
                times[times.len() / 2],
                times.len()
            );
        }
    }
}
