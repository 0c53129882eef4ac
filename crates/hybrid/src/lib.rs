//! Spatio-temporal graph-sequence networks: an RNN over time and a GNN over space.
#![deny(missing_docs)]
