//! Spatio-temporal benches (hybrid): one training epoch of PyG Temporal's Chickenpox recipe
//! (103 snapshots of 20 counties, 4 lags, 32 filters, ReLU, Linear; forward, MSE, backward, Adam),
//! all snapshots in one batch. The peer, `benches/peers/pgt_chickenpox.py`, times PGT's snapshot loop
//! on the same cases.
//!
//! Big sensor graphs (`sensor_step/*`, one training step: forward, MSE, backward, Adam):
//! - `gconvgru_grid10k`: GConvGRU (hidden 32, K = 2) on a 100 x 100 grid, B = 32, T = 12, horizon
//!   12. It prints its floor beside it: the step's dense-product FLOPs at the GEMM rate measured
//!   here, plus its saved activations written once and read once at the copy rate measured here;
//!   and the same FLOPs at the rates measured here on the step's own skinny shapes (`(N B x H)
//!   (H x H)` and the weight gradients), with libtorch's GEMM and with `train_utils::small_linear`,
//!   the kernel the step runs on.
//! - `dcrnn_knn8600`: DCRNN (K = 2), hidden 64, on a synthetic
//!   8,600-sensor kNN graph (k = 8, DCRNN's Gaussian-kernel weights, LargeST's size), B = 16,
//!   T = 12, two input features, horizon 12. The peer, `benches/peers/pgt_sensor.py`, times PGT's
//!   DCRNN over the same sizes with its per-snapshot loop.
//! - `graphwavenet_knn8600_b2`: Graph WaveNet (32 residual channels, diffusion order 2: K = 3) on
//!   the same graph at B = 2, with its floor printed at B = 2 and at B = 16: its dense
//!   adaptive-adjacency products at the GEMM rate measured here.
//! - `graphwavenet_knn8600_b16`: the same at the B = 16, one step timed once, cold, as the
//!   peer times PGT's DCRNN (about 5 minutes and 15 GiB here; skipped with a note where less memory
//!   is available), against the same PGT DCRNN step: PyG Temporal has no Graph WaveNet.
use criterion::{criterion_group, criterion_main, Criterion};
use graph_data::csr::Csr;
use graph_data::fetch::Fetcher;
use graph_data::generate;
use graph_data::pgt::{self, Signal};
use hybrid::protocol;
use hybrid::{Forecaster, ModelConfig, ModelKind, Supports};
use std::time::{Duration, Instant};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn chickenpox_epoch(c: &mut Criterion) {
    seqgraph_benches::setup();
    let signal = match pgt::load("chickenpox", &Fetcher::from_env()).expect("Chickenpox from the data mirror")
    {
        Signal::Static(s) => s,
        Signal::Dynamic(_) => panic!("Chickenpox has a static graph"),
    };
    let mut group = c.benchmark_group("temporal_epoch");
    for kind in [ModelKind::Dcrnn, ModelKind::Tgcn] {
        let data = protocol::chickenpox(&signal, kind, 4, 0.2).expect("recipe");
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = ModelConfig {
            kind,
            in_features: data.in_features,
            hidden: 32,
            k: 1,
            periods: data.periods,
            nodes: data.nodes(),
            horizon: 1,
            head: hybrid::Head::ReluLinear,
        };
        let model = Forecaster::new(vs.root(), &config);
        let mut opt = nn::Adam::default().build(&vs, 0.01).expect("Adam");
        let mut epoch = || {
            let pred = model.f_forward(&data.train.x, &data.graph).expect("forward");
            let loss = (pred - &data.train.y).square().mean(Kind::Float);
            opt.backward_step(&loss);
        };
        let case = format!("chickenpox_{}", kind.name());
        seqgraph_benches::record_peak(&format!("temporal_epoch/{case}"), &mut epoch);
        group.bench_function(case.as_str(), |b| b.iter(&mut epoch));
    }
    group.finish();
}

/// One forecaster training step (forward, MSE, backward, Adam) on a big static graph, seeded.
fn sensor_step(config: &ModelConfig, adj: &Csr, batch: i64) -> impl FnMut() {
    tch::manual_seed(0);
    let graph = Supports::Static(config.kind.support_kind().supports(adj, false).expect("supports"));
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Forecaster::new(vs.root(), config);
    let mut opt = nn::Adam::default().build(&vs, 1e-3).expect("Adam");
    let opts = (Kind::Float, Device::Cpu);
    let x = Tensor::randn([batch, config.periods, config.nodes, config.in_features], opts);
    let y = Tensor::randn([batch, config.nodes, config.horizon], opts);
    move || {
        let loss = (model.f_forward(&x, &graph).expect("forward") - &y)
            .square()
            .mean(Kind::Float);
        opt.backward_step(&loss);
    }
}

/// [`sensor_step`] as a bench case with its peak memory.
fn sensor_case(c: &mut Criterion, case: &str, config: ModelConfig, adj: &Csr, batch: i64) {
    let mut step = sensor_step(&config, adj, batch);
    seqgraph_benches::record_peak(&format!("sensor_step/{case}"), &mut step);
    let mut group = c.benchmark_group("sensor_step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    group.bench_function(case, |b| b.iter(&mut step));
    group.finish();
}

/// Seconds per call of `f`, the best of three after one warm-up call.
fn best_of_three(mut f: impl FnMut()) -> f64 {
    f();
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// This machine's rates, measured in this process on its threads: float32 GEMM FLOP/s (a 2048^3
/// product) and copy bytes/s (256 MiB read and written).
fn machine_rates() -> (f64, f64) {
    let opts = (Kind::Float, Device::Cpu);
    let a = Tensor::randn([2048, 2048], opts);
    let b = Tensor::randn([2048, 2048], opts);
    let gemm = 2.0 * 2048f64.powi(3) / best_of_three(|| drop(a.mm(&b)));
    let src = Tensor::randn([64 << 20], opts);
    let mut dst = src.zeros_like();
    let copy = 2.0 * 4.0 * (64u64 << 20) as f64 / best_of_three(|| dst.copy_(&src));
    (gemm, copy)
}

/// FLOP/s at a graph-recurrent step's shapes: libtorch's GEMM on `(rows x h) (h x h)` (forward
/// products and input gradients) and `(h x rows) (rows x h)` (weight gradients), into preallocated
/// outputs; and `train_utils::small_linear` forward + backward (three products).
fn step_gemm_rates(rows: i64, h: i64) -> (f64, f64, f64) {
    let opts = (Kind::Float, Device::Cpu);
    let flops = 2.0 * (rows * h * h) as f64;
    let (x, w) = (Tensor::randn([rows, h], opts), Tensor::randn([h, h], opts));
    let out = Tensor::empty([rows, h], opts);
    let skinny = flops / best_of_three(|| drop(x.mm_out(&out, &w)));
    let g = Tensor::randn([rows, h], opts);
    let dw = Tensor::empty([h, h], opts);
    let wgrad = flops / best_of_three(|| drop(x.tr().mm_out(&dw, &g)));
    let (xg, wg) = (x.set_requires_grad(true), w.set_requires_grad(true));
    let kernel = 3.0 * flops
        / best_of_three(|| {
            let y = train_utils::small_linear::linear(None, &xg, &wg, None);
            drop(Tensor::run_backward(
                &[(&y * &g).sum(Kind::Float)],
                &[&xg, &wg],
                false,
                false,
            ));
        });
    (skinny, wgrad, kernel)
}

fn sensor_steps(c: &mut Criterion) {
    seqgraph_benches::setup();
    // GConvGRU on the 10,000-node grid, with its floor.
    let (rows, cols, batch, t, hidden) = (100usize, 100usize, 32i64, 12i64, 32i64);
    let grid = Csr::from_edge_list(&generate::grid(rows, cols)).expect("grid");
    let n = grid.num_nodes() as i64;
    let config = ModelConfig {
        kind: ModelKind::GConvGru,
        in_features: 1,
        hidden,
        k: 2,
        periods: t,
        nodes: n,
        horizon: 12,
        head: hybrid::Head::ReluLinear,
    };
    sensor_case(c, "gconvgru_grid10k", config, &grid, batch);
    // The floor. Per step and gate set, the state products H W_k for z, r and the candidate (K = 2
    // terms each: six (N B x H) by (H x H) products), three times over with backward (input and
    // weight gradients): 36 N B H^2 T FLOPs; the input side (one feature) and the sparse products
    // (about 40 k nonzeros) are under 1 % of it and left out. Bytes: the activations backward
    // needs, at least z, r, the candidate and the state per step (4 B T N H floats), written once
    // and read once.
    let (gemm, copy) = machine_rates();
    let flops = 36.0 * (n * batch * hidden * hidden * t) as f64;
    let bytes = 2.0 * 4.0 * 4.0 * (batch * t * n * hidden) as f64;
    let floor = flops / gemm + bytes / copy;
    println!(
        "sensor_step/gconvgru_grid10k floor: {:.1} GFLOP at {:.1} GFLOP/s (measured, 2048^3 sgemm) + \
         {:.2} GB at {:.1} GB/s (measured copy) = {:.2} s",
        flops / 1e9,
        gemm / 1e9,
        bytes / 1e9,
        copy / 1e9,
        floor
    );
    // The same FLOPs at the rates the GEMMs reach on the step's own shapes: a third are forward
    // products `(N B x H) (H x H)`, a third their input gradients (the same shape), a third the
    // weight gradients `(H x N B) (N B x H)`. libtorch's GEMM (MKL) runs these skinny products well
    // below its 2048^3 rate; the step runs them on `train_utils::small_linear`, whose forward +
    // backward rate is measured too.
    let (skinny, wgrad, kernel) = step_gemm_rates(n * batch, hidden);
    let at = |fwd: f64, wg: f64| flops / 3.0 * (2.0 / fwd + 1.0 / wg) + bytes / copy;
    println!(
        "sensor_step/gconvgru_grid10k floor at the step's shapes ({} x {h} by {h} x {h} and its gradients): \
         with libtorch's GEMM ({:.1} GFLOP/s forward, {:.1} weight gradient) {:.2} s; with small_linear \
         ({}, {:.1} GFLOP/s forward + backward) {:.2} s",
        n * batch,
        skinny / 1e9,
        wgrad / 1e9,
        at(skinny, wgrad),
        train_utils::small_linear::kernel_isa().unwrap_or("none: addmm"),
        kernel / 1e9,
        flops / kernel + bytes / copy,
        h = hidden
    );
    // DCRNN on LargeST's size, B = 16.
    let (sensors, batch, hidden) = (8600usize, 16i64, 64i64);
    let (edges, _) = generate::knn_sensor_graph(sensors, 8, 0).expect("kNN graph");
    let knn = Csr::from_edge_list(&edges).expect("kNN CSR");
    let config = ModelConfig {
        kind: ModelKind::Dcrnn,
        in_features: 2,
        hidden,
        k: 2,
        periods: t,
        nodes: sensors as i64,
        horizon: 12,
        head: hybrid::Head::ReluLinear,
    };
    sensor_case(c, "dcrnn_knn8600", config, &knn, batch);
    // Graph WaveNet on the same graph, its paper's 32 residual channels and diffusion order: at
    // B = 2 with criterion's ten samples, and at the B = 16 once (below). PyG Temporal has
    // no Graph WaveNet; the issue compares it with PGT's DCRNN.
    // K = 3 (diffusion order 2, the paper's): the DCRNN config above has K = 2.
    let wavenet_k = 3;
    let config = ModelConfig {
        kind: ModelKind::GraphWaveNet,
        hidden: 32,
        k: wavenet_k,
        ..config
    };
    sensor_case(c, "graphwavenet_knn8600_b2", config, &knn, 2);
    // Its floor: the dense products' FLOPs, the adaptive adjacency's at the rates libtorch's GEMM
    // reaches on their own shapes (measured here on the first layer's block at B = 2), the rest
    // at the 2048^3 rate; at B = 2 and at the B = 16 (the work is linear in B).
    let first_steps = t.max(hybrid::GraphWaveNet::receptive_field()) - hybrid::GraphWaveNet::DILATIONS[0];
    let cols = 2 * 32 * first_steps;
    let (fwd, grad_x, grad_a) = adjacency_gemm_rates(sensors as i64, cols);
    println!(
        "sensor_step/graphwavenet_knn8600 adaptive-adjacency GEMM rates ({sensors} x {sensors} by \
         {sensors} x {cols}): A X {:.1}, A^T G {:.1}, G X^T {:.1} GFLOP/s",
        fwd / 1e9,
        grad_x / 1e9,
        grad_a / 1e9
    );
    let mut floor = 0.0;
    for b in [2, 16] {
        let (adaptive, rest) = graph_wavenet_flops(b, sensors as i64, 32, t, wavenet_k);
        let seconds = adaptive / 3.0 * (1.0 / fwd + 1.0 / grad_x + 1.0 / grad_a) + rest / gemm;
        floor = seconds;
        println!(
            "sensor_step/graphwavenet_knn8600 floor at B = {b}: {:.2} TFLOP with the adaptive adjacency \
             ({:.1} % of all) + {:.2} TFLOP of convolutions and 1x1 products = {seconds:.1} s",
            adaptive / 1e12,
            100.0 * adaptive / (adaptive + rest),
            rest / 1e12,
        );
    }
    // The size, B = 16: one step, cold, timed once, as the peer times PGT's DCRNN (its
    // `--steps 1`). Criterion's ten samples would take about 50 minutes; `cargo run --release -p
    // hybrid --example knn_scale -- graphwavenet 16 N` times N steps. The step holds about 15 GiB.
    let case = "sensor_step/graphwavenet_knn8600_b16";
    match seqgraph_benches::available_gib() {
        Some(gib) if gib < WAVENET_B16_GIB => {
            println!("{case}: skipped, {gib:.1} GiB available and the step needs about {WAVENET_B16_GIB} GiB")
        }
        _ => {
            let mut step = sensor_step(&config, &knn, 16);
            let ((), seconds) = seqgraph_benches::record_once(case, &mut step);
            println!(
                "{case}: one step (cold) {seconds:.1} s, {:.2}x its floor of {floor:.1} s at B = 16",
                seconds / floor
            );
        }
    }
}

/// Memory the B = 16 Graph WaveNet step needs, GiB (its peak resident set was 14.8 GiB).
const WAVENET_B16_GIB: f64 = 16.0;

/// FLOP/s of libtorch's GEMM on the adaptive adjacency's three products, `A X` (forward), `A^T G`
/// (the block's gradient) and `G X^T` (the adjacency's gradient), with `A` `n x n` and `X`, `G`
/// `n x cols`, into preallocated outputs.
fn adjacency_gemm_rates(n: i64, cols: i64) -> (f64, f64, f64) {
    let opts = (Kind::Float, Device::Cpu);
    let flops = 2.0 * (n * n * cols) as f64;
    let (a, x, g) = (
        Tensor::rand([n, n], opts),
        Tensor::randn([n, cols], opts),
        Tensor::randn([n, cols], opts),
    );
    let out = Tensor::empty([n, cols], opts);
    let fwd = flops / best_of_three(|| drop(a.mm_out(&out, &x)));
    let grad_x = flops / best_of_three(|| drop(a.tr().mm_out(&out, &g)));
    let square = Tensor::empty([n, n], opts);
    let grad_a = flops / best_of_three(|| drop(g.mm_out(&square, &x.tr())));
    (fwd, grad_x, grad_a)
}

/// FLOPs of one Graph WaveNet training step (forward and backward) over `n` nodes, batch `b`,
/// `c` residual channels, `t` input steps, `k` diffusion terms per support: `(adaptive, rest)`.
/// Every layer multiplies its `(N, B C T')` block by the dense `N x N` adaptive adjacency `k - 1`
/// times (the diffusion order); backward repeats each product twice (the gradients of the block
/// and of the adjacency), so `3 (k - 1)` products of `2 N^2 B C T'` FLOPs. The rest: the gated
/// dilated convolutions (2 of kernel 2), the graph convolution's 1x1 over `1 + 3 (k - 1)` terms
/// (two transition matrices and the adaptive adjacency) and the skip 1x1 to 8 C channels, three
/// times over with backward, and the end 1x1 (8 C to 16 C) on the last step. The sparse
/// transition products (8 nonzeros a row) and the element-wise work are left out.
fn graph_wavenet_flops(b: i64, n: i64, c: i64, t: i64, k: i64) -> (f64, f64) {
    let mut steps = t.max(hybrid::GraphWaveNet::receptive_field());
    let (mut adaptive, mut rest) = (0.0, 0.0);
    for d in hybrid::GraphWaveNet::DILATIONS {
        steps -= d;
        let cols = (b * c * steps) as f64;
        adaptive += 3.0 * (k - 1) as f64 * 2.0 * (n * n) as f64 * cols;
        let rows = (b * n * steps) as f64;
        let terms = (1 + 3 * (k - 1)) as f64;
        rest += 3.0 * 2.0 * rows * (2.0 * 2.0 * (c * c) as f64 + terms * (c * c) as f64 + (c * 8 * c) as f64);
    }
    rest += 3.0 * 2.0 * (b * n) as f64 * (8 * c * 16 * c) as f64;
    (adaptive, rest)
}

criterion_group!(benches, chickenpox_epoch, sensor_steps);
criterion_main!(benches);
