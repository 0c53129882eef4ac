//! GNN benches (graph-models), peers in `benches/peers/pyg_gnn.py`.
//!
//! - `gcn_epoch/{cora,citeseer}`, `gat_epoch/{cora,citeseer}`: one full-batch training step (forward,
//!   cross-entropy on the public train split, backward, Adam) of Kipf's GCN and of GAT (8 heads x 8),
//!   as `cargo xtask train node` runs them, features kept sparse.
//! - `gcn_layer/rmat_1m_16m`: one `GcnConv(64, 64)` forward + backward of `out.sum()` on the R-MAT graph
//!   (2^20 nodes, 16 * 2^20 directed edges, Graph500 parameters, seed 42), normalised operator cached
//!   beforehand as PyG's `cached=True`. The edges are written to `target/bench-data/rmat_1m_16m.bin`
//!   (if absent) for the peer.
//!
//! Threads and allocator: [`seqgraph_benches::setup`].
use criterion::{criterion_group, criterion_main, Criterion};
use graph_data::generate::{rmat, RmatParams};
use graph_models::{Arch, GcnConfig, GcnConv, GnnLayer, Graph, NodeData};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

fn load(name: &str) -> NodeData {
    let ds =
        graph_data::planetoid::load(name, &graph_data::fetch::Fetcher::from_env()).expect("Planetoid data");
    NodeData::from_dataset(ds, Device::Cpu).expect("valid graph")
}

fn epochs(c: &mut Criterion) {
    seqgraph_benches::setup();
    for arch in [Arch::Gcn, Arch::Gat] {
        let mut group = c.benchmark_group(format!("{}_epoch", arch.name()));
        group.sample_size(30);
        for name in ["cora", "citeseer"] {
            let data = load(name);
            tch::manual_seed(0);
            let vs = nn::VarStore::new(Device::Cpu);
            let model = arch.build(vs.root(), data.x.shape()[1], data.num_classes, 2);
            let hyper = arch.hyperparams();
            let mut opt = nn::Adam::default().build(&vs, hyper.lr).expect("Adam");
            for &(g, wd) in &hyper.weight_decay {
                opt.set_weight_decay_group(g, wd);
            }
            let labels = data.labels.index_select(0, &data.train);
            let mut step = || {
                let logits = model.forward_t(&data.x, &data.graph, true);
                opt.backward_step(
                    &logits
                        .index_select(0, &data.train)
                        .cross_entropy_for_logits(&labels),
                );
            };
            seqgraph_benches::record_peak(&format!("{}_epoch/{name}", arch.name()), &mut step);
            group.bench_function(name, |b| b.iter(&mut step));
        }
        group.finish();
    }
}

fn gcn_layer(c: &mut Criterion) {
    seqgraph_benches::setup();
    let edges = rmat(20, 16 << 20, RmatParams::default(), 42).expect("valid R-MAT parameters");
    let path = seqgraph_benches::bench_data_dir().join("rmat_1m_16m.bin");
    if !path.exists() {
        seqgraph_benches::write_edges(&edges, &path).expect("bench data writable");
    }
    let graph = Graph::new(&edges.edge_index(), edges.num_nodes as i64).expect("valid R-MAT graph");
    drop(edges);
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let conv = GcnConv::new(vs.root(), 64, 64, GcnConfig::default());
    let x = Tensor::randn([graph.num_nodes(), 64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let _ = conv.operator(&graph); // cached normalisation, as PyG's cached=True after its first call
    let step = || {
        for mut t in vs.trainable_variables().into_iter().chain([x.shallow_clone()]) {
            t.zero_grad();
        }
        conv.forward(&x, &graph).sum(Kind::Float).backward();
    };
    seqgraph_benches::record_peak("gcn_layer/rmat_1m_16m", step);
    let mut group = c.benchmark_group("gcn_layer");
    group.sample_size(10);
    group.bench_function("rmat_1m_16m", |b| b.iter(step));
    group.finish();
}

criterion_group!(benches, epochs, gcn_layer);
criterion_main!(benches);
