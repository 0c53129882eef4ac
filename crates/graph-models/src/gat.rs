//! `GatConv` (Velickovic et al. 2018): attention over neighbours,
//! `alpha_ij = softmax_j(LeakyReLU(a_src . W x_j + a_dst . W x_i))`,
//! `x_i' = sum_j alpha_ij W x_j`, per head.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::layer::FastDropout;

use crate::error::{check_dropout, check_positive, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{glorot, lin_weight, linear, GnnLayer};
use crate::message_passing::segment_softmax_unchecked;

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

impl GnnLayer for GatConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        check_x("GatConv", x, graph, self.in_channels, self.weight.kind())?;
        let n = graph.num_nodes();
        let h = linear(x, &self.weight).view([n, self.config.heads, self.out_channels]);
        let a_src = (&h * &self.att_src).sum_dim_intlist(-1, false, None); // [N, H]
        let a_dst = (&h * &self.att_dst).sum_dim_intlist(-1, false, None);
        let ei = attention_edges(graph, self.config.add_self_loops);
        let (src, dst) = (ei.get(0), ei.get(1));
        let logits = leaky_relu(
            &(a_src.index_select(0, &src) + a_dst.index_select(0, &dst)),
            self.config.negative_slope,
        );
        let out = match bounded_shift(&a_src, &a_dst, n, self.config) {
            Some(shift) => {
                // Unnormalised weights, dropped out; each node's sum divides
                // its aggregate afterwards (dropout commutes with that), so
                // no edge-level division or gather of the sums is needed.
                let e = (logits - shift.index_select(0, &dst)).exp();
                let sum = a_dst.zeros_like().index_add(0, &dst, &e);
                let weights = e.fast_dropout(self.config.dropout, train);
                let messages = h.index_select(0, &src) * weights.unsqueeze(-1);
                h.zeros_like().index_add(0, &dst, &messages) / sum.unsqueeze(-1)
            }
            None => {
                let alpha =
                    segment_softmax_unchecked(&logits, &dst, n).fast_dropout(self.config.dropout, train);
                let messages = h.index_select(0, &src) * alpha.unsqueeze(-1);
                h.zeros_like().index_add(0, &dst, &messages)
            }
        };
        Ok(finish_heads(out, self.config.concat, self.bias.as_ref()))
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
fn bounded_shift(a_src: &Tensor, a_dst: &Tensor, n: i64, config: GatConfig) -> Option<Tensor> {
    const MAX_SPAN: f64 = 30.0;
    if !config.add_self_loops || n == 0 {
        return None;
    }
    let a = a_src.detach();
    let hi = a.amax([0].as_slice(), false); // [H]
    let span = (&hi - a.amin([0].as_slice(), false)).max().double_value(&[]);
    (span <= MAX_SPAN).then(|| leaky_relu(&(a_dst.detach() + &hi), config.negative_slope))
}

/// The edges attention runs over: the graph's, with self loops replaced by one
/// per node when asked (cached on the graph).
pub(crate) fn attention_edges(graph: &Graph, add_self_loops: bool) -> Tensor {
    if add_self_loops {
        graph.self_loop_edge_index()
    } else {
        graph.edge_index().shallow_clone()
    }
}

/// `max(x, slope * x)` for `slope < 1`: LeakyReLU with a chosen slope.
pub(crate) fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    x.maximum(&(x * slope))
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
