//! Which CPU ops repeat bit for bit, and which only to rounding when the
//! thread count changes. Every op runs on the same seeded inputs three times:
//! twice with 1 intra-op thread, once with 2. The same thread count must give
//! bit-identical results; another thread count must agree to 1e-5 relative.
//! Run with `--nocapture` to see which ops differ across thread counts (the
//! list in `docs/trust.md` and `train_utils::determinism` comes from here).

use tch::nn::{self, RNN};
use tch::{Device, Kind, Reduction, Tensor};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// An op: builds its seeded inputs and returns its outputs (forward results and gradients).
type Op = fn() -> Vec<Tensor>;

fn grad_of(x: &Tensor, y: &Tensor) -> Tensor {
    y.sum(Kind::Float).backward();
    x.grad().copy()
}

fn ops() -> Vec<(&'static str, Op)> {
    vec![
        ("sum of 2^20 floats", || {
            vec![Tensor::randn([1 << 20], F32).sum(Kind::Float)]
        }),
        ("mean of all of [4096, 512] (a loss's reduction)", || {
            vec![Tensor::randn([4096, 512], F32).mean(Kind::Float)]
        }),
        ("mse_loss [8192, 64], backward", || {
            let x = Tensor::randn([8192, 64], F32).set_requires_grad(true);
            let l = x.mse_loss(&Tensor::randn([8192, 64], F32), Reduction::Mean);
            vec![l.detach(), grad_of(&x, &l)]
        }),
        ("mean over rows [4096, 512]", || {
            vec![Tensor::randn([4096, 512], F32).mean_dim(0, false, Kind::Float)]
        }),
        ("L2 norm of 2^20 floats", || {
            vec![Tensor::randn([1 << 20], F32).norm()]
        }),
        ("mm [512, 512] x [512, 512]", || {
            vec![Tensor::randn([512, 512], F32).mm(&Tensor::randn([512, 512], F32))]
        }),
        ("bmm [16, 128, 128]", || {
            vec![Tensor::randn([16, 128, 128], F32).bmm(&Tensor::randn([16, 128, 128], F32))]
        }),
        ("index_add_ (2^18 rows into 1000, duplicates)", || {
            let idx = Tensor::randint(1000, [1 << 18], (Kind::Int64, Device::Cpu));
            let src = Tensor::randn([1 << 18, 16], F32);
            vec![Tensor::zeros([1000, 16], F32).index_add(0, &idx, &src)]
        }),
        ("scatter_add (2^18 rows into 1000)", || {
            let idx = Tensor::randint(1000, [1 << 18, 1], (Kind::Int64, Device::Cpu))
                .expand([1 << 18, 16], false)
                .contiguous();
            let src = Tensor::randn([1 << 18, 16], F32);
            vec![Tensor::zeros([1000, 16], F32).scatter_add(0, &idx, &src)]
        }),
        (
            "scatter_reduce mean, as message passing (2^18 rows into 1000)",
            || {
                let idx = Tensor::randint(1000, [1 << 18, 1], (Kind::Int64, Device::Cpu))
                    .expand([1 << 18, 16], false)
                    .contiguous();
                let src = Tensor::randn([1 << 18, 16], F32);
                vec![Tensor::zeros([1000, 16], F32).internal_scatter_reduce(0, &idx, &src, "mean", false)]
            },
        ),
        ("index_select backward (gather rows, 2^18 picks)", || {
            let x = Tensor::randn([1000, 16], F32).set_requires_grad(true);
            let idx = Tensor::randint(1000, [1 << 18], (Kind::Int64, Device::Cpu));
            let y = x.index_select(0, &idx) * Tensor::randn([1 << 18, 16], F32);
            vec![grad_of(&x, &y)]
        }),
        ("embedding backward (2^18 lookups)", || {
            let w = Tensor::randn([1000, 16], F32).set_requires_grad(true);
            let idx = Tensor::randint(1000, [1 << 18], (Kind::Int64, Device::Cpu));
            let y = Tensor::embedding(&w, &idx, -1, false, false) * Tensor::randn([1 << 18, 16], F32);
            vec![grad_of(&w, &y)]
        }),
        ("sparse COO mm [4096, 4096] (1%) x [4096, 64]", || {
            let mask = Tensor::rand([4096, 4096], F32).lt(0.01).to_kind(Kind::Float);
            let a = (Tensor::randn([4096, 4096], F32) * mask).to_sparse_sparse_dim(2);
            vec![a.mm(&Tensor::randn([4096, 64], F32))]
        }),
        ("sparse CSR mm [4096, 4096] (1%) x [4096, 64]", || {
            let mask = Tensor::rand([4096, 4096], F32).lt(0.01).to_kind(Kind::Float);
            let a = (Tensor::randn([4096, 4096], F32) * mask).to_sparse_csr(None);
            vec![a.mm(&Tensor::randn([4096, 64], F32))]
        }),
        ("softmax + cross-entropy backward [8192, 100]", || {
            let x = Tensor::randn([8192, 100], F32).set_requires_grad(true);
            let t = Tensor::randint(100, [8192], (Kind::Int64, Device::Cpu));
            let l = x.cross_entropy_loss::<Tensor>(&t, None, Reduction::Mean, -100, 0.0);
            vec![l.copy().detach(), grad_of(&x, &l)]
        }),
        ("layer_norm [8192, 256]", || {
            let x = Tensor::randn([8192, 256], F32);
            vec![x.layer_norm([256], None::<Tensor>, None::<Tensor>, 1e-5, false)]
        }),
        ("cumsum of 2^20 floats", || {
            vec![Tensor::randn([1 << 20], F32).cumsum(0, Kind::Float)]
        }),
        ("conv1d [32, 64, 256] k=5, backward", || {
            let x = Tensor::randn([32, 64, 256], F32).set_requires_grad(true);
            let w = Tensor::randn([64, 64, 5], F32);
            let y = x.conv1d(&w, None::<Tensor>, [1], [2], [1], 1);
            vec![y.detach(), grad_of(&x, &y)]
        }),
        ("fused LSTM [64, 50, 64] -> 128, backward", || {
            let vs = nn::VarStore::new(Device::Cpu);
            let lstm = nn::lstm(vs.root(), 64, 128, Default::default());
            let x = Tensor::randn([64, 50, 64], F32).set_requires_grad(true);
            let (y, _) = lstm.seq(&x);
            vec![y.detach(), grad_of(&x, &y)]
        }),
    ]
}

/// Runs `op` from seed 7 with `threads` intra-op threads.
fn run(op: Op, threads: i32) -> Vec<Tensor> {
    tch::set_num_threads(threads);
    tch::manual_seed(7);
    op()
}

/// Largest |a - b| relative to max |a| over all outputs.
fn rel_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let scale = x.abs().max().double_value(&[]).max(1e-30);
            (x - y).abs().max().double_value(&[]) / scale
        })
        .fold(0.0, f64::max)
}

fn bit_equal(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equal(y))
}

#[test]
fn same_threads_repeat_bit_for_bit_other_threads_agree_to_rounding() {
    let before = tch::get_num_threads();
    let mut differ = Vec::new();
    for (name, op) in ops() {
        let (a, b, c) = (run(op, 1), run(op, 1), run(op, 2));
        assert!(bit_equal(&a, &b), "{name}: two runs with 1 thread differ");
        assert!(
            a.iter().all(|t| t.isfinite().all().int64_value(&[]) == 1),
            "{name}: not finite"
        );
        let d = rel_diff(&a, &c);
        assert!(d < 1e-5, "{name}: 1 vs 2 threads differ by {d:e} (relative)");
        let same = bit_equal(&a, &c);
        println!(
            "{name:<50} 1 vs 2 threads: {}",
            if same {
                "bit-identical".to_owned()
            } else {
                format!("differ, max relative {d:.1e}")
            }
        );
        if !same {
            differ.push(name);
        }
    }
    println!("ops not bit-identical across thread counts here: {differ:?}");
    tch::set_num_threads(before);
}
