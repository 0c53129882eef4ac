//! Graph neural networks for seqgraph: a GNN passes messages along edges,
//! `h_v' = f(h_v, {h_u : u in N(v)})`.
//!
//! - [`Graph`]: a validated `edge_index` (PyG convention: row 0 source, row 1
//!   target) and the sparse operators derived from it, cached.
//! - [`MessagePassing`]: message, aggregate ([`Aggr`]), update; a fused sparse
//!   product when the message is linear.
//! - Layers ([`GnnLayer`]): [`GcnConv`], [`GatConv`], [`GatV2Conv`], [`SageConv`],
//!   [`GinConv`], [`ChebConv`], [`Appnp`], [`Gcn2Conv`], [`TransformerConv`];
//!   parameter names follow PyG's state dicts.
//! - [`NodeFeatures`]: dense or sparse input features (dropout on stored values).
//! - Depth: [`Residual`], [`ResPlus`], [`JumpingKnowledge`].
//! - [`smoothing`]: Dirichlet energy and MAD per layer, the depth study.
//! - [`models`] and [`train`]: node classification with the published recipes.
#![deny(missing_docs)]

pub mod appnp;
pub mod cheb;
pub mod error;
pub mod features;
pub mod gat;
pub mod gatv2;
pub mod gcn;
pub mod gcn2;
pub mod gin;
pub mod graph;
pub mod jk;
pub mod layer;
pub mod message_passing;
pub mod minibatch;
pub mod models;
pub mod residual;
pub mod sage;
pub mod smoothing;
pub mod train;
pub mod transformer;

pub use appnp::Appnp;
pub use cheb::ChebConv;
pub use error::{GnnError, Result};
pub use features::NodeFeatures;
pub use gat::{GatConfig, GatConv};
pub use gatv2::GatV2Conv;
pub use gcn::{GcnConfig, GcnConv};
pub use gcn2::Gcn2Conv;
pub use gin::GinConv;
pub use graph::Graph;
pub use jk::{JkMode, JumpingKnowledge};
pub use layer::GnnLayer;
pub use message_passing::{
    aggregate, f_aggregate, f_segment_softmax, segment_softmax, spmm, weighted_x_j, Aggr, Edges,
    MessagePassing,
};
pub use models::{Arch, NodeModel, Recipe, Select};
pub use residual::{ResPlus, Residual};
pub use sage::SageConv;
pub use train::{fit, median, train_node, NodeData, RunResult};
pub use transformer::{TransformerConfig, TransformerConv};
