//! A layer written only with the public API (`MessagePassing`, `Edges`,
//! `lin_weight`, `linear`, `check_x`, `Graph::gcn_norm`) matches the built-in
//! `GcnConv` to 1e-6, and the built-in layers' per-edge paths match their
//! fused ones: `message` + `aggregate` against `message_and_aggregate`.

use graph_models::{
    check_x, lin_weight, linear, weighted_x_j, Aggr, ChebConfig, ChebConv, Edges, GatConfig, GatConv,
    GcnConfig, GcnConv, GnnError, GnnLayer, Graph, MessagePassing, Result,
};
use tch::{nn, Device, Kind, Tensor};

/// GCN from the public API: `D^-1/2 (A + I) D^-1/2 X W^T + b`.
struct MyGcn {
    weight: Tensor,
    bias: Tensor,
    in_channels: i64,
}

impl MyGcn {
    fn new(p: &nn::Path, in_channels: i64, out_channels: i64) -> Self {
        MyGcn {
            weight: lin_weight(p, "lin", in_channels, out_channels),
            bias: p.zeros("bias", &[out_channels]),
            in_channels,
        }
    }

    fn forward(&self, x: &Tensor, graph: &Graph) -> Result<Tensor> {
        check_x("MyGcn", x, graph, self.in_channels, self.weight.kind())?;
        let (edge_index, norm) = graph.gcn_norm(false, true);
        let h = linear(x, &self.weight);
        let edges = Edges::new(&h, graph).with_edge_index(&edge_index, Some(&norm));
        Ok(self.f_propagate_edges(&edges)? + &self.bias)
    }
}

impl MessagePassing for MyGcn {
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }
}

fn random_graph(n: i64, e: i64, weighted: bool) -> Graph {
    let ei = Tensor::randint(n, [2, e], (Kind::Int64, Device::Cpu));
    if weighted {
        let w = Tensor::rand([e], (Kind::Float, Device::Cpu)) + 0.1;
        Graph::with_weights(&ei, &w, n).unwrap()
    } else {
        Graph::new(&ei, n).unwrap()
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn a_custom_layer_from_the_public_api_matches_gcnconv() {
    tch::manual_seed(5);
    for weighted in [false, true] {
        let graph = random_graph(40, 160, weighted);
        let vs = nn::VarStore::new(Device::Cpu);
        let builtin = GcnConv::new(vs.root() / "gcn", 12, 6, GcnConfig::default());
        let mut vs2 = nn::VarStore::new(Device::Cpu);
        let mine = MyGcn::new(&(vs2.root() / "gcn"), 12, 6);
        // Same parameters: copy GcnConv's (named as PyG's) into the custom layer.
        vs2.copy(&vs).unwrap();
        let x = Tensor::randn([40, 12], (Kind::Float, Device::Cpu));
        let (a, b) = (builtin.forward(&x, &graph), mine.forward(&x, &graph).unwrap());
        assert!(
            max_diff(&a, &b) < 1e-6,
            "weighted {weighted}: {}",
            max_diff(&a, &b)
        );
        // Gradients agree as well.
        let xa = x.set_requires_grad(true);
        builtin.forward(&xa, &graph).square().sum(Kind::Float).backward();
        let ga = xa.grad().copy();
        let xb = x.detach().set_requires_grad(true);
        mine.forward(&xb, &graph)
            .unwrap()
            .square()
            .sum(Kind::Float)
            .backward();
        assert!(max_diff(&ga, &xb.grad()) < 1e-5);
        // And its errors are typed.
        let bad = mine.forward(&Tensor::ones([40, 3], (Kind::Float, Device::Cpu)), &graph);
        assert!(matches!(bad, Err(GnnError::Input(_))));
    }
}

#[test]
fn gcn_per_edge_path_over_normalised_edges_equals_its_fused_product() {
    tch::manual_seed(6);
    let graph = random_graph(30, 120, true);
    let vs = nn::VarStore::new(Device::Cpu);
    let conv = GcnConv::new(vs.root(), 4, 4, GcnConfig::default());
    let x = Tensor::randn([30, 4], (Kind::Float, Device::Cpu));
    let fused = conv.propagate(&x, &graph);
    let (ei, norm) = graph.gcn_norm(false, true);
    let per_edge = conv.propagate_edges(&Edges::new(&x, &graph).with_edge_index(&ei, Some(&norm)));
    assert!(max_diff(&fused, &per_edge) < 1e-6);
}

#[test]
fn cheb_propagation_is_its_laplacian_product() {
    tch::manual_seed(7);
    let graph = random_graph(25, 90, false);
    let vs = nn::VarStore::new(Device::Cpu);
    let conv = ChebConv::new(vs.root(), 3, 2, 3, ChebConfig::default());
    let x = Tensor::randn([25, 3], (Kind::Float, Device::Cpu));
    let lap = graph.cheb_laplacian(2.0);
    assert!(max_diff(&conv.propagate(&x, &graph), &lap.mm(&x)) < 1e-6);
}

/// GAT's fused path (node-level shift, normalised after the sum) and its
/// `message` path (segment softmax per edge, then the sum) give one layer.
#[test]
fn gat_fused_path_equals_message_then_aggregate() {
    tch::manual_seed(8);
    let graph = random_graph(50, 300, false);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = GatConfig {
        heads: 3,
        ..GatConfig::default()
    };
    let conv = GatConv::new(vs.root(), 6, 5, config);
    let x = Tensor::randn([50, 6], (Kind::Float, Device::Cpu));
    let h = linear(&x, &vs.variables()["lin.weight"]).view([50, 3, 5]);
    let edges = Edges::new(&h, &graph).with_self_loops();
    let fused = conv
        .message_and_aggregate(&edges)
        .expect("bounded logits take the fused path");
    let per_edge = conv.aggregate(&conv.message(&edges), &edges);
    assert!(
        max_diff(&fused, &per_edge) < 1e-6,
        "{}",
        max_diff(&fused, &per_edge)
    );
    let layer = conv.forward(&x, &graph);
    let by_hand = conv.update(per_edge, &h);
    assert!(max_diff(&layer, &by_hand) < 1e-6);
    // Attention sums to one at every node.
    let alpha = conv.attention(&edges);
    let sums = edges.sum(&alpha);
    assert!(max_diff(&sums, &sums.ones_like()) < 1e-5);
}

/// A message from edge attributes (GINE-like) and the typed errors of
/// `f_propagate_edges`.
struct EdgeGate;
impl MessagePassing for EdgeGate {
    fn aggr(&self) -> Aggr {
        Aggr::Mean
    }
    fn message(&self, edges: &Edges) -> Tensor {
        let attr = edges.require_edge_attr("EdgeGate").unwrap();
        (edges.x_j() + attr).relu()
    }
}

#[test]
fn edge_attributes_reach_the_message_and_bad_inputs_are_typed_errors() {
    let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1, 2], [2, 2, 0]]), 3).unwrap();
    let x = Tensor::from_slice2(&[[1.0f32, -1.0], [2.0, 0.5], [0.0, 3.0]]);
    let attr = Tensor::from_slice2(&[[0.5f32, 0.5], [-3.0, 1.0], [1.0, -4.0]]);
    let out = EdgeGate.propagate_edges(&Edges::new(&x, &graph).with_edge_attr(&attr));
    // node 2: mean(relu([1.5, -0.5]), relu([-1, 1.5])) = [0.75, 0.75]; node 0: relu([1, -1]) = [1, 0].
    let want = Tensor::from_slice2(&[[1.0f32, 0.0], [0.0, 0.0], [0.75, 0.75]]);
    assert!(max_diff(&out, &want) < 1e-6, "{out}");

    let short = Tensor::ones([2, 2], (Kind::Float, Device::Cpu));
    let err = EdgeGate
        .f_propagate_edges(&Edges::new(&x, &graph).with_edge_attr(&short))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("edge_attr of shape [num_edges=3, ...], got [2, 2]"),
        "{err}"
    );
    let err = EdgeGate
        .f_propagate(&Tensor::ones([4, 2], (Kind::Float, Device::Cpu)), &graph)
        .unwrap_err();
    assert!(matches!(err, GnnError::Input(_)), "{err}");
    let far = Tensor::from_slice2(&[[0i64, 7], [1, 1]]);
    let err = EdgeGate
        .f_propagate_edges(&Edges::new(&x, &graph).with_edge_index(&far, None))
        .unwrap_err();
    assert!(err.to_string().contains("edge_index"), "{err}");

    /// A message with the wrong number of rows is caught after `message`.
    struct Wrong;
    impl MessagePassing for Wrong {
        fn message(&self, edges: &Edges) -> Tensor {
            edges.x.shallow_clone()
        }
    }
    let g4 = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 0]]), 3).unwrap();
    let err = Wrong.f_propagate(&x, &g4).unwrap_err();
    assert!(err.to_string().contains("messages"), "{err}");
}
