//! Planetoid loaders against the real files: the published facts of
//! PyG's `Planetoid` (public split).

use std::collections::HashSet;

use graph_data::dataset::NodeDataset;
use graph_data::fetch::Fetcher;
use graph_data::planetoid;
use graph_data::Features;

fn check_common(d: &NodeDataset) {
    let n = d.num_nodes();
    assert_eq!(d.labels.len(), n);
    assert!(d.labels.iter().all(|&l| (0..d.num_classes as i64).contains(&l)));
    // Sorted, no duplicates, no self loops, symmetric (PyG's is_undirected).
    let pairs: Vec<(u32, u32)> = d
        .edges
        .src
        .iter()
        .copied()
        .zip(d.edges.dst.iter().copied())
        .collect();
    assert!(pairs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(d.self_loops(), 0);
    let set: HashSet<_> = pairs.iter().copied().collect();
    assert!(pairs.iter().all(|&(s, t)| set.contains(&(t, s))));
    // Split: disjoint and in range.
    let all: HashSet<usize> = d.train.iter().chain(&d.val).chain(&d.test).copied().collect();
    assert_eq!(all.len(), d.train.len() + d.val.len() + d.test.len());
    assert!(all.iter().all(|&i| i < n));
    assert!(
        matches!(d.features, Features::Sparse(_)),
        "features must stay sparse"
    );
}

#[test]
fn cora_matches_pyg_planetoid() {
    let d = planetoid::load("cora", &Fetcher::from_env()).unwrap();
    check_common(&d);
    assert_eq!(d.num_nodes(), 2708);
    assert_eq!(d.edges.len(), 10556);
    assert_eq!(d.features.shape(), (2708, 1433));
    assert_eq!(d.num_classes, 7);
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (140, 500, 1000));
    assert_eq!(d.train, (0..140).collect::<Vec<_>>());
    assert_eq!(d.val, (140..640).collect::<Vec<_>>());
    assert_eq!(d.test, (1708..2708).collect::<Vec<_>>());
    assert_eq!(d.isolated_nodes(), 0);
    // Binary bag-of-words, 1.27 % dense (PyG: 49216 non-zeros).
    let Features::Sparse(m) = &d.features else {
        unreachable!()
    };
    assert_eq!(m.nnz(), 49216);
    assert!(m.values.iter().all(|&v| v == 1.0));
    // Every class is present in the 20-per-class training set.
    let mut per_class = vec![0; 7];
    d.train.iter().for_each(|&i| per_class[d.labels[i] as usize] += 1);
    assert_eq!(per_class, vec![20; 7]);
}

#[test]
fn citeseer_matches_pyg_planetoid_with_isolated_test_nodes() {
    let d = planetoid::load_citeseer().unwrap();
    check_common(&d);
    assert_eq!(d.num_nodes(), 3327);
    assert_eq!(d.edges.len(), 9104);
    assert_eq!(d.features.shape(), (3327, 3703));
    assert_eq!(d.num_classes, 6);
    assert_eq!((d.train.len(), d.val.len(), d.test.len()), (120, 500, 1000));
    let mut per_class = vec![0; 6];
    d.train.iter().for_each(|&i| per_class[d.labels[i] as usize] += 1);
    assert_eq!(per_class, vec![20; 6]);
    // The 15 indices of the test range missing from test.index: zero rows, label 0.
    let test: HashSet<usize> = d.test.iter().copied().collect();
    let missing: Vec<usize> = (2312..3327).filter(|i| !test.contains(i)).collect();
    assert_eq!(missing.len(), 15);
    let Features::Sparse(m) = &d.features else {
        unreachable!()
    };
    for &i in &missing {
        assert_eq!(m.row(i).0.len(), 0, "node {i} should have a zero feature row");
        assert_eq!(d.labels[i], 0);
    }
    // PyG reports 48 isolated nodes in CiteSeer.
    assert_eq!(d.isolated_nodes(), 48);
}

#[test]
fn row_normalisation_makes_rows_sum_to_one() {
    let mut d = planetoid::load_cora().unwrap();
    d.normalize_features();
    let Features::Sparse(m) = &d.features else {
        unreachable!()
    };
    for i in 0..m.nrows {
        let s: f32 = m.row(i).1.iter().sum();
        assert!((s - 1.0).abs() < 1e-5 || s == 0.0, "row {i} sums to {s}");
    }
}
