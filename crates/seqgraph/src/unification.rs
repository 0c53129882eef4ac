//! The product's thesis as computations: an Elman RNN is message passing on a
//! directed path graph, self-attention is graph attention on a complete
//! graph, causal self-attention is graph attention on the complete causal
//! graph of a series' time points, and a causal temporal convolution is a
//! GNN over the causal lag graph with one weight per lag. Each function
//! returns the largest absolute difference between the two computations with
//! the same parameters and inputs (`reproduce unification` reports them).

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

/// `batch` graphs of `steps` nodes each, as one graph with node `b * steps + t` for step `t` of
/// sequence `b`, from per-sequence `(src, dst)` step pairs.
fn per_sequence(batch: i64, steps: i64, pairs: &[(i64, i64)]) -> Result<Graph, TrainError> {
    let (src, dst): (Vec<i64>, Vec<i64>) = (0..batch)
        .flat_map(|b| pairs.iter().map(move |&(s, t)| (b * steps + s, b * steps + t)))
        .unzip();
    let edge_index = Tensor::stack(&[Tensor::from_slice(&src), Tensor::from_slice(&dst)], 0);
    Ok(Graph::new(&edge_index, batch * steps)?)
}

/// Max abs differences between causal self-attention over `batch` sequences of `steps` steps
/// (`heads` heads of `c` channels over `input` features, seed 13) written with plain tensor ops
/// (`softmax(Q K^T / sqrt(c) + M) V` with `M_ts = -inf` for `s > t`), and (a) graph attention
/// (`TransformerConv`, no root weight, the same `lin_query` / `lin_key` / `lin_value`) over the
/// complete causal graph of each sequence's time points (an edge `s -> t` for every `s <= t`,
/// the self loop included), (b) libtorch's `scaled_dot_product_attention` with `is_causal`:
/// `(graph, sdpa)`.
pub fn causal_attention_on_causal_graph(
    batch: i64,
    steps: i64,
    heads: i64,
    c: i64,
    input: i64,
) -> Result<(f64, f64), TrainError> {
    tch::manual_seed(13);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = TransformerConfig {
        heads,
        root_weight: false,
        ..Default::default()
    };
    let conv = TransformerConv::new(&(vs.root() / "t"), input, c, config);
    let pairs: Vec<(i64, i64)> = (0..steps).flat_map(|t| (0..=t).map(move |s| (s, t))).collect();
    let graph = per_sequence(batch, steps, &pairs)?;
    let xs = Tensor::randn([batch, steps, input], (Kind::Float, Device::Cpu));
    let ours = conv
        .f_forward_t(&xs.reshape([batch * steps, input]), &graph, false)?
        .reshape([batch, steps, heads * c]);
    let vars = vs.variables();
    let project = |name: &str| {
        let (w, b) = (
            &vars[&format!("t.{name}.weight")],
            &vars[&format!("t.{name}.bias")],
        );
        // [B, T, H*C] -> [B, H, T, C].
        (xs.matmul(&w.tr()) + b)
            .view([batch, steps, heads, c])
            .transpose(1, 2)
    };
    let (q, k, v) = (project("lin_query"), project("lin_key"), project("lin_value"));
    let future = Tensor::ones([steps, steps], (Kind::Float, Device::Cpu))
        .triu(1)
        .to_kind(Kind::Bool);
    let scores = q.matmul(&k.transpose(-2, -1)) / (c as f64).sqrt();
    let attention = scores
        .masked_fill(&future, f64::NEG_INFINITY)
        .softmax(-1, Kind::Float);
    let plain = attention
        .matmul(&v)
        .transpose(1, 2)
        .reshape([batch, steps, heads * c]);
    let sdpa = Tensor::scaled_dot_product_attention(&q, &k, &v, None::<Tensor>, 0.0, true, None, false)
        .transpose(1, 2)
        .reshape([batch, steps, heads * c]);
    let diff = |a: &Tensor| (a - &plain).abs().max().double_value(&[]);
    Ok((diff(&ours), diff(&sdpa)))
}

/// A GNN layer over the causal lag graph with one linear map per lag (a relational GNN whose edge
/// types are the lags): `h_t = W_0 x_t + b + sum_{l in lags, l <= t} W_l x_{t - l}`, the lag of an
/// edge read as `dst - src`.
struct LagConv<'a> {
    /// `W_0` (the root, lag 0).
    root: &'a Tensor,
    /// `(lag, W_lag)`.
    per_lag: Vec<(i64, Tensor)>,
    bias: &'a Tensor,
}

impl MessagePassing for LagConv<'_> {
    fn message(&self, edges: &Edges) -> Tensor {
        let lag = (&edges.dst - &edges.src).unsqueeze(-1);
        let x_j = edges.x_j();
        let mut m = Tensor::zeros([x_j.size()[0], self.bias.size()[0]], (x_j.kind(), x_j.device()));
        for (l, w) in &self.per_lag {
            m += x_j.matmul(&w.tr()) * lag.eq(*l).to_kind(x_j.kind());
        }
        m
    }

    fn update(&self, aggregated: Tensor, x: &Tensor) -> Tensor {
        aggregated + x.matmul(&self.root.tr()) + self.bias
    }
}

/// Max abs difference between a causal temporal convolution (`conv1d` of width `k + 1`, dilation
/// `dilation`, left padding `k * dilation`, `input` to `output` channels, seed 14) over `batch`
/// sequences of `steps` steps, and one [`MessagePassing`] layer over the causal lag graph with lags
/// `dilation * (1..=k)` (`graph_data::series_graph::lag_graph`) whose weight for lag
/// `l = dilation * i` is the kernel's tap `k - i` (tap `k`, the current step, is the root weight).
pub fn lag_graph_as_causal_conv(
    batch: i64,
    steps: i64,
    k: i64,
    dilation: i64,
    input: i64,
    output: i64,
) -> Result<f64, TrainError> {
    use graph_data::series_graph::{lag_graph, Orientation};
    tch::manual_seed(14);
    let xs = Tensor::randn([batch, steps, input], (Kind::Float, Device::Cpu));
    let weight = Tensor::randn([output, input, k + 1], (Kind::Float, Device::Cpu));
    let bias = Tensor::randn([output], (Kind::Float, Device::Cpu));
    // [B, T, I] -> [B, I, T], zeros on the left so that step t sees t - k * dilation .. t only.
    let padded = xs.transpose(1, 2).constant_pad_nd([k * dilation, 0]);
    let conv = padded
        .conv1d(&weight, Some(&bias), [1], [0], [dilation], 1)
        .transpose(1, 2);
    let lags: Vec<usize> = (1..=k).map(|i| (i * dilation) as usize).collect();
    let edges = lag_graph(steps as usize, &lags, Orientation::Directed)?;
    let pairs: Vec<(i64, i64)> = edges.pairs().map(|(s, d)| (s as i64, d as i64)).collect();
    let graph = per_sequence(batch, steps, &pairs)?;
    let tap = |i: i64| weight.select(2, i);
    let root = tap(k);
    let layer = LagConv {
        root: &root,
        per_lag: (1..=k).map(|i| (i * dilation, tap(k - i))).collect(),
        bias: &bias,
    };
    let gnn = layer
        .propagate(&xs.reshape([batch * steps, input]), &graph)
        .reshape([batch, steps, output]);
    Ok((gnn - conv).abs().max().double_value(&[]))
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

    #[test]
    fn causal_attention_is_graph_attention_on_the_causal_graph() {
        let (graph, sdpa) = causal_attention_on_causal_graph(2, 6, 2, 3, 4).unwrap();
        assert!(graph < 1e-5 && sdpa < 1e-5, "{graph} {sdpa}");
    }

    #[test]
    fn causal_conv_is_a_gnn_on_the_lag_graph() {
        assert!(lag_graph_as_causal_conv(2, 9, 3, 1, 4, 5).unwrap() < 1e-5);
    }
}
