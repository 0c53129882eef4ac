//! Recurrent networks for seqgraph: an RNN passes a state along a chain,
//! `S_t = f(W_in X_t + W_s S_{t-1} + b)`, `O_t = g(W_out S_t + b_out)`.
//!
//! - [`recurrent`]: `Rnn` (tanh/relu), `Lstm`, `Gru` as layers ([`Recurrent`]) and cells
//!   ([`RecurrentCell`]), fused libtorch kernels and an explicit loop over the same parameters, with
//!   PyTorch's state-dict names, shapes and packed-sequence semantics for variable lengths.
//! - [`modes`]: one-to-one, one-to-many, many-to-one, many-to-many (aligned and encoder-decoder).
//! - [`gradients`]: gradient norms through time and gradient clipping as experiments.
//! - [`diagnostics`]: gradient norms through time, Jacobian products, scaled-orthogonal init, clipping.
//! - [`io`]: save and load parameters as safetensors.
//! - [`recipe`]: the sequence tasks (adding, JapaneseVowels, Moby Dick, sunspots) as one call each.
#![deny(missing_docs)]

pub mod diagnostics;
pub mod error;
pub mod gradients;
pub mod io;
pub mod modes;
pub mod recipe;
pub mod recurrent;
pub mod schedule;
pub mod tree_lstm;

pub use error::{InputError, Mismatch, Result, SeqError};
pub use recurrent::{
    CellKind, Implementation, Recurrent, RecurrentCell, RecurrentConfig, RnnOutput, RnnState,
};
