//! `GinConv` (Xu et al. 2019): `x_i' = MLP((1 + eps) x_i + sum_j x_j)`, as
//! expressive as the Weisfeiler-Lehman test.

use tch::{nn, nn::ModuleT, Tensor};

use crate::error::Result;
use crate::graph::{check_x, Graph};
use crate::layer::{is_sparse, GnnLayer};
use crate::message_passing::{weighted_x_j, Edges, MessagePassing};

/// Graph isomorphism convolution. Parameters: `nn.*` (the MLP) and `eps`
/// (`[1]`, trained only when asked).
#[derive(Debug)]
pub struct GinConv {
    mlp: nn::SequentialT,
    eps: Tensor,
    in_channels: i64,
}

impl GinConv {
    /// A layer applying `mlp` (built under `p / "nn"`, see [`GinConv::mlp`]),
    /// with `eps` fixed or trained.
    pub fn new(p: &nn::Path, mlp: nn::SequentialT, in_channels: i64, eps: f64, train_eps: bool) -> Self {
        let eps = if train_eps {
            p.var("eps", &[1], nn::Init::Const(eps))
        } else {
            Tensor::from_slice(&[eps as f32]).to_device(p.device())
        };
        GinConv {
            mlp,
            eps,
            in_channels,
        }
    }

    /// The usual two-layer MLP `Linear, ReLU, Linear`, named as PyG's
    /// `Sequential` (`nn.0`, `nn.2`).
    pub fn mlp(p: &nn::Path, in_channels: i64, hidden: i64, out_channels: i64) -> nn::SequentialT {
        let p = p / "nn";
        nn::seq_t()
            .add(nn::linear(&p / "0", in_channels, hidden, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(&p / "2", hidden, out_channels, Default::default()))
    }
}

impl MessagePassing for GinConv {
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
        Ok(self.mlp.forward_t(&self.propagate(&dense, graph), train))
    }
}
