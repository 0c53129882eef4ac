//! Link-prediction benches (graph-data's negative sampler, graph-models' GAE), peers in
//! `benches/peers/pyg_link.py` (PyG's `examples/autoencoder.py` and
//! `torch_geometric.utils.negative_sampling`).
//!
//! - `gae_epoch/cora`: one training step of PyG's GAE example (GCN 1433 -> 32 -> 16, inner-product
//!   decoder, row-normalised features, 85 / 5 / 10 split): encode over the training message graph,
//!   as many fresh uniform negatives as training positives, binary cross-entropy on both, backward,
//!   Adam (lr 0.01). Our features stay sparse, as in `cargo xtask train link`.
//! - `gae_dense_epoch/cora`: the same encoder with Kipf and Welling's all-pairs loss
//!   (`graph_models::link::dense_loss`, what `cargo xtask train link --model gae` trains with); the
//!   peer computes the same loss with torch on PyG's encoder.
//! - `negative_sampling/rmat_1m_16m`: 10^7 negatives, directed, of the R-MAT graph (2^20 nodes,
//!   16 * 2^20 edges, Graph500 parameters, seed 42, as the gnn and data suites): building the
//!   sampler from the edge list (the exclusion set) and drawing, as one call of PyG's
//!   `negative_sampling(edge_index, num_nodes, 10**7)` converts and samples. The edges are written
//!   to `target/bench-data/rmat_1m_16m.bin` (if absent) for the peer.
//!
//! Threads and allocator: [`seqgraph_benches::setup`].
use criterion::{criterion_group, criterion_main, Criterion};
use graph_data::generate::{rmat, RmatParams};
use graph_data::link::{random_link_split, NegativeSampler, SplitConfig};
use graph_data::EdgeList;
use graph_models::link::{dense_loss, sampled_loss, Gae, LinkModel};
use graph_models::{Graph, NodeFeatures};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

/// Negatives drawn in `negative_sampling/rmat_1m_16m`.
const NEGATIVES: usize = 10_000_000;

fn ids(v: &[u32]) -> Tensor {
    Tensor::from_slice(&v.iter().map(|&i| i as i64).collect::<Vec<_>>())
}

fn gae_epoch(c: &mut Criterion) {
    seqgraph_benches::setup();
    let mut ds =
        graph_data::planetoid::load("cora", &graph_data::fetch::Fetcher::from_env()).expect("Planetoid data");
    ds.normalize_features(); // PyG's example: NormalizeFeatures
    let x = NodeFeatures::from_features(&ds.features, Device::Cpu);
    let split = random_link_split(
        &ds.edges,
        &SplitConfig {
            train_negatives: false,
            ..SplitConfig::default()
        },
    )
    .expect("Cora splits");
    let graph = Graph::new(&split.train.message.edge_index(), ds.num_nodes() as i64).expect("valid graph");
    let (pos_src, pos_dst) = (ids(&split.train.pos.src), ids(&split.train.pos.dst));
    let sampler = NegativeSampler::new(&split.train.message, true).expect("a sampler");
    // Kipf's dense target A + I over the training graph.
    let n = ds.num_nodes() as i64;
    let mut label = Tensor::eye(n, (Kind::Float, Device::Cpu));
    let ei = split.train.message.edge_index();
    let _ = label.index_put_(&[Some(ei.get(0)), Some(ei.get(1))], &Tensor::from(1f32), false);

    let mut group = c.benchmark_group("gae_epoch");
    group.sample_size(30);
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let gae = Gae::new(vs.root(), x.shape()[1], 32, 16);
    let mut opt = nn::Adam::default().build(&vs, 0.01).expect("Adam");
    let mut epoch = 0u64;
    let mut step = || {
        epoch += 1;
        let z = gae.encode(&x, &graph, true).z;
        let neg = sampler
            .sample(split.train.pos.len(), epoch)
            .expect("non-edges exist");
        let pos_logits = gae.decode(&z, &pos_src, &pos_dst);
        let neg_logits = gae.decode(&z, &ids(&neg.src), &ids(&neg.dst));
        opt.backward_step(&sampled_loss(&pos_logits, &neg_logits));
    };
    seqgraph_benches::record_peak("gae_epoch/cora", &mut step);
    group.bench_function("cora", |b| b.iter(&mut step));
    group.finish();

    let mut group = c.benchmark_group("gae_dense_epoch");
    group.sample_size(30);
    let mut dense_step = || {
        let z = gae.encode(&x, &graph, true).z;
        opt.backward_step(&dense_loss(&z, &label));
    };
    seqgraph_benches::record_peak("gae_dense_epoch/cora", &mut dense_step);
    group.bench_function("cora", |b| b.iter(&mut dense_step));
    group.finish();
}

fn negative_sampling(c: &mut Criterion) {
    seqgraph_benches::setup();
    let edges: EdgeList = rmat(20, 16 << 20, RmatParams::default(), 42).expect("valid R-MAT parameters");
    let path = seqgraph_benches::bench_data_dir().join("rmat_1m_16m.bin");
    if !path.exists() {
        seqgraph_benches::write_edges(&edges, &path).expect("bench data writable");
    }
    let mut seed = 0u64;
    let mut run = || {
        seed += 1;
        let sampler = NegativeSampler::new(&edges, false).expect("a sampler");
        sampler.sample(NEGATIVES, seed).expect("non-edges exist").len()
    };
    seqgraph_benches::record_peak("negative_sampling/rmat_1m_16m", &mut run);
    let mut group = c.benchmark_group("negative_sampling");
    group.sample_size(10);
    group.bench_function("rmat_1m_16m", |b| b.iter(&mut run));
    group.finish();
}

criterion_group!(benches, gae_epoch, negative_sampling);
criterion_main!(benches);
