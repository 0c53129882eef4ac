//! `Gcn2Conv` (GCNII, Chen et al. 2020): a GCN step with an initial residual and
//! an identity mapping,
//! `X' = ((1 - alpha) A~ X + alpha X_0) ((1 - beta) I + beta W)`,
//! `beta = ln(theta / layer + 1)`: deep layers stay close to the identity, so
//! 64 of them do not over-smooth.

use tch::{nn, Tensor};

use crate::error::{GnnError, Result};
use crate::graph::{check_x, Graph};
use crate::layer::glorot;
use crate::message_passing::spmm;

/// GCNII layer with a shared weight. Parameter: `weight1` `[channels, channels]`
/// (applied as `h @ weight1`, as PyG).
#[derive(Debug)]
pub struct Gcn2Conv {
    weight1: Tensor,
    channels: i64,
    alpha: f64,
    beta: f64,
}

impl Gcn2Conv {
    /// Layer number `layer` (from 1) of a GCNII stack.
    pub fn new(p: &nn::Path, channels: i64, alpha: f64, theta: f64, layer: usize) -> Self {
        let weight1 = p.var("weight1", &[channels, channels], glorot(channels, channels));
        let beta = (theta / layer.max(1) as f64 + 1.0).ln();
        Gcn2Conv {
            weight1,
            channels,
            alpha,
            beta,
        }
    }

    /// `beta` of this layer.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The layer on `x` with initial features `x0` (both `[N, channels]`).
    pub fn f_forward(&self, x: &Tensor, x0: &Tensor, graph: &Graph) -> Result<Tensor> {
        check_x("Gcn2Conv", x, graph, self.channels, self.weight1.kind())?;
        if x0.size() != x.size() {
            return Err(GnnError::Shape(format!(
                "Gcn2Conv expects x_0 of the shape of x, {:?}, got {:?}",
                x.size(),
                x0.size()
            )));
        }
        let h = spmm(&graph.gcn_adjacency(false, true), x) * (1.0 - self.alpha) + x0 * self.alpha;
        Ok(&h * (1.0 - self.beta) + h.mm(&self.weight1) * self.beta)
    }

    /// As [`Gcn2Conv::f_forward`], panicking on bad input.
    pub fn forward(&self, x: &Tensor, x0: &Tensor, graph: &Graph) -> Tensor {
        self.f_forward(x, x0, graph).unwrap_or_else(|e| panic!("{e}"))
    }
}
