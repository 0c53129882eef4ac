//! `GatConv` (Velickovic et al. 2018): attention over neighbours,
//! `alpha_ij = softmax_j(LeakyReLU(a_src . W x_j + a_dst . W x_i))`,
//! `x_i' = sum_j alpha_ij W x_j`, per head.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::layer::FastDropout;

use crate::error::{check_dropout, check_positive, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{glorot, lin_weight, linear, GnnLayer};
use crate::message_passing::{Edges, MessagePassing};

/// Options of [`GatConv`] and [`GatV2Conv`](crate::GatV2Conv), PyG's defaults.
#[derive(Debug, Clone, Copy)]
pub struct GatConfig {
    /// Number of attention heads.
    pub heads: i64,
    /// Concatenate the heads (`[N, heads * out]`), else average them (`[N, out]`).
    pub concat: bool,
    /// Slope of the LeakyReLU on attention logits.
    pub negative_slope: f64,
    /// Dropout on the attention coefficients while training.
    pub dropout: f64,
    /// Replace self loops by one per node.
    pub add_self_loops: bool,
    /// Learn an additive bias.
    pub bias: bool,
}

impl GatConfig {
    /// Refuses sizes or heads below 1 and a dropout outside `[0, 1)`.
    pub(crate) fn check(&self, layer: &str, in_channels: i64, out_channels: i64) -> Result<()> {
        check_positive(layer, "in_channels", in_channels)?;
        check_positive(layer, "out_channels", out_channels)?;
        check_positive(layer, "heads", self.heads)?;
        check_dropout(layer, self.dropout)
    }
}

impl Default for GatConfig {
    fn default() -> Self {
        GatConfig {
            heads: 1,
            concat: true,
            negative_slope: 0.2,
            dropout: 0.0,
            add_self_loops: true,
            bias: true,
        }
    }
}

/// Graph attention (Velickovic et al. 2018), per head `k`:
/// `alpha_ij = softmax_{j in N(i) + i}(LeakyReLU(a_src . W x_j + a_dst . W x_i))`,
/// `x_i' = ||_k sum_j alpha_ij^k W^k x_j + b` (heads concatenated, or averaged
/// when `concat` is false).
///
/// Shapes: `x` `[N, in_channels]` (dense or sparse) -> `[N, heads *
/// out_channels]` (concat) or `[N, out_channels]`. Parameters as PyG's
/// `GATConv`: `lin.weight` `[heads * out, in]`, `att_src` and `att_dst` `[1,
/// heads, out]`, `bias`.
///
/// As [`MessagePassing`] over the graph's edges with one self loop per node
/// (`add_self_loops`), `x = W x` (`[N, heads, out]`): the message is
/// `alpha_ij x_j`, `alpha_ij` the segment softmax of the per-edge logits
/// `LeakyReLU(s_j + d_i)`, with the scores `s = a_src . x` and `d = a_dst . x`
/// computed once per node and gathered per edge ([`GatConv::attention`]); the
/// sum of the messages is then joined over heads and biased by `update`.
/// `message_and_aggregate` computes the same sum without the per-edge
/// normalisation (see [`GatConv::attention`]).
#[derive(Debug)]
pub struct GatConv {
    weight: Tensor,
    att_src: Tensor,
    att_dst: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    out_channels: i64,
    config: GatConfig,
}

impl GatConv {
    /// A layer from `in_channels` to `out_channels` per head; panics with
    /// [`GatConv::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: GatConfig,
    ) -> Self {
        Self::f_new(p, in_channels, out_channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`GatConv::new`], or [`GnnError::Config`](crate::GnnError::Config) for
    /// sizes or heads below 1 or a dropout outside `[0, 1)`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: GatConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        config.check("GatConv", in_channels, out_channels)?;
        let h = config.heads;
        let weight = lin_weight(p, "lin", in_channels, h * out_channels);
        let att_src = p.var("att_src", &[1, h, out_channels], glorot(h, out_channels));
        let att_dst = p.var("att_dst", &[1, h, out_channels], glorot(h, out_channels));
        let bias_len = if config.concat {
            h * out_channels
        } else {
            out_channels
        };
        let bias = config.bias.then(|| p.zeros("bias", &[bias_len]));
        Ok(GatConv {
            weight,
            att_src,
            att_dst,
            bias,
            in_channels,
            out_channels,
            config,
        })
    }
}

impl GatConv {
    /// The attention logits `LeakyReLU(a_src . x_j + a_dst . x_i)` of every
    /// edge, `[E, heads]`, with the per-node scores `[N, heads]` they were
    /// gathered from: `(logits, s, d)`.
    fn logits(&self, edges: &Edges) -> (Tensor, Tensor, Tensor) {
        // Both scores of every head as one product with a block-diagonal
        // [H * C, 2H] matrix (half the time of two products and sums).
        let (n, h, c) = (edges.num_nodes(), self.config.heads, self.out_channels);
        let x = edges.x.reshape([n, h * c]);
        let eye = Tensor::eye(h, (x.kind(), x.device())).unsqueeze(1); // [H, 1, H]
        let blocks = |a: &Tensor| (a.reshape([h, c, 1]) * &eye).reshape([h * c, h]);
        let (s, d) = match edges.x_dst {
            None => {
                let sd = x.mm(&Tensor::cat(&[blocks(&self.att_src), blocks(&self.att_dst)], 1));
                (sd.narrow(1, 0, h), sd.narrow(1, h, h))
            }
            Some(x_dst) => (
                x.mm(&blocks(&self.att_src)),
                x_dst.reshape([n, h * c]).mm(&blocks(&self.att_dst)),
            ),
        };
        let logits = leaky_relu(
            &(edges.gather_j(&s) + edges.gather_i(&d)),
            self.config.negative_slope,
        );
        (logits, s, d)
    }

    /// The attention coefficients `alpha_ij` of every edge, `[E, heads]`:
    /// the segment softmax over each target's edges of the logits, dropped
    /// out while `edges.train`.
    pub fn attention(&self, edges: &Edges) -> Tensor {
        let (logits, _, _) = self.logits(edges);
        edges
            .softmax(&logits)
            .fast_dropout(self.config.dropout, edges.train)
    }
}

impl MessagePassing for GatConv {
    fn name(&self) -> &str {
        "GatConv"
    }

    /// `alpha_ij x_j`, `[E, heads, out]`.
    fn message(&self, edges: &Edges) -> Tensor {
        edges.x_j() * self.attention(edges).unsqueeze(-1)
    }

    /// The attention-weighted sum without the per-edge division: when a
    /// per-node bound on the logits is safe (`s_i = LeakyReLU(max_j s_j + d_i)`,
    /// when the scores span at most 30 and every node has its self loop), each edge's
    /// weight is `exp(logit - bound_i)` (dropped out), the messages are summed
    /// and each node's sum divided by the sum of its weights afterwards
    /// (dropout commutes with that). Otherwise `None`: `message` with the exact
    /// segment softmax.
    fn message_and_aggregate(&self, edges: &Edges) -> Option<Tensor> {
        let (logits, s, d) = self.logits(edges);
        let shift = bounded_shift(&s, &d, edges.num_nodes(), self.config, edges.has_self_loops())?;
        let e = (logits - edges.gather_i(&shift)).exp();
        let sum = edges.sum(&e);
        let weights = e.fast_dropout(self.config.dropout, edges.train);
        let messages = edges.x_j() * weights.unsqueeze(-1);
        Some(edges.sum(&messages) / sum.unsqueeze(-1))
    }

    /// Heads concatenated or averaged, plus the bias.
    fn update(&self, aggregated: Tensor, _x: &Tensor) -> Tensor {
        finish_heads(aggregated, self.config.concat, self.bias.as_ref())
    }
}

impl GnnLayer for GatConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        check_x("GatConv", x, graph, self.in_channels, self.weight.kind())?;
        let h = linear(x, &self.weight).view([graph.num_nodes(), self.config.heads, self.out_channels]);
        let edges = Edges::new(&h, graph).with_train(train);
        let edges = if self.config.add_self_loops {
            edges.with_self_loops()
        } else {
            edges
        };
        self.f_propagate_edges(&edges)
    }
}

/// A per-node shift `[N, H]` at least as large as each node's attention
/// logits, when it is safe to use one.
///
/// A softmax is computed stably by subtracting, per target, a number at least
/// as large as its logits. [`segment_softmax`](crate::message_passing::segment_softmax) finds each target's maximum
/// with a scatter; here, since LeakyReLU is increasing,
/// `s_i = LeakyReLU(max_j a_src[j] + a_dst[i])` bounds node `i`'s logits and
/// costs one node-level operation. With a self loop on every node, the self
/// loop's term is at least `exp(-(max a_src - min a_src))`, so when `a_src`
/// spans at most 30 (per head) every node's sum is at least `e^-30` and no
/// term that matters underflows; otherwise (or without self loops) `None`,
/// and the exact scatter maximum is used.
fn bounded_shift(
    a_src: &Tensor,
    a_dst: &Tensor,
    n: i64,
    config: GatConfig,
    self_loops: bool,
) -> Option<Tensor> {
    const MAX_SPAN: f64 = 30.0;
    if !self_loops || n == 0 {
        return None;
    }
    let a = a_src.detach();
    let hi = a.amax([0].as_slice(), false); // [H]
    let span = (&hi - a.amin([0].as_slice(), false)).max().double_value(&[]);
    (span <= MAX_SPAN).then(|| leaky_relu(&(a_dst.detach() + &hi), config.negative_slope))
}

/// LeakyReLU with a chosen slope `s < 1`, written `s x + (1 - s) relu(x)`:
/// the same function as `max(x, s x)`, whose backward (two masks, ties)
/// measured almost three times slower on GAT's `[E, heads]` logits.
pub(crate) fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    x * slope + x.relu() * (1.0 - slope)
}

/// Concatenates (`[N, H * C]`) or averages (`[N, C]`) the heads of `[N, H, C]`,
/// then adds the bias.
pub(crate) fn finish_heads(out: Tensor, concat: bool, bias: Option<&Tensor>) -> Tensor {
    let out = if concat {
        out.flatten(1, -1)
    } else {
        out.mean_dim(1, false, None)
    };
    match bias {
        Some(b) => out + b,
        None => out,
    }
}
