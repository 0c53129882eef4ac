//! Spatio-temporal graph-sequence networks: an RNN over time and a GNN over space.
//!
//! Every model reads a whole batch of sequences `(B, T, N, F)` at once (PyG
//! Temporal's layers take one snapshot at a time), on a static graph or on a
//! graph per step ([`Supports`]).
//!
//! - [`graph`]: supports over time and the graph operators inside the gates
//!   (diffusion, Chebyshev, GCN, identity), on graph-models' polynomial filters.
//! - [`recurrent`]: [`GraphRecurrent`], the one graph-recurrent cell:
//!   seq-models' gate equations with graph filters for linear maps (DCRNN,
//!   GConvGRU, T-GCN, GConvLSTM are configurations of it), and [`A3tgcn`].
//! - [`conv`]: [`Stgcn`] and [`GraphWaveNet`], convolutions over time.
//! - [`seq2seq`]: [`DcrnnSeq2Seq`], DCRNN's encoder-decoder with scheduled sampling.
//! - [`mod@forecast`]: encoder + ReLU + linear head, built by name.
//! - [`protocol`]: the published data protocols (PyG Temporal's Chickenpox
//!   recipe, T-GCN's Los-loop, flu_bybw, england_covid), baselines, test scores.
//! - [`train`]: [`fit_forecaster`], the training loop (checkpoints, guards,
//!   dynamic graphs, validation selection, patience), and prediction.
//! - [`recipe`]: [`forecast`](recipe::forecast), a data set, its protocol and
//!   several seeds as one call from a [`ForecastConfig`].
//! - [`mod@metrics`]: MAE, RMSE, MAPE, optionally masking zeros, per horizon.
//! - [`interop`]: PyG Temporal 0.56 state dicts loaded into GConvGRU,
//!   GConvLSTM, DCRNN, T-GCN and A3T-GCN (PGT-compatible variants where
//!   hybrid's cells differ by design), with PGT's graph operators.
//!
//! Every model follows one convention: `new(p, ...)` where `p` borrows an
//! `nn::Path`, a fallible twin `f_new` (or `f_dcrnn`, ...), and `forward` /
//! `f_forward`, whose input errors carry the
//! [`InputError`] every seqgraph crate shares.
//!
//! ```
//! use hybrid::{GraphRecurrent, Supports};
//! use tch::{nn, Device, Kind, Tensor};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let cell = GraphRecurrent::tgcn(vs.root(), 2, 8);
//! let a_hat = Tensor::eye(5, (Kind::Float, Device::Cpu)); // a graph of 5 isolated nodes
//! let x = Tensor::randn([3, 4, 5, 2], (Kind::Float, Device::Cpu)); // (B, T, N, F)
//! let (all, last) = cell.f_forward(&x, &Supports::Static(vec![a_hat]), None).unwrap();
//! assert_eq!(all.size(), [3, 4, 5, 8]);
//! assert_eq!(last.h.size(), [3, 5, 8]);
//! ```
#![deny(missing_docs)]

pub mod conv;
pub mod error;
pub mod forecast;
pub mod graph;
pub mod interop;
pub mod metrics;
pub mod protocol;
pub mod recipe;
pub mod recurrent;
pub mod seq2seq;
pub mod train;

pub use conv::{GraphWaveNet, Stgcn};
pub use error::{HybridError, InputError, Mismatch, Result, StateDictError};
pub use forecast::{Forecaster, Head, ModelConfig, ModelKind};
pub use graph::{GraphOp, SupportKind, Supports};
pub use metrics::{metrics, metrics_per_horizon, Mask, Metrics};
pub use recipe::{forecast, Dataset, ForecastConfig, ForecastSummary};
pub use recurrent::{A3tgcn, Encoder, GraphRecurrent, GraphRecurrentConfig};
pub use seq2seq::{DcrnnSeq2Seq, TeacherForcing};
pub use train::{fit_forecaster, persistence, predict, EpochLog, FitConfig, Fitted, Loss, Samples};
