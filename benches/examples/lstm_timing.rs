//! Times forward + backward of a one-layer LSTM (fused and explicit) at the bench shapes, with the
//! same work and statistic as `benches/peers/torch_lstm.py` (median over repeated runs after a
//! warm-up; loss = sum of outputs; gradients of the parameters). For quick same-process comparisons
//! on a loaded machine:
//!
//! ```sh
//! cargo run --release -p seqgraph-benches --example lstm_timing -- [seconds per case, default 3]
//! ```
//! The two implementations are timed in alternating rounds (fused, explicit, fused, ...), so that a
//! change in the machine's load falls on both; the ratio is of the medians over all rounds. Each
//! median is also split into forward and backward. Threads and allocator are set as in the benches
//! (`seqgraph_benches::setup`: `SEQGRAPH_BENCH_THREADS`, else `OMP_NUM_THREADS`, else 2 threads;
//! freed memory kept for reuse).
//!
//! It then prints a floor under any explicit loop of ATen ops under autograd, whatever its cleverness:
//! the three matrix products a step needs (`h W_hh^T` forward; `g W_hh` and `h^T g` backward), `T`
//! times, without autograd; plus, per step, the gate arithmetic as the fewest ops it takes (sigmoid,
//! tanh for `g`, `f * c`, `+ i * g`, `tanh(c')`, `o * tanh(c')`: six), each charged what one `[B, H]`
//! multiply costs forward and backward under autograd (less than any of them costs). The floor over
//! the fused time is the best ratio such a loop can reach on this machine.

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
    // Threads and allocator as in the benches.
    let threads = seqgraph_benches::setup();
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
        let (gemm, op) = (gemm_ms(b, i, h, t), autograd_op_ms(b, h));
        let floor = gemm + 6.0 * t as f64 * op;
        println!(
            "floor of an explicit loop B{b}_T{t}_I{i}_H{h}: {floor:.3} ms = {:.2}x fused \
             (3 GEMMs x {t} steps {gemm:.3} ms; 6 ops x {t} steps at {:.2} us each)",
            floor / totals[0],
            op * 1e3
        );
    }
}

/// The products of `t` LSTM steps without autograd: `xw + h W_hh^T` forward, `g W_hh` and `h^T g` in
/// the backward (the input term `x W_ih^T` is one product for the whole sequence, as in fused).
fn gemm_ms(b: i64, i: i64, h: i64, t: i64) -> f64 {
    let _no_grad = tch::no_grad_guard();
    let o = (Kind::Float, Device::Cpu);
    let (hs, g, w) = (
        Tensor::randn([b, h], o),
        Tensor::randn([b, 4 * h], o),
        Tensor::randn([4 * h, h], o),
    );
    let w_t = w.tr();
    let (x, w_ih, g_all) = (
        Tensor::randn([t * b, i], o),
        Tensor::randn([4 * h, i], o),
        Tensor::randn([t * b, 4 * h], o),
    );
    let step = seqgraph_benches::median_ms(2000 / 10, 2000, || {
        let _ = g.addmm(&hs, &w_t);
        let _ = g.mm(&w);
        let _ = hs.tr().mm(&g);
    });
    // Forward and the two backward products of the input term, once per sequence.
    let input = seqgraph_benches::median_ms(200 / 10, 200, || {
        let _ = x.mm(&w_ih.tr());
        let _ = x.tr().mm(&g_all);
    });
    step * t as f64 + input
}

/// One `[b, h]` multiply forward and backward under autograd, from a chain of 100 (ms per op).
fn autograd_op_ms(b: i64, h: i64) -> f64 {
    let o = (Kind::Float, Device::Cpu);
    let a = Tensor::randn([b, h], o).set_requires_grad(true);
    let k = Tensor::randn([b, h], o);
    let chain = seqgraph_benches::median_ms(500 / 10, 500, || {
        let mut y = a.shallow_clone();
        for _ in 0..100 {
            y = &y * &k;
        }
        Tensor::run_backward(&[y.sum(Kind::Float)], &[&a], false, false);
    });
    chain / 100.0
}
