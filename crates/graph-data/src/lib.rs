//! Graphs and sequences for seqgraph.
//!
//! The core of this crate is free of libtorch: it builds and tests fast and
//! alone. Tensor conversion sits behind the `tch` feature.
//!
//! - [`fetch`]: the data set manifest and verified fetching (mirror first,
//!   then the original URL, SHA-256 checked either way).
//! - [`edges`]: edge lists (COO), the exchange format between loaders and CSR.
//! - [`features`]: node feature matrices, dense or sparse.
//! - [`temporal`]: graph signals over time (static or dynamic graphs).
//! - [`tu`]: the TU Dortmund graph-classification sets; [`batch`]: many
//!   graphs as one block-diagonal batch, and a seeded prefetching loader.
//! - [`series_graph`]: time series read as graphs (causal lag graphs,
//!   natural and horizontal visibility graphs, multiplex over channels).
//! - [`link`]: link prediction: edge splits, negative sampling, metrics,
//!   link-level neighbour sampling.
#![deny(missing_docs)]

pub mod batch;
pub mod conllu;
pub mod csr;
pub mod dataset;
pub mod edges;
pub mod error;
pub mod features;
pub mod fetch;
pub mod generate;
pub mod gnn_benchmark;
pub mod info;
pub mod link;
pub mod norm;
pub mod npy;
pub mod petgraph_io;
pub mod pgt;
pub mod pickle;
pub mod planetoid;
pub mod ptb;
pub mod sampler;
pub mod series_graph;
pub mod tabular;
pub mod temporal;
#[cfg(feature = "tch")]
pub mod tensor;
pub mod text;
pub mod traffic;
pub mod tree;
pub mod ts;
pub mod tu;

pub use edges::EdgeList;
pub use error::{DataError, Result};
pub use features::{Features, SparseMatrix};
