//! Every layer is permutation-equivariant: relabelling the nodes of the graph
//! and the rows of `x` by `pi` relabels the output rows by `pi`, nothing else.
//! And multi-head self-attention is graph attention on the complete graph.

use graph_models::{
    Aggr, Appnp, AppnpConfig, ChebConfig, ChebConv, GatConfig, GatConv, GatV2Conv, Gcn2Config, Gcn2Conv,
    GcnConfig, GcnConv, GinConfig, GinConv, GnnLayer, Graph, JkMode, JumpingKnowledge, ResPlus,
    ResPlusConfig, Residual, SageConfig, SageConv, TransformerConfig, TransformerConv,
};
use proptest::prelude::*;
use tch::{nn, Device, Kind, Tensor};

const F: i64 = 4;

fn sage(aggr: Aggr, normalize: bool) -> SageConfig {
    SageConfig {
        aggr,
        normalize,
        ..Default::default()
    }
}

fn layers(p: &nn::Path) -> Vec<(&'static str, Box<dyn GnnLayer>)> {
    let gat = GatConfig {
        heads: 2,
        ..Default::default()
    };
    vec![
        (
            "gcn",
            Box::new(GcnConv::new(&(p / "gcn"), F, 3, GcnConfig::default())) as Box<dyn GnnLayer>,
        ),
        ("gat", Box::new(GatConv::new(&(p / "gat"), F, 3, gat))),
        ("gatv2", Box::new(GatV2Conv::new(&(p / "gatv2"), F, 3, gat))),
        (
            "sage_mean",
            Box::new(SageConv::new(p / "sm", F, 3, SageConfig::default())),
        ),
        (
            "sage_max",
            Box::new(SageConv::new(p / "sx", F, 3, sage(Aggr::Max, true))),
        ),
        (
            "sage_min",
            Box::new(SageConv::new(p / "sn", F, 3, sage(Aggr::Min, false))),
        ),
        (
            "sage_softmax",
            Box::new(SageConv::new(
                p / "ss",
                F,
                3,
                sage(Aggr::Softmax { t: 1.0 }, false),
            )),
        ),
        (
            "gin",
            Box::new(GinConv::new(
                &(p / "gin"),
                GinConv::mlp(&(p / "gin"), F, 5, 3),
                F,
                GinConfig {
                    eps: 0.1,
                    train_eps: true,
                },
            )),
        ),
        (
            "cheb",
            Box::new(ChebConv::new(p / "cheb", F, 3, 3, ChebConfig::default())),
        ),
        ("appnp", Box::new(Appnp::new(AppnpConfig { k: 4, alpha: 0.2 }))),
        (
            "transformer",
            Box::new(TransformerConv::new(
                &(p / "tr"),
                F,
                3,
                TransformerConfig {
                    heads: 2,
                    ..Default::default()
                },
            )),
        ),
        (
            "residual",
            Box::new(Residual {
                layer: GcnConv::new(&(p / "res"), F, F, GcnConfig::default()),
            }),
        ),
        (
            "res_plus",
            Box::new(ResPlus::new(
                &(p / "rp"),
                F,
                GcnConv::new(&(p / "rp" / "conv"), F, F, Default::default()),
                ResPlusConfig::default(),
            )),
        ),
    ]
}

fn graph_strategy() -> impl Strategy<Value = (i64, Vec<(i64, i64)>, Vec<usize>, u64)> {
    (2i64..9).prop_flat_map(|n| {
        let edges = prop::collection::vec((0..n, 0..n), 0..30);
        let perm = Just((0..n as usize).collect::<Vec<_>>()).prop_shuffle();
        (Just(n), edges, perm, any::<u64>())
    })
}

fn edge_index(n_edges: &[(i64, i64)]) -> Tensor {
    let (s, d): (Vec<i64>, Vec<i64>) = n_edges.iter().copied().unzip();
    Tensor::stack(&[Tensor::from_slice(&s), Tensor::from_slice(&d)], 0).reshape([2, -1])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_layer_is_permutation_equivariant((n, edges, perm, seed) in graph_strategy()) {
        tch::manual_seed(seed as i64 % 1000);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let layers = layers(&vs.root());
        let x = Tensor::randn([n, F], (Kind::Double, Device::Cpu));
        // Node v of the permuted graph is node perm[v] of the original.
        let mut inverse = vec![0i64; n as usize];
        for (new, &old) in perm.iter().enumerate() {
            inverse[old] = new as i64;
        }
        let permuted: Vec<(i64, i64)> =
            edges.iter().map(|&(s, d)| (inverse[s as usize], inverse[d as usize])).collect();
        let perm_t = Tensor::from_slice(&perm.iter().map(|&i| i as i64).collect::<Vec<_>>());
        let g = Graph::new(&edge_index(&edges), n).unwrap();
        let gp = Graph::new(&edge_index(&permuted), n).unwrap();
        vs.double();
        for (name, layer) in &layers {
            let out = layer.forward(&x, &g).index_select(0, &perm_t);
            let out_p = layer.forward(&x.index_select(0, &perm_t), &gp);
            let diff = (out - out_p).abs().max().double_value(&[]);
            prop_assert!(diff < 1e-9, "{} is not equivariant: {}", name, diff);
        }
        // GCNII also takes the initial representation x_0, permuted alike.
        let gcn2 = Gcn2Conv::new(vs.root() / "gcn2", F, Gcn2Config { layer: 3, ..Default::default() });
        vs.double();
        let x0 = x.tanh();
        let out = gcn2.forward(&x, &x0, &g).index_select(0, &perm_t);
        let out_p = gcn2.forward(&x.index_select(0, &perm_t), &x0.index_select(0, &perm_t), &gp);
        prop_assert!((out - out_p).abs().max().double_value(&[]) < 1e-9, "Gcn2Conv is not equivariant");
    }
}

#[test]
fn jumping_knowledge_modes_combine_layers_row_by_row() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let xs: Vec<Tensor> = (0..3)
        .map(|_| Tensor::randn([6, 4], (Kind::Float, Device::Cpu)))
        .collect();
    let perm = Tensor::from_slice(&[5i64, 3, 0, 1, 2, 4]);
    for mode in [JkMode::Cat, JkMode::Max, JkMode::Lstm] {
        let jk = JumpingKnowledge::new(&(vs.root() / format!("{mode:?}")), mode, 4, 3);
        let out = jk.f_forward(&xs).unwrap();
        assert_eq!(out.size(), [6, jk.out_channels()]);
        let permuted: Vec<Tensor> = xs.iter().map(|x| x.index_select(0, &perm)).collect();
        assert!(jk
            .f_forward(&permuted)
            .unwrap()
            .allclose(&out.index_select(0, &perm), 1e-6, 1e-6, false));
    }
    let max = JumpingKnowledge::new(vs.root(), JkMode::Max, 4, 3)
        .f_forward(&xs)
        .unwrap();
    assert!(max.equal(&xs[0].maximum(&xs[1]).maximum(&xs[2])));
    let err = JumpingKnowledge::new(vs.root(), JkMode::Cat, 4, 2)
        .f_forward(&xs)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("expects 2 layer outputs (it was built for them), got 3"),
        "{err}"
    );
}

#[test]
fn dot_product_attention_on_the_complete_graph_is_scaled_dot_product_attention() {
    tch::manual_seed(7);
    let (n, heads, c) = (6i64, 3i64, 4i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = TransformerConfig {
        heads,
        root_weight: false,
        ..Default::default()
    };
    let conv = TransformerConv::new(&(vs.root() / "t"), 5, c, config);
    // Complete graph with self loops: every node attends to every node.
    let pairs: Vec<(i64, i64)> = (0..n).flat_map(|i| (0..n).map(move |j| (j, i))).collect();
    let graph = Graph::new(&edge_index(&pairs), n).unwrap();
    let x = Tensor::randn([n, 5], (Kind::Float, Device::Cpu));
    let ours = conv.forward(&x, &graph);

    let vars = vs.variables();
    let project = |name: &str| {
        let (w, b) = (
            &vars[&format!("t.{name}.weight")],
            &vars[&format!("t.{name}.bias")],
        );
        // [N, H*C] -> [H, N, C]: heads as the batch of libtorch's attention.
        (x.matmul(&w.tr()) + b).view([n, heads, c]).transpose(0, 1)
    };
    let (q, k, v) = (project("lin_query"), project("lin_key"), project("lin_value"));
    let sdpa = Tensor::scaled_dot_product_attention(&q, &k, &v, None::<Tensor>, 0.0, false, None, false);
    let reference = sdpa.transpose(0, 1).reshape([n, heads * c]);
    let diff = (ours - reference).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "max difference {diff}");
}

#[test]
fn bad_inputs_get_typed_errors_naming_layer_and_shapes() {
    let vs = nn::VarStore::new(Device::Cpu);
    let graph = Graph::new(&edge_index(&[(0, 1), (1, 2)]), 3).unwrap();
    let x = Tensor::zeros([3, F + 1], (Kind::Float, Device::Cpu));
    for (name, layer) in layers(&vs.root()) {
        if name == "appnp" {
            continue; // parameter-free: any channel count is fine
        }
        let err = layer.f_forward_t(&x, &graph, false).unwrap_err().to_string();
        assert!(
            err.contains(&format!("[num_nodes=3, {F}], got [3, {}]", F + 1)),
            "{name}: {err}"
        );
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| layer.forward(&x, &graph)));
        let msg = panic.unwrap_err();
        let msg = msg.downcast_ref::<String>().map(String::as_str).unwrap_or("");
        assert!(msg.contains("got [3, 5]"), "{name}: {msg}");
    }
    let wrong_nodes = Tensor::zeros([4, F], (Kind::Float, Device::Cpu));
    let err = GcnConv::new(vs.root(), F, 2, GcnConfig::default()).f_forward_t(&wrong_nodes, &graph, false);
    assert!(err
        .unwrap_err()
        .to_string()
        .contains("GcnConv expects x of shape [num_nodes=3, 4], got [4, 4]"));
    let x0 = Tensor::zeros([3, 2], (Kind::Float, Device::Cpu));
    let err = Gcn2Conv::new(vs.root(), F, Gcn2Config::default())
        .f_forward(&x.narrow(1, 0, F), &x0, &graph)
        .unwrap_err();
    assert!(err.to_string().contains("x_0"), "{err}");
}
