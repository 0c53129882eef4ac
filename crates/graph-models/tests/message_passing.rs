//! Aggregators: values on a hand-made graph, the fused sparse path against the
//! per-edge path, and f64 finite-difference gradients for every aggregator.

use graph_models::{aggregate, segment_softmax, weighted_x_j, Aggr, Edges, Graph, MessagePassing};
use tch::{Device, Kind, Tensor};

fn values(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

/// Edges 0->2, 1->2, 3->2, 2->0; node 1 and 3 receive nothing.
fn star() -> Graph {
    Graph::new(&Tensor::from_slice2(&[[0i64, 1, 3, 2], [2, 2, 2, 0]]), 4).unwrap()
}

struct Plain(Aggr, bool);
impl MessagePassing for Plain {
    fn aggr(&self) -> Aggr {
        self.0
    }
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }
    fn linear_message(&self) -> bool {
        self.1
    }
}

#[test]
fn aggregators_match_hand_computed_values() {
    let g = star();
    let x = Tensor::from_slice2(&[[1.0f64, -1.0], [2.0, 4.0], [3.0, 0.0], [-6.0, 5.0]]);
    let run = |aggr| values(&Plain(aggr, false).propagate(&x, &g));
    assert_eq!(run(Aggr::Sum), vec![3.0, 0.0, 0.0, 0.0, -3.0, 8.0, 0.0, 0.0]);
    assert_eq!(
        run(Aggr::Mean),
        vec![3.0, 0.0, 0.0, 0.0, -1.0, 8.0 / 3.0, 0.0, 0.0]
    );
    assert_eq!(run(Aggr::Max), vec![3.0, 0.0, 0.0, 0.0, 2.0, 5.0, 0.0, 0.0]);
    assert_eq!(run(Aggr::Min), vec![3.0, 0.0, 0.0, 0.0, -6.0, -1.0, 0.0, 0.0]);
    // t = 0: softmax weights are uniform, so the softmax aggregator is the mean.
    let soft = run(Aggr::Softmax { t: 0.0 });
    for (a, b) in soft.iter().zip(run(Aggr::Mean)) {
        assert!((a - b).abs() < 1e-12, "{soft:?}");
    }
    // Large t tends to the maximum.
    let hard = run(Aggr::Softmax { t: 50.0 });
    assert!(
        (hard[4] - 2.0).abs() < 1e-6 && (hard[5] - 5.0).abs() < 1e-6,
        "{hard:?}"
    );
}

#[test]
fn fused_sparse_path_equals_per_edge_path() {
    tch::manual_seed(1);
    let ei = Tensor::randint(30, [2, 120], (Kind::Int64, Device::Cpu));
    let w = Tensor::rand([120], (Kind::Float, Device::Cpu));
    for graph in [
        Graph::new(&ei, 30).unwrap(),
        Graph::with_weights(&ei, &w, 30).unwrap(),
    ] {
        let x = Tensor::randn([30, 5], (Kind::Float, Device::Cpu));
        for aggr in [Aggr::Sum, Aggr::Mean] {
            let fused = Plain(aggr, true).propagate(&x, &graph);
            let edges = Plain(aggr, false).propagate(&x, &graph);
            assert!(fused.allclose(&edges, 1e-5, 1e-5, false), "{aggr:?}");
        }
    }
}

#[test]
fn segment_softmax_sums_to_one_per_target() {
    tch::manual_seed(2);
    let index = Tensor::from_slice(&[0i64, 0, 2, 2, 2, 0]);
    let p = segment_softmax(
        &(Tensor::randn([6, 3], (Kind::Double, Device::Cpu)) * 100.0),
        &index,
        4,
    );
    let sums = Tensor::zeros([4, 3], (Kind::Double, Device::Cpu)).index_add(0, &index, &p);
    let expected = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
    for (got, want) in values(&sums).iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{sums}");
    }
}

/// Central differences of `f` at `x0` against autograd, in f64.
fn gradcheck(f: impl Fn(&Tensor) -> Tensor, x0: &[f64], rows: i64) {
    let x = Tensor::from_slice(x0).reshape([rows, -1]).set_requires_grad(true);
    f(&x).backward();
    let analytic = values(&x.grad());
    let eps = 1e-6;
    for i in 0..x0.len() {
        let mut plus = x0.to_vec();
        plus[i] += eps;
        let mut minus = x0.to_vec();
        minus[i] -= eps;
        let at = |v: &[f64]| f(&Tensor::from_slice(v).reshape([rows, -1])).double_value(&[]);
        let numeric = (at(&plus) - at(&minus)) / (2.0 * eps);
        assert!(
            (numeric - analytic[i]).abs() < 1e-6,
            "entry {i}: numeric {numeric}, autograd {}",
            analytic[i]
        );
    }
}

#[test]
fn every_aggregator_passes_a_finite_difference_gradient_check() {
    tch::manual_seed(3);
    let graph = Graph::new(&Tensor::randint(6, [2, 20], (Kind::Int64, Device::Cpu)), 6).unwrap();
    // Distinct, well separated values: max and min have no ties.
    let x0: Vec<f64> = values(&Tensor::randperm(18, (Kind::Int64, Device::Cpu)))
        .iter()
        .map(|v| v * 0.37 - 2.0)
        .collect();
    let r = Tensor::randn([6, 3], (Kind::Double, Device::Cpu));
    let aggrs = [
        Aggr::Sum,
        Aggr::Mean,
        Aggr::Max,
        Aggr::Min,
        Aggr::Softmax { t: 0.7 },
    ];
    for aggr in aggrs {
        gradcheck(
            |x| (Plain(aggr, false).propagate(x, &graph) * &r).sum(Kind::Double),
            &x0,
            6,
        );
        if matches!(aggr, Aggr::Sum | Aggr::Mean) {
            gradcheck(
                |x| (Plain(aggr, true).propagate(x, &graph) * &r).sum(Kind::Double),
                &x0,
                6,
            );
        }
    }
    // Attention softmax over edges, as GAT uses it.
    let (src, dst) = (graph.src(), graph.dst());
    gradcheck(
        |x| {
            let scores = x.index_select(0, &src) + x.index_select(0, &dst);
            let alpha = segment_softmax(&scores, &dst, 6);
            let m = aggregate(&(alpha * x.index_select(0, &src)), &dst, 6, Aggr::Sum);
            (m * &r).sum(Kind::Double)
        },
        &x0,
        6,
    );
}

#[test]
fn malformed_graphs_are_refused_with_a_reason() {
    let err = Graph::new(&Tensor::from_slice2(&[[0i64, 5], [1, 0]]), 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("0..=5") && err.contains("0..3"), "{err}");
    let err = Graph::new(&Tensor::from_slice(&[0i64, 1]), 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, num_edges]"), "{err}");
    let err = Graph::new(&Tensor::from_slice2(&[[0i32], [1]]), 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("int64"), "{err}");
    let ei = Tensor::from_slice2(&[[0i64], [1]]);
    assert!(Graph::with_weights(&ei, &Tensor::from_slice(&[f32::NAN]), 2).is_err());
    assert!(Graph::with_weights(&ei, &Tensor::from_slice(&[1.0f32, 2.0]), 2).is_err());
}
