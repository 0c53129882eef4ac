//! Multi-layer recurrent layers (`Rnn` with tanh or relu, `Lstm`, `Gru`) and their single-step cells.
//!
//! One set of parameters, named as PyTorch's state dict (`weight_ih_l0`, `weight_hh_l0_reverse`,
//! `bias_ih_l1`, ...), and two ways to run it:
//! - **fused**: libtorch's own kernels (`Tensor::lstm`, `gru`, `rnn_tanh`, `rnn_relu` and their
//!   packed-sequence variants), as `torch.nn.LSTM` runs them;
//! - **explicit**: a loop over time written from the equations below, for teaching, custom cells and
//!   gradient diagnostics.
//!
//! Equations (PyTorch's gate order; `x` the input, `h` the state, `*` elementwise):
//! - RNN: `h' = f(W_ih x + b_ih + W_hh h + b_hh)`, `f` = tanh or relu.
//! - LSTM: `[i, f, g, o] = W_ih x + b_ih + W_hh h + b_hh`; `c' = σ(f) * c + σ(i) * tanh(g)`,
//!   `h' = σ(o) * tanh(c')`.
//! - GRU: `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
//!   `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`, `h' = (1 - z) * n + z * h`.
//!
//! **Layout**: inputs and outputs are `[batch, time, features]` by default (`batch_first = true`, as in
//! tch); set `batch_first = false` for PyTorch's default `[time, batch, features]`. States are always
//! `[num_layers * num_directions, batch, hidden]`, as in PyTorch.
//!
//!
//! Files: this module holds the types and the layer; `params` the parameters
//! and their initialisation, `fused` libtorch's kernels, `explicit` the loop
//! from the equations, `gates` the gate equations themselves (over any linear maps, so graph-recurrent
//! cells share them), `cell` the single-step cell, `check` the input checks.

mod cell;
mod check;
mod explicit;
mod fused;
pub mod gates;
mod params;

use std::borrow::Borrow;

use tch::{nn, Device, Tensor};

use crate::error::{Result, SeqError};

pub use cell::RecurrentCell;
pub(crate) use check::{check_lengths, check_tensor, input_error, shape_error};
pub(crate) use explicit::explicit_step;
pub(crate) use params::DirParams;

/// Which recurrence a layer or cell computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Elman RNN with `tanh`.
    RnnTanh,
    /// Elman RNN with `relu`.
    RnnRelu,
    /// Long short-term memory (gates i, f, g, o).
    Lstm,
    /// Gated recurrent unit (gates r, z, n).
    Gru,
}

impl CellKind {
    /// How many blocks of `hidden` rows the input and recurrent weights have.
    pub fn gates(self) -> i64 {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// Whether the state carries a cell `c` beside `h` (LSTM only).
    pub fn has_cell(self) -> bool {
        self == CellKind::Lstm
    }

    /// The layer's name in error messages: `Rnn`, `Lstm` or `Gru`.
    pub fn layer_name(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "Rnn",
            CellKind::Lstm => "Lstm",
            CellKind::Gru => "Gru",
        }
    }

    /// The cell's name in error messages: `RnnCell`, `LstmCell` or `GruCell`.
    pub fn cell_name(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "RnnCell",
            CellKind::Lstm => "LstmCell",
            CellKind::Gru => "GruCell",
        }
    }
}

/// How a [`Recurrent`] layer is stacked and laid out. `Default` is one layer, one direction, no
/// dropout, biases, and **`batch_first = true`** (`[batch, time, features]`; PyTorch's default is false).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecurrentConfig {
    /// Number of stacked layers (PyTorch `num_layers`).
    pub num_layers: i64,
    /// Run a second, reversed direction and concatenate (PyTorch `bidirectional`).
    pub bidirectional: bool,
    /// Dropout on the outputs of every layer but the last, in training mode (PyTorch `dropout`).
    pub dropout: f64,
    /// `[batch, time, features]` when true (the default here), `[time, batch, features]` when false.
    pub batch_first: bool,
    /// Whether the layer has `bias_ih` and `bias_hh` (PyTorch `bias`).
    pub bias: bool,
}

impl Default for RecurrentConfig {
    fn default() -> Self {
        RecurrentConfig {
            num_layers: 1,
            bidirectional: false,
            dropout: 0.0,
            batch_first: true,
            bias: true,
        }
    }
}

/// The state of a stack of recurrences: `h` (and `c` for an LSTM), each
/// `[num_layers * num_directions, batch, hidden]` (for a cell: `[batch, hidden]`).
#[derive(Debug)]
pub struct RnnState {
    /// The hidden state.
    pub h: Tensor,
    /// The LSTM cell state; `None` for RNN and GRU.
    pub c: Option<Tensor>,
}

impl RnnState {
    /// A copy sharing storage (tch's `shallow_clone`).
    pub fn shallow_clone(&self) -> RnnState {
        RnnState {
            h: self.h.shallow_clone(),
            c: self.c.as_ref().map(Tensor::shallow_clone),
        }
    }
}

/// What a [`Recurrent`] layer returns: the last layer's outputs at every step (both directions
/// concatenated; zero at padded steps) and the final state of every layer and direction (for padded
/// sequences, the state after the last valid step).
#[derive(Debug)]
pub struct RnnOutput {
    /// `[batch, time, directions * hidden]` (or `[time, batch, ...]` when not batch-first).
    pub output: Tensor,
    /// Final states, `[num_layers * directions, batch, hidden]`.
    pub state: RnnState,
}

/// Which implementation runs the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// libtorch's fused kernels.
    Fused,
    /// The step-by-step loop from the equations.
    Explicit,
}

/// A stack of recurrent layers: `Rnn` (tanh/relu), `Lstm` or `Gru`, as `torch.nn.RNN/LSTM/GRU`.
///
/// ```
/// use seq_models::recurrent::{Recurrent, RecurrentConfig};
/// use tch::{nn, Device, Kind, Tensor};
///
/// let vs = nn::VarStore::new(Device::Cpu);
/// let lstm = Recurrent::lstm(vs.root(), 12, 32, RecurrentConfig::default());
/// let x = Tensor::randn([4, 29, 12], (Kind::Float, Device::Cpu)); // [batch, time, features]
/// let out = lstm.f_forward(&x, None, Some(&[29, 7, 15, 20]), false).unwrap();
/// assert_eq!(out.output.size(), [4, 29, 32]);
/// assert_eq!(out.state.h.size(), [1, 4, 32]); // the state after each sequence's last valid step
/// assert!(lstm.f_forward(&x, None, Some(&[30, 7, 15, 20]), false).is_err()); // 30 > T
/// ```
#[derive(Debug)]
pub struct Recurrent {
    kind: CellKind,
    input_size: i64,
    hidden_size: i64,
    config: RecurrentConfig,
    /// Indexed `layer * directions + direction`.
    params: Vec<DirParams>,
    flat: Vec<Tensor>,
    device: Device,
}

impl Recurrent {
    /// Creates the parameters under `path`, named as PyTorch's state dict, initialised as PyTorch does.
    ///
    /// Panics with [`Recurrent::f_new`]'s message on a configuration it refuses.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        input_size: i64,
        hidden_size: i64,
        config: RecurrentConfig,
    ) -> Recurrent {
        Self::f_new(path, kind, input_size, hidden_size, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Recurrent::new`]: sizes and `num_layers` must be positive, dropout in `[0, 1)`.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        input_size: i64,
        hidden_size: i64,
        config: RecurrentConfig,
    ) -> Result<Recurrent> {
        if input_size < 1 || hidden_size < 1 || config.num_layers < 1 {
            return Err(SeqError::Config(format!(
                "input_size {input_size}, hidden_size {hidden_size} and num_layers {} must be >= 1",
                config.num_layers
            )));
        }
        if !(0.0..1.0).contains(&config.dropout) {
            return Err(SeqError::Config(format!(
                "dropout {} is not in [0, 1)",
                config.dropout
            )));
        }
        let p = path.borrow();
        let dirs = if config.bidirectional { 2 } else { 1 };
        let mut params = Vec::new();
        for layer in 0..config.num_layers {
            let layer_in = if layer == 0 {
                input_size
            } else {
                hidden_size * dirs
            };
            for dir in 0..dirs {
                let suffix = format!("_l{layer}{}", if dir == 1 { "_reverse" } else { "" });
                params.push(DirParams::new(
                    p,
                    kind,
                    layer_in,
                    hidden_size,
                    config.bias,
                    &suffix,
                ));
            }
        }
        let flat = params.iter().flat_map(DirParams::flat).collect();
        Ok(Recurrent {
            kind,
            input_size,
            hidden_size,
            config,
            params,
            flat,
            device: p.device(),
        })
    }

    /// A `torch.nn.LSTM`.
    pub fn lstm<'a>(path: impl Borrow<nn::Path<'a>>, input: i64, hidden: i64, c: RecurrentConfig) -> Self {
        Self::new(path, CellKind::Lstm, input, hidden, c)
    }

    /// A `torch.nn.GRU`.
    pub fn gru<'a>(path: impl Borrow<nn::Path<'a>>, input: i64, hidden: i64, c: RecurrentConfig) -> Self {
        Self::new(path, CellKind::Gru, input, hidden, c)
    }

    /// A `torch.nn.RNN` with `nonlinearity='tanh'`.
    pub fn rnn<'a>(path: impl Borrow<nn::Path<'a>>, input: i64, hidden: i64, c: RecurrentConfig) -> Self {
        Self::new(path, CellKind::RnnTanh, input, hidden, c)
    }

    /// The recurrence computed.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// The configuration it was built with.
    pub fn config(&self) -> RecurrentConfig {
        self.config
    }

    /// Input features per step.
    pub fn input_size(&self) -> i64 {
        self.input_size
    }

    /// Hidden units per direction.
    pub fn hidden_size(&self) -> i64 {
        self.hidden_size
    }

    /// 2 when bidirectional, else 1.
    pub fn directions(&self) -> i64 {
        if self.config.bidirectional {
            2
        } else {
            1
        }
    }

    /// Features per step of the output: `directions * hidden_size`.
    pub fn output_size(&self) -> i64 {
        self.directions() * self.hidden_size
    }

    /// The recurrent weight `weight_hh_l{layer}` (`_reverse` when `reverse`).
    pub fn weight_hh(&self, layer: i64, reverse: bool) -> &Tensor {
        &self.params[(layer * self.directions() + reverse as i64) as usize].w_hh
    }

    /// The biases `(bias_ih, bias_hh)` of one layer and direction, if the layer has biases.
    pub fn biases(&self, layer: i64, reverse: bool) -> Option<(&Tensor, &Tensor)> {
        let p = &self.params[(layer * self.directions() + reverse as i64) as usize];
        p.b_ih.as_ref().zip(p.b_hh.as_ref())
    }

    /// The parameters of one layer and direction (index `layer * directions + direction`).
    pub(crate) fn dir_params(&self, index: usize) -> &DirParams {
        &self.params[index]
    }

    /// A zero state for `batch` sequences.
    pub fn zero_state(&self, batch: i64) -> RnnState {
        let shape = [
            self.config.num_layers * self.directions(),
            batch,
            self.hidden_size,
        ];
        let opts = (self.flat[0].kind(), self.device);
        RnnState {
            h: Tensor::zeros(shape, opts),
            c: self.kind.has_cell().then(|| Tensor::zeros(shape, opts)),
        }
    }

    /// Checks everything libtorch would otherwise abort on; returns `(batch, time)`.
    fn validate(
        &self,
        input: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
    ) -> Result<(i64, i64)> {
        let size = input.size();
        let layout = if self.config.batch_first {
            "[batch, time, "
        } else {
            "[time, batch, "
        };
        let layer = self.kind.layer_name();
        if size.len() != 3 || size[2] != self.input_size {
            return Err(shape_error(
                layer,
                "input",
                format!("{layout}{}]", self.input_size),
                size,
            ));
        }
        let (b, t) = if self.config.batch_first {
            (size[0], size[1])
        } else {
            (size[1], size[0])
        };
        if b == 0 || t == 0 {
            return Err(SeqError::Empty(format!(
                "{layer} input of shape {size:?} has no batch or no time steps"
            )));
        }
        let want = self.flat[0].kind();
        check_tensor(layer, "input", input, want, self.device)?;
        if let Some(s) = state {
            let shape = vec![self.config.num_layers * self.directions(), b, self.hidden_size];
            for (what, x) in [("state h", Some(&s.h)), ("state c", s.c.as_ref())] {
                let Some(x) = x else { continue };
                if x.size() != shape {
                    return Err(shape_error(layer, what, format!("{shape:?}"), x.size()));
                }
                check_tensor(layer, what, x, want, self.device)?;
            }
            if s.c.is_some() != self.kind.has_cell() {
                return Err(SeqError::Config(format!(
                    "{layer} expects a state {} a cell state c",
                    if self.kind.has_cell() { "with" } else { "without" }
                )));
            }
        }
        if let Some(lengths) = lengths {
            check_lengths(layer, lengths, b, t)?;
        }
        Ok((b, t))
    }

    /// Runs the layer with the fused libtorch kernels. `lengths` (one per batch row, each in `1..=T`)
    /// make padded steps leave the state unchanged and give zero outputs, as packed sequences do.
    /// `train` enables the dropout between layers.
    pub fn f_forward(
        &self,
        input: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> Result<RnnOutput> {
        self.f_forward_with(Implementation::Fused, input, state, lengths, train)
    }

    /// Runs the layer with the explicit step-by-step loop; same contract as [`Recurrent::f_forward`].
    pub fn f_forward_explicit(
        &self,
        input: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> Result<RnnOutput> {
        self.f_forward_with(Implementation::Explicit, input, state, lengths, train)
    }

    /// Runs the layer with the chosen implementation.
    pub fn f_forward_with(
        &self,
        imp: Implementation,
        input: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> Result<RnnOutput> {
        let (b, _) = self.validate(input, state, lengths)?;
        let zero;
        let state = match state {
            Some(s) => s,
            None => {
                zero = self.zero_state(b);
                &zero
            }
        };
        // Lengths that are all full need no packing.
        let lengths = lengths.filter(|l| l.iter().any(|&n| n != self.time_len(input)));
        match imp {
            Implementation::Fused => self.fused(input, state, lengths, train),
            Implementation::Explicit => Ok(self.explicit(input, state, lengths, train)),
        }
    }

    /// Panicking [`Recurrent::f_forward`] (fused): panics with the same message the error carries.
    pub fn forward(
        &self,
        input: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> RnnOutput {
        self.f_forward(input, state, lengths, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn time_len(&self, input: &Tensor) -> i64 {
        input.size()[if self.config.batch_first { 1 } else { 0 }]
    }
}

impl nn::ModuleT for Recurrent {
    /// The fused forward from a zero state; returns the outputs only.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward(xs, None, None, train).output
    }
}
