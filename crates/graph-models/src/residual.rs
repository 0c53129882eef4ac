//! Residual connections, the first cure for depth: the layer learns a
//! correction `h' = h + GNN(h)`, so stacking many cannot wash the input out.

use std::borrow::Borrow;

use tch::{nn, nn::Module, Tensor};

use crate::layer::FastDropout;

use crate::error::{check_dropout, check_positive, InputError, Result};
use crate::graph::{check_x, Graph};
use crate::layer::GnnLayer;

/// A residual connection around any layer: `h' = h + layer(h)`.
///
/// Shapes: `x` `[N, C]` -> `[N, C]`; the layer must keep the shape.
#[derive(Debug)]
pub struct Residual<L> {
    /// The wrapped layer.
    pub layer: L,
}

impl<L: GnnLayer> Residual<L> {
    /// Wraps `layer`.
    pub fn new(layer: L) -> Self {
        Residual { layer }
    }
}

impl<L: GnnLayer> GnnLayer for Residual<L> {
    fn f_forward_t(&self, x: &Tensor, graph: &Graph, train: bool) -> Result<Tensor> {
        let h = self.layer.f_forward_t(x, graph, train)?;
        if h.size() != x.size() {
            let expected = format!("{:?} (the shape of x)", x.size());
            return Err(
                InputError::shape("Residual", "the wrapped layer's output", expected, h.size()).into(),
            );
        }
        Ok(x + h)
    }
}

/// Options of [`ResPlus`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResPlusConfig {
    /// Dropout between the activation and the layer while training.
    pub dropout: f64,
}

/// DeepGCN's `res+` block (Li et al. 2020), pre-activation:
/// `h' = h + layer(dropout(relu(LayerNorm(h))))`.
///
/// Shapes: `x` `[N, channels]` -> `[N, channels]`. Parameters as PyG's
/// `DeepGCNLayer`: `norm.{weight,bias}` and the layer's under `conv`.
#[derive(Debug)]
pub struct ResPlus<L> {
    norm: nn::LayerNorm,
    layer: L,
    dropout: f64,
}

impl<L: GnnLayer> ResPlus<L> {
    /// Wraps `layer` (built under `p / "conv"`) of `channels` in and out;
    /// panics with [`ResPlus::f_new`]'s message on a configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(p: P, channels: i64, layer: L, config: ResPlusConfig) -> Self {
        Self::f_new(p, channels, layer, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ResPlus::new`], or [`GnnError::Config`](crate::GnnError::Config) for
    /// `channels` below 1 or a dropout outside `[0, 1)`.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(
        p: P,
        channels: i64,
        layer: L,
        config: ResPlusConfig,
    ) -> Result<Self> {
        check_positive("ResPlus", "channels", channels)?;
        check_dropout("ResPlus", config.dropout)?;
        let norm = nn::layer_norm(p.borrow() / "norm", vec![channels], Default::default());
        Ok(ResPlus {
            norm,
            layer,
            dropout: config.dropout,
        })
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
            let expected = format!("{:?} (the shape of x)", x.size());
            return Err(
                InputError::shape("ResPlus", "the wrapped layer's output", expected, out.size()).into(),
            );
        }
        Ok(x + out)
    }
}
