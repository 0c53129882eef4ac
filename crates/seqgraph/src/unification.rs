//! The product's thesis as computations: an Elman RNN is message passing on a
//! directed path graph, and self-attention is graph attention on a complete
//! graph. Each function returns the largest absolute difference between the
//! two computations with the same parameters and inputs (`reproduce
//! unification` reports them).

use graph_models::{Edges, GnnLayer, Graph, MessagePassing, TransformerConfig, TransformerConv};
use seq_models::{Implementation, Recurrent, RecurrentConfig};
use tch::{nn, Device, Kind, Tensor};
use train_utils::TrainError;

/// One Elman step as message passing: node `t` receives `W_hh h_{t-1}` from its predecessor on the
/// path and updates to `tanh(W_ih x_t + b_ih + b_hh + message)`.
struct ElmanStep<'a> {
    /// Inputs `x_t` of every node, `[N, I]`.
    x: &'a Tensor,
    w_ih: &'a Tensor,
    w_hh: &'a Tensor,
    bias: Tensor,
}

impl MessagePassing for ElmanStep<'_> {
    fn message(&self, edges: &Edges) -> Tensor {
        edges.x_j().matmul(&self.w_hh.tr())
    }

    fn update(&self, aggregated: Tensor, _h: &Tensor) -> Tensor {
        (self.x.matmul(&self.w_ih.tr()) + &self.bias + aggregated).tanh()
    }
}

/// `batch` directed paths of `steps` nodes each (`t -> t+1`), as one graph.
pub fn paths(batch: i64, steps: i64) -> Result<Graph, TrainError> {
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for b in 0..batch {
        for t in 1..steps {
            src.push(b * steps + t - 1);
            dst.push(b * steps + t);
        }
    }
    let edge_index = Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0);
    Ok(Graph::new(&edge_index, batch * steps)?)
}

/// Max abs difference between seq-models' tanh RNN, fused and explicit, and `steps` rounds of
/// message passing on `batch` path graphs with the same parameters and inputs (seed 11):
/// `(fused, explicit)`. Sizes: `batch` sequences of `steps` steps, `input` features, `hidden` units.
pub fn rnn_as_message_passing(
    batch: i64,
    steps: i64,
    input: i64,
    hidden: i64,
) -> Result<(f64, f64), TrainError> {
    tch::manual_seed(11);
    let vs = nn::VarStore::new(Device::Cpu);
    let rnn = Recurrent::rnn(vs.root(), input, hidden, RecurrentConfig::default());
    let xs = Tensor::randn([batch, steps, input], (Kind::Float, Device::Cpu));
    let fused = rnn
        .f_forward_with(Implementation::Fused, &xs, None, None, false)?
        .output;
    let explicit = rnn
        .f_forward_with(Implementation::Explicit, &xs, None, None, false)?
        .output;

    let vars = vs.variables();
    let x = xs.reshape([batch * steps, input]);
    let step = ElmanStep {
        x: &x,
        w_ih: &vars["weight_ih_l0"],
        w_hh: &vars["weight_hh_l0"],
        bias: &vars["bias_ih_l0"] + &vars["bias_hh_l0"],
    };
    let graph = paths(batch, steps)?;
    // After t rounds node t holds h_t exactly: one round per step of the chain.
    let mut h = Tensor::zeros([batch * steps, hidden], (Kind::Float, Device::Cpu));
    for _ in 0..steps {
        h = step.propagate(&h, &graph);
    }
    let mp = h.reshape([batch, steps, hidden]);
    let diff = |a: &Tensor| (a - &mp).abs().max().double_value(&[]);
    Ok((diff(&fused), diff(&explicit)))
}

/// Max abs difference between graph attention (`TransformerConv`, no root weight) on the complete
/// graph with self loops of `n` nodes and libtorch's multi-head scaled dot-product attention
/// (`heads` heads of `c` channels over `input` features, seed 12).
pub fn attention_on_complete_graph(n: i64, heads: i64, c: i64, input: i64) -> Result<f64, TrainError> {
    tch::manual_seed(12);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = TransformerConfig {
        heads,
        root_weight: false,
        ..Default::default()
    };
    let conv = TransformerConv::new(&(vs.root() / "t"), input, c, config);
    let (src, dst): (Vec<i64>, Vec<i64>) = (0..n).flat_map(|i| (0..n).map(move |j| (j, i))).unzip();
    let graph = Graph::new(
        &Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0),
        n,
    )?;
    let x = Tensor::randn([n, input], (Kind::Float, Device::Cpu));
    let ours = conv.f_forward_t(&x, &graph, false)?;
    let vars = vs.variables();
    let project = |name: &str| {
        let (w, b) = (
            &vars[&format!("t.{name}.weight")],
            &vars[&format!("t.{name}.bias")],
        );
        // [N, H*C] -> [H, N, C]: the heads are the batch of libtorch's attention.
        (x.matmul(&w.tr()) + b).view([n, heads, c]).transpose(0, 1)
    };
    let (q, k, v) = (project("lin_query"), project("lin_key"), project("lin_value"));
    let sdpa = Tensor::scaled_dot_product_attention(&q, &k, &v, None::<Tensor>, 0.0, false, None, false);
    let reference = sdpa.transpose(0, 1).reshape([n, heads * c]);
    Ok((ours - reference).abs().max().double_value(&[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rnn_is_message_passing_on_a_path() {
        let (fused, explicit) = rnn_as_message_passing(2, 7, 3, 5).unwrap();
        assert!(fused < 1e-5 && explicit < 1e-5, "{fused} {explicit}");
    }

    #[test]
    fn attention_is_graph_attention_on_the_complete_graph() {
        assert!(attention_on_complete_graph(5, 2, 3, 4).unwrap() < 1e-5);
    }
}
