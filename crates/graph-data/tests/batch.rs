//! `GraphBatch` and `GraphLoader`: PyG's `Batch` invariants as properties
//! (round trip, offsets, empty graphs, graphs without edges) and the
//! loader's determinism per seed.

use std::sync::Arc;

use graph_data::batch::{GraphBatch, GraphLoader, GraphSample, LoaderConfig};
use proptest::prelude::*;

/// A graph of 0..8 nodes, 0..12 edges, 3 node and 2 edge features, node labels.
fn graph() -> impl Strategy<Value = GraphSample> {
    (0usize..8, any::<u64>(), -3i64..3).prop_flat_map(|(n, seed, y)| {
        let edges = if n == 0 {
            Just(Vec::new()).boxed()
        } else {
            proptest::collection::vec((0..n as i64, 0..n as i64), 0..12).boxed()
        };
        edges.prop_map(move |e| {
            let f = |k: usize| ((seed as usize).wrapping_mul(31).wrapping_add(k) % 97) as f32;
            GraphSample {
                num_nodes: n,
                src: e.iter().map(|p| p.0).collect(),
                dst: e.iter().map(|p| p.1).collect(),
                x: (0..n * 3).map(f).collect(),
                num_node_features: 3,
                edge_attr: (0..e.len() * 2).map(|k| f(k + 1000)).collect(),
                num_edge_features: 2,
                y,
                node_y: (0..n as i64).collect(),
            }
        })
    })
}

proptest! {
    #[test]
    fn a_batch_splits_back_into_its_graphs(gs in proptest::collection::vec(graph(), 0..20)) {
        let b = GraphBatch::from_graphs(&gs).unwrap();
        prop_assert_eq!(b.split(), gs.clone());
        prop_assert_eq!(b.num_graphs, gs.len());
        prop_assert_eq!(b.ptr.len(), gs.len() + 1);
        prop_assert_eq!(b.batch.len(), b.num_nodes);
        prop_assert_eq!(b.x.len(), b.num_nodes * 3);
        prop_assert_eq!(b.edge_attr.len(), b.num_edges() * 2);
        for (i, g) in gs.iter().enumerate() {
            let (lo, hi) = (b.ptr[i], b.ptr[i + 1]);
            prop_assert_eq!(hi - lo, g.num_nodes as i64);
            prop_assert!(b.batch[lo as usize..hi as usize].iter().all(|&g| g == i as i64));
            let (elo, ehi) = (b.edge_ptr[i] as usize, b.edge_ptr[i + 1] as usize);
            // Edges stay inside their graph's block.
            for k in elo..ehi {
                prop_assert!(lo <= b.src[k] && b.src[k] < hi && lo <= b.dst[k] && b.dst[k] < hi);
            }
        }
        // `batch` is sorted: nodes are grouped by graph.
        prop_assert!(b.batch.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn the_loader_visits_every_graph_once_per_epoch(n in 0usize..60, bs in 1usize..9, seed in any::<u64>(), epoch in 0u64..5) {
        let gs: Vec<GraphSample> = (0..n).map(|i| GraphSample { num_nodes: 1, y: i as i64, ..Default::default() }).collect();
        let cfg = LoaderConfig { batch_size: bs, seed, prefetch: 0, ..Default::default() };
        let l = GraphLoader::new(Arc::new(gs), (0..n).collect(), cfg).unwrap();
        let mut seen: Vec<i64> = l.epoch(epoch).flat_map(|b| b.unwrap().y).collect();
        prop_assert_eq!(l.num_batches(), n.div_ceil(bs));
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..n as i64).collect::<Vec<_>>());
    }
}

#[test]
fn empty_graphs_and_graphs_without_edges_batch() {
    let empty = GraphSample::default();
    let lone = GraphSample::new(3, vec![], vec![]).unwrap();
    let pair = GraphSample::new(2, vec![0, 1], vec![1, 0]).unwrap();
    let b = GraphBatch::from_graphs(&[empty.clone(), lone.clone(), empty.clone(), pair.clone()]).unwrap();
    assert_eq!(b.ptr, vec![0, 0, 3, 3, 5]);
    assert_eq!(b.edge_ptr, vec![0, 0, 0, 0, 2]);
    assert_eq!(b.batch, vec![1, 1, 1, 3, 3]);
    assert_eq!((b.src.clone(), b.dst.clone()), (vec![3, 4], vec![4, 3]));
    assert_eq!(b.split(), vec![empty.clone(), lone, empty, pair]);
    assert_eq!(GraphBatch::from_graphs(&[]).unwrap().num_nodes, 0);
}

#[test]
fn mismatched_graphs_are_refused() {
    let a = GraphSample::new(2, vec![0], vec![1]).unwrap();
    let mut b = a.clone();
    b.num_node_features = 1;
    b.x = vec![1.0, 2.0];
    let e = GraphBatch::from_graphs(&[a.clone(), b]).unwrap_err().to_string();
    assert!(e.contains("graph 1 of the batch"), "{e}");
    let mut c = a.clone();
    c.dst = vec![2];
    let e = GraphBatch::from_graphs(&[a, c]).unwrap_err().to_string();
    assert!(e.contains("out of range"), "{e}");
}

#[test]
fn the_loader_is_deterministic_per_seed_and_prefetch_changes_nothing() {
    let d = graph_data::tu::load("mutag", &graph_data::fetch::Fetcher::from_env()).unwrap();
    let gs = Arc::new(d.graphs);
    let idx: Vec<usize> = (0..gs.len()).step_by(2).collect();
    let run = |seed, prefetch, epoch| {
        let cfg = LoaderConfig {
            batch_size: 16,
            seed,
            prefetch,
            ..Default::default()
        };
        let l = GraphLoader::new(Arc::clone(&gs), idx.clone(), cfg).unwrap();
        l.epoch(epoch).map(|b| b.unwrap()).collect::<Vec<_>>()
    };
    let a = run(7, 0, 1);
    assert_eq!(a, run(7, 3, 1));
    assert_ne!(a, run(8, 0, 1));
    assert_ne!(a, run(7, 0, 2));
    assert_eq!(a.len(), 6);
    // Large batches go through the parallel path: same result.
    let all: Vec<&GraphSample> = (0..8).flat_map(|_| gs.iter()).collect();
    let big = GraphBatch::from_refs(&all[..all.len()]).unwrap();
    assert!(big.num_nodes + big.num_edges() > 1 << 16);
    let serial: Vec<GraphBatch> = all
        .chunks(50)
        .map(|c| GraphBatch::from_refs(c).unwrap())
        .collect();
    let joined: Vec<GraphSample> = serial.iter().flat_map(|b| b.split()).collect();
    assert_eq!(big.split(), joined);
}
