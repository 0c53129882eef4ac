//! `GcnConv` (Kipf and Welling 2017): `X' = D^-1/2 (A + I) D^-1/2 X W + b`.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use crate::error::{check_positive, Result};
use crate::graph::{check_x, Graph};
use crate::layer::{lin_weight, linear, GnnLayer};
use crate::message_passing::{spmm, weighted_x_j, Edges, MessagePassing};

/// Options of [`GcnConv`], PyG's defaults.
#[derive(Debug, Clone, Copy)]
pub struct GcnConfig {
    /// Self loops of weight 2 instead of 1 (`A + 2I`).
    pub improved: bool,
    /// Add self loops where missing.
    pub add_self_loops: bool,
    /// Apply the symmetric normalisation (else plain weighted sum).
    pub normalize: bool,
    /// Learn an additive bias.
    pub bias: bool,
}

impl Default for GcnConfig {
    fn default() -> Self {
        GcnConfig {
            improved: false,
            add_self_loops: true,
            normalize: true,
            bias: true,
        }
    }
}

/// Graph convolution (Kipf and Welling 2017),
/// `X' = D^-1/2 (A + I) D^-1/2 X W^T + b`, where `D_ii = 1 + sum_j A_ij` (edge
/// weights included).
///
/// Shapes: `x` `[N, in_channels]` (dense, or a sparse CSR/COO matrix: the
/// product is then sparse-dense) or `[N, ..., in_channels]` -> `[N, ...,
/// out_channels]`. Parameters as PyG's `GCNConv`: `lin.weight` `[out, in]`,
/// `bias` `[out]`. The normalised adjacency is built once per [`Graph`] and
/// cached there.
///
/// As [`MessagePassing`]: the message is `w_uv * x_j` over edges carrying the
/// normalised weights ([`Graph::gcn_norm`]'s); over the graph's own edges
/// `message_and_aggregate` is one product with the cached operator
/// ([`GcnConv::operator`]), so no per-edge tensor is built.
///
/// ```
/// use graph_models::{GcnConv, GcnConfig, GnnLayer, Graph};
/// use tch::{nn, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let conv = GcnConv::new(&vs.root(), 4, 2, GcnConfig::default());
/// let graph = Graph::new(&Tensor::from_slice2(&[[0i64, 1], [1, 0]]), 3).unwrap();
/// let out = conv.forward(&Tensor::ones([3, 4], (Kind::Float, Device::Cpu)), &graph);
/// assert_eq!(out.size(), [3, 2]);
/// let err = conv.f_forward_t(&Tensor::ones([3, 5], (Kind::Float, Device::Cpu)), &graph, false);
/// assert!(err.unwrap_err().to_string().contains("GcnConv expects x of shape [num_nodes=3, 4], got [3, 5]"));
/// ```
#[derive(Debug)]
pub struct GcnConv {
    weight: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    config: GcnConfig,
}

impl GcnConv {
    /// A layer from `in_channels` to `out_channels` features, glorot-initialised;
    /// panics with [`GcnConv::f_new`]'s message on sizes below 1.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: GcnConfig,
    ) -> Self {
        Self::f_new(p, in_channels, out_channels, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`GcnConv::new`], or [`GnnError::Config`](crate::GnnError::Config) for sizes below 1.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        in_channels: i64,
        out_channels: i64,
        config: GcnConfig,
    ) -> Result<Self> {
        let p = p.borrow();
        check_positive("GcnConv", "in_channels", in_channels)?;
        check_positive("GcnConv", "out_channels", out_channels)?;
        let weight = lin_weight(p, "lin", in_channels, out_channels);
        let bias = config.bias.then(|| p.zeros("bias", &[out_channels]));
        Ok(GcnConv {
            weight,
            bias,
            in_channels,
            config,
        })
    }

    /// The propagation operator this layer applies (sparse `[N, N]`).
    pub fn operator(&self, graph: &Graph) -> Tensor {
        if self.config.normalize {
            graph.gcn_adjacency(self.config.improved, self.config.add_self_loops)
        } else {
            graph.adjacency(false)
        }
    }
}

impl MessagePassing for GcnConv {
    fn name(&self) -> &str {
        "GcnConv"
    }

    /// `w_uv * x_j`, the edges' weights being the normalised ones.
    fn message(&self, edges: &Edges) -> Tensor {
        weighted_x_j(edges)
    }

    /// `operator @ x` over the graph's own edges.
    fn message_and_aggregate(&self, edges: &Edges) -> Option<Tensor> {
        edges
            .is_graph_edges()
            .then(|| spmm(&self.operator(edges.graph), edges.x))
    }
}

impl GnnLayer for GcnConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        check_x("GcnConv", x, graph, self.in_channels, self.weight.kind())?;
        let h = self.f_propagate(&linear(x, &self.weight), graph)?;
        Ok(match &self.bias {
            Some(b) => h + b,
            None => h,
        })
    }
}
