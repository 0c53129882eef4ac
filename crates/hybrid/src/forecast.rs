//! A forecaster: a graph recurrent encoder, ReLU, and a linear head that maps
//! each node's summary to the next `horizon` values (PGT's recipe shape).

use crate::conv::{GraphWaveNet, Stgcn};
use crate::error::{HybridError, Result};
use crate::graph::{Graph, SupportKind};
use crate::recurrent::{A3tgcn, Encoder, GConvLstm, GraphGru};
use std::borrow::Borrow;
use std::str::FromStr;
use tch::{nn, Tensor};

/// The recurrent graph models a [`Forecaster`] can be built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// [`GraphGru::dcrnn`].
    Dcrnn,
    /// [`GraphGru::gconv_gru`].
    GConvGru,
    /// [`GConvLstm`].
    GConvLstm,
    /// [`GraphGru::tgcn`].
    Tgcn,
    /// [`A3tgcn`].
    A3tgcn,
    /// [`Stgcn`].
    Stgcn,
    /// [`GraphWaveNet`].
    GraphWaveNet,
}

impl ModelKind {
    /// Every model, in the order of the command line's help.
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Dcrnn,
        ModelKind::GConvGru,
        ModelKind::GConvLstm,
        ModelKind::Tgcn,
        ModelKind::A3tgcn,
        ModelKind::Stgcn,
        ModelKind::GraphWaveNet,
    ];

    /// The model's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Dcrnn => "dcrnn",
            ModelKind::GConvGru => "gconvgru",
            ModelKind::GConvLstm => "gconvlstm",
            ModelKind::Tgcn => "tgcn",
            ModelKind::A3tgcn => "a3tgcn",
            ModelKind::Stgcn => "stgcn",
            ModelKind::GraphWaveNet => "graphwavenet",
        }
    }

    /// The supports the model needs.
    pub fn support_kind(self) -> SupportKind {
        match self {
            ModelKind::Dcrnn | ModelKind::GraphWaveNet => SupportKind::Transitions,
            ModelKind::GConvGru | ModelKind::GConvLstm | ModelKind::Stgcn => SupportKind::ScaledLaplacian,
            ModelKind::Tgcn | ModelKind::A3tgcn => SupportKind::GcnNormalised,
        }
    }
}

impl ModelKind {
    /// True for the models that read lags as time steps `(S, T, N, 1)`
    /// (attention or convolutions over time) rather than as the features of
    /// one step.
    pub fn reads_steps(self) -> bool {
        matches!(
            self,
            ModelKind::A3tgcn | ModelKind::Stgcn | ModelKind::GraphWaveNet
        )
    }
}

impl FromStr for ModelKind {
    type Err = HybridError;
    fn from_str(s: &str) -> Result<Self> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                let names: Vec<_> = ModelKind::ALL.iter().map(|m| m.name()).collect();
                HybridError::Config(format!("unknown model `{s}` (one of {})", names.join(", ")))
            })
    }
}

/// What a [`Forecaster`] is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// The recurrent model.
    pub kind: ModelKind,
    /// Input features per node and step `F`.
    pub in_features: i64,
    /// Hidden size (PGT's `out_channels`, "filters").
    pub hidden: i64,
    /// Filter size `K` (diffusion terms or Chebyshev order; unused by T-GCN).
    pub k: i64,
    /// Number of input steps `T` (used by A3T-GCN's attention and STGCN's output layer).
    pub periods: i64,
    /// Number of nodes `N` (used by STGCN's layer norm and Graph WaveNet's adaptive adjacency).
    pub nodes: i64,
    /// Number of values forecast per node.
    pub horizon: i64,
}

/// Encoder, ReLU, `Linear(hidden, horizon)`: maps `(B, T, N, F)` to `(B, N, horizon)`.
#[derive(Debug)]
pub struct Forecaster {
    /// The recurrent graph encoder.
    pub encoder: Box<dyn Encoder>,
    /// The head (PGT's `linear`).
    pub linear: nn::Linear,
}

impl Forecaster {
    /// Builds the model of `config` under `path` (`recurrent` and `linear`, as PGT names them).
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, config: &ModelConfig) -> Result<Self> {
        let p = path.borrow();
        let r = p / "recurrent";
        let c = config;
        let encoder: Box<dyn Encoder> = match c.kind {
            ModelKind::Dcrnn => Box::new(GraphGru::dcrnn(r, c.in_features, c.hidden, c.k)?),
            ModelKind::GConvGru => Box::new(GraphGru::gconv_gru(r, c.in_features, c.hidden, c.k)?),
            ModelKind::GConvLstm => Box::new(GConvLstm::new(r, c.in_features, c.hidden, c.k)?),
            ModelKind::Tgcn => Box::new(GraphGru::tgcn(r, c.in_features, c.hidden)?),
            ModelKind::A3tgcn => Box::new(A3tgcn::new(r, c.in_features, c.hidden, c.periods)?),
            ModelKind::Stgcn => Box::new(Stgcn::new(r, c.in_features, c.hidden, c.k, c.nodes, c.periods)?),
            ModelKind::GraphWaveNet => {
                Box::new(GraphWaveNet::new(r, c.in_features, c.hidden, c.k, c.nodes, 2)?)
            }
        };
        if c.horizon < 1 {
            return Err(HybridError::Config(format!(
                "horizon must be positive, got {}",
                c.horizon
            )));
        }
        let linear = nn::linear(p / "linear", encoder.hidden_size(), c.horizon, Default::default());
        Ok(Forecaster { encoder, linear })
    }

    /// Forecasts `(B, N, horizon)` from `x` `(B, T, N, F)`.
    pub fn f_forward(&self, x: &Tensor, graph: &Graph) -> Result<Tensor> {
        Ok(self.encoder.f_encode(x, graph)?.relu().apply(&self.linear))
    }
}
