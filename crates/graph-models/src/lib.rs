//! Graph neural networks for seqgraph: a GNN passes messages along edges,
//! `h_v' = f(h_v, {h_u : u in N(v)})`.
#![deny(missing_docs)]
