//! Series graphs (graph-data's `series_graph`): building the horizontal and natural visibility
//! graphs of an i.i.d. uniform series of 10^7 points (seed 42), and, on the first 10^4 points, the
//! fast builders beside the O(n^2) definitions (`X/fast` against `X/naive`: `cargo xtask bench`
//! shows them as one row with the definition as the in-run baseline).
//!
//! Targets (issue 20): the HVG of 10^7 points in under 1 s (a stack, O(n)), the NVG in under 10 s
//! (divide and conquer, O(n log n) on average). One thread: the builders are sequential.
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use graph_data::series_graph::{
    horizontal_visibility, horizontal_visibility_naive, natural_visibility, natural_visibility_naive,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BIG: usize = 10_000_000;
const SMALL: usize = 10_000;

fn series(n: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    (0..n).map(|_| rng.gen::<f32>()).collect()
}

fn big(c: &mut Criterion) {
    let x = series(BIG);
    let hvg = horizontal_visibility(&x).expect("finite values");
    let nvg = natural_visibility(&x).expect("finite values");
    eprintln!(
        "series_graph: 10^7 i.i.d. points: HVG {} edges (mean degree {:.3}), NVG {} edges (mean degree {:.3})",
        hvg.len(),
        2.0 * hvg.len() as f64 / BIG as f64,
        nvg.len(),
        2.0 * nvg.len() as f64 / BIG as f64
    );
    drop((hvg, nvg));
    let mut g = c.benchmark_group("series_graph");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("hvg_1e7", |b| b.iter(|| horizontal_visibility(black_box(&x))));
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("nvg_1e7", |b| b.iter(|| natural_visibility(black_box(&x))));
    g.finish();
}

fn small(c: &mut Criterion) {
    let x = series(SMALL);
    let mut g = c.benchmark_group("series_graph");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("hvg_1e4/fast", |b| {
        b.iter(|| horizontal_visibility(black_box(&x)))
    });
    g.bench_function("hvg_1e4/naive", |b| {
        b.iter(|| horizontal_visibility_naive(black_box(&x)))
    });
    g.bench_function("nvg_1e4/fast", |b| b.iter(|| natural_visibility(black_box(&x))));
    g.bench_function("nvg_1e4/naive", |b| {
        b.iter(|| natural_visibility_naive(black_box(&x)))
    });
    g.finish();
}

criterion_group!(benches, big, small);
criterion_main!(benches);
