//! GFLOP/s of `train_utils::small_linear::linear` against libtorch's `addmm`
//! on the shapes of the graph-recurrent steps, forward alone and forward +
//! backward (input and weight gradients), 1 thread:
//!
//! ```sh
//! cargo run --release -p seqgraph-benches --example small_linear_rates
//! ```

use tch::{Kind, Tensor};
use train_utils::small_linear::linear;

fn main() {
    seqgraph_benches::setup();
    let opts = (Kind::Float, tch::Device::Cpu);
    let isa = train_utils::small_linear::kernel_isa().unwrap_or("none: addmm");
    println!("kernel: {isa}; rows x in -> out: forward GFLOP/s (kernel, addmm); forward + backward (kernel, addmm)");
    for (m, k, n) in [
        (320_000i64, 32i64, 32i64),
        (320_000, 64, 32),
        (137_600, 64, 64),
        (137_600, 128, 64),
        (137_600, 6, 64),
        // From a GIN batch (about 5,000 rows) up: where the kernel starts to beat libtorch's GEMM.
        (5_000, 32, 32),
        (20_000, 32, 32),
        (50_000, 32, 32),
        (5_000, 64, 64),
        (20_000, 64, 64),
        (50_000, 64, 64),
    ] {
        let x = Tensor::randn([m, k], opts).set_requires_grad(true);
        let w = Tensor::randn([n, k], opts).set_requires_grad(true);
        let flops = 2.0 * (m * k * n) as f64;
        // One product, forward alone or with the backward of x and w.
        let time = |kernel: bool, backward: bool| {
            seqgraph_benches::median_ms(2, 7, || {
                let y = if kernel {
                    linear(None, &x, &w, None)
                } else {
                    x.mm(&w.tr())
                };
                if backward {
                    let _ = Tensor::run_backward(&[y.sum(Kind::Float)], &[&x, &w], false, false);
                }
            })
        };
        let rate = |ms: f64, f: f64| f / ms / 1e6;
        println!(
            "{m} x {k} -> {n}: {:.1} / {:.1}; {:.1} / {:.1}",
            rate(time(true, false), flops),
            rate(time(false, false), flops),
            rate(time(true, true), 3.0 * flops),
            rate(time(false, true), 3.0 * flops)
        );
    }
}
