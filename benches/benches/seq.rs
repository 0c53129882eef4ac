//! Recurrent-layer benches (seq-models): forward + backward of a one-layer LSTM, fused libtorch kernel
//! and explicit step-by-step loop, at B=64, T=100, I=32, H=128 and B=32, T=29, I=12, H=64.
//!
//! The work matches the peer `benches/peers/torch_lstm.py` (`torch.nn.LSTM`) step for step. Its
//! `fused` cases are `torch.nn.LSTM` as it runs by default (float32 on the CPU goes to oneDNN's fused
//! RNN kernel, as our `Tensor::lstm` does); its `explicit` cases are the same module with oneDNN turned
//! off, where ATen runs its own per-step loop of ops under autograd, the counterpart of our explicit
//! loop. Both sides: float32 on the CPU, input `[batch, time, features]` (batch first) that requires a
//! gradient, zero initial state, loss = sum of the outputs, gradients of the parameters only. Threads:
//! `SEQGRAPH_BENCH_THREADS`, else `OMP_NUM_THREADS`, else 2, as the peer reads them. Peak memory of one
//! step of each case is recorded with `seqgraph_benches::record_peak` before criterion's iterations.
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use seq_models::{Implementation, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};

const SHAPES: [(i64, i64, i64, i64); 2] = [(64, 100, 32, 128), (32, 29, 12, 64)];

fn lstm_forward_backward(c: &mut Criterion) {
    seqgraph_benches::setup();
    let mut group = c.benchmark_group("lstm_fwd_bwd");
    group.sample_size(20);
    for (b, t, i, h) in SHAPES {
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Recurrent::lstm(vs.root(), i, h, RecurrentConfig::default());
        let params = vs.trainable_variables();
        let x = Tensor::randn([b, t, i], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        for imp in [Implementation::Fused, Implementation::Explicit] {
            let function = format!("{imp:?}").to_lowercase();
            let shape = format!("B{b}_T{t}_I{i}_H{h}");
            let step = || {
                let out = lstm
                    .f_forward_with(imp, &x, None, None, true)
                    .expect("valid input");
                Tensor::run_backward(&[out.output.sum(Kind::Float)], &params, false, false)
            };
            seqgraph_benches::record_peak(&format!("lstm_fwd_bwd/{function}/{shape}"), step);
            group.bench_function(BenchmarkId::new(function, shape), |bench| {
                bench.iter(|| black_box(step()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lstm_forward_backward);
criterion_main!(benches);
