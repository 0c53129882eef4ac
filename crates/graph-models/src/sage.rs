//! `SageConv` (Hamilton et al. 2017): `x_i' = W_l agg_j(x_j) + W_r x_i`.

use tch::{nn, Tensor};

use crate::error::Result;
use crate::graph::{check_x, Graph};
use crate::layer::{is_sparse, lin_weight, linear, GnnLayer};
use crate::message_passing::{weighted_x_j, Aggr, Edges, MessagePassing};

/// GraphSAGE. Parameters: `lin_l.weight`, `lin_l.bias`, `lin_r.weight`.
/// The aggregator is mean (PyG's default) or max; edge weights, when the graph
/// has them, scale the messages.
#[derive(Debug)]
pub struct SageConv {
    lin_l: (Tensor, Tensor),
    lin_r: Tensor,
    in_channels: i64,
    aggr: Aggr,
    normalize: bool,
}

impl SageConv {
    /// A layer from `in_channels` to `out_channels`; `aggr` is [`Aggr::Mean`] or
    /// [`Aggr::Max`] (any [`Aggr`] works); `normalize` L2-normalises the output.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64, aggr: Aggr, normalize: bool) -> Self {
        let lin_l = (
            lin_weight(p, "lin_l", in_channels, out_channels),
            (p / "lin_l").zeros("bias", &[out_channels]),
        );
        let lin_r = lin_weight(p, "lin_r", in_channels, out_channels);
        SageConv {
            lin_l,
            lin_r,
            in_channels,
            aggr,
            normalize,
        }
    }
}

impl MessagePassing for SageConv {
    fn aggr(&self) -> Aggr {
        self.aggr
    }
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }
    fn linear_message(&self) -> bool {
        true
    }
}

impl GnnLayer for SageConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        check_x("SageConv", x, graph, self.in_channels, self.lin_r.kind())?;
        let out = if matches!(self.aggr, Aggr::Sum | Aggr::Mean) {
            // A linear aggregator commutes with W_l: project first (fewer
            // channels to move, and sparse x works).
            self.propagate(&linear(x, &self.lin_l.0), graph) + &self.lin_l.1 + linear(x, &self.lin_r)
        } else {
            let dense = if is_sparse(x) {
                x.to_dense(None, false)
            } else {
                x.shallow_clone()
            };
            linear(&self.propagate(&dense, graph), &self.lin_l.0) + &self.lin_l.1 + linear(x, &self.lin_r)
        };
        Ok(if self.normalize { l2_normalize(&out) } else { out })
    }
}

/// Rows divided by their L2 norm (at least 1e-12), as `F.normalize`.
pub(crate) fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x.norm_scalaropt_dim(2.0, [-1].as_slice(), true).clamp_min(1e-12);
    x / norm
}
