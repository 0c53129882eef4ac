//! Shapes, causality and typed errors of the convolutional models (STGCN,
//! Graph WaveNet).

use hybrid::{Encoder, GraphWaveNet, HybridError, Stgcn, Supports};
use tch::{nn, Device, Kind, Tensor};

const OPTS: (Kind, Device) = (Kind::Float, Device::Cpu);

/// A ring of `n` nodes: its scaled Laplacian `-D^-1/2 A D^-1/2` and its two
/// (here equal) transition matrices.
fn ring(n: i64) -> (Tensor, Vec<Tensor>) {
    let a = Tensor::zeros([n, n], OPTS);
    for i in 0..n {
        let _ = a.get(i).get((i + 1) % n).fill_(1.0);
        let _ = a.get((i + 1) % n).get(i).fill_(1.0);
    }
    let transition = &a / 2.0;
    (-&a / 2.0, vec![transition.shallow_clone(), transition])
}

#[test]
fn stgcn_and_graph_wavenet_map_b_t_n_f_to_one_summary_per_node() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let (lap, transitions) = ring(6);
    for t in [1, 4, 12] {
        let x = Tensor::randn([3, t, 6, 2], OPTS);
        let st = Stgcn::new(vs.root() / format!("st{t}"), 2, 16, 3, 6, t);
        let out = st
            .f_encode(&x, &Supports::Static(vec![lap.shallow_clone()]))
            .unwrap();
        assert_eq!(out.size(), [3, 6, 16]);
        let gwn = GraphWaveNet::new(vs.root() / format!("gwn{t}"), 2, 8, 3, 6, 2);
        let out = gwn.f_encode(
            &x,
            &Supports::Static(transitions.iter().map(Tensor::shallow_clone).collect()),
        );
        assert_eq!(out.unwrap().size(), [3, 6, gwn.hidden_size()]);
        assert_eq!(gwn.hidden_size(), 16 * 8);
    }
    let gwn = GraphWaveNet::new(vs.root() / "adj", 2, 8, 3, 6, 2);
    let adaptive = gwn.adaptive_adjacency();
    assert_eq!(adaptive.size(), [6, 6]);
    let rows = adaptive.sum_dim_intlist(1, false, Kind::Float);
    assert!((rows - 1.0).abs().max().double_value(&[]) < 1e-5);
}

#[test]
fn graph_wavenet_is_causal_and_a_per_step_graph_equals_the_static_one() {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let (_, transitions) = ring(5);
    let gwn = GraphWaveNet::new(vs.root(), 1, 4, 2, 5, 2);
    let graph = Supports::Static(transitions.iter().map(Tensor::shallow_clone).collect());
    let x = Tensor::randn([2, 14, 5, 1], OPTS);
    let _guard = tch::no_grad_guard();
    let out = gwn.f_encode(&x, &graph).unwrap();
    // The receptive field is 13 steps: the first of 14 steps cannot matter.
    let changed = x.copy();
    let _ = changed.narrow(1, 0, 1).fill_(100.0);
    assert!(
        (gwn.f_encode(&changed, &graph).unwrap() - &out)
            .abs()
            .max()
            .double_value(&[])
            < 1e-5
    );
    // The last step does.
    let _ = changed.narrow(1, 13, 1).fill_(100.0);
    assert!(
        (gwn.f_encode(&changed, &graph).unwrap() - &out)
            .abs()
            .max()
            .double_value(&[])
            > 1e-3
    );
    let per_step = Supports::PerStep(
        (0..14)
            .map(|_| transitions.iter().map(Tensor::shallow_clone).collect())
            .collect(),
    );
    assert!(
        (gwn.f_encode(&x, &per_step).unwrap() - &out)
            .abs()
            .max()
            .double_value(&[])
            < 1e-5
    );
}

#[test]
fn wrong_shapes_are_typed_errors_naming_the_layer() {
    let vs = nn::VarStore::new(Device::Cpu);
    let (lap, _) = ring(6);
    let st = Stgcn::new(vs.root() / "st", 2, 8, 2, 6, 4);
    let graph = Supports::Static(vec![lap]);
    let err = st
        .f_encode(&Tensor::zeros([3, 4, 6, 3], OPTS), &graph)
        .unwrap_err();
    assert!(matches!(err, HybridError::Input(_)));
    let message = err.to_string();
    assert!(
        message.contains("Stgcn") && message.contains("F=2") && message.contains("[3, 4, 6, 3]"),
        "{message}"
    );
    // Four steps were configured for the output layer; eight are given.
    let err = st
        .f_encode(&Tensor::zeros([3, 8, 6, 2], OPTS), &graph)
        .unwrap_err();
    assert!(err.to_string().contains("T=4"), "{err}");
    // Seven nodes where six were configured.
    let err = st
        .f_encode(&Tensor::zeros([3, 4, 7, 2], OPTS), &graph)
        .unwrap_err();
    assert!(err.to_string().contains("N=6"), "{err}");
    assert!(matches!(
        GraphWaveNet::f_new(vs.root() / "g", 2, 0, 2, 6, 2),
        Err(HybridError::Config(_))
    ));
}
