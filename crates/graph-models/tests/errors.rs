//! Bad input to the layers, networks and helpers of graph-models: wrong shapes, kinds, devices and index ranges, empty graphs, isolated nodes, self loops and duplicate edges. Each must give a typed error naming the input and the
//! shapes (never a libtorch abort or a panic); each odd-but-valid input must
//! give finite outputs of the right shape. The harness is
//! `train_utils::error_cases`; docs/trust.md counts the cases.

use graph_models::{self as gm, GnnLayer};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tch::{nn, Device, Kind, Tensor};
use train_utils::error_cases::{case, panic_message, run_cases, Case, Expect};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A triangle 0 -> 1 -> 2 -> 0 plus node 3 with no edges.
fn g() -> gm::Graph {
    gm::Graph::new(&Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]), 4).unwrap()
}

/// Self loops on 0 and 1, the edge 0 -> 1 three times, node 3 isolated.
fn loops_and_duplicates() -> gm::Graph {
    gm::Graph::new(
        &Tensor::from_slice2(&[[0i64, 1, 0, 0, 0, 2], [0, 1, 1, 1, 1, 0]]),
        4,
    )
    .unwrap()
}

fn x(n: i64, f: i64) -> Tensor {
    Tensor::randn([n, f], F32)
}

fn fresh_gcn() -> gm::GcnConv {
    gm::GcnConv::new(nn::VarStore::new(Device::Cpu).root(), 3, 2, Default::default())
}

fn cases(vs: &'static nn::VarStore) -> Vec<Case> {
    let p = vs.root();
    let gat = gm::GatConv::new(&(&p / "gat"), 3, 2, Default::default());
    let gat2 = gm::GatV2Conv::new(&(&p / "gat2"), 3, 2, Default::default());
    let sage = gm::SageConv::new(&p / "sage", 3, 2, gm::SageConfig::default());
    let gin_p = &p / "gin";
    let gin_mlp = nn::seq_t().add(nn::linear(&gin_p / "nn" / "0", 3, 2, Default::default()));
    let gin = gm::GinConv::new(&gin_p, gin_mlp, 3, gm::GinConfig::default());
    let cheb = gm::ChebConv::new(&p / "cheb", 3, 2, 2, gm::ChebConfig::default());
    let gcn2 = gm::Gcn2Conv::new(&p / "gcn2", 3, gm::Gcn2Config::default());
    let tr = gm::TransformerConv::new(&(&p / "tr"), 3, 2, Default::default());
    let jk = gm::JumpingKnowledge::new(&(&p / "jk"), gm::JkMode::Max, 3, 2);
    let appnp = gm::Appnp::new(gm::AppnpConfig { k: 3, alpha: 0.1 });
    let gat_ok = gm::GatConv::new(&(&p / "gat_ok"), 3, 2, Default::default());
    let sage_ok = gm::SageConv::new(&p / "sage_ok", 3, 2, gm::SageConfig::default());
    let gin_ok_mlp = nn::seq_t().add(nn::linear(&p / "gin_ok" / "nn" / "0", 3, 2, Default::default()));
    let gin_ok = gm::GinConv::new(&p / "gin_ok", gin_ok_mlp, 3, gm::GinConfig::default());
    let int64 = (Kind::Int64, Device::Cpu);
    let res = gm::Residual {
        layer: gm::GcnConv::new(&(&p / "res"), 3, 3, Default::default()),
    };
    let res_bad = gm::Residual {
        layer: gm::GcnConv::new(&(&p / "res_bad"), 3, 2, Default::default()),
    };
    let resplus = gm::ResPlus::new(
        &(&p / "resplus"),
        3,
        gm::GcnConv::new(&(&p / "resplus_conv"), 3, 3, Default::default()),
        gm::ResPlusConfig::default(),
    );
    vec![
        case(
            "Graph: edge_index [3, E]",
            Expect::Err(&["edge_index", "[2, num_edges]", "[3, 2]"]),
            move || {
                gm::Graph::new(&Tensor::zeros([3, 2], int64), 4)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Graph: float edge_index",
            Expect::Err(&["edge_index", "int64", "Float"]),
            || {
                gm::Graph::new(&Tensor::zeros([2, 2], F32), 4)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Graph: node id out of range",
            Expect::Err(&["edge_index", "0..=4", "outside 0..4"]),
            || {
                gm::Graph::new(&Tensor::from_slice2(&[[0i64, 4], [1, 0]]), 4)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Graph: negative node id",
            Expect::Err(&["edge_index", "-1..=1", "outside 0..4"]),
            || {
                gm::Graph::new(&Tensor::from_slice2(&[[0i64, -1], [1, 0]]), 4)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Graph: one weight too few",
            Expect::Err(&["edge_weight", "[3]", "[2]"]),
            || {
                let ei = Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]);
                gm::Graph::with_weights(&ei, &Tensor::ones([2], F32), 4)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Graph: NaN edge weight",
            Expect::Err(&["edge_weight", "NaN"]),
            || {
                let ei = Tensor::from_slice2(&[[0i64, 1, 2], [1, 2, 0]]);
                let w = Tensor::from_slice(&[1.0f32, f32::NAN, 1.0]);
                gm::Graph::with_weights(&ei, &w, 4)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "GcnConv: x features 5 for 3",
            Expect::Err(&["GcnConv expects x of shape [num_nodes=4, 3], got [4, 5]"]),
            || fresh_gcn().f_forward_t(&x(4, 5), &g(), false).map_err(s),
        ),
        case(
            "GcnConv: x for 5 nodes on a 4-node graph",
            Expect::Err(&["GcnConv", "[num_nodes=4, 3]", "[5, 3]"]),
            || fresh_gcn().f_forward_t(&x(5, 3), &g(), false).map_err(s),
        ),
        case(
            "GcnConv: x of rank 1",
            Expect::Err(&["GcnConv", "got [12]"]),
            || {
                fresh_gcn()
                    .f_forward_t(&Tensor::randn([12], F32), &g(), false)
                    .map_err(s)
            },
        ),
        case(
            "GcnConv: int64 x",
            Expect::Err(&["GcnConv", "dtype Float, got Int64", "Int64"]),
            move || {
                fresh_gcn()
                    .f_forward_t(&Tensor::ones([4, 3], int64), &g(), false)
                    .map_err(s)
            },
        ),
        case(
            "GcnConv: float64 x",
            Expect::Err(&["GcnConv", "dtype Float, got Double", "got Double"]),
            || {
                fresh_gcn()
                    .f_forward_t(&Tensor::ones([4, 3], (Kind::Double, Device::Cpu)), &g(), false)
                    .map_err(s)
            },
        ),
        case(
            "GcnConv: float64 parameters and float64 x",
            Expect::Ok(&[4, 2]),
            || {
                let mut vs = nn::VarStore::new(Device::Cpu);
                let conv = gm::GcnConv::new(vs.root(), 3, 2, Default::default());
                vs.double();
                conv.f_forward_t(&Tensor::ones([4, 3], (Kind::Double, Device::Cpu)), &g(), false)
                    .map_err(s)
            },
        ),
        case(
            "GatConv: float64 x",
            Expect::Err(&["GatConv", "dtype Float, got Double", "got Double"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                gm::GatConv::new(vs.root(), 3, 2, Default::default())
                    .f_forward_t(&Tensor::ones([4, 3], (Kind::Double, Device::Cpu)), &g(), false)
                    .map_err(s)
            },
        ),
        case(
            "SageConv: float64 x",
            Expect::Err(&["SageConv", "dtype Float, got Double", "got Double"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                gm::SageConv::new(vs.root(), 3, 2, gm::SageConfig::default())
                    .f_forward_t(&Tensor::ones([4, 3], (Kind::Double, Device::Cpu)), &g(), false)
                    .map_err(s)
            },
        ),
        case(
            "Gcn2Conv: float64 x",
            Expect::Err(&["Gcn2Conv", "dtype Float, got Double", "got Double"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                let x = Tensor::ones([4, 3], (Kind::Double, Device::Cpu));
                gm::Gcn2Conv::new(vs.root(), 3, gm::Gcn2Config::default())
                    .f_forward(&x, &x, &g())
                    .map_err(s)
            },
        ),
        case(
            "GatConv: x features 5 for 3",
            Expect::Err(&["GatConv", "[num_nodes=4, 3]", "[4, 5]"]),
            move || gat.f_forward_t(&x(4, 5), &g(), false).map_err(s),
        ),
        case(
            "GatV2Conv: x for 3 nodes on 4",
            Expect::Err(&["GatV2Conv", "[num_nodes=4, 3]", "[3, 3]"]),
            move || gat2.f_forward_t(&x(3, 3), &g(), false).map_err(s),
        ),
        case(
            "SageConv: x features 2 for 3",
            Expect::Err(&["SageConv", "[num_nodes=4, 3]", "[4, 2]"]),
            move || sage.f_forward_t(&x(4, 2), &g(), false).map_err(s),
        ),
        case(
            "GinConv: x features 4 for 3",
            Expect::Err(&["GinConv", "[num_nodes=4, 3]", "[4, 4]"]),
            move || gin.f_forward_t(&x(4, 4), &g(), false).map_err(s),
        ),
        case(
            "ChebConv: x features 4 for 3",
            Expect::Err(&["ChebConv", "[num_nodes=4, 3]", "[4, 4]"]),
            move || cheb.f_forward_t(&x(4, 4), &g(), false).map_err(s),
        ),
        case(
            "ChebConv: K = 0",
            Expect::Err(&["ChebConv", "K must be at least 1, got 0"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                gm::ChebConv::f_new(vs.root(), 3, 2, 0, gm::ChebConfig::default())
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Appnp: x for 6 nodes on 4",
            Expect::Err(&["Appnp", "num_nodes=4", "[6, 3]"]),
            move || appnp.f_forward_t(&x(6, 3), &g(), false).map_err(s),
        ),
        case(
            "Gcn2Conv: x0 of another shape",
            Expect::Err(&["Gcn2Conv", "x_0", "[4, 3]", "[4, 2]"]),
            move || gcn2.f_forward(&x(4, 3), &x(4, 2), &g()).map_err(s),
        ),
        case(
            "TransformerConv: x features 1 for 3",
            Expect::Err(&["TransformerConv", "[num_nodes=4, 3]", "[4, 1]"]),
            move || tr.f_forward_t(&x(4, 1), &g(), false).map_err(s),
        ),
        case(
            "JumpingKnowledge: 3 layers for 2",
            Expect::Err(&["JumpingKnowledge", "2 layer outputs", "got 3"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                let jk = gm::JumpingKnowledge::new(vs.root(), gm::JkMode::Max, 3, 2);
                jk.f_forward(&[x(4, 3), x(4, 3), x(4, 3)]).map_err(s)
            },
        ),
        case(
            "JumpingKnowledge: layers of other shapes",
            Expect::Err(&["JumpingKnowledge", "[num_nodes, 3]", "[5, 3]"]),
            move || jk.f_forward(&[x(4, 3), x(5, 3)]).map_err(s),
        ),
        case("GcnConv: empty graph (0 nodes)", Expect::Ok(&[0, 2]), move || {
            let empty = gm::Graph::new(&Tensor::zeros([2, 0], int64), 0).map_err(s)?;
            fresh_gcn().f_forward_t(&x(0, 3), &empty, false).map_err(s)
        }),
        case(
            "GcnConv: self loops, duplicate edges, isolated node",
            Expect::Ok(&[4, 2]),
            || {
                fresh_gcn()
                    .f_forward_t(&x(4, 3), &loops_and_duplicates(), false)
                    .map_err(s)
            },
        ),
        case(
            "GatConv: self loops, duplicate edges, isolated node",
            Expect::Ok(&[4, 2]),
            move || {
                gat_ok
                    .f_forward_t(&x(4, 3), &loops_and_duplicates(), false)
                    .map_err(s)
            },
        ),
        case("SageConv(mean): isolated node", Expect::Ok(&[4, 2]), move || {
            sage_ok.f_forward_t(&x(4, 3), &g(), false).map_err(s)
        }),
        case(
            "GinConv: duplicate edges and self loops",
            Expect::Ok(&[4, 2]),
            move || {
                gin_ok
                    .f_forward_t(&x(4, 3), &loops_and_duplicates(), false)
                    .map_err(s)
            },
        ),
        case(
            "GcnConv::forward panics with the f_forward message",
            Expect::Err(&["GcnConv expects x of shape [num_nodes=4, 3], got [4, 5]"]),
            || {
                let (gcn, graph) = (fresh_gcn(), g());
                let want = gcn.f_forward_t(&x(4, 5), &graph, false).unwrap_err().to_string();
                let got = catch_unwind(AssertUnwindSafe(|| gcn.forward(&x(4, 5), &graph)));
                let msg = panic_message(got.err().ok_or("forward did not panic")?);
                if msg == want {
                    Err(msg)
                } else {
                    Err(format!("different messages: forward `{msg}`, f_forward `{want}`"))
                }
            },
        ),
        case(
            "Residual(GcnConv 3 -> 2): changes the width",
            Expect::Err(&["Residual", "[4, 3]", "[4, 2]"]),
            move || res_bad.f_forward_t(&x(4, 3), &g(), false).map_err(s),
        ),
        case(
            "Residual(GcnConv): self loops and duplicate edges",
            Expect::Ok(&[4, 3]),
            move || {
                res.f_forward_t(&x(4, 3), &loops_and_duplicates(), false)
                    .map_err(s)
            },
        ),
        case(
            "ResPlus: 5 channels for 3",
            Expect::Err(&["ResPlus", "[4, 5]"]),
            move || resplus.f_forward_t(&x(4, 5), &g(), false).map_err(s),
        ),
        case(
            "f_aggregate: target index 5 on 4 nodes",
            Expect::Err(&["aggregate", "index of target ids in 0..4, found 5"]),
            || {
                let index = Tensor::from_slice(&[0i64, 1, 5]);
                gm::f_aggregate(&x(3, 2), &index, 4, gm::Aggr::Max).map_err(s)
            },
        ),
        case(
            "f_segment_softmax: 2 targets for 3 scores",
            Expect::Err(&["segment_softmax", "index of shape [3]", "[2]"]),
            || {
                let index = Tensor::from_slice(&[0i64, 1]);
                gm::f_segment_softmax(&x(3, 1), &index, 4).map_err(s)
            },
        ),
        case(
            "aggregate: mean over an isolated node gives zeros",
            Expect::Ok(&[4, 2]),
            || {
                let index = Tensor::from_slice(&[0i64, 0, 2]);
                let out = gm::f_aggregate(&x(3, 2), &index, 4, gm::Aggr::Mean).map_err(s)?;
                let isolated = out.get(3).abs().sum(Kind::Float).double_value(&[]);
                if isolated == 0.0 {
                    Ok(out)
                } else {
                    Err(format!("node 3 got {isolated}"))
                }
            },
        ),
        case(
            "GCN model: 4 features where it was built for 3",
            Expect::Err(&["GcnConv expects x of shape [num_nodes=4, 3]", "[4, 4]"]),
            {
                let model = gm::Arch::Gcn.build(&(&p / "gcn_model"), 3, 2, 2);
                move || {
                    let features = gm::NodeFeatures::Dense(x(4, 4));
                    model.f_forward_t(&features, &g(), false).map_err(s)
                }
            },
        ),
        case(
            "GCNII model: features for 5 nodes on a 4-node graph",
            Expect::Err(&["Gcn2Net expects x of shape [num_nodes=4, 3]", "[5, 3]"]),
            {
                let model = gm::Arch::Gcn2.build(&(&p / "gcn2_model"), 3, 2, 4);
                move || {
                    let features = gm::NodeFeatures::Dense(x(5, 3));
                    model.f_forward_t(&features, &g(), false).map_err(s)
                }
            },
        ),
        case(
            "Arch::f_build: zero layers",
            Expect::Err(&["invalid configuration", "gat", "at least one graph layer"]),
            {
                let path = &p / "gat_model0";
                move || {
                    gm::Arch::Gat
                        .f_build(&path, 3, 2, 0)
                        .map(|_| Tensor::zeros([1], F32))
                        .map_err(s)
                }
            },
        ),
    ]
}

#[test]
fn every_bad_input_gets_a_typed_error_that_names_it() {
    let vs: &'static nn::VarStore = Box::leak(Box::new(nn::VarStore::new(Device::Cpu)));
    let cases = cases(vs);
    assert_eq!(cases.len(), 41, "docs/trust.md counts 41 graph-models cases");
    let failures = run_cases(cases);
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
