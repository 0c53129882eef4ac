//! `Gcn2Conv` (GCNII, Chen et al. 2020): a GCN step with an initial residual and
//! an identity mapping, so 64 layers do not over-smooth.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::error::{check_positive, GnnError, InputError, Result};
use crate::graph::{check_x, Graph};
use crate::layer::glorot;
use crate::message_passing::{spmm, weighted_x_j, Edges, MessagePassing};

/// Options of [`Gcn2Conv`]: the GCNII paper's Cora settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcn2Config {
    /// Weight of the initial representation `X_0` (the initial residual).
    pub alpha: f64,
    /// Strength of the identity mapping: `beta = ln(theta / layer + 1)`.
    pub theta: f64,
    /// This layer's number in its stack, from 1 (deeper layers stay closer to the identity).
    pub layer: usize,
}

impl Default for Gcn2Config {
    fn default() -> Self {
        Gcn2Config {
            alpha: 0.1,
            theta: 0.5,
            layer: 1,
        }
    }
}

/// GCNII layer with a shared weight (Chen et al. 2020):
/// `X' = ((1 - alpha) A~ X + alpha X_0) ((1 - beta) I + beta W)`, with `A~ =
/// D^-1/2 (A + I) D^-1/2` and `beta = ln(theta / layer + 1)`.
///
/// Shapes: `x` and `x_0` `[N, channels]` -> `[N, channels]`. Parameter as
/// PyG's `GCN2Conv`: `weight1` `[channels, channels]` (applied as `h @ weight1`).
///
/// As [`MessagePassing`]: the propagation `A~ X` (the message `w_uv * x_j`
/// over edges carrying GCN's normalised weights; over the graph's own edges
/// the fused product with the cached operator), then the residual and the
/// identity mapping.
#[derive(Debug)]
pub struct Gcn2Conv {
    weight1: Tensor,
    channels: i64,
    alpha: f64,
    beta: f64,
}

impl MessagePassing for Gcn2Conv {
    fn name(&self) -> &str {
        "Gcn2Conv"
    }

    /// `w_uv * x_j`, the edges' weights being GCN's normalised ones.
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }

    /// `A~ @ x` with the graph's cached operator, over its own edges.
    fn message_and_aggregate(&self, edges: &Edges) -> Option<Tensor> {
        edges
            .is_graph_edges()
            .then(|| spmm(&edges.graph.gcn_adjacency(false, true), edges.x))
    }
}

impl Gcn2Conv {
    /// A layer of `channels`; panics with [`Gcn2Conv::f_new`]'s message on a
    /// configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, channels: i64, config: Gcn2Config) -> Self {
        Self::f_new(p, channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Gcn2Conv::new`], or [`GnnError::Config`] for `channels` or `layer`
    /// below 1 or `alpha` outside `[0, 1]`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(p: P, channels: i64, config: Gcn2Config) -> Result<Self> {
        let p = p.borrow();
        check_positive("Gcn2Conv", "channels", channels)?;
        check_positive("Gcn2Conv", "layer", config.layer as i64)?;
        if !(0.0..=1.0).contains(&config.alpha) {
            return Err(GnnError::Config(format!(
                "Gcn2Conv: alpha must be in [0, 1], got {}",
                config.alpha
            )));
        }
        let weight1 = p.var("weight1", &[channels, channels], glorot(channels, channels));
        let beta = (config.theta / config.layer as f64 + 1.0).ln();
        Ok(Gcn2Conv {
            weight1,
            channels,
            alpha: config.alpha,
            beta,
        })
    }

    /// `beta` of this layer.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The layer on `x` with initial features `x0` (both `[N, channels]`).
    pub fn f_forward(&self, x: &Tensor, x0: &Tensor, graph: &Graph) -> Result<Tensor> {
        check_x("Gcn2Conv", x, graph, self.channels, self.weight1.kind())?;
        if x0.size() != x.size() {
            let expected = format!("{:?} (the shape of x)", x.size());
            return Err(InputError::shape("Gcn2Conv", "x_0", expected, x0.size()).into());
        }
        let h = self.f_propagate(x, graph)? * (1.0 - self.alpha) + x0 * self.alpha;
        Ok(&h * (1.0 - self.beta) + h.mm(&self.weight1) * self.beta)
    }

    /// As [`Gcn2Conv::f_forward`], panicking on bad input.
    pub fn forward(&self, x: &Tensor, x0: &Tensor, graph: &Graph) -> Tensor {
        self.f_forward(x, x0, graph).unwrap_or_else(|e| panic!("{e}"))
    }
}
