//! Bad input to the layers, cells, modes and Tree-LSTMs of seq-models: wrong shapes and kinds, zero-length and over-long sequences, bad lengths and token ids. Each must give a typed error naming the input and the
//! shapes (never a libtorch abort or a panic); each odd-but-valid input must
//! give finite outputs of the right shape. The harness is
//! `train_utils::error_cases`; docs/trust.md counts the cases.

use seq_models::{self as sm, modes};
use tch::{nn, Device, Kind, Tensor};
use train_utils::error_cases::{case, run_cases, Case, Expect};

const F32: (Kind, Device) = (Kind::Float, Device::Cpu);

fn s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn x(n: i64, f: i64) -> Tensor {
    Tensor::randn([n, f], F32)
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

fn cases(vs: &'static nn::VarStore) -> Vec<Case> {
    let p = vs.root();
    let cfg = sm::RecurrentConfig::default();
    let gru = sm::Recurrent::gru(&p / "gru", 3, 4, cfg);
    let m2o = modes::ManyToOne::new(&p / "m2o", sm::CellKind::Lstm, 3, 4, 2, cfg);
    let o2o = modes::OneToOne::new(&p / "o2o", sm::CellKind::Gru, 3, 4, 2);
    let out = |r: sm::Result<sm::RnnOutput>| r.map(|o| o.output).map_err(s);
    let cell = sm::RecurrentCell::new(&p / "cell", sm::CellKind::Lstm, 3, 4);
    let o2m = modes::OneToMany::new(&p / "o2m", sm::CellKind::Gru, 3, 4, 2);
    let m2m = modes::ManyToMany::new(&p / "m2m", sm::CellKind::RnnTanh, 3, 4, 2, Default::default());
    let s2s = modes::Seq2Seq::new(&p / "s2s", sm::CellKind::Gru, 10, 10, 4, 4, 0);
    let s2s2 = modes::Seq2Seq::new(&p / "s2s2", sm::CellKind::Gru, 10, 10, 4, 4, 0);
    let tree = sm::tree_lstm::TreeLstm::child_sum(&(&p / "tree"), 3, 4);
    let nary = sm::tree_lstm::TreeLstm::n_ary(&(&p / "nary"), 3, 4, 2);
    let ids = |b: i64, t: i64| Tensor::randint(10, [b, t], (Kind::Int64, Device::Cpu));
    let plan = |edges: &[(usize, usize)], n: usize, arity: Option<usize>| {
        sm::schedule::Schedule::from_edges(n, edges)
            .unwrap()
            .plan(Device::Cpu, arity)
            .unwrap()
    };
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
    ]
}

#[test]
fn every_bad_input_gets_a_typed_error_that_names_it() {
    let vs: &'static nn::VarStore = Box::leak(Box::new(nn::VarStore::new(Device::Cpu)));
    let cases = cases(vs);
    assert_eq!(cases.len(), 25, "docs/trust.md counts 25 seq-models cases");
    let failures = run_cases(cases);
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
