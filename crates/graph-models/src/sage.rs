//! `SageConv` (Hamilton et al. 2017): `x_i' = W_l agg_j(x_j) + b + W_r x_i`.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::error::{check_positive, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{is_sparse, lin_weight, linear, GnnLayer};
use crate::message_passing::{weighted_x_j, Aggr, Edges, MessagePassing};

/// Options of [`SageConv`], PyG's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SageConfig {
    /// How neighbours are combined: [`Aggr::Mean`] (PyG's default), [`Aggr::Max`], ...
    pub aggr: Aggr,
    /// L2-normalise each output row.
    pub normalize: bool,
    /// Add `W_r x_i` (the node's own features).
    pub root_weight: bool,
    /// Learn the additive bias `b` (PyG keeps it on `lin_l`).
    pub bias: bool,
}

impl Default for SageConfig {
    fn default() -> Self {
        SageConfig {
            aggr: Aggr::Mean,
            normalize: false,
            root_weight: true,
            bias: true,
        }
    }
}

/// GraphSAGE (Hamilton et al. 2017):
/// `x_i' = W_l agg_{j in N(i)}(e_ji x_j) + b + W_r x_i`, optionally
/// L2-normalised; edge weights `e_ji` (1 without) scale the messages.
///
/// Shapes: `x` `[N, in_channels]` (dense, or sparse with a sum or mean
/// aggregator) -> `[N, out_channels]`. Parameters as PyG's `SAGEConv`:
/// `lin_l.weight` `[out, in]`, `lin_l.bias` `[out]`, `lin_r.weight` `[out, in]`.
///
/// ```
/// use graph_models::{GnnLayer, Graph, SageConfig, SageConv};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let conv = SageConv::new(vs.root() / "sage", 4, 2, SageConfig::default());
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 2]]), 3).unwrap();
/// assert_eq!(conv.forward(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)), &graph).size(), [3, 2]);
/// ```
#[derive(Debug)]
pub struct SageConv {
    lin_l: Tensor,
    bias: Option<Tensor>,
    lin_r: Option<Tensor>,
    in_channels: i64,
    config: SageConfig,
}

impl SageConv {
    /// A layer from `in_channels` to `out_channels`; panics with
    /// [`SageConv::f_new`]'s message on sizes below 1.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: SageConfig,
    ) -> Self {
        Self::f_new(p, in_channels, out_channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`SageConv::new`], or [`GnnError::Config`](crate::GnnError::Config) for sizes below 1.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: SageConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("SageConv", "in_channels", in_channels)?;
        check_positive("SageConv", "out_channels", out_channels)?;
        Ok(SageConv {
            lin_l: lin_weight(p, "lin_l", in_channels, out_channels),
            bias: config.bias.then(|| (p / "lin_l").zeros("bias", &[out_channels])),
            lin_r: config
                .root_weight
                .then(|| lin_weight(p, "lin_r", in_channels, out_channels)),
            in_channels,
            config,
        })
    }
}

impl MessagePassing for SageConv {
    fn name(&self) -> &str {
        "SageConv"
    }
    fn aggr(&self) -> Aggr {
        self.config.aggr
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
        check_x("SageConv", x, graph, self.in_channels, self.lin_l.kind())?;
        let mut out = if matches!(self.config.aggr, Aggr::Sum | Aggr::Mean) {
            // A linear aggregator commutes with W_l: project first (fewer
            // channels to move, and sparse x works).
            self.f_propagate(&linear(x, &self.lin_l), graph)?
        } else {
            let dense = if is_sparse(x) {
                x.to_dense(None, false)
            } else {
                x.shallow_clone()
            };
            linear(&self.f_propagate(&dense, graph)?, &self.lin_l)
        };
        if let Some(b) = &self.bias {
            out += b;
        }
        if let Some(w) = &self.lin_r {
            out += linear(x, w);
        }
        Ok(if self.config.normalize {
            l2_normalize(&out)
        } else {
            out
        })
    }
}

/// Rows divided by their L2 norm (at least 1e-12), as `F.normalize`.
pub(crate) fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x.norm_scalaropt_dim(2.0, [-1].as_slice(), true).clamp_min(1e-12);
    x / norm
}
