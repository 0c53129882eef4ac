//! Over-smoothing measures: repeated GCN propagation drives Dirichlet energy
//! and MAD towards zero; the depth study returns one measure per layer.

use graph_models::smoothing::{depth_study, dirichlet_energy, mad, normalized_dirichlet_energy, DepthConfig};
use graph_models::{spmm, Arch, Graph, NodeData, NodeFeatures};
use tch::{Device, Kind, Tensor};

// The depth study seeds libtorch's global generator and tests run in parallel: its runs take turns.
static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Two communities of 20 nodes, each a ring linking nodes up to 3 apart, four bridges; undirected.
fn two_communities() -> Graph {
    let mut pairs = Vec::new();
    for c in 0..2i64 {
        for i in 0..20 {
            for j in 0..20 {
                if i != j && ((i - j + 20) % 20 <= 3 || (j - i + 20) % 20 <= 3) {
                    pairs.push((c * 20 + i, c * 20 + j));
                    pairs.push((c * 20 + j, c * 20 + i));
                }
            }
        }
    }
    pairs.extend((0..4).flat_map(|i| [(i, 20 + i), (20 + i, i)]));
    let (s, d): (Vec<i64>, Vec<i64>) = pairs.into_iter().unzip();
    Graph::new(
        &Tensor::stack(&[Tensor::from_slice(&s), Tensor::from_slice(&d)], 0),
        40,
    )
    .unwrap()
}

#[test]
fn repeated_gcn_propagation_decays_energy_exponentially_and_mad_to_zero() {
    let graph = two_communities();
    let adj = graph.gcn_adjacency(false, true);
    // A fixed, irregular start (not the global RNG, which tests running in
    // parallel in this binary also draw from).
    let mut x = (Tensor::arange(320, (Kind::Float, Device::Cpu)) * 0.7)
        .sin()
        .reshape([40, 8]);
    let mut energies = vec![dirichlet_energy(&x, &graph)];
    let mad0 = mad(&x);
    for _ in 0..64 {
        x = spmm(&adj, &x);
        energies.push(dirichlet_energy(&x, &graph));
    }
    assert!(
        energies.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)),
        "{energies:?}"
    );
    assert!(energies[8] < energies[0] * 0.2, "{energies:?}");
    assert!(energies[64] < energies[0] * 1e-3, "{energies:?}");
    assert!(mad(&x) < mad0 * 0.1, "MAD {} -> {}", mad0, mad(&x));
}

/// On Cora (the shared mirror), with its own features: plain GCN propagation
/// `X <- D^-1/2 (A + I) D^-1/2 X`, no weights, makes the normalised energy
/// fall at every step, far below where it started, while it stays blind to
/// the scale of `X` (which the raw energy is not).
#[test]
fn normalized_energy_decays_monotonically_under_gcn_propagation_on_cora() {
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load("cora", &fetcher).expect("Cora from the data mirror");
    let data = NodeData::from_dataset(ds, Device::Cpu).unwrap();
    let adj = data.graph.gcn_adjacency(false, true);
    let mut x = data.x.to_dense();
    let mut energies = vec![normalized_dirichlet_energy(&x, &data.graph)];
    for _ in 0..32 {
        x = spmm(&adj, &x);
        energies.push(normalized_dirichlet_energy(&x, &data.graph));
    }
    assert!(
        energies.windows(2).all(|w| w[1] < w[0]),
        "not strictly decreasing: {energies:?}"
    );
    assert!(energies[0] > 0.3 && energies[0] < 2.0, "{energies:?}");
    assert!(energies[32] < energies[0] * 0.02, "{energies:?}");
    // Scale-free: 1000 x X has the same normalised energy, 10^6 x the raw one.
    let big = &x * 1000.0;
    assert!(
        (normalized_dirichlet_energy(&big, &data.graph) - energies[32]).abs() < 1e-9 * energies[32].max(1.0)
    );
    let (raw, raw_big) = (
        dirichlet_energy(&x, &data.graph),
        dirichlet_energy(&big, &data.graph),
    );
    assert!((raw_big / raw - 1e6).abs() < 1.0, "{raw} {raw_big}");
}

#[test]
fn mad_is_zero_for_parallel_rows_and_one_for_orthogonal() {
    let parallel = Tensor::from_slice2(&[[1.0f32, 2.0], [2.0, 4.0], [0.5, 1.0]]);
    assert!(mad(&parallel) < 1e-9);
    let orthogonal = Tensor::from_slice2(&[[1.0f32, 0.0], [0.0, 3.0]]);
    assert!((mad(&orthogonal) - 1.0).abs() < 1e-9);
}

#[test]
fn depth_study_returns_accuracy_and_one_measure_per_layer() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(1);
    let graph = two_communities();
    let labels = Tensor::cat(
        &[
            Tensor::zeros([20], (Kind::Int64, Device::Cpu)),
            Tensor::ones([20], (Kind::Int64, Device::Cpu)),
        ],
        0,
    );
    let x = labels.to_kind(Kind::Float).unsqueeze(1).repeat([1, 6]) * 6.0
        + Tensor::randn([40, 6], (Kind::Float, Device::Cpu));
    let ids = |v: Vec<i64>| Tensor::from_slice(&v);
    let data = NodeData {
        x: NodeFeatures::Dense(x),
        graph,
        labels,
        train: ids(vec![0, 1, 2, 20, 21, 22]),
        val: ids((3..10).chain(23..30).collect()),
        test: ids((10..20).chain(30..40).collect()),
        num_classes: 2,
    };
    let config = DepthConfig {
        archs: vec![Arch::Gcn, Arch::ResGcn, Arch::Gcn2, Arch::Jk],
        depths: vec![2, 4],
        seeds: 1,
        max_epochs: Some(40),
    };
    let points = depth_study(&data, &config);
    assert_eq!(points.len(), 8);
    for p in &points {
        assert_eq!(p.energy.len(), p.depth, "{p:?}");
        assert_eq!(p.mad.len(), p.depth, "{p:?}");
        assert_eq!(p.energy_init.len(), p.depth, "{p:?}");
        assert!(
            p.energy.iter().chain(&p.mad).all(|v| v.is_finite() && *v >= 0.0),
            "{p:?}"
        );
        // Features carry the label plus noise: any of these learns it.
        assert!(p.test_acc > 0.8, "{p:?}");
    }
}

/// A 64-layer GAT on Cora (seed 0, one thread) blows up at its first step
/// (loss ~7e18, infinite gradients): the study records the point as diverged
/// with the NaN guard's message instead of panicking, and goes on.
#[test]
fn depth_study_records_a_diverging_network_instead_of_panicking() {
    let _generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    let fetcher = graph_data::fetch::Fetcher::from_env();
    let ds = graph_data::planetoid::load("cora", &fetcher).expect("Cora from the data mirror");
    let data = NodeData::from_dataset(ds, Device::Cpu).unwrap();
    let config = DepthConfig {
        archs: vec![Arch::Gat, Arch::Gcn],
        depths: vec![64],
        seeds: 1,
        max_epochs: Some(3),
    };
    let points = depth_study(&data, &config);
    assert_eq!(points.len(), 2);
    let gat = &points[0];
    let why = gat.diverged.as_deref().expect("64-layer GAT diverges");
    assert!(why.contains("not finite") || why.contains("NaN"), "{why}");
    assert!(gat.test_acc.is_nan() && gat.energy.is_empty());
    let gcn = &points[1];
    assert!(gcn.diverged.is_none() && gcn.test_acc.is_finite() && gcn.energy.len() == 64);
}
