//! `TransformerConv` (Shi et al. 2021): scaled dot-product attention restricted
//! to the edges, `alpha_ij = softmax_j(q_i . k_j / sqrt(C))`,
//! `x_i' = W_skip x_i + sum_j alpha_ij v_j`. On a complete graph with self loops
//! and no skip it is multi-head self-attention.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::layer::FastDropout;

use crate::error::{check_dropout, check_positive, Result};
use crate::gat::finish_heads;
use crate::graph::{check_x, Graph};
use crate::layer::{lin_weight, linear, GnnLayer};
use crate::message_passing::{Edges, MessagePassing};

/// Options of [`TransformerConv`].
#[derive(Debug, Clone, Copy)]
pub struct TransformerConfig {
    /// Number of heads.
    pub heads: i64,
    /// Concatenate the heads, else average them.
    pub concat: bool,
    /// Dropout on the attention coefficients while training.
    pub dropout: f64,
    /// Add `lin_skip(x)` (the root weight).
    pub root_weight: bool,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        TransformerConfig {
            heads: 1,
            concat: true,
            dropout: 0.0,
            root_weight: true,
        }
    }
}

type Linear = (Tensor, Tensor);

/// Dot-product graph attention (Shi et al. 2021), per head:
/// `alpha_ij = softmax_{j in N(i)}((W_q x_i + b_q) . (W_k x_j + b_k) / sqrt(C))`,
/// `x_i' = W_skip x_i + b_skip + sum_j alpha_ij (W_v x_j + b_v)`.
///
/// Shapes: `x` `[N, in_channels]` -> `[N, heads * out_channels]` (concat) or
/// `[N, out_channels]`. Parameters as PyG's `TransformerConv`: `lin_query`,
/// `lin_key`, `lin_value`, `lin_skip` (`weight` and `bias` each).
///
/// As [`MessagePassing`]: `x` holds keys and values side by side (`[N, heads,
/// 2 out]`, gathered once per edge), `x_dst` the queries (`[N, heads, out]`);
/// the message is `alpha_ij v_j` with `alpha_ij` the segment softmax of
/// `q_i . k_j / sqrt(C)` (dropped out while training), summed; the update joins
/// the heads (the skip is added after).
#[derive(Debug)]
pub struct TransformerConv {
    query: Linear,
    key: Linear,
    value: Linear,
    skip: Option<Linear>,
    in_channels: i64,
    out_channels: i64,
    config: TransformerConfig,
}

fn lin(p: &nn::Path, name: &str, i: i64, o: i64) -> Linear {
    (lin_weight(p, name, i, o), (p / name).zeros("bias", &[o]))
}

impl TransformerConv {
    /// A layer from `in_channels` to `out_channels` per head; panics with
    /// [`TransformerConv::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: TransformerConfig,
    ) -> Self {
        Self::f_new(p, in_channels, out_channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TransformerConv::new`], or [`GnnError::Config`](crate::GnnError::Config)
    /// for sizes or heads below 1 or a dropout outside `[0, 1)`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: TransformerConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("TransformerConv", "in_channels", in_channels)?;
        check_positive("TransformerConv", "out_channels", out_channels)?;
        check_positive("TransformerConv", "heads", config.heads)?;
        check_dropout("TransformerConv", config.dropout)?;
        let hc = config.heads * out_channels;
        let skip_out = if config.concat { hc } else { out_channels };
        Ok(TransformerConv {
            query: lin(p, "lin_query", in_channels, hc),
            key: lin(p, "lin_key", in_channels, hc),
            value: lin(p, "lin_value", in_channels, hc),
            skip: config
                .root_weight
                .then(|| lin(p, "lin_skip", in_channels, skip_out)),
            in_channels,
            out_channels,
            config,
        })
    }
}

impl MessagePassing for TransformerConv {
    fn name(&self) -> &str {
        "TransformerConv"
    }

    /// `alpha_ij v_j` (`[E, heads, out]`), `alpha` per edge and head.
    fn message(&self, edges: &Edges) -> Tensor {
        let c = self.out_channels;
        let kv_j = edges.x_j();
        let (k_j, v_j) = (kv_j.narrow(-1, 0, c), kv_j.narrow(-1, c, c));
        let scores = (edges.x_i() * k_j).sum_dim_intlist(-1, false, None) / (c as f64).sqrt();
        let alpha = edges
            .softmax(&scores)
            .fast_dropout(self.config.dropout, edges.train);
        v_j * alpha.unsqueeze(-1)
    }

    /// Heads concatenated or averaged.
    fn update(&self, aggregated: Tensor, _x: &Tensor) -> Tensor {
        finish_heads(aggregated, self.config.concat, None)
    }
}

impl GnnLayer for TransformerConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        check_x("TransformerConv", x, graph, self.in_channels, self.query.0.kind())?;
        let shape = [graph.num_nodes(), self.config.heads, self.out_channels];
        let project = |l: &Linear| (linear(x, &l.0) + &l.1).view(shape);
        let q = project(&self.query);
        let kv = Tensor::cat(&[project(&self.key), project(&self.value)], -1);
        let edges = Edges::new(&kv, graph).with_x_dst(&q).with_train(train);
        let out = self.f_propagate_edges(&edges)?;
        Ok(match &self.skip {
            Some((w, b)) => out + linear(x, w) + b,
            None => out,
        })
    }
}
