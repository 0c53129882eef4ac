//! Spatio-temporal graph-sequence networks: an RNN over time and a GNN over space.
//!
//! Every model reads a whole batch of sequences `(B, T, N, F)` at once (PyG
//! Temporal's layers take one snapshot at a time), on a static graph or on a
//! graph per step ([`Graph`]).
//!
//! - [`graph`]: supports over time and the graph operators inside the gates
//!   (diffusion, Chebyshev, GCN).
//! - [`recurrent`]: [`GraphGru`] (DCRNN, GConvGRU, T-GCN), [`GConvLstm`], [`A3tgcn`].
//! - [`conv`]: [`Stgcn`] and [`GraphWaveNet`], convolutions over time.
//! - [`seq2seq`]: [`DcrnnSeq2Seq`], DCRNN's encoder-decoder with scheduled sampling.
//! - [`forecast`]: encoder + ReLU + linear head, built by name.
//! - [`train`]: batched training, prediction, the persistence baseline.
//! - [`recipe`]: Chickenpox (PyG Temporal's recipe) and Los-loop (T-GCN's protocol).
//! - [`metrics`]: MAE, RMSE, MAPE, optionally masking zeros, per horizon.
//!
//! ```
//! use hybrid::{Graph, GraphGru};
//! use tch::{nn, Device, Kind, Tensor};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let cell = GraphGru::tgcn(vs.root(), 2, 8).unwrap();
//! let a_hat = Tensor::eye(5, (Kind::Float, Device::Cpu)); // a graph of 5 isolated nodes
//! let x = Tensor::randn([3, 4, 5, 2], (Kind::Float, Device::Cpu)); // (B, T, N, F)
//! let (all, last) = cell.f_forward(&x, &Graph::Static(vec![a_hat]), None).unwrap();
//! assert_eq!(all.size(), [3, 4, 5, 8]);
//! assert_eq!(last.size(), [3, 5, 8]);
//! ```
#![deny(missing_docs)]

pub mod conv;
pub mod error;
pub mod forecast;
pub mod graph;
pub mod metrics;
pub mod recipe;
pub mod recurrent;
pub mod seq2seq;
pub mod train;

pub use conv::{GraphWaveNet, Stgcn};
pub use error::{HybridError, Result};
pub use forecast::{Forecaster, ModelConfig, ModelKind};
pub use graph::{propagate, Graph, GraphOp, SupportKind};
pub use metrics::{metrics, metrics_per_horizon, Mask, Metrics};
pub use recurrent::{A3tgcn, Encoder, GConvLstm, GraphGru};
pub use seq2seq::{DcrnnSeq2Seq, TeacherForcing};
pub use train::{
    fit, keep_freed_memory, peak_rss_mib, persistence, predict, FitConfig, FitReport, Loss, Samples,
};
