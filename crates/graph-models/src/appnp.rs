//! `Appnp` (Klicpera et al. 2019): personalised-PageRank propagation,
//! `H_0 = X`, `H_{k+1} = (1 - alpha) A~ H_k + alpha X`, with `A~` the GCN
//! operator. No parameters: depth without over-smoothing, since every step
//! teleports back to the input.

use tch::Tensor;

use crate::error::{GnnError, Result};
use crate::graph::Graph;
use crate::layer::GnnLayer;
use crate::message_passing::spmm;

/// APPNP propagation of `k` steps with teleport probability `alpha`.
#[derive(Debug, Clone, Copy)]
pub struct Appnp {
    /// Number of propagation steps (PyG example: 10).
    pub k: usize,
    /// Teleport probability (PyG example: 0.1).
    pub alpha: f64,
}

impl GnnLayer for Appnp {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        if x.dim() < 2 || x.size()[0] != graph.num_nodes() {
            return Err(GnnError::Shape(format!(
                "Appnp expects x of shape [num_nodes={}, channels], got {:?}",
                graph.num_nodes(),
                x.size()
            )));
        }
        let adj = graph.gcn_adjacency(false, true);
        let mut h = x.shallow_clone();
        for _ in 0..self.k {
            h = spmm(&adj, &h) * (1.0 - self.alpha) + x * self.alpha;
        }
        Ok(h)
    }
}
