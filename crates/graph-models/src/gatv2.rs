//! `GatV2Conv` (Brody et al. 2022): the attention is applied after the
//! non-linearity, `alpha_ij = softmax_j(a . LeakyReLU(W_l x_j + W_r x_i))`, so it
//! can rank neighbours differently for each query ("dynamic" attention).

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::layer::FastDropout;

use crate::error::Result;
use crate::gat::{finish_heads, leaky_relu, GatConfig};
use crate::graph::{check_x, Graph};
use crate::layer::{glorot, lin_weight, linear, GnnLayer};
use crate::message_passing::{Edges, MessagePassing};

/// GATv2 attention (Brody et al. 2022), per head:
/// `alpha_ij = softmax_{j in N(i) + i}(a . LeakyReLU(W_l x_j + W_r x_i))`,
/// `x_i' = sum_j alpha_ij W_l x_j + b` (heads concatenated or averaged).
///
/// Shapes: `x` `[N, in_channels]` -> `[N, heads * out_channels]` (concat) or
/// `[N, out_channels]`. Parameters as PyG's `GATv2Conv`: `lin_l.{weight,bias}`,
/// `lin_r.{weight,bias}` (`[heads * out, in]`), `att` `[1, heads, out]`, `bias`.
///
/// As [`MessagePassing`] over the graph's edges with one self loop per node:
/// `x = W_l x + b_l` and `x_dst = W_r x + b_r` (`[N, heads, out]`); the message
/// is `alpha_ij x_j` with `alpha_ij` the segment softmax of
/// `a . LeakyReLU(x_j + x_dst_i)` (dropped out while training), summed; the
/// update joins the heads and adds the bias.
#[derive(Debug)]
pub struct GatV2Conv {
    lin_l: (Tensor, Tensor),
    lin_r: (Tensor, Tensor),
    att: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    out_channels: i64,
    config: GatConfig,
}

impl GatV2Conv {
    /// A layer from `in_channels` to `out_channels` per head; panics with
    /// [`GatV2Conv::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: GatConfig,
    ) -> Self {
        Self::f_new(p, in_channels, out_channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`GatV2Conv::new`], or [`GnnError::Config`](crate::GnnError::Config)
    /// for sizes or heads below 1 or a dropout outside `[0, 1)`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: GatConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        config.check("GatV2Conv", in_channels, out_channels)?;
        let hc = config.heads * out_channels;
        let lin_l = (
            lin_weight(p, "lin_l", in_channels, hc),
            (p / "lin_l").zeros("bias", &[hc]),
        );
        let lin_r = (
            lin_weight(p, "lin_r", in_channels, hc),
            (p / "lin_r").zeros("bias", &[hc]),
        );
        let att = p.var(
            "att",
            &[1, config.heads, out_channels],
            glorot(config.heads, out_channels),
        );
        let bias_len = if config.concat { hc } else { out_channels };
        let bias = config.bias.then(|| p.zeros("bias", &[bias_len]));
        Ok(GatV2Conv {
            lin_l,
            lin_r,
            att,
            bias,
            in_channels,
            out_channels,
            config,
        })
    }
}

impl MessagePassing for GatV2Conv {
    fn name(&self) -> &str {
        "GatV2Conv"
    }

    /// `alpha_ij x_j` (`[E, heads, out]`), `alpha` per edge and head.
    fn message(&self, edges: &Edges) -> Tensor {
        let x_j = edges.x_j();
        let e = leaky_relu(&(&x_j + edges.x_i()), self.config.negative_slope);
        let logits = (e * &self.att).sum_dim_intlist(-1, false, None);
        let alpha = edges
            .softmax(&logits)
            .fast_dropout(self.config.dropout, edges.train);
        x_j * alpha.unsqueeze(-1)
    }

    /// Heads concatenated or averaged, plus the bias.
    fn update(&self, aggregated: Tensor, _x: &Tensor) -> Tensor {
        finish_heads(aggregated, self.config.concat, self.bias.as_ref())
    }
}

impl GnnLayer for GatV2Conv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        check_x("GatV2Conv", x, graph, self.in_channels, self.lin_l.0.kind())?;
        let shape = [graph.num_nodes(), self.config.heads, self.out_channels];
        let x_l = (linear(x, &self.lin_l.0) + &self.lin_l.1).view(shape);
        let x_r = (linear(x, &self.lin_r.0) + &self.lin_r.1).view(shape);
        let edges = Edges::new(&x_l, graph).with_x_dst(&x_r).with_train(train);
        let edges = if self.config.add_self_loops {
            edges.with_self_loops()
        } else {
            edges
        };
        self.f_propagate_edges(&edges)
    }
}
