//! Wrong shapes, wrong dtypes, empty graphs, isolated nodes, self loops,
//! duplicate edges, zero-length and over-long sequences fed to the public
//! layers of seq-models, graph-models and hybrid through their fallible entry
//! points. Each bad input must give a typed error (never a libtorch abort or a
//! panic) whose message names the input and the shapes; each odd-but-valid
//! graph must give finite outputs of the right shape.

use seqgraph::graph_models::{self as gm, GnnLayer};
use seqgraph::hybrid::{self, Encoder};
use seqgraph::seq_models::{self as sm, modes};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tch::{nn, Device, Kind, Tensor};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

/// What a case must do.
enum Expect {
    /// Fail with a message holding every one of these pieces.
    Err(&'static [&'static str]),
    /// Succeed with a finite output of this shape.
    Ok(&'static [i64]),
}

type Outcome = Result<Tensor, String>;

struct Case {
    name: &'static str,
    expect: Expect,
    run: Box<dyn FnOnce() -> Outcome>,
}

fn case(name: &'static str, expect: Expect, run: impl FnOnce() -> Outcome + 'static) -> Case {
    Case {
        name,
        expect,
        run: Box::new(run),
    }
}

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

fn graph_cases(vs: &'static nn::VarStore) -> Vec<Case> {
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
    ]
}

fn lstm() -> sm::Recurrent {
    sm::Recurrent::lstm(
        nn::VarStore::new(Device::Cpu).root(),
        3,
        4,
        sm::RecurrentConfig::default(),
    )
}

fn seq(b: i64, t: i64, f: i64) -> Tensor {
    Tensor::randn([b, t, f], F32)
}

fn seq_cases(vs: &'static nn::VarStore) -> Vec<Case> {
    let p = vs.root();
    let cfg = sm::RecurrentConfig::default();
    let gru = sm::Recurrent::gru(&p / "gru", 3, 4, cfg);
    let m2o = modes::ManyToOne::new(&p / "m2o", sm::CellKind::Lstm, 3, 4, 2, cfg);
    let o2o = modes::OneToOne::new(&p / "o2o", sm::CellKind::Gru, 3, 4, 2);
    let out = |r: sm::Result<sm::RnnOutput>| r.map(|o| o.output).map_err(s);
    vec![
        case(
            "Lstm: input of rank 2",
            Expect::Err(&["Lstm expects input of shape [batch, time, 3], got [5, 3]"]),
            move || out(lstm().f_forward(&x(5, 3), None, None, false)),
        ),
        case(
            "Lstm: 7 features for 3",
            Expect::Err(&["Lstm expects input of shape [batch, time, 3], got [2, 5, 7]"]),
            move || out(lstm().f_forward(&seq(2, 5, 7), None, None, false)),
        ),
        case(
            "Lstm: float64 input",
            Expect::Err(&["Lstm expects input of dtype Float, got Double"]),
            move || {
                let input = Tensor::randn([2, 5, 3], (Kind::Double, Device::Cpu));
                out(lstm().f_forward(&input, None, None, false))
            },
        ),
        case(
            "Lstm: zero-length sequences",
            Expect::Err(&["empty input", "Lstm", "[2, 0, 3]"]),
            move || out(lstm().f_forward(&seq(2, 0, 3), None, None, false)),
        ),
        case(
            "Lstm: empty batch",
            Expect::Err(&["empty input", "Lstm", "[0, 5, 3]"]),
            move || out(lstm().f_forward(&seq(0, 5, 3), None, None, false)),
        ),
        case(
            "Lstm: a length longer than the time axis",
            Expect::Err(&["lengths", "Lstm", "length 6", "1..=5"]),
            move || out(lstm().f_forward(&seq(2, 5, 3), None, Some(&[5, 6]), false)),
        ),
        case(
            "Lstm: a zero length",
            Expect::Err(&["lengths", "Lstm", "length 0", "1..=5"]),
            move || out(lstm().f_forward(&seq(2, 5, 3), None, Some(&[5, 0]), false)),
        ),
        case(
            "Lstm: three lengths for two sequences",
            Expect::Err(&["lengths", "Lstm", "3 lengths for a batch of 2"]),
            move || out(lstm().f_forward(&seq(2, 5, 3), None, Some(&[5, 4, 3]), false)),
        ),
        case(
            "Lstm (explicit): 7 features for 3",
            Expect::Err(&["Lstm expects input of shape [batch, time, 3], got [2, 5, 7]"]),
            move || out(lstm().f_forward_explicit(&seq(2, 5, 7), None, None, false)),
        ),
        case(
            "Gru: h0 of the wrong shape",
            Expect::Err(&["Gru expects state h of shape [1, 2, 4], got [1, 3, 4]"]),
            move || {
                let h0 = sm::RnnState {
                    h: Tensor::zeros([1, 3, 4], F32),
                    c: None,
                };
                out(gru.f_forward(&seq(2, 5, 3), Some(&h0), None, false))
            },
        ),
        case(
            "Recurrent::f_new: hidden 0",
            Expect::Err(&["invalid configuration", "hidden_size 0"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                let r = sm::Recurrent::f_new(vs.root(), sm::CellKind::Lstm, 3, 0, Default::default());
                r.map(|_| Tensor::new()).map_err(s)
            },
        ),
        case(
            "ManyToOne: 2 features for 3",
            Expect::Err(&["Lstm expects input of shape [batch, time, 3], got [2, 5, 2]"]),
            move || m2o.f_forward(&seq(2, 5, 2), None, false).map_err(s),
        ),
        case(
            "OneToOne: 4 features for 3",
            Expect::Err(&["GruCell expects input of shape [batch >= 1, 3], got [2, 4]"]),
            move || o2o.f_forward(&x(2, 4)).map_err(s),
        ),
    ]
}

fn hybrid_cases(vs: &'static nn::VarStore) -> Vec<Case> {
    let p = vs.root();
    let eye = || hybrid::Supports::Static(vec![Tensor::eye(5, F32)]);
    let tgcn = hybrid::GraphGru::tgcn(&p / "tgcn", 2, 8);
    let a3 = hybrid::A3tgcn::new(&p / "a3", 2, 8, 4);
    let bxtnf = |b: i64, t: i64, n: i64, f: i64| Tensor::randn([b, t, n, f], F32);
    vec![
        case(
            "T-GCN: x of rank 3",
            Expect::Err(&["Tgcn", "x of shape [B, T, N, F=2]", "[3, 5, 2]"]),
            move || {
                let tgcn = hybrid::GraphGru::tgcn(nn::VarStore::new(Device::Cpu).root(), 2, 8);
                tgcn.f_forward(&Tensor::randn([3, 5, 2], F32), &eye(), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "T-GCN: x with 6 nodes on a 5-node graph",
            Expect::Err(&["Tgcn", "support 0", "[5, 5]", "6 nodes"]),
            move || {
                tgcn.f_forward(&bxtnf(3, 4, 6, 2), &eye(), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "T-GCN: 3 features for 2",
            Expect::Err(&["Tgcn", "F=2", "[3, 4, 5, 3]"]),
            move || {
                let tgcn = hybrid::GraphGru::tgcn(nn::VarStore::new(Device::Cpu).root(), 2, 8);
                tgcn.f_forward(&bxtnf(3, 4, 5, 3), &eye(), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "A3T-GCN: 6 steps for periods 4",
            Expect::Err(&["A3tgcn", "T=4", "[3, 6, 5, 2]"]),
            move || a3.f_encode(&bxtnf(3, 6, 5, 2), &eye()).map_err(s),
        ),
        case(
            "GConvLstm::f_new: K = 0",
            Expect::Err(&["filter size K", "got 0"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                hybrid::GConvLstm::f_new(vs.root(), 2, 8, 0)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Forecaster::f_new: horizon 0",
            Expect::Err(&["horizon must be positive, got 0"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                let config = hybrid::ModelConfig {
                    kind: hybrid::ModelKind::Tgcn,
                    in_features: 2,
                    hidden: 8,
                    k: 1,
                    periods: 4,
                    nodes: 5,
                    horizon: 0,
                    ..Default::default()
                };
                hybrid::Forecaster::f_new(vs.root(), &config)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "Samples::new: y for 4 samples, x for 3",
            Expect::Err(&[
                "Samples expects y of shape [S=3, N=5, horizon], got [4, 5, 1]",
                "[4, 5, 1]",
            ]),
            move || {
                hybrid::Samples::new(bxtnf(3, 4, 5, 2), Tensor::randn([4, 5, 1], F32))
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
        case(
            "windows: 12 + 12 steps asked of a 20-step series",
            Expect::Err(&["series", "steps >= 24", "[20, 5]"]),
            || {
                let series = Tensor::randn([20, 5], F32);
                hybrid::protocol::windows(&series, 12, 12, hybrid::protocol::LagLayout::Steps)
                    .map(|_| Tensor::new())
                    .map_err(s)
            },
        ),
    ]
}

/// Layers the first three lists leave out: the recurrent cells, the other
/// input-output modes, the Tree-LSTM, the residual wrappers, the hybrid
/// cells, encoders and DCRNN's encoder-decoder.
fn more_cases(vs: &'static nn::VarStore) -> Vec<Case> {
    let p = vs.root();
    let cell = sm::RecurrentCell::new(&p / "cell", sm::CellKind::Lstm, 3, 4);
    let o2m = modes::OneToMany::new(&p / "o2m", sm::CellKind::Gru, 3, 4, 2);
    let m2m = modes::ManyToMany::new(&p / "m2m", sm::CellKind::RnnTanh, 3, 4, 2, Default::default());
    let s2s = modes::Seq2Seq::new(&p / "s2s", sm::CellKind::Gru, 10, 10, 4, 4, 0);
    let s2s2 = modes::Seq2Seq::new(&p / "s2s2", sm::CellKind::Gru, 10, 10, 4, 4, 0);
    let tree = sm::tree_lstm::TreeLstm::child_sum(&(&p / "tree"), 3, 4);
    let nary = sm::tree_lstm::TreeLstm::n_ary(&(&p / "nary"), 3, 4, 2);
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
    let gru_cell = hybrid::GraphGru::gconv_gru(&p / "gconvgru", 2, 8, 2);
    let dcrnn = hybrid::GraphGru::dcrnn(&p / "dcrnn", 2, 8, 2);
    let lstm_cell = hybrid::GConvLstm::new(&p / "gconvlstm", 2, 8, 2);
    let stgcn = hybrid::Stgcn::new(&p / "stgcn", 2, 8, 2, 5, 4);
    let wavenet = hybrid::GraphWaveNet::new(&p / "wavenet", 2, 8, 2, 5, 1);
    let s2s_graph = hybrid::DcrnnSeq2Seq::new(&p / "dcrnn_s2s", 2, 8, 2, 3);
    let eye = |n: i64| hybrid::Supports::Static(vec![Tensor::eye(n, F32)]);
    let two = |n: i64| hybrid::Supports::Static(vec![Tensor::eye(n, F32), Tensor::eye(n, F32)]);
    let bxtnf = |b: i64, t: i64, n: i64, f: i64| Tensor::randn([b, t, n, f], F32);
    let ids = |b: i64, t: i64| Tensor::randint(10, [b, t], (Kind::Int64, Device::Cpu));
    let plan = |edges: &[(usize, usize)], n: usize, arity: Option<usize>| {
        sm::schedule::Schedule::from_edges(n, edges)
            .unwrap()
            .plan(Device::Cpu, arity)
            .unwrap()
    };
    vec![
        case(
            "LstmCell: 5 features for 3",
            Expect::Err(&["LstmCell", "[batch >= 1, 3]", "[2, 5]"]),
            move || cell.f_step(&x(2, 5), None).map(|s| s.h).map_err(s),
        ),
        case(
            "OneToMany: zero steps",
            Expect::Err(&["one-to-many needs at least one step"]),
            move || o2m.f_generate(&x(2, 3), 0).map_err(s),
        ),
        case(
            "OneToMany: 4 features for 3",
            Expect::Err(&["OneToMany", "[batch >= 1, 3]", "[2, 4]"]),
            {
                let o2m = modes::OneToMany::new(&p / "o2m_b", sm::CellKind::Lstm, 3, 4, 2);
                move || o2m.f_generate(&x(2, 4), 3).map_err(s)
            },
        ),
        case(
            "ManyToMany: zero-length sequences",
            Expect::Err(&["empty input", "[2, 0, 3]"]),
            move || {
                m2m.f_forward(&seq(2, 0, 3), None, None, false)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "Seq2Seq: target for 3 sequences, source for 2",
            Expect::Err(&["Seq2Seq expects target tokens of shape [2, >= 1], got [3, 4]"]),
            move || s2s.f_forward(&ids(2, 5), None, &ids(3, 4), 1.0).map_err(s),
        ),
        case(
            "Seq2Seq: target tokens of rank 1",
            Expect::Err(&["Seq2Seq expects target tokens of shape [2, >= 1], got [4]"]),
            {
                let s2s = modes::Seq2Seq::new(&p / "s2s3", sm::CellKind::Gru, 10, 10, 4, 4, 0);
                move || {
                    s2s.f_forward(&ids(2, 5), None, &ids(1, 4).view([4]), 1.0)
                        .map_err(s)
                }
            },
        ),
        case(
            "Seq2Seq: target token 12 past a vocabulary of 10",
            Expect::Err(&["Seq2Seq expects target tokens", "token ids in 0..10", "found 12"]),
            {
                let s2s = modes::Seq2Seq::new(&p / "s2s4", sm::CellKind::Lstm, 10, 10, 4, 4, 0);
                move || {
                    let tgt = Tensor::from_slice2(&[[1i64, 2, 12], [0, 3, 4]]);
                    s2s.f_forward(&ids(2, 5), None, &tgt, 1.0).map_err(s)
                }
            },
        ),
        case(
            "Seq2Seq: negative source token",
            Expect::Err(&["Seq2Seq expects source tokens", "token ids in 0..10", "found -1"]),
            {
                let s2s = modes::Seq2Seq::new(&p / "s2s5", sm::CellKind::Gru, 10, 10, 4, 4, 0);
                move || {
                    let src = Tensor::from_slice2(&[[1i64, -1, 2]]);
                    s2s.f_forward(&src, None, &ids(1, 2), 1.0).map_err(s)
                }
            },
        ),
        case(
            "Seq2Seq: greedy decoding of zero steps",
            Expect::Err(&["empty input", "at least one step, got 0"]),
            {
                let s2s = modes::Seq2Seq::new(&p / "s2s6", sm::CellKind::Gru, 10, 10, 4, 4, 0);
                move || s2s.f_greedy(&ids(2, 5), None, 0).map_err(s)
            },
        ),
        case(
            "Seq2Seq: float source tokens",
            Expect::Err(&["Seq2Seq expects source tokens of dtype Int64, got Float"]),
            move || {
                s2s2.f_forward(&seq(2, 5, 1).squeeze_dim(2), None, &ids(2, 4), 1.0)
                    .map_err(s)
            },
        ),
        case(
            "TreeLstm: x for 4 nodes, plan of 3",
            Expect::Err(&["ChildSumTreeLstm expects node inputs x of shape [num_nodes=3, 3], got [4, 3]"]),
            move || {
                tree.f_forward(&x(4, 3), &plan(&[(0, 1), (0, 2)], 3, None))
                    .map(|s| s.h)
                    .map_err(s)
            },
        ),
        case(
            "TreeLstm (2-ary): plan without child slots",
            Expect::Err(&["2-ary Tree-LSTM needs a plan with 2 child slots"]),
            move || {
                nary.f_forward(&x(3, 3), &plan(&[(0, 1), (0, 2)], 3, None))
                    .map(|s| s.h)
                    .map_err(s)
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
            "GConvGRU: 3 features for 2",
            Expect::Err(&["F=2", "[2, 4, 5, 3]"]),
            move || {
                gru_cell
                    .f_forward(&bxtnf(2, 4, 5, 3), &eye(5), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "DCRNN cell: one support where two are needed",
            Expect::Err(&["Dcrnn", "needs 2 supports", "got 1"]),
            move || {
                dcrnn
                    .f_forward(&bxtnf(2, 4, 5, 2), &eye(5), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "GConvLstm: x with 6 nodes on a 5-node graph",
            Expect::Err(&["[5, 5]", "6 nodes"]),
            move || {
                lstm_cell
                    .f_forward(&bxtnf(2, 4, 6, 2), &eye(5), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "Stgcn: 6 steps for periods 4",
            Expect::Err(&["Stgcn", "T=4", "[2, 6, 5, 2]"]),
            move || stgcn.f_encode(&bxtnf(2, 6, 5, 2), &eye(5)).map_err(s),
        ),
        case(
            "GraphWaveNet: 7 nodes for 5",
            Expect::Err(&["GraphWaveNet", "[2, 4, 7, 2]"]),
            move || wavenet.f_encode(&bxtnf(2, 4, 7, 2), &eye(7)).map_err(s),
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
            "DcrnnSeq2Seq: empty batch",
            Expect::Err(&[
                "Dcrnn",
                "[B >= 1, T >= 1, N >= 1, F=2], got [0, 4, 5, 2]",
                "[0, 4, 5, 2]",
            ]),
            move || s2s_graph.f_forward(&bxtnf(0, 4, 5, 2), &two(5), None).map_err(s),
        ),
        case(
            "GConvGRU: a graph of zero nodes",
            Expect::Err(&["GConvGru", "got [2, 4, 0, 2]", "[2, 4, 0, 2]"]),
            {
                let cell = hybrid::GraphGru::gconv_gru(&p / "gconvgru0", 2, 8, 2);
                move || {
                    cell.f_forward(&bxtnf(2, 4, 0, 2), &eye(0), None)
                        .map(|o| o.0)
                        .map_err(s)
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

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic)".into())
}

#[test]
fn every_bad_input_gets_a_typed_error_that_names_it() {
    let vs: &'static nn::VarStore = Box::leak(Box::new(nn::VarStore::new(Device::Cpu)));
    let cases: Vec<Case> = graph_cases(vs)
        .into_iter()
        .chain(seq_cases(vs))
        .chain(hybrid_cases(vs))
        .chain(more_cases(vs))
        .collect();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in cases {
        let outcome = catch_unwind(AssertUnwindSafe(c.run)).map_err(panic_message);
        let verdict = match (&c.expect, outcome) {
            (_, Err(panic)) => Err(format!("panicked: {}", panic.lines().next().unwrap_or(""))),
            (Expect::Err(parts), Ok(Err(msg))) => {
                let missing: Vec<_> = parts.iter().filter(|p| !msg.contains(**p)).collect();
                println!("{:<55} error: {msg}", c.name);
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("message `{msg}` lacks {missing:?}"))
                }
            }
            (Expect::Err(_), Ok(Ok(t))) => Err(format!("accepted, gave shape {:?}", t.size())),
            (Expect::Ok(shape), Ok(Ok(t))) => {
                println!("{:<55} ok: {:?}", c.name, t.size());
                let finite = t.numel() == 0 || t.isfinite().all().int64_value(&[]) == 1;
                if t.size() == *shape && finite {
                    Ok(())
                } else {
                    Err(format!("gave shape {:?} (finite: {finite})", t.size()))
                }
            }
            (Expect::Ok(_), Ok(Err(msg))) => Err(format!("refused a valid input: {msg}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
