//! A forecaster: a graph recurrent encoder, ReLU, and a linear head that maps
//! each node's summary to the next `horizon` values (PGT's recipe shape).

use crate::conv::{GraphWaveNet, Stgcn};
use crate::error::{HybridError, Result};
use crate::graph::{SupportKind, Supports};
use crate::recurrent::{A3tgcn, Encoder, GraphRecurrent};
use crate::seq2seq::{DcrnnSeq2Seq, TeacherForcing};
use std::borrow::Borrow;
use std::str::FromStr;
use tch::{nn, Tensor};

/// The recurrent graph models a [`Forecaster`] can be built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// [`GraphRecurrent::dcrnn`].
    Dcrnn,
    /// [`GraphRecurrent::gconv_gru`].
    GConvGru,
    /// [`GraphRecurrent::gconv_lstm`].
    GConvLstm,
    /// [`GraphRecurrent::tgcn`].
    Tgcn,
    /// [`A3tgcn`].
    A3tgcn,
    /// [`Stgcn`].
    Stgcn,
    /// [`GraphWaveNet`].
    GraphWaveNet,
    /// [`DcrnnSeq2Seq`]: DCRNN's encoder-decoder with scheduled sampling.
    DcrnnSeq2Seq,
}

impl ModelKind {
    /// Every model, in the order of the command line's help.
    pub const ALL: [ModelKind; 8] = [
        ModelKind::Dcrnn,
        ModelKind::GConvGru,
        ModelKind::GConvLstm,
        ModelKind::Tgcn,
        ModelKind::A3tgcn,
        ModelKind::Stgcn,
        ModelKind::GraphWaveNet,
        ModelKind::DcrnnSeq2Seq,
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
            ModelKind::DcrnnSeq2Seq => "dcrnn-seq2seq",
        }
    }

    /// The supports the model needs.
    pub fn support_kind(self) -> SupportKind {
        match self {
            ModelKind::Dcrnn | ModelKind::GraphWaveNet | ModelKind::DcrnnSeq2Seq => SupportKind::Transitions,
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

/// What sits between a [`Forecaster`]'s encoder and its forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// ReLU, then `Linear(hidden, horizon)`: PyG Temporal's recipes.
    ReluLinear,
    /// `Linear(hidden, horizon)` on the last hidden state: T-GCN's regressor.
    Linear,
}

/// What a [`Forecaster`] is built from. `Default`: DCRNN, one feature, hidden
/// 32, K 2, 12 steps in, one node, one step out, ReLU head (set `nodes` and
/// `periods` to the data's).
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
    /// The head after the encoder (unused by [`ModelKind::DcrnnSeq2Seq`]).
    pub head: Head,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: ModelKind::Dcrnn,
            in_features: 1,
            hidden: 32,
            k: 2,
            periods: 12,
            nodes: 1,
            horizon: 1,
            head: Head::ReluLinear,
        }
    }
}

/// Encoder, ReLU, `Linear(hidden, horizon)`, or DCRNN's encoder-decoder:
/// maps `(B, T, N, F)` to `(B, N, horizon)`.
#[derive(Debug)]
pub enum Forecaster {
    /// An encoder's summary through ReLU and a linear head (PGT's recipe shape).
    Head {
        /// The graph encoder (PGT's `recurrent`).
        encoder: Box<dyn Encoder>,
        /// The head (PGT's `linear`).
        linear: nn::Linear,
        /// Whether ReLU comes between the encoder and the head (PGT's recipes:
        /// yes; T-GCN's regressor reads the hidden state directly).
        relu: bool,
    },
    /// DCRNN's encoder-decoder over the horizon.
    Seq2Seq(Box<DcrnnSeq2Seq>),
}

impl Forecaster {
    /// Builds the model of `config` under `path` (`recurrent` and `linear`, as
    /// PGT names them); panics with [`Forecaster::f_new`]'s message on a
    /// configuration it refuses.
    pub fn new<'a, P: Borrow<nn::Path<'a>>>(path: P, config: &ModelConfig) -> Self {
        Self::f_new(path, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Forecaster::new`], or [`HybridError::Config`] for sizes it refuses.
    pub fn f_new<'a, P: Borrow<nn::Path<'a>>>(path: P, config: &ModelConfig) -> Result<Self> {
        let p = path.borrow();
        let r = p / "recurrent";
        let c = config;
        if c.horizon < 1 {
            return Err(HybridError::Config(format!(
                "horizon must be positive, got {}",
                c.horizon
            )));
        }
        let encoder: Box<dyn Encoder> = match c.kind {
            ModelKind::Dcrnn => Box::new(GraphRecurrent::f_dcrnn(r, c.in_features, c.hidden, c.k)?),
            ModelKind::GConvGru => Box::new(GraphRecurrent::f_gconv_gru(r, c.in_features, c.hidden, c.k)?),
            ModelKind::GConvLstm => Box::new(GraphRecurrent::f_gconv_lstm(r, c.in_features, c.hidden, c.k)?),
            ModelKind::Tgcn => Box::new(GraphRecurrent::f_tgcn(r, c.in_features, c.hidden)?),
            ModelKind::A3tgcn => Box::new(A3tgcn::f_new(r, c.in_features, c.hidden, c.periods)?),
            ModelKind::Stgcn => Box::new(Stgcn::f_new(r, c.in_features, c.hidden, c.k, c.nodes, c.periods)?),
            ModelKind::GraphWaveNet => {
                Box::new(GraphWaveNet::f_new(r, c.in_features, c.hidden, c.k, c.nodes, 2)?)
            }
            ModelKind::DcrnnSeq2Seq => {
                return Ok(Forecaster::Seq2Seq(Box::new(DcrnnSeq2Seq::f_new(
                    r,
                    c.in_features,
                    c.hidden,
                    c.k,
                    c.horizon,
                )?)))
            }
        };
        let linear = nn::linear(p / "linear", encoder.hidden_size(), c.horizon, Default::default());
        Ok(Forecaster::Head {
            encoder,
            linear,
            relu: c.head == Head::ReluLinear,
        })
    }

    /// [`Forecaster::f_forward`], panicking with its message on bad input.
    pub fn forward(&self, x: &Tensor, graph: &Supports) -> Tensor {
        self.f_forward(x, graph).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Forecasts `(B, N, horizon)` from `x` `(B, T, N, F)` (the decoder, if
    /// any, fed its own predictions).
    pub fn f_forward(&self, x: &Tensor, graph: &Supports) -> Result<Tensor> {
        match self {
            Forecaster::Head {
                encoder,
                linear,
                relu,
            } => {
                let h = encoder.f_encode(x, graph)?;
                Ok(if *relu { h.relu() } else { h }.apply(linear))
            }
            Forecaster::Seq2Seq(m) => m.f_forward(x, graph, None),
        }
    }

    /// The training forward pass: as [`f_forward`](Self::f_forward), except that
    /// an encoder-decoder is fed the targets `y` `(B, N, horizon)` with
    /// scheduled sampling after `batches_seen` training batches (Li et al.'s
    /// decay constant 2000).
    pub fn f_forward_train(
        &self,
        x: &Tensor,
        graph: &Supports,
        y: &Tensor,
        batches_seen: usize,
    ) -> Result<Tensor> {
        match self {
            Forecaster::Head { .. } => self.f_forward(x, graph),
            Forecaster::Seq2Seq(m) => {
                let forcing = TeacherForcing {
                    batches_seen,
                    decay_steps: 2000.0,
                };
                m.f_forward(x, graph, Some((y, forcing)))
            }
        }
    }
}
