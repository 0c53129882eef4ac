//! Property tests of the graph structures, normalisations and windows.

use graph_data::csr::{Csr, Dedup, Direction};
use graph_data::norm::LaplacianNorm;
use graph_data::temporal::WindowSpec;
use graph_data::EdgeList;
use petgraph::graph::{DiGraph, UnGraph};
use petgraph::stable_graph::StableDiGraph;
use proptest::prelude::*;

/// Small graphs with duplicates and self loops, weighted or not.
fn edge_lists() -> impl Strategy<Value = EdgeList> {
    (1usize..25, any::<bool>()).prop_flat_map(|(n, weighted)| {
        prop::collection::vec((0..n as u32, 0..n as u32, 0.1f32..10.0), 0..80).prop_map(move |es| {
            let src = es.iter().map(|e| e.0).collect();
            let dst = es.iter().map(|e| e.1).collect();
            let w = weighted.then(|| es.iter().map(|e| e.2).collect());
            EdgeList::new(n, src, dst, w).unwrap()
        })
    })
}

fn triples(e: &EdgeList) -> Vec<(u32, u32, u32)> {
    let mut t: Vec<_> = (0..e.len())
        .map(|i| {
            (
                e.src[i],
                e.dst[i],
                e.weight.as_ref().map_or(0, |w| w[i].to_bits()),
            )
        })
        .collect();
    t.sort_unstable();
    t
}

fn dense(m: &Csr) -> Vec<Vec<f64>> {
    let n = m.num_nodes();
    let mut d = vec![vec![0.0; n]; n];
    let w = m.values();
    for (r, row) in d.iter_mut().enumerate() {
        for k in m.indptr()[r]..m.indptr()[r + 1] {
            row[m.indices()[k] as usize] += w[k] as f64;
        }
    }
    d
}

/// Same structure and values (petgraph cannot tell weights of 1 from none).
fn same(a: &Csr, b: &Csr) -> bool {
    a.indptr() == b.indptr() && a.indices() == b.indices() && a.values() == b.values()
}

fn assert_symmetric(d: &[Vec<f64>]) {
    for (i, row) in d.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            assert!(
                (x - d[j][i]).abs() <= 1e-5 * (1.0 + x.abs()),
                "({i}, {j}): {x} vs {}",
                d[j][i]
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn edge_list_round_trip(e in edge_lists()) {
        let a = Csr::from_edge_list(&e).unwrap();
        let back = a.to_edge_list();
        prop_assert_eq!(triples(&back), triples(&e));
        prop_assert_eq!(Csr::from_edge_list(&back).unwrap(), a.clone());
        prop_assert_eq!(a.out_degrees().iter().sum::<usize>(), e.len());
        prop_assert_eq!(a.in_degrees().iter().sum::<usize>(), e.len());
    }

    #[test]
    fn petgraph_round_trips(e in edge_lists()) {
        let a = Csr::from_edge_list(&e).unwrap();
        let g: DiGraph<(), f32> = a.to_graph().unwrap();
        prop_assert_eq!(g.edge_count(), a.nnz());
        let w = |x: &f32| *x;
        prop_assert!(same(&Csr::from_graph(&g, w).unwrap(), &a));
        let sg: StableDiGraph<(), f32> = a.to_stable_graph().unwrap();
        prop_assert!(same(&Csr::from_stable_graph(&sg, w).unwrap().0, &a));
        let s = a.symmetrized(Dedup::Max);
        let u: UnGraph<(), f32> = s.to_graph().unwrap();
        prop_assert!(same(&Csr::from_graph(&u, w).unwrap(), &s));
    }

    #[test]
    fn transpose_twice_is_identity(e in edge_lists()) {
        let a = Csr::from_edge_list(&e).unwrap();
        let t = a.transpose();
        prop_assert_eq!(t.in_degrees(), a.out_degrees());
        prop_assert_eq!(t.transpose(), a);
    }

    #[test]
    fn symmetrise_and_dedup(e in edge_lists()) {
        let a = Csr::from_edge_list(&e).unwrap();
        let s = a.symmetrized(Dedup::Sum);
        prop_assert!(s.is_symmetric());
        prop_assert_eq!(&Csr::from_edge_list_undirected(&e, Dedup::Sum).unwrap(), &s);
        // No duplicates are left, and total weight is conserved by a sum.
        for r in 0..s.num_nodes() {
            prop_assert!(s.row(r).0.windows(2).all(|w| w[0] < w[1]));
        }
        let d = a.deduplicated(Dedup::Sum);
        let mut pairs: Vec<(u32, u32)> = e.src.iter().copied().zip(e.dst.iter().copied()).collect();
        pairs.sort_unstable();
        pairs.dedup();
        prop_assert_eq!(d.nnz(), pairs.len());
        if e.weight.is_some() {
            // Summing duplicates conserves the total weight.
            let total = |m: &Csr| m.values().iter().map(|&x| x as f64).sum::<f64>();
            prop_assert!((total(&d) - total(&a)).abs() < 1e-3);
        }
        let l = s.with_self_loops(2.0);
        prop_assert!((0..l.num_nodes()).all(|r| l.row(r).0.binary_search(&(r as u32)).is_ok()));
        prop_assert!(!l.without_self_loops().has_self_loops());
    }

    #[test]
    fn normalisations(e in edge_lists(), improved in any::<bool>()) {
        let s = Csr::from_edge_list_undirected(&e, Dedup::Sum).unwrap();
        let g = s.gcn_normalized(true, improved);
        let dg = dense(&g);
        assert_symmetric(&dg);
        // sqrt(degree) is an eigenvector of D^-1/2 (A + I) D^-1/2 with eigenvalue 1.
        let deg: Vec<f64> = dense(&s.with_self_loops(if improved { 2.0 } else { 1.0 }))
            .iter().map(|r| r.iter().sum::<f64>().sqrt()).collect();
        for (i, row) in dg.iter().enumerate() {
            let y: f64 = row.iter().zip(&deg).map(|(a, b)| a * b).sum();
            prop_assert!((y - deg[i]).abs() < 1e-4 * (1.0 + deg[i]), "row {}: {} vs {}", i, y, deg[i]);
        }
        // Random walk rows sum to 1 (or are empty); so do the diffusion matrices'.
        let a = Csr::from_edge_list(&e).unwrap();
        let (f, b) = a.diffusion_matrices();
        for m in [&a.random_walk_normalized(), &f, &b] {
            for row in dense(m) {
                let sum: f64 = row.iter().sum();
                prop_assert!(sum == 0.0 || (sum - 1.0).abs() < 1e-5, "row sum {}", sum);
            }
        }
        // The symmetric scaled Laplacian is symmetric, its spectrum inside [-1, 1].
        let l = s.scaled_laplacian(LaplacianNorm::Sym, None).unwrap();
        assert_symmetric(&dense(&l));
        let lam = s.lambda_max(LaplacianNorm::Sym);
        prop_assert!((-1e-4..=2.0 + 1e-4).contains(&lam), "lambda_max {}", lam);
    }

    #[test]
    fn k_hop_grows_with_k(e in edge_lists(), seed in 0u32..25, k in 0usize..4) {
        let a = Csr::from_edge_list(&e).unwrap();
        let seed = seed % a.num_nodes() as u32;
        for dir in [Direction::Out, Direction::In] {
            let small = a.k_hop(&[seed], k, dir).unwrap();
            let big = a.k_hop(&[seed], k + 1, dir).unwrap();
            prop_assert!(small.contains(&seed));
            prop_assert!(small.iter().all(|v| big.binary_search(v).is_ok()));
        }
        // One hop out is the seed and its targets.
        let mut one: Vec<u32> = a.row(seed as usize).0.to_vec();
        one.push(seed);
        one.sort_unstable();
        one.dedup();
        prop_assert_eq!(a.k_hop(&[seed], 1, Direction::Out).unwrap(), one);
    }

    #[test]
    fn components_agree_with_edges(e in edge_lists()) {
        let a = Csr::from_edge_list(&e).unwrap();
        let (count, label) = a.connected_components();
        prop_assert!(e.src.iter().zip(&e.dst).all(|(&u, &v)| label[u as usize] == label[v as usize]));
        prop_assert_eq!(label.iter().max().map_or(0, |&m| m as usize + 1), count);
        // A component is everything reachable both ways: its node set is a k-hop of the symmetric graph.
        let s = a.symmetrized(Dedup::Sum);
        let reach = s.k_hop(&[0], a.num_nodes(), Direction::Out).unwrap();
        let same: Vec<u32> = (0..a.num_nodes() as u32).filter(|&v| label[v as usize] == label[0]).collect();
        prop_assert_eq!(reach, same);
    }

    #[test]
    fn window_counts(steps in 0usize..200, input_len in 1usize..20, horizon in 0usize..10, stride in 1usize..7) {
        let spec = WindowSpec { input_len, horizon, stride };
        let starts = spec.starts(0..steps);
        prop_assert_eq!(starts.len(), spec.count(steps));
        prop_assert!(starts.iter().all(|&s| s + input_len + horizon <= steps));
        let next = starts.last().map_or(0, |&s| s + stride);
        prop_assert!(next + input_len + horizon > steps, "another window would fit");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// DCRNN-style sensor graphs: every node links to exactly its `k` nearest
    /// other nodes (no farther node is preferred over a nearer one), weights
    /// lie in (0, 1] and fall with distance.
    #[test]
    fn knn_sensor_graph_links_each_node_to_its_k_nearest(n in 2usize..60, k in 1usize..8, seed in 0u64..1000) {
        let k = k.min(n - 1);
        let (g, pos) = graph_data::generate::knn_sensor_graph(n, k, seed).unwrap();
        prop_assert_eq!(g.len(), n * k);
        let w = g.weight.clone().unwrap();
        let dist = |u: usize, v: usize| ((pos[u][0] - pos[v][0]).powi(2) + (pos[u][1] - pos[v][1]).powi(2)).sqrt();
        for u in 0..n {
            let mine: Vec<usize> = (0..g.len()).filter(|&e| g.src[e] as usize == u).collect();
            prop_assert_eq!(mine.len(), k);
            let far = mine.iter().map(|&e| dist(u, g.dst[e] as usize)).fold(0.0f32, f32::max);
            let chosen: Vec<usize> = mine.iter().map(|&e| g.dst[e] as usize).collect();
            prop_assert!(!chosen.contains(&u));
            for v in (0..n).filter(|v| *v != u && !chosen.contains(v)) {
                prop_assert!(dist(u, v) >= far, "node {} skipped nearer {}", u, v);
            }
            for &a in &mine {
                prop_assert!(w[a] > 0.0 && w[a] <= 1.0);
                for &b in &mine {
                    if dist(u, g.dst[a] as usize) < dist(u, g.dst[b] as usize) {
                        prop_assert!(w[a] >= w[b]);
                    }
                }
            }
        }
    }
}
