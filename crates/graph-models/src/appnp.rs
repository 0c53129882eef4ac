//! `Appnp` (Klicpera et al. 2019): personalised-PageRank propagation.

use tch::Tensor;

use crate::error::{check_positive, GnnError, InputError, Result};
use crate::graph::Graph;
use crate::layer::GnnLayer;
use crate::message_passing::{spmm, weighted_x_j, Edges, MessagePassing};

/// Options of [`Appnp`]: PyG's example settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppnpConfig {
    /// Number of propagation steps `K`.
    pub k: usize,
    /// Teleport probability `alpha`.
    pub alpha: f64,
}

impl Default for AppnpConfig {
    fn default() -> Self {
        AppnpConfig { k: 10, alpha: 0.1 }
    }
}

/// APPNP propagation (Klicpera et al. 2019): `H_0 = X`,
/// `H_{k+1} = (1 - alpha) A~ H_k + alpha X`, output `H_K`, with `A~ = D^-1/2
/// (A + I) D^-1/2`. No parameters: depth without over-smoothing, since every
/// step teleports back to the input.
///
/// Shapes: `x` `[N, C]` -> `[N, C]`.
///
/// As [`MessagePassing`]: one propagation is `A~ H` (the message `w_uv * h_j`
/// over edges carrying GCN's normalised weights; over the graph's own edges
/// the fused product with the cached operator); the teleport is added by
/// [`GnnLayer::forward_t`] after each step.
///
/// ```
/// use graph_models::{Appnp, AppnpConfig, GnnLayer, Graph};
/// use tch::{Device, Kind, Tensor};
/// let prop = Appnp::new(AppnpConfig::default());
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 2]]), 3).unwrap();
/// assert_eq!(prop.forward(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)), &graph).size(), [3, 4]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Appnp {
    config: AppnpConfig,
}

impl Appnp {
    /// The propagation; panics with [`Appnp::f_new`]'s message on a configuration it refuses.
    pub fn new(config: AppnpConfig) -> Self {
        Self::f_new(config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Appnp::new`], or [`GnnError::Config`] for `k` below 1 or `alpha` outside `[0, 1]`.
    pub fn f_new(config: AppnpConfig) -> Result<Self> {
        check_positive("Appnp", "k", config.k as i64)?;
        if !(0.0..=1.0).contains(&config.alpha) {
            return Err(GnnError::Config(format!(
                "Appnp: alpha must be in [0, 1], got {}",
                config.alpha
            )));
        }
        Ok(Appnp { config })
    }

    /// The configuration.
    pub fn config(&self) -> AppnpConfig {
        self.config
    }
}

impl MessagePassing for Appnp {
    fn name(&self) -> &str {
        "Appnp"
    }

    /// `w_uv * h_j`, the edges' weights being GCN's normalised ones.
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }

    /// `A~ @ h` with the graph's cached operator, over its own edges.
    fn message_and_aggregate(&self, edges: &Edges) -> Option<Tensor> {
        edges
            .is_graph_edges()
            .then(|| spmm(&edges.graph.gcn_adjacency(false, true), edges.x))
    }
}

impl GnnLayer for Appnp {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        if x.dim() < 2 || x.size()[0] != graph.num_nodes() {
            let expected = format!("[num_nodes={}, channels]", graph.num_nodes());
            return Err(InputError::shape("Appnp", "x", expected, x.size()).into());
        }
        let AppnpConfig { k, alpha } = self.config;
        let mut h = x.shallow_clone();
        for _ in 0..k {
            h = self.f_propagate(&h, graph)? * (1.0 - alpha) + x * alpha;
        }
        Ok(h)
    }
}
