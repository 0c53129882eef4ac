//! `GcnConv` (Kipf and Welling 2017): `X' = D^-1/2 (A + I) D^-1/2 X W + b`.

use tch::{nn, Tensor};

use crate::error::Result;
use crate::graph::{check_x, Graph};
use crate::layer::{lin_weight, linear, GnnLayer};
use crate::message_passing::spmm;

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

/// Graph convolution. Parameters: `lin.weight` `[out, in]`, `bias` `[out]`.
/// The normalised adjacency is built once per [`Graph`] and cached there.
/// `x` may be sparse (CSR or COO `[N, in]`): the product is then sparse-dense.
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
    /// A layer from `in_channels` to `out_channels` features, glorot-initialised.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64, config: GcnConfig) -> Self {
        let weight = lin_weight(p, "lin", in_channels, out_channels);
        let bias = config.bias.then(|| p.zeros("bias", &[out_channels]));
        GcnConv {
            weight,
            bias,
            in_channels,
            config,
        }
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

impl GnnLayer for GcnConv {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, _train: bool) -> Result<Tensor> {
        check_x("GcnConv", x, graph, self.in_channels, self.weight.kind())?;
        let h = spmm(&self.operator(graph), &linear(x, &self.weight));
        Ok(match &self.bias {
            Some(b) => h + b,
            None => h,
        })
    }
}
