//! Graph neural networks for seqgraph: a GNN passes messages along edges,
//! `h_v' = f(h_v, {h_u : u in N(v)})`.
//!
//! - [`Graph`]: a validated `edge_index` (PyG convention: row 0 source, row 1
//!   target) and the sparse operators derived from it, cached.
//! - [`MessagePassing`]: message, aggregate ([`Aggr`]), message_and_aggregate
//!   (the fused sparse path), update, over [`Edges`] (edge weights and
//!   attributes); `propagate` and the fallible `f_propagate`. Every layer below
//!   is built on it, with the helpers a layer author needs public:
//!   [`glorot`], [`lin_weight`], [`linear`], [`check_x`], [`segment_softmax`],
//!   [`spmm`] (and [`spmm_acc`], with an accumulator), [`dropout`].
//! - Layers ([`GnnLayer`]): [`GcnConv`], [`GatConv`], [`GatV2Conv`], [`SageConv`],
//!   [`GinConv`], [`ChebConv`], [`Appnp`], [`Gcn2Conv`], [`TransformerConv`];
//!   parameter names follow PyG's state dicts.
//! - [`polynomial`]: Chebyshev and power-series graph filters (the one
//!   Chebyshev recurrence, shared with hybrid's graph-recurrent cells).
//! - [`NodeFeatures`]: dense or sparse input features (dropout on stored values).
//! - Depth: [`Residual`], [`ResPlus`], [`JumpingKnowledge`].
//! - [`pool`]: graph-level readouts (global add/mean/max, attention,
//!   Set2Set, SortPool) over a batch of graphs.
//! - Graph classification: [`GinNet`] (GIN-0, GIN-eps, GINE) and
//!   [`graph_recipe`] (the TU sets under Xu et al.'s and Errica et al.'s
//!   protocols).
//! - Link prediction ([`link`]): [`Gae`], [`Vgae`], [`EncoderDecoder`] with the
//!   inner-product or [`HadamardDecoder`]; [`link_recipe`] (Kipf and Welling's
//!   protocol on Cora/CiteSeer as one call).
//! - [`smoothing`]: Dirichlet energy and MAD per layer, the depth study.
//! - [`Arch`] (networks by name, [`nets`]) with their published
//!   [`Hyperparams`], [`train`] (the training loop on `train_utils`) and
//!   [`recipe`] (node classification on Cora/CiteSeer as one call).
//!
//! Every layer follows one convention: `new(p, in, out, Config)` where `p` is
//! anything that borrows an `nn::Path` and `Config` has PyG's defaults
//! (`Default`), a fallible twin `f_new` returning [`GnnError::Config`], and
//! `forward_t` / `f_forward_t` ([`GnnLayer`]) whose errors carry the
//! [`InputError`] every seqgraph crate shares.
#![deny(missing_docs)]

pub mod appnp;
pub mod arch;
pub mod cheb;
pub mod error;
pub mod features;
pub mod gat;
pub mod gatv2;
pub mod gcn;
pub mod gcn2;
pub mod gin;
pub mod graph;
pub mod graph_level;
pub mod graph_recipe;
pub mod jk;
pub mod layer;
pub mod link;
pub mod link_recipe;
pub mod message_passing;
pub mod minibatch;
pub mod nets;
pub mod node_model;
pub mod polynomial;
pub mod pool;
pub mod recipe;
pub mod residual;
pub mod sage;
pub mod smoothing;
pub mod train;
pub mod transformer;

// Unit tests that seed or draw from libtorch's global generator hold this lock: the tests of
// one binary run in parallel, and a seeded training test's draws must be its own.
#[cfg(test)]
pub(crate) static TEST_GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub use appnp::{Appnp, AppnpConfig};
pub use arch::{Arch, Hyperparams, Select};
pub use cheb::{ChebConfig, ChebConv};
pub use error::{GnnError, InputError, Mismatch, Result};
pub use features::NodeFeatures;
pub use gat::{GatConfig, GatConv};
pub use gatv2::GatV2Conv;
pub use gcn::{GcnConfig, GcnConv};
pub use gcn2::{Gcn2Config, Gcn2Conv};
pub use gin::{GinConfig, GinConv};
pub use graph::{check_x, Graph};
pub use graph_level::{GinNet, GinNetConfig, GinReadout, GinVariant};
pub use graph_recipe::{
    errica_grid, graph_classification, graph_classification_grid, xu_grid, GraphConfig, GraphSummary,
    GridSummary, Protocol,
};
pub use jk::{JkMode, JumpingKnowledge};
pub use layer::{dropout, glorot, is_sparse, lin_weight, linear, GnnLayer};
pub use link::{Decoder, EncoderDecoder, Gae, HadamardConfig, HadamardDecoder, LinkModel, Vgae};
pub use link_recipe::{link_prediction, LinkArch, LinkConfig, LinkLoss, LinkSummary};
pub use message_passing::{
    aggregate, f_aggregate, f_segment_softmax, segment_softmax, spmm, spmm_acc, weighted_x_j, Aggr, Edges,
    MessagePassing,
};
pub use node_model::NodeModel;
pub use recipe::{node_classification, NodeConfig, NodeSummary};
pub use residual::{ResPlus, ResPlusConfig, Residual};
pub use sage::{SageConfig, SageConv};
pub use train::{fit_node, train_node, NodeData, NodeRun};
pub use transformer::{TransformerConfig, TransformerConv};
