//! Data-structure benches (graph-data).
use criterion::{criterion_group, criterion_main, Criterion};

fn manifest(c: &mut Criterion) {
    c.bench_function("manifest_parse", |b| b.iter(graph_data::fetch::Manifest::builtin));
}

criterion_group!(benches, manifest);
criterion_main!(benches);
