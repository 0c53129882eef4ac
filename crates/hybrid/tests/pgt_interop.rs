//! PyG Temporal 0.56.2's weights in hybrid's layers: the fixture
//! (`benches/peers/pgt_export.py`) holds PGT's state dicts, inputs, a random
//! directed weighted graph with a self loop, and PGT's outputs over several
//! snapshots with the state carried from call to call. Each loaded layer must
//! reproduce them to 1e-5.

use hybrid::interop::{self, PgtLayer, PgtStateDict};
use hybrid::{HybridError, StateDictError, Supports};
use seq_models::recurrent::RnnState;
use tch::{nn, Device, Kind, Tensor};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/pgt_interop.safetensors"
);

fn fixture() -> PgtStateDict {
    PgtStateDict::read_safetensors(FIXTURE).expect("the committed fixture reads")
}

fn graph(sd: &PgtStateDict, layer: PgtLayer) -> Supports {
    let x = sd.get("x").unwrap();
    interop::supports(
        layer,
        sd.get("graph.edge_index").unwrap(),
        sd.get("graph.edge_weight"),
        x.size()[1],
    )
    .unwrap()
}

/// PGT's snapshots `(T, N, F)` as one sequence `(B=1, T, N, F)`.
fn sequence(sd: &PgtStateDict) -> Tensor {
    sd.get("x").unwrap().unsqueeze(0)
}

fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.size(), want.size(), "{what}: shapes");
    let diff = (got - want).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "{what}: max |hybrid - PGT| = {diff}");
    // The comparison means something only if the outputs are not all alike.
    assert!(
        want.std(true).double_value(&[]) > 0.05,
        "{what}: degenerate fixture"
    );
}

#[test]
fn gconv_gru_reproduces_pgt() {
    let sd = fixture();
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = interop::gconv_gru(vs.root(), &sd.prefixed("gconvgru.state")).unwrap();
    let (all, _) = cell
        .f_forward(&sequence(&sd), &graph(&sd, PgtLayer::GConvGru), None)
        .unwrap();
    assert_close("GConvGRU", &all.squeeze_dim(0), sd.get("gconvgru.h").unwrap());
}

#[test]
fn gconv_lstm_reproduces_pgt_step_by_step() {
    let sd = fixture();
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = interop::gconv_lstm(vs.root(), &sd.prefixed("gconvlstm.state")).unwrap();
    let g = graph(&sd, PgtLayer::GConvLstm);
    let x = sequence(&sd);
    // One call per snapshot, (H, C) carried as PGT's examples carry them.
    let mut state: Option<RnnState> = None;
    let (mut hs, mut cs) = (Vec::new(), Vec::new());
    for t in 0..x.size()[1] {
        let (_, s) = cell.f_forward(&x.narrow(1, t, 1), &g, state.as_ref()).unwrap();
        hs.push(s.h.squeeze_dim(0));
        cs.push(s.c.as_ref().unwrap().squeeze_dim(0));
        state = Some(s);
    }
    assert_close(
        "GConvLSTM H",
        &Tensor::stack(&hs, 0),
        sd.get("gconvlstm.h").unwrap(),
    );
    assert_close(
        "GConvLSTM C",
        &Tensor::stack(&cs, 0),
        sd.get("gconvlstm.c").unwrap(),
    );
    // The whole sequence in one call gives the same states.
    let (all, _) = cell.f_forward(&x, &g, None).unwrap();
    assert_close(
        "GConvLSTM one call",
        &all.squeeze_dim(0),
        sd.get("gconvlstm.h").unwrap(),
    );
}

#[test]
fn dcrnn_reproduces_pgt_dconv_as_it_is() {
    let sd = fixture();
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = interop::dcrnn(vs.root(), &sd.prefixed("dcrnn.state")).unwrap();
    let (all, _) = cell
        .f_forward(&sequence(&sd), &graph(&sd, PgtLayer::Dcrnn), None)
        .unwrap();
    assert_close("DCRNN", &all.squeeze_dim(0), sd.get("dcrnn.h").unwrap());
    // hybrid's own DCRNN supports (the paper's weighted random walks) are a
    // different operator from PGT's DConv on this weighted graph.
    let adj = {
        let ei = Vec::<i64>::try_from(sd.get("graph.edge_index").unwrap().reshape([-1])).unwrap();
        let w = Vec::<f32>::try_from(sd.get("graph.edge_weight").unwrap()).unwrap();
        let e = w.len();
        let to_u32 = |v: &[i64]| v.iter().map(|&i| i as u32).collect::<Vec<_>>();
        let list = graph_data::EdgeList::new(6, to_u32(&ei[..e]), to_u32(&ei[e..]), Some(w)).unwrap();
        graph_data::csr::Csr::from_edge_list(&list).unwrap()
    };
    let own = Supports::Static(hybrid::SupportKind::Transitions.supports(&adj, true).unwrap());
    let (other, _) = cell.f_forward(&sequence(&sd), &own, None).unwrap();
    let diff = (other.squeeze_dim(0) - sd.get("dcrnn.h").unwrap())
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        diff > 1e-3,
        "PGT's DConv should differ from the weighted walk, max diff {diff}"
    );
}

#[test]
fn tgcn_reproduces_pgt_without_the_graph_on_the_state() {
    let sd = fixture();
    let vs = nn::VarStore::new(Device::Cpu);
    let cell = interop::tgcn(vs.root(), &sd.prefixed("tgcn.state")).unwrap();
    assert!(!cell.config().state_graph);
    let (all, _) = cell
        .f_forward(&sequence(&sd), &graph(&sd, PgtLayer::Tgcn), None)
        .unwrap();
    assert_close("TGCN", &all.squeeze_dim(0), sd.get("tgcn.h").unwrap());
}

#[test]
fn a3tgcn_reproduces_pgt_with_the_state_fed_back() {
    let sd = fixture();
    let vs = nn::VarStore::new(Device::Cpu);
    let model = interop::a3tgcn(vs.root(), &sd.prefixed("a3tgcn.state")).unwrap();
    let g = graph(&sd, PgtLayer::A3tgcn);
    // PGT's (W, N, F, periods) windows as (B=1, T=periods, N, F) sequences.
    let xa = sd.get("a3tgcn.x").unwrap().permute([0, 3, 1, 2]);
    let mut h: Option<Tensor> = None;
    let mut outs = Vec::new();
    for w in 0..xa.size()[0] {
        let out = model.f_forward(&xa.narrow(0, w, 1), &g, h.as_ref()).unwrap();
        outs.push(out.squeeze_dim(0));
        h = Some(out);
    }
    assert_close("A3TGCN", &Tensor::stack(&outs, 0), sd.get("a3tgcn.h").unwrap());
}

#[test]
fn a_missing_or_misshapen_tensor_is_named() {
    let sd = fixture();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut gru = sd.prefixed("gconvgru.state");
    gru.remove("conv_h_r.lins.1.weight");
    match interop::gconv_gru(vs.root() / "a", &gru) {
        Err(HybridError::StateDict(StateDictError::Missing { name, .. })) => {
            assert_eq!(name, "conv_h_r.lins.1.weight")
        }
        other => panic!("expected a missing tensor, got {other:?}"),
    }
    let mut dcrnn = sd.prefixed("dcrnn.state");
    dcrnn.insert(
        "conv_x_h.weight",
        Tensor::zeros([2, 3, 5, 4], (Kind::Float, Device::Cpu)),
    );
    let err = interop::dcrnn(vs.root() / "b", &dcrnn).unwrap_err();
    assert!(
        matches!(&err, HybridError::StateDict(StateDictError::Shape { name, got, .. })
            if name == "conv_x_h.weight" && got == &[2, 3, 5, 4]),
        "{err:?}"
    );
    assert!(err.to_string().contains("conv_x_h.weight"), "{err}");
    let mut lstm = sd.prefixed("gconvlstm.state");
    lstm.insert("w_c_o", Tensor::zeros([4], (Kind::Float, Device::Cpu)));
    let err = interop::gconv_lstm(vs.root() / "c", &lstm).unwrap_err();
    assert!(err.to_string().contains("w_c_o"), "{err}");
    let err = interop::a3tgcn(vs.root() / "d", &sd.prefixed("tgcn.state")).unwrap_err();
    assert!(err.to_string().contains("_base_tgcn.conv_z.lin.weight"), "{err}");
}

#[test]
fn a_graph_pgt_cannot_run_is_refused() {
    // Node 2 starts an edge but has no in-edges: PGT's DConv divides by zero.
    let ei = Tensor::from_slice(&[0i64, 1, 2, 1, 0, 0]).reshape([2, 3]);
    let err = interop::supports(PgtLayer::Dcrnn, &ei, None, 3).unwrap_err();
    assert!(matches!(err, HybridError::Graph(_)), "{err:?}");
    let err = interop::supports(PgtLayer::Tgcn, &ei, None, 2).unwrap_err();
    assert!(err.to_string().contains("node 2"), "{err}");
}
