//! Bad input to the graph recurrent and convolutional models of hybrid: wrong shapes, graphs that do not fit, empty batches and graphs. Each must give a typed error naming the input and the
//! shapes (never a libtorch abort or a panic); each odd-but-valid input must
//! give finite outputs of the right shape. The harness is
//! `train_utils::error_cases`; docs/trust.md counts the cases.

use hybrid::{self, Encoder};
use tch::{nn, Device, Kind, Tensor};
use train_utils::error_cases::{case, run_cases, Case, Expect};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn cases(vs: &'static nn::VarStore) -> Vec<Case> {
    let p = vs.root();
    let tgcn = hybrid::GraphRecurrent::tgcn(&p / "tgcn", 2, 8);
    let a3 = hybrid::A3tgcn::new(&p / "a3", 2, 8, 4);
    let bxtnf = |b: i64, t: i64, n: i64, f: i64| Tensor::randn([b, t, n, f], F32);
    let gru_cell = hybrid::GraphRecurrent::gconv_gru(&p / "gconvgru", 2, 8, 2);
    let dcrnn = hybrid::GraphRecurrent::dcrnn(&p / "dcrnn", 2, 8, 2);
    let lstm_cell = hybrid::GraphRecurrent::gconv_lstm(&p / "gconvlstm", 2, 8, 2);
    let stgcn = hybrid::Stgcn::new(&p / "stgcn", 2, 8, 2, 5, 4);
    let wavenet = hybrid::GraphWaveNet::new(&p / "wavenet", 2, 8, 2, 5, 1);
    let s2s_graph = hybrid::DcrnnSeq2Seq::new(&p / "dcrnn_s2s", 2, 8, 2, 3);
    let eye = |n: i64| hybrid::Supports::Static(vec![Tensor::eye(n, F32)]);
    let two = |n: i64| hybrid::Supports::Static(vec![Tensor::eye(n, F32), Tensor::eye(n, F32)]);
    vec![
        case(
            "T-GCN: x of rank 3",
            Expect::Err(&["Tgcn", "x of shape [B, T, N, F=2]", "[3, 5, 2]"]),
            move || {
                let tgcn = hybrid::GraphRecurrent::tgcn(nn::VarStore::new(Device::Cpu).root(), 2, 8);
                tgcn.f_forward(&Tensor::randn([3, 5, 2], F32), &eye(5), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "T-GCN: x with 6 nodes on a 5-node graph",
            Expect::Err(&["Tgcn", "support 0", "[5, 5]", "6 nodes"]),
            move || {
                tgcn.f_forward(&bxtnf(3, 4, 6, 2), &eye(5), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "T-GCN: 3 features for 2",
            Expect::Err(&["Tgcn", "F=2", "[3, 4, 5, 3]"]),
            move || {
                let tgcn = hybrid::GraphRecurrent::tgcn(nn::VarStore::new(Device::Cpu).root(), 2, 8);
                tgcn.f_forward(&bxtnf(3, 4, 5, 3), &eye(5), None)
                    .map(|o| o.0)
                    .map_err(s)
            },
        ),
        case(
            "A3T-GCN: 6 steps for periods 4",
            Expect::Err(&["A3tgcn", "T=4", "[3, 6, 5, 2]"]),
            move || a3.f_encode(&bxtnf(3, 6, 5, 2), &eye(5)).map_err(s),
        ),
        case(
            "GraphRecurrent::f_gconv_lstm: K = 0",
            Expect::Err(&["filter size K", "got 0"]),
            || {
                let vs = nn::VarStore::new(Device::Cpu);
                hybrid::GraphRecurrent::f_gconv_lstm(vs.root(), 2, 8, 0)
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
                let cell = hybrid::GraphRecurrent::gconv_gru(&p / "gconvgru0", 2, 8, 2);
                move || {
                    cell.f_forward(&bxtnf(2, 4, 0, 2), &eye(0), None)
                        .map(|o| o.0)
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
    assert_eq!(cases.len(), 15, "docs/trust.md counts 15 hybrid cases");
    let failures = run_cases(cases);
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
