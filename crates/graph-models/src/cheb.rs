//! `ChebConv` (Defferrard et al. 2016): a K-order polynomial of the scaled Laplacian.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::error::{check_positive, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{lin_weight, GnnLayer};
use crate::message_passing::{spmm, weighted_x_j, Edges, MessagePassing};
use crate::polynomial::chebyshev_filter;

/// Options of [`ChebConv`], PyG's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChebConfig {
    /// Learn an additive bias.
    pub bias: bool,
    /// The largest eigenvalue of the Laplacian used to scale it (PyG assumes 2).
    pub lambda_max: f64,
}

impl Default for ChebConfig {
    fn default() -> Self {
        ChebConfig {
            bias: true,
            lambda_max: 2.0,
        }
    }
}

/// Chebyshev spectral convolution (Defferrard et al. 2016) of order `K` with
/// the symmetric Laplacian `L = I - D^-1/2 A D^-1/2`:
/// `X' = sum_{k<K} T_k(L~) X W_k^T + b`, `T_0 = X`, `T_1 = L~ X`,
/// `T_k = 2 L~ T_{k-1} - T_{k-2}`, `L~ = 2 L / lambda_max - I`, computed by
/// [`chebyshev_filter`](crate::polynomial::chebyshev_filter).
///
/// Shapes: `x` `[N, in_channels]` or `[N, B, in_channels]` (a batch of signals
/// on the same graph) -> `[N, out_channels]` or `[N, B, out_channels]`.
/// Parameters as PyG's `ChebConv`: `lins.{k}.weight` `[out, in]` for `k < K`, `bias`.
///
/// As [`MessagePassing`]: each product `L~ T` is one propagation (the message
/// `w_uv * t_j` over edges carrying the scaled Laplacian's entries; over the
/// graph's own edges the fused product with the cached `L~`,
/// [`Graph::cheb_laplacian`]).
///
/// ```
/// use graph_models::{ChebConfig, ChebConv, GnnLayer, Graph};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let conv = ChebConv::new(vs.root() / "cheb", 4, 2, 3, ChebConfig::default());
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 2]]), 3).unwrap();
/// assert_eq!(conv.forward(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)), &graph).size(), [3, 2]);
/// ```
#[derive(Debug)]
pub struct ChebConv {
    weights: Vec<Tensor>,
    bias: Option<Tensor>,
    in_channels: i64,
    lambda_max: f64,
}

impl ChebConv {
    /// A layer of order `k` (`k` weight matrices) from `in_channels` to
    /// `out_channels`; panics with [`ChebConv::f_new`]'s message on a
    /// configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        k: usize,
        config: ChebConfig,
    ) -> Self {
        Self::f_new(p, in_channels, out_channels, k, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ChebConv::new`], or [`GnnError::Config`](crate::GnnError::Config)
    /// for `k` or sizes below 1 (K = 0 has no filter).
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        k: usize,
        config: ChebConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("ChebConv", "K", k as i64)?;
        check_positive("ChebConv", "in_channels", in_channels)?;
        check_positive("ChebConv", "out_channels", out_channels)?;
        let weights = (0..k)
            .map(|i| lin_weight(&(p / "lins"), &i.to_string(), in_channels, out_channels))
            .collect();
        let bias = config.bias.then(|| p.zeros("bias", &[out_channels]));
        Ok(ChebConv {
            weights,
            bias,
            in_channels,
            lambda_max: config.lambda_max,
        })
    }
}

impl MessagePassing for ChebConv {
    fn name(&self) -> &str {
        "ChebConv"
    }

    /// `w_uv * t_j`, the edges' weights being the scaled Laplacian's entries.
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }

    /// `L~ @ t` with the graph's cached scaled Laplacian, over its own edges.
    fn message_and_aggregate(&self, edges: &Edges) -> Option<Tensor> {
        edges
            .is_graph_edges()
            .then(|| spmm(&edges.graph.cheb_laplacian(self.lambda_max), edges.x))
    }
}

impl GnnLayer for ChebConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        check_x("ChebConv", x, graph, self.in_channels, self.weights[0].kind())?;
        // The one Chebyshev recurrence (Clenshaw's when out <= in), each
        // product `L~ t` a propagation of this layer.
        let out = chebyshev_filter(&|t: &Tensor| self.propagate(t, graph), x, &self.weights);
        Ok(match &self.bias {
            Some(b) => out + b,
            None => out,
        })
    }
}
