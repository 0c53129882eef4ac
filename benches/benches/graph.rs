//! Graph-level benches (graph-data's batches, graph-models' GIN), peers in
//! `benches/peers/pyg_graph.py` (PyG's `TUDataset`, `Collater`, `DataLoader`).
//!
//! - `collate_epoch/{proteins,nci1}`: collating one epoch of shuffled batches of 128 graphs
//!   (`GraphLoader::epoch_tensors` without prefetching: each graph's arrays copied once, into the
//!   batch's tensors), as PyG's `Collater` turns
//!   a list of `Data` into a `Batch`.
//! - `gin_epoch/{proteins,nci1}`: one training epoch of GIN-0 (Xu et al.: 5 layers, 64 units,
//!   per-layer sum readout, batch norm, dropout 0.5; Adam lr 0.01) over shuffled batches of 128,
//!   the loader prefetching as the recipe's does.
//!
//! Threads and allocator: [`seqgraph_benches::setup`].
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use graph_data::batch::{GraphLoader, GraphSample, LoaderConfig};
use graph_models::{GinNet, GinNetConfig};
use tch::{nn, nn::OptimizerConfig, Device};

const SETS: [&str; 2] = ["proteins", "nci1"];

fn load(name: &str) -> (Arc<Vec<GraphSample>>, i64, i64) {
    let d = graph_data::tu::load(name, &graph_data::fetch::Fetcher::from_env()).expect("TU data");
    (
        Arc::new(d.graphs),
        d.num_node_features as i64,
        d.num_classes as i64,
    )
}

fn loader(graphs: &Arc<Vec<GraphSample>>, prefetch: usize) -> GraphLoader {
    let n = graphs.len();
    let config = LoaderConfig {
        batch_size: 128,
        prefetch,
        ..LoaderConfig::default()
    };
    GraphLoader::new(Arc::clone(graphs), (0..n).collect(), config).expect("valid loader")
}

fn collate(c: &mut Criterion) {
    seqgraph_benches::setup();
    let mut group = c.benchmark_group("collate_epoch");
    group.sample_size(30);
    for name in SETS {
        let (graphs, _, _) = load(name);
        let l = loader(&graphs, 0);
        let mut epoch = 0u64;
        let mut run = || {
            epoch += 1;
            l.epoch_tensors(epoch)
                .map(|b| b.expect("valid batch").num_graphs)
                .sum::<i64>()
        };
        seqgraph_benches::record_peak(&format!("collate_epoch/{name}"), &mut run);
        group.bench_function(name, |b| b.iter(&mut run));
    }
    group.finish();
}

fn gin_epoch(c: &mut Criterion) {
    seqgraph_benches::setup();
    let mut group = c.benchmark_group("gin_epoch");
    group.sample_size(10);
    for name in SETS {
        let (graphs, features, classes) = load(name);
        let l = loader(&graphs, 2);
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = GinNet::new(vs.root(), features, 0, classes, GinNetConfig::default());
        let mut opt = nn::Adam::default().build(&vs, 0.01).expect("Adam");
        let mut epoch = 0u64;
        let mut run = || {
            epoch += 1;
            for b in l.epoch_tensors(epoch) {
                let t = b.expect("valid batch");
                let logits = net.forward_t(&t.x, &t.edge_index, None, &t.batch, t.num_graphs, true);
                opt.backward_step(&logits.cross_entropy_for_logits(&t.y));
            }
        };
        seqgraph_benches::record_peak(&format!("gin_epoch/{name}"), &mut run);
        group.bench_function(name, |b| b.iter(&mut run));
    }
    group.finish();
}

criterion_group!(benches, collate, gin_epoch);
criterion_main!(benches);
