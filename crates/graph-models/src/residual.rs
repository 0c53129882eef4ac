//! Residual connections, the first cure for depth: the layer learns a
//! correction `h' = h + GNN(h)`, so stacking many cannot wash the input out.

use tch::{nn, nn::Module, Tensor};

use crate::layer::FastDropout;

use crate::error::{GnnError, Result};
use crate::graph::{check_x, Graph};
use crate::layer::GnnLayer;

/// `h' = h + layer(h)`; the layer must keep the channel count.
#[derive(Debug)]
pub struct Residual<L> {
    /// The wrapped layer.
    pub layer: L,
}

impl<L: GnnLayer> GnnLayer for Residual<L> {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        let h = self.layer.f_forward_t(x, graph, train)?;
        if h.size() != x.size() {
            return Err(GnnError::Shape(format!(
                "Residual needs a layer that keeps the shape of x, {:?}, but it gives {:?}",
                x.size(),
                h.size()
            )));
        }
        Ok(x + h)
    }
}

/// DeepGCN's `res+` block (Li et al. 2020): pre-activation,
/// `h' = h + layer(dropout(relu(norm(h))))`, with a layer norm.
/// Parameters: `norm.{weight,bias}` and the layer's under `conv`.
#[derive(Debug)]
pub struct ResPlus<L> {
    norm: nn::LayerNorm,
    layer: L,
    dropout: f64,
}

impl<L: GnnLayer> ResPlus<L> {
    /// Wraps `layer` (built under `p / "conv"`) of `channels` in and out.
    pub fn new(p: &nn::Path, channels: i64, layer: L, dropout: f64) -> Self {
        let norm = nn::layer_norm(p / "norm", vec![channels], Default::default());
        ResPlus { norm, layer, dropout }
    }
}

impl<L: GnnLayer> GnnLayer for ResPlus<L> {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        let (channels, kind) = self
            .norm
            .ws
            .as_ref()
            .map_or((0, x.kind()), |w| (w.size()[0], w.kind()));
        check_x("ResPlus", x, graph, channels, kind)?;
        let h = self.norm.forward(x).relu().fast_dropout(self.dropout, train);
        let out = self.layer.f_forward_t(&h, graph, train)?;
        if out.size() != x.size() {
            return Err(GnnError::Shape(format!(
                "ResPlus needs a layer that keeps the shape of x, {:?}, but it gives {:?}",
                x.size(),
                out.size()
            )));
        }
        Ok(x + out)
    }
}
