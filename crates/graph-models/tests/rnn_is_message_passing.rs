//! An Elman RNN is message passing on a directed path graph: node t holds step
//! t, its only in-neighbour is t - 1, and one shared layer
//! `h_t = tanh(W_ih x_t + b_ih + W_hh sum_{u -> t} h_u + b_hh)` iterated T times
//! reproduces seq-models' fused `Rnn` hidden states.

use graph_models::{Edges, Graph, MessagePassing};
use seq_models::recurrent::{CellKind, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};

/// The message is the predecessor's state; the sum over one in-neighbour (or
/// none, at t = 0: the zero initial state) is that state.
struct PassState;
impl MessagePassing for PassState {
    fn message(&self, edges: &Edges) -> Tensor {
        edges.x_j()
    }
}

#[test]
fn rnn_hidden_states_equal_message_passing_along_a_path() {
    tch::manual_seed(3);
    let (batch, steps, input, hidden) = (3i64, 7i64, 4i64, 5i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let rnn = Recurrent::new(
        vs.root() / "rnn",
        CellKind::RnnTanh,
        input,
        hidden,
        RecurrentConfig::default(),
    );
    let x = Tensor::randn([batch, steps, input], (Kind::Float, Device::Cpu));
    let reference = rnn.forward(&x, None, None, false).output; // [B, T, H]

    // One directed path per sequence: node b * T + t, edge (t - 1) -> t.
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for b in 0..batch {
        for t in 1..steps {
            src.push(b * steps + t - 1);
            dst.push(b * steps + t);
        }
    }
    let graph = Graph::new(
        &Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0),
        batch * steps,
    )
    .unwrap();
    let vars = vs.variables();
    let (w_ih, w_hh) = (&vars["rnn.weight_ih_l0"], &vars["rnn.weight_hh_l0"]);
    let (b_ih, b_hh) = (&vars["rnn.bias_ih_l0"], &vars["rnn.bias_hh_l0"]);
    let x_nodes = x.reshape([batch * steps, input]);
    let input_part = x_nodes.matmul(&w_ih.tr()) + b_ih;
    let mut h = Tensor::zeros([batch * steps, hidden], (Kind::Float, Device::Cpu));
    // After k synchronous rounds, steps 0..k are exact: T rounds give all of them.
    for _ in 0..steps {
        let from_predecessor = PassState.propagate(&h, &graph);
        h = (&input_part + from_predecessor.matmul(&w_hh.tr()) + b_hh).tanh();
    }
    let diff = (h.reshape([batch, steps, hidden]) - reference)
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff < 1e-6, "max |message passing - Rnn| = {diff}");
}
