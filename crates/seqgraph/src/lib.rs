//! seqgraph: learning on sequences and graphs, on libtorch through `tch`.
//!
//! An RNN and a GNN are the same machine: a state passed along a chain, or
//! messages passed along edges. This crate re-exports the four crates and
//! holds the recipes that combine them: [`text`], a sentence read as a
//! sequence, a tree and a graph; [`series`], a time series read as a
//! sequence or as a graph of its time points; [`unification`], an RNN as
//! message passing and attention as graph attention.
#![deny(missing_docs)]

pub mod series;
pub mod text;
pub mod unification;

pub use graph_data;
pub use graph_models;
pub use hybrid;
pub use seq_models;
pub use tch;
pub use train_utils;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
