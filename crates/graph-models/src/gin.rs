//! `GinConv` (Xu et al. 2019): `x_i' = MLP((1 + eps) x_i + sum_j x_j)`, as
//! expressive as the Weisfeiler-Lehman test.

use std::borrow::Borrow;

use tch::{nn, nn::ModuleT, Tensor};

use crate::error::{check_positive, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{is_sparse, GnnLayer};
use crate::message_passing::{weighted_x_j, Edges, MessagePassing};

/// Options of [`GinConv`], PyG's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GinConfig {
    /// The initial `eps`.
    pub eps: f64,
    /// Learn `eps` (a parameter `eps` `[1]`), else keep it fixed.
    pub train_eps: bool,
}

impl Default for GinConfig {
    fn default() -> Self {
        GinConfig {
            eps: 0.0,
            train_eps: false,
        }
    }
}

/// Graph isomorphism convolution (Xu et al. 2019):
/// `x_i' = MLP((1 + eps) x_i + sum_{j in N(i)} e_ji x_j)`.
///
/// Shapes: `x` `[N, in_channels]` -> `[N, out]` where `out` is the MLP's
/// output size. Parameters as PyG's `GINConv`: `nn.*` (the MLP, e.g.
/// [`GinConv::mlp`]) and `eps` `[1]` when trained.
///
/// ```
/// use graph_models::{GinConfig, GinConv, GnnLayer, Graph};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let p = vs.root() / "gin";
/// let conv = GinConv::new(&p, GinConv::mlp(&p, 4, 8, 2), 4, GinConfig::default());
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 2]]), 3).unwrap();
/// assert_eq!(conv.forward(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)), &graph).size(), [3, 2]);
/// ```
#[derive(Debug)]
pub struct GinConv {
    mlp: nn::SequentialT,
    eps: Tensor,
    in_channels: i64,
}

impl GinConv {
    /// A layer applying `mlp` (built under `p / "nn"`, see [`GinConv::mlp`]) to
    /// `in_channels` inputs; panics with [`GinConv::f_new`]'s message when
    /// `in_channels` is below 1.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        mlp: nn::SequentialT,
        in_channels: i64,
        config: GinConfig,
    ) -> Self {
        Self::f_new(p, mlp, in_channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`GinConv::new`], or [`GnnError::Config`](crate::GnnError::Config) when
    /// `in_channels` is below 1.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        mlp: nn::SequentialT,
        in_channels: i64,
        config: GinConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("GinConv", "in_channels", in_channels)?;
        let eps = if config.train_eps {
            p.var("eps", &[1], nn::Init::Const(config.eps))
        } else {
            Tensor::from_slice(&[config.eps as f32]).to_device(p.device())
        };
        Ok(GinConv {
            mlp,
            eps,
            in_channels,
        })
    }

    /// The usual two-layer MLP `Linear, ReLU, Linear`, named as PyG's
    /// `Sequential` (`nn.0`, `nn.2`).
    pub fn mlp<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        hidden: i64,
        out_channels: i64,
    ) -> nn::SequentialT {
        let p = p.borrow() / "nn";
        nn::seq_t()
            .add(nn::linear(&p / "0", in_channels, hidden, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(&p / "2", hidden, out_channels, Default::default()))
    }
}

impl MessagePassing for GinConv {
    fn name(&self) -> &str {
        "GinConv"
    }
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }
    fn linear_message(&self) -> bool {
        true
    }
    fn update(&self, aggregated: Tensor, x: &Tensor) -> Tensor {
        aggregated + x * (1.0 + &self.eps.to_kind(x.kind()))
    }
}

impl GnnLayer for GinConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        // A trained eps has the parameters' kind; a fixed one is a float
        // constant that follows x, and the MLP is the caller's.
        let kind = if self.eps.requires_grad() {
            self.eps.kind()
        } else {
            x.kind()
        };
        check_x("GinConv", x, graph, self.in_channels, kind)?;
        let dense = if is_sparse(x) {
            x.to_dense(None, false)
        } else {
            x.shallow_clone()
        };
        Ok(self.mlp.forward_t(&self.f_propagate(&dense, graph)?, train))
    }
}
