//! Recurrent networks for seqgraph: an RNN passes a state along a chain,
//! `S_t = f(W_in X_t + W_s S_{t-1} + b)`, `O_t = g(W_out S_t + b_out)`.
#![deny(missing_docs)]
