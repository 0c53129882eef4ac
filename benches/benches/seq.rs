//! Recurrent-layer benches (seq-models): forward + backward of a one-layer LSTM, fused libtorch kernel
//! and explicit step-by-step loop, at B=64, T=100, I=32, H=128 and B=32, T=29, I=12, H=64 (float32,
//! CPU, loss = sum of outputs). The peer `benches/peers/torch_lstm.py` times `torch.nn.LSTM` on the
//! same shapes; run both with the same thread count (`tch::set_num_threads` here follows
//! `SEQGRAPH_THREADS`, default 2).
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use seq_models::{Implementation, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};

const SHAPES: [(i64, i64, i64, i64); 2] = [(64, 100, 32, 128), (32, 29, 12, 64)];

fn lstm_forward_backward(c: &mut Criterion) {
    let threads = std::env::var("SEQGRAPH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let mut group = c.benchmark_group("lstm_fwd_bwd");
    group.sample_size(20);
    for (b, t, i, h) in SHAPES {
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Recurrent::lstm(vs.root(), i, h, RecurrentConfig::default());
        let x = Tensor::randn([b, t, i], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        for imp in [Implementation::Fused, Implementation::Explicit] {
            let id = BenchmarkId::new(format!("{imp:?}").to_lowercase(), format!("B{b}_T{t}_I{i}_H{h}"));
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    let out = lstm
                        .f_forward_with(imp, &x, None, None, true)
                        .expect("valid input");
                    let grads = Tensor::run_backward(
                        &[out.output.sum(Kind::Float)],
                        &vs.trainable_variables(),
                        false,
                        false,
                    );
                    black_box(grads);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lstm_forward_backward);
criterion_main!(benches);
