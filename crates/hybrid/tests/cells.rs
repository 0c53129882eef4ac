//! Shapes, typed errors, dynamic graphs and the diffusion operator of the cells.

use hybrid::{A3tgcn, Encoder, GraphOp, GraphRecurrent, GraphRecurrentConfig, HybridError, Supports};
use seq_models::recurrent::gates::ResetGate;
use seq_models::recurrent::{CellKind, RecurrentCell, RnnState};
use tch::{nn, Device, Kind, Tensor};

const OPTS: (Kind, Device) = (Kind::Float, Device::Cpu);

/// A directed weighted graph of `n` nodes as a dense adjacency.
fn adjacency(n: i64) -> Tensor {
    let a = Tensor::zeros([n, n], OPTS);
    for i in 0..n {
        let _ = a.get(i).get((i + 1) % n).fill_(1.0 + i as f64);
        let _ = a.get(i).get((i + 3) % n).fill_(0.5);
    }
    a
}

/// `D_out^-1 A` and `D_in^-1 A^T` (row-stochastic), computed densely here as a reference.
fn transitions(a: &Tensor) -> Vec<Tensor> {
    let fwd = a / a.sum_dim_intlist(1, true, Kind::Float);
    let at = a.transpose(0, 1);
    let bwd = &at / at.sum_dim_intlist(1, true, Kind::Float);
    vec![fwd, bwd]
}

fn dup(v: &[Tensor]) -> Vec<Tensor> {
    v.iter().map(Tensor::shallow_clone).collect()
}

fn close(a: &Tensor, b: &Tensor, tol: f64) -> bool {
    (a - b).abs().max().double_value(&[]) < tol
}

#[test]
fn every_cell_maps_b_t_n_f_to_the_documented_shapes() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let n = 6;
    let a = adjacency(n);
    let x = Tensor::randn([2, 5, n, 3], OPTS);
    let dc = GraphRecurrent::dcrnn(vs.root() / "dc", 3, 4, 3);
    let (all, last) = dc
        .f_forward(&x, &Supports::Static(transitions(&a)), None)
        .unwrap();
    assert_eq!((all.size(), last.h.size()), (vec![2, 5, n, 4], vec![2, n, 4]));
    assert!(close(&all.select(1, 4), &last.h, 1e-7));

    let lap = Supports::Static(vec![-&a / 4.0]);
    let gg = GraphRecurrent::gconv_gru(vs.root() / "gg", 3, 7, 2);
    assert_eq!(gg.f_encode(&x, &lap).unwrap().size(), [2, n, 7]);
    let gl = GraphRecurrent::gconv_lstm(vs.root() / "gl", 3, 5, 3);
    let (all, last) = gl.f_forward(&x, &lap, None).unwrap();
    assert_eq!(
        (all.size(), last.h.size(), last.c.unwrap().size()),
        (vec![2, 5, n, 5], vec![2, n, 5], vec![2, n, 5])
    );
    let a3 = A3tgcn::new(vs.root() / "a3", 3, 8, 5);
    assert_eq!(
        a3.f_encode(&x, &Supports::Static(vec![a.shallow_clone()]))
            .unwrap()
            .size(),
        [2, n, 8]
    );
    let w = a3.attention_weights();
    assert!((w.sum(Kind::Float).double_value(&[]) - 1.0).abs() < 1e-6);
}

#[test]
fn wrong_shapes_and_graphs_are_typed_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = GraphRecurrent::tgcn(vs.root(), 3, 4);
    let a = Supports::Static(vec![Tensor::eye(6, OPTS)]);
    let shape = |r: hybrid::Result<Tensor>| matches!(r, Err(HybridError::Input(_)));
    let graph = |r: hybrid::Result<Tensor>| matches!(r, Err(HybridError::Graph(_)));
    // Wrong feature count, wrong rank, no steps.
    assert!(shape(cell.f_encode(&Tensor::zeros([2, 5, 6, 2], OPTS), &a)));
    assert!(shape(cell.f_encode(&Tensor::zeros([5, 6, 3], OPTS), &a)));
    assert!(shape(cell.f_encode(&Tensor::zeros([2, 0, 6, 3], OPTS), &a)));
    // Node count differs from the graph's; a GCN given two supports; too few per-step graphs.
    assert!(graph(cell.f_encode(&Tensor::zeros([2, 5, 7, 3], OPTS), &a)));
    let two = Supports::Static(vec![Tensor::eye(6, OPTS), Tensor::eye(6, OPTS)]);
    assert!(graph(cell.f_encode(&Tensor::zeros([2, 5, 6, 3], OPTS), &two)));
    let steps = Supports::PerStep((0..4).map(|_| vec![Tensor::eye(6, OPTS)]).collect());
    assert!(graph(cell.f_encode(&Tensor::zeros([2, 5, 6, 3], OPTS), &steps)));
    // A bad initial state.
    let r = cell.f_forward(
        &Tensor::zeros([2, 5, 6, 3], OPTS),
        &a,
        Some(&RnnState {
            h: Tensor::zeros([2, 6, 5], OPTS),
            c: None,
        }),
    );
    let message = r.unwrap_err().to_string();
    assert!(
        message.contains("Tgcn") && message.contains("initial state of shape [B=2, N=6, H=4]"),
        "{message}"
    );
    // Errors name the layer.
    let message = cell
        .f_encode(&Tensor::zeros([2, 5, 6, 2], OPTS), &a)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("Tgcn expects x of shape [B, T, N, F=3], got [2, 5, 6, 2]"),
        "{message}"
    );
    // A3T-GCN needs one step per period; K = 0 is refused.
    let a3 = A3tgcn::new(vs.root() / "a3", 3, 4, 4);
    assert!(shape(a3.f_encode(&Tensor::zeros([2, 5, 6, 3], OPTS), &a)));
    assert!(matches!(
        GraphRecurrent::f_dcrnn(vs.root() / "k0", 3, 4, 0),
        Err(HybridError::Config(_))
    ));
}

#[test]
fn a_per_step_graph_that_does_not_change_equals_the_static_graph() {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let n = 7;
    let a = adjacency(n);
    let x = Tensor::randn([3, 4, n, 2], OPTS);
    let sup = transitions(&a);
    let dc = GraphRecurrent::dcrnn(vs.root() / "dc", 2, 5, 3);
    let st = dc.f_forward(&x, &Supports::Static(dup(&sup)), None).unwrap().0;
    let dy = dc
        .f_forward(
            &x,
            &Supports::PerStep((0..4).map(|_| dup(&sup)).collect::<Vec<_>>()),
            None,
        )
        .unwrap()
        .0;
    assert!(close(&st, &dy, 1e-5));
    // ... and a graph that does change changes the states from that step on.
    let mut changed = (0..4).map(|_| dup(&sup)).collect::<Vec<_>>();
    changed[2] = transitions(&adjacency(n).transpose(0, 1));
    let ch = dc.f_forward(&x, &Supports::PerStep(changed), None).unwrap().0;
    assert!(close(&st.narrow(1, 0, 2), &ch.narrow(1, 0, 2), 1e-6));
    assert!(!close(&st.select(1, 2), &ch.select(1, 2), 1e-4));

    let gl = GraphRecurrent::gconv_lstm(vs.root() / "gl", 2, 5, 2);
    let lap = vec![-&a / 5.0];
    let st = gl.f_forward(&x, &Supports::Static(dup(&lap)), None).unwrap().0;
    let dy = gl
        .f_forward(&x, &Supports::PerStep((0..4).map(|_| dup(&lap)).collect()), None)
        .unwrap()
        .0;
    assert!(close(&st, &dy, 1e-5));
}

#[test]
fn stepping_by_hand_equals_the_sequence() {
    tch::manual_seed(2);
    let vs = nn::VarStore::new(Device::Cpu);
    let a = adjacency(5);
    let sup = vec![a.shallow_clone()];
    let cell = GraphRecurrent::gconv_gru(vs.root(), 2, 3, 3);
    let x = Tensor::randn([2, 3, 5, 2], OPTS);
    let (all, _) = cell.f_forward(&x, &Supports::Static(dup(&sup)), None).unwrap();
    let mut state = cell.zero_state(2, 5);
    for t in 0..3 {
        state = cell.f_step(&x.select(1, t), &state, &sup).unwrap();
        assert!(close(&state.h, &all.select(1, t), 1e-5));
    }
}

#[test]
fn diffusion_basis_matches_dense_matrix_powers_and_sparse_supports() {
    tch::manual_seed(3);
    let n = 6;
    let a = adjacency(n);
    let sup = transitions(&a);
    let x = Tensor::randn([2, n, 3], OPTS);
    let k = 4;
    let got = GraphOp::Diffusion { k }.basis(&x, &sup);
    assert_eq!(got.size(), [2, n, 3 * (1 + 2 * (k - 1))]);
    // Reference: sum over k of theta_k,fwd P_f^k X + theta_k,bwd P_b^k X, block by block.
    let mut blocks = vec![x.shallow_clone()];
    for p in &sup {
        for j in 1..k {
            let pk = (1..j).fold(p.shallow_clone(), |acc, _| acc.mm(p));
            blocks.push(Tensor::einsum("ij,bjf->bif", &[&pk, &x], None::<i64>));
        }
    }
    assert!(close(&got, &Tensor::cat(&blocks, -1), 1e-5));
    // Row-stochastic supports keep a constant signal constant.
    let ones = Tensor::ones([1, n, 1], OPTS);
    assert!(close(
        &GraphOp::Diffusion { k }.basis(&ones, &sup),
        &Tensor::ones([1, n, 7], OPTS),
        1e-5
    ));
    // Sparse supports give the same features as dense ones.
    let sparse: Vec<Tensor> = sup.iter().map(|p| p.to_sparse_sparse_dim(2)).collect();
    assert!(close(&GraphOp::Diffusion { k }.basis(&x, &sparse), &got, 1e-5));
    // Chebyshev: T_2 = 2 L T_1 - T_0.
    let lap = -&sup[0];
    let cheb = GraphOp::Chebyshev { k: 3 }.basis(&x, &[lap.shallow_clone()]);
    let t1 = lap.matmul(&x);
    let t2 = lap.matmul(&t1) * 2.0 - &x;
    assert!(close(&cheb, &Tensor::cat(&[&x, &t1, &t2], -1), 1e-5));
}

#[test]
fn dcrnn_with_k_1_ignores_the_graph() {
    // PGT's Chickenpox recipe uses K = 1: the diffusion convolution is then a plain linear map.
    tch::manual_seed(4);
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = GraphRecurrent::dcrnn(vs.root(), 4, 8, 1);
    let x = Tensor::randn([3, 1, 5, 4], OPTS);
    let g1 = Supports::Static(transitions(&adjacency(5)));
    let g2 = Supports::Static(vec![Tensor::eye(5, OPTS), Tensor::eye(5, OPTS)]);
    assert!(close(
        &cell.f_encode(&x, &g1).unwrap(),
        &cell.f_encode(&x, &g2).unwrap(),
        1e-6
    ));
}

#[test]
fn supports_from_graph_data_are_the_transposed_dense_operators() {
    use graph_data::{csr::Csr, EdgeList};
    use hybrid::SupportKind;
    // A directed weighted graph: 0 -> 1 (2), 0 -> 2 (1), 1 -> 2 (3), 2 -> 0 (1), 3 -> 0 (1).
    let e = EdgeList::new(
        4,
        vec![0, 0, 1, 2, 3],
        vec![1, 2, 2, 0, 0],
        Some(vec![2.0, 1.0, 3.0, 1.0, 1.0]),
    )
    .unwrap();
    let csr = Csr::from_edge_list(&e).unwrap();
    let a = Tensor::zeros([4, 4], OPTS);
    for i in 0..e.len() {
        let _ = a
            .get(e.src[i] as i64)
            .get(e.dst[i] as i64)
            .fill_(e.weight.as_ref().unwrap()[i] as f64);
    }
    // DCRNN: P_f = D_out^-1 A, P_b = D_in^-1 A^T, applied as P^T X (signal flows along edges).
    let fwd = &a / a.sum_dim_intlist(1, true, Kind::Float).clamp_min(1e-12);
    let at = a.transpose(0, 1);
    let bwd = &at / at.sum_dim_intlist(1, true, Kind::Float).clamp_min(1e-12);
    let dense = SupportKind::Transitions.supports(&csr, true).unwrap();
    assert!(close(&dense[0], &fwd.transpose(0, 1), 1e-6));
    assert!(close(&dense[1], &bwd.transpose(0, 1), 1e-6));
    let sparse = SupportKind::Transitions.supports(&csr, false).unwrap();
    assert!(sparse[0].is_sparse() && close(&sparse[0].to_dense(None, false), &dense[0], 1e-6));
    // GCN: D^-1/2 (A + I) D^-1/2 with in-degrees, transposed.
    let ai = &a + Tensor::eye(4, OPTS);
    let d = ai.sum_dim_intlist(0, false, Kind::Float).pow_tensor_scalar(-0.5);
    let gcn = d.unsqueeze(1) * &ai * d.unsqueeze(0);
    let got = SupportKind::GcnNormalised.supports(&csr, true).unwrap();
    assert!(close(&got[0], &gcn.transpose(0, 1), 1e-6));
}

/// `GraphOp::filter` applies the operators after the weights (Horner for
/// diffusion, Clenshaw for Chebyshev) when that is cheaper: it must equal the
/// basis-then-linear definition, values and gradients, for every operator and
/// both paths (`out <= in` and `out > in`). `filter_acc` adds its accumulator
/// inside the products: it must equal `acc +` that, with `acc`'s gradient too.
#[test]
fn filter_equals_basis_then_linear_in_values_and_gradients() {
    tch::manual_seed(3);
    let dopts = (Kind::Double, Device::Cpu);
    let n = 7;
    let a = adjacency(n).to_kind(Kind::Double);
    let sym = (&a + a.transpose(0, 1)) / 2.0;
    let cases = [
        (GraphOp::Diffusion { k: 3 }, transitions(&a)),
        (GraphOp::Diffusion { k: 2 }, transitions(&a)),
        (GraphOp::Chebyshev { k: 2 }, vec![&sym / sym.sum(Kind::Double)]),
        (GraphOp::Chebyshev { k: 4 }, vec![&sym / sym.sum(Kind::Double)]),
        (GraphOp::Chebyshev { k: 1 }, vec![&sym / sym.sum(Kind::Double)]),
        (GraphOp::Gcn, vec![&sym / sym.sum(Kind::Double)]),
        (GraphOp::Identity, vec![]),
    ];
    for (op, supports) in cases {
        let supports: Vec<Tensor> = supports.iter().map(|s| s.to_kind(Kind::Double)).collect();
        let sparse: Vec<Tensor> = supports.iter().map(|s| s.to_sparse_sparse_dim(2)).collect();
        let terms = op.terms(supports.len());
        for (width, out) in [(5, 3), (5, 5), (3, 8)] {
            let x = Tensor::randn([n, 2, width], dopts).set_requires_grad(true);
            let w = Tensor::randn([out, terms * width], dopts).set_requires_grad(true);
            let b = Tensor::randn([out], dopts).set_requires_grad(true);
            let acc = Tensor::randn([n, 2, out], dopts).set_requires_grad(true);
            let reference = op.basis_node_major(&x, &supports).matmul(&w.tr()) + &b;
            let fast = op.filter(&x, &sparse, &w, Some(&b));
            assert!(close(&fast, &reference, 1e-10), "{op:?} width {width} out {out}");
            let fused = op.filter_acc(Some(&acc), &x, &sparse, &w, Some(&b));
            let summed = &acc + &reference;
            assert!(
                close(&fused, &summed, 1e-10),
                "{op:?} acc, width {width} out {out}"
            );
            let probe = Tensor::randn([n, 2, out], dopts);
            let grads = |y: &Tensor, inputs: &[&Tensor]| {
                // The graph is kept: `summed` reuses `reference`'s.
                Tensor::run_backward(&[(y * &probe).sum(Kind::Double)], inputs, true, false)
            };
            // `acc` reaches only `filter_acc`.
            for (ours, theirs, inputs) in [
                (&fast, &reference, vec![&x, &w, &b]),
                (&fused, &summed, vec![&x, &w, &b, &acc]),
            ] {
                for (g_fast, g_ref) in grads(ours, &inputs).iter().zip(grads(theirs, &inputs).iter()) {
                    assert!(
                        close(g_fast, g_ref, 1e-10),
                        "{op:?} gradients, width {width} out {out}"
                    );
                }
            }
        }
    }
}

/// With the identity operator the graph-recurrent cell is seq-models' cell on
/// every node: the same gate equations, `conv_x` as `weight_ih` / `bias_ih`
/// and `conv_h` as `weight_hh` / `bias_hh`.
#[test]
fn identity_operator_gives_seq_models_cell() {
    tch::manual_seed(5);
    let (b, t, n, f, h) = (3, 4, 5, 2, 6);
    let x = Tensor::randn([b, t, n, f], OPTS);
    for kind in [CellKind::Gru, CellKind::Lstm, CellKind::RnnTanh] {
        let vs = nn::VarStore::new(Device::Cpu);
        let graph = GraphRecurrent::identity(vs.root() / "graph", kind, f, h);
        let cell = RecurrentCell::new(vs.root() / "seq", kind, f, h);
        let vars = vs.variables();
        tch::no_grad(|| {
            for (ours, theirs) in [
                ("conv_x.weight", "weight_ih"),
                ("conv_x.bias", "bias_ih"),
                ("conv_h.weight", "weight_hh"),
                ("conv_h.bias", "bias_hh"),
            ] {
                let mut dst = vars[&format!("graph.{ours}")].shallow_clone();
                dst.copy_(&vars[&format!("seq.{theirs}")]);
            }
        });
        let (all, last) = graph.f_forward(&x, &Supports::Static(vec![]), None).unwrap();
        // seq-models' cell, step by step, with the B * N node sequences as its batch.
        let mut state: Option<RnnState> = None;
        for step in 0..t {
            let xt = x.select(1, step).reshape([b * n, f]);
            let next = cell.f_step(&xt, state.as_ref()).unwrap();
            let want = next.h.reshape([b, n, h]);
            assert!(close(&all.select(1, step), &want, 1e-6), "{kind:?} step {step}");
            state = Some(next);
        }
        let state = state.unwrap();
        assert!(close(&last.h, &state.h.reshape([b, n, h]), 1e-6));
        if let (Some(ours), Some(theirs)) = (&last.c, &state.c) {
            assert!(
                close(ours, &theirs.reshape([b, n, h]), 1e-6),
                "{kind:?} cell state"
            );
        }
        assert_eq!(last.c.is_some(), kind == CellKind::Lstm);
    }
}

/// A configuration is a cell: the reset gate's place changes the values (the
/// equations differ), the state bias and peepholes add parameters, and
/// configurations the operator cannot take are refused.
#[test]
fn graph_recurrent_configurations() {
    tch::manual_seed(6);
    let a = adjacency(5);
    let lap = Supports::Static(vec![-&a / 4.0]);
    let x = Tensor::randn([2, 3, 5, 2], OPTS);
    let build = |reset: ResetGate| {
        let vs = nn::VarStore::new(Device::Cpu);
        tch::manual_seed(7);
        let config = GraphRecurrentConfig {
            reset,
            ..Default::default()
        };
        let cell = GraphRecurrent::new(vs.root(), 2, 4, config);
        (cell.f_encode(&x, &lap).unwrap(), vs.variables().len())
    };
    let (before, count) = build(ResetGate::BeforeMap);
    let (after, _) = build(ResetGate::AfterMap);
    assert_eq!(count, 3, "conv_x weight and bias, conv_h weight");
    assert!(!close(&before, &after, 1e-4));
    let vs = nn::VarStore::new(Device::Cpu);
    let refused = |config: GraphRecurrentConfig| {
        matches!(
            GraphRecurrent::f_new(vs.root(), 2, 4, config),
            Err(HybridError::Config(_))
        )
    };
    assert!(refused(GraphRecurrentConfig {
        peepholes: true,
        ..Default::default()
    }));
    assert!(refused(GraphRecurrentConfig {
        supports: 2,
        ..Default::default()
    }));
    assert!(refused(GraphRecurrentConfig {
        op: GraphOp::Identity,
        ..Default::default()
    }));
    let lstm = GraphRecurrent::gconv_lstm(vs.root() / "l", 2, 4, 2);
    assert_eq!(lstm.layer_name(), "GConvLstm");
    let bad_state = RnnState {
        h: Tensor::zeros([2, 5, 4], OPTS),
        c: None,
    };
    assert!(matches!(
        lstm.f_forward(&x, &lap, Some(&bad_state)),
        Err(HybridError::Config(_))
    ));
}
