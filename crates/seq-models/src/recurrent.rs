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
//! **Speed** (CPU, one thread, forward + backward of one LSTM layer; `cargo xtask bench --suite seq`,
//! numbers in `docs/benchmarks.md`): the fused path is the kernel `torch.nn.LSTM` runs, oneDNN's RNN
//! for float32 (ours 0.82 ms vs torch 0.89 ms at B=32, T=29, I=12, H=64; 32.6 vs 31.3 ms at B=64,
//! T=100, I=32, H=128). The explicit loop is ATen ops under autograd, a little faster than torch's own
//! per-step loop (oneDNN off): 2.97 ms (3.6x fused) and 45.4 ms (1.4x fused). Its floor is the three
//! matrix products of each step (forward, and two in the backward), which libtorch hands to MKL; on an
//! AMD CPU MKL runs them on AVX2 while oneDNN's RNN kernel uses AVX-512. With the six gate operations
//! a step cannot do without, that floor is 2.06x fused at the small shape (`benches/examples/lstm_timing.rs`
//! prints it).

use std::borrow::Borrow;

use tch::{nn, Device, Kind, Tensor};

use crate::error::{Mismatch, Result, SeqError};

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

/// The parameters of one layer and direction.
#[derive(Debug)]
pub(crate) struct DirParams {
    pub(crate) w_ih: Tensor,
    pub(crate) w_hh: Tensor,
    pub(crate) b_ih: Option<Tensor>,
    pub(crate) b_hh: Option<Tensor>,
}

impl DirParams {
    fn new(p: &nn::Path, kind: CellKind, input: i64, hidden: i64, bias: bool, suffix: &str) -> DirParams {
        // PyTorch initialises every weight and bias of its recurrent layers from U(-1/sqrt(H), 1/sqrt(H)).
        let k = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -k, up: k };
        let g = kind.gates() * hidden;
        DirParams {
            w_ih: p.var(&format!("weight_ih{suffix}"), &[g, input], init),
            w_hh: p.var(&format!("weight_hh{suffix}"), &[g, hidden], init),
            b_ih: bias.then(|| p.var(&format!("bias_ih{suffix}"), &[g], init)),
            b_hh: bias.then(|| p.var(&format!("bias_hh{suffix}"), &[g], init)),
        }
    }

    fn flat(&self) -> Vec<Tensor> {
        let mut v = vec![self.w_ih.shallow_clone(), self.w_hh.shallow_clone()];
        v.extend(self.b_ih.iter().map(Tensor::shallow_clone));
        v.extend(self.b_hh.iter().map(Tensor::shallow_clone));
        v
    }
}

/// One step of the recurrence from the equations, given the input term `xw` already computed (for a
/// whole sequence it is one matrix product, outside the time loop). `w_hh_t` is the recurrent weight
/// transposed (`[H, gates * H]`, a view), so each step is one `addmm`.
///
/// For RNN and LSTM, `xw = W_ih x + b_ih + b_hh` may already carry `b_hh` (then pass `b_hh = None`);
/// for GRU, `xw = W_ih x + b_ih` and `b_hh` is passed, since `b_hn` sits inside `r * (W_hn h + b_hn)`.
pub(crate) fn explicit_step(
    kind: CellKind,
    xw: &Tensor,
    h: &Tensor,
    c: Option<&Tensor>,
    w_hh_t: &Tensor,
    b_hh: Option<&Tensor>,
) -> (Tensor, Option<Tensor>) {
    let pre = || {
        let pre = xw.addmm(h, w_hh_t);
        match b_hh {
            Some(b) => pre + b,
            None => pre,
        }
    };
    match kind {
        CellKind::RnnTanh => (pre().tanh(), None),
        CellKind::RnnRelu => (pre().relu(), None),
        CellKind::Lstm => {
            let gates = pre().chunk(4, -1);
            let (i, f, g, o) = (
                gates[0].sigmoid(),
                gates[1].sigmoid(),
                gates[2].tanh(),
                gates[3].sigmoid(),
            );
            let c = c.expect("an LSTM step needs a cell state");
            // c' = f * c + i * g, as one addcmul.
            let c_new = (f * c).addcmul(&i, &g);
            (o * c_new.tanh(), Some(c_new))
        }
        CellKind::Gru => {
            let hw = match b_hh {
                Some(b) => b.addmm(h, w_hh_t),
                None => h.mm(w_hh_t),
            };
            let xs = xw.chunk(3, -1);
            let hs = hw.chunk(3, -1);
            let r = (&xs[0] + &hs[0]).sigmoid();
            let z = (&xs[1] + &hs[1]).sigmoid();
            let n = xs[2].addcmul(&r, &hs[2]).tanh();
            // h' = (1 - z) * n + z * h = n + z * (h - n).
            let h_new = n.addcmul(&z, &(h - &n));
            (h_new, None)
        }
    }
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
    /// Panics on a configuration [`Recurrent::try_new`] rejects.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        input_size: i64,
        hidden_size: i64,
        config: RecurrentConfig,
    ) -> Recurrent {
        Self::try_new(path, kind, input_size, hidden_size, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible [`Recurrent::new`]: sizes and `num_layers` must be positive, dropout in `[0, 1)`.
    pub fn try_new<'a>(
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

    fn fused(
        &self,
        input: &Tensor,
        state: &RnnState,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> Result<RnnOutput> {
        let c = &self.config;
        let (nl, bi, bf, p) = (c.num_layers, c.bidirectional, c.batch_first, c.dropout);
        let Some(lengths) = lengths else {
            let (output, state) = match self.kind {
                CellKind::Lstm => {
                    let hx = [
                        state.h.shallow_clone(),
                        state.c.as_ref().expect("validated").shallow_clone(),
                    ];
                    let (o, h, c) = input.f_lstm(&hx, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: Some(c) })
                }
                CellKind::Gru => {
                    let (o, h) = input.f_gru(&state.h, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: None })
                }
                CellKind::RnnTanh => {
                    let (o, h) = input.f_rnn_tanh(&state.h, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: None })
                }
                CellKind::RnnRelu => {
                    let (o, h) = input.f_rnn_relu(&state.h, &self.flat, c.bias, nl, p, train, bi, bf)?;
                    (o, RnnState { h, c: None })
                }
            };
            return Ok(RnnOutput { output, state });
        };
        // Packed sequences must be sorted by decreasing length: sort, run, and undo the sort.
        let total = self.time_len(input);
        let mut order: Vec<i64> = (0..lengths.len() as i64).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lengths[i as usize]));
        let mut inverse = vec![0i64; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            inverse[i as usize] = pos as i64;
        }
        let order_t = Tensor::from_slice(&order).to_device(self.device);
        let inverse_t = Tensor::from_slice(&inverse).to_device(self.device);
        let sorted_lengths: Vec<i64> = order.iter().map(|&i| lengths[i as usize]).collect();
        let batch_dim = if bf { 0 } else { 1 };
        let x = input.f_index_select(batch_dim, &order_t)?;
        let h0 = state.h.f_index_select(1, &order_t)?;
        let (data, batch_sizes) =
            x.f_internal_pack_padded_sequence(&Tensor::from_slice(&sorted_lengths), bf)?;
        let (data, h, cell) = match self.kind {
            CellKind::Lstm => {
                let c0 = state.c.as_ref().expect("validated").f_index_select(1, &order_t)?;
                let (o, h, cc) = Tensor::f_lstm_data(
                    &data,
                    &batch_sizes,
                    &[h0, c0],
                    &self.flat,
                    c.bias,
                    nl,
                    p,
                    train,
                    bi,
                )?;
                (o, h, Some(cc))
            }
            CellKind::Gru => {
                let (o, h) =
                    Tensor::f_gru_data(&data, &batch_sizes, &h0, &self.flat, c.bias, nl, p, train, bi)?;
                (o, h, None)
            }
            CellKind::RnnTanh => {
                let (o, h) =
                    Tensor::f_rnn_tanh_data(&data, &batch_sizes, &h0, &self.flat, c.bias, nl, p, train, bi)?;
                (o, h, None)
            }
            CellKind::RnnRelu => {
                let (o, h) =
                    Tensor::f_rnn_relu_data(&data, &batch_sizes, &h0, &self.flat, c.bias, nl, p, train, bi)?;
                (o, h, None)
            }
        };
        let (output, _) = Tensor::f_internal_pad_packed_sequence(&data, &batch_sizes, bf, 0.0, total)?;
        let output = output.f_index_select(batch_dim, &inverse_t)?;
        let h = h.f_index_select(1, &inverse_t)?;
        let c = cell.map(|c| c.f_index_select(1, &inverse_t)).transpose()?;
        Ok(RnnOutput {
            output,
            state: RnnState { h, c },
        })
    }

    fn explicit(&self, input: &Tensor, state: &RnnState, lengths: Option<&[i64]>, train: bool) -> RnnOutput {
        let steps = self.explicit_steps(input, state, lengths, train);
        let output = if self.config.batch_first {
            steps.output.transpose(0, 1)
        } else {
            steps.output
        };
        RnnOutput {
            output,
            state: steps.state,
        }
    }

    /// The explicit loop, keeping every step's state of the last layer (for gradient diagnostics).
    pub(crate) fn explicit_steps(
        &self,
        input: &Tensor,
        state: &RnnState,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> ExplicitRun {
        // Time-major inside: x is [T, B, I].
        let mut x = if self.config.batch_first {
            input.transpose(0, 1)
        } else {
            input.shallow_clone()
        };
        let t = x.size()[0];
        // mask[t, b] = 1 while step t is inside sequence b.
        let mask = lengths.map(|l| {
            let len = Tensor::from_slice(l).to_device(self.device);
            Tensor::arange(t, (Kind::Int64, self.device))
                .unsqueeze(1)
                .lt_tensor(&len.unsqueeze(0))
                .to_kind(x.kind())
                .unsqueeze(-1)
        });
        let dirs = self.directions();
        let (mut hs, mut cs, mut last_steps) = (Vec::new(), Vec::new(), Vec::new());
        for layer in 0..self.config.num_layers {
            let mut outs = Vec::new();
            for dir in 0..dirs {
                let idx = layer * dirs + dir;
                let p = &self.params[idx as usize];
                let h0 = state.h.get(idx);
                let c0 = state.c.as_ref().map(|c| c.get(idx));
                let run = run_direction(self.kind, p, &x, h0, c0, mask.as_ref(), dir == 1);
                outs.push(Tensor::stack(&run.outputs, 0));
                hs.push(run.h);
                cs.extend(run.c);
                if layer == self.config.num_layers - 1 && dir == 0 {
                    last_steps = run.states;
                }
            }
            x = Tensor::cat(&outs, -1);
            if layer + 1 < self.config.num_layers && self.config.dropout > 0.0 {
                x = x.dropout(self.config.dropout, train);
            }
        }
        let c = self.kind.has_cell().then(|| Tensor::stack(&cs, 0));
        ExplicitRun {
            output: x,
            state: RnnState {
                h: Tensor::stack(&hs, 0),
                c,
            },
            states: last_steps,
        }
    }
}

/// What the explicit loop returns (time-major output).
pub(crate) struct ExplicitRun {
    pub(crate) output: Tensor,
    pub(crate) state: RnnState,
    /// Forward direction of the last layer: the state after every step, in time order.
    pub(crate) states: Vec<RnnState>,
}

struct DirectionRun {
    outputs: Vec<Tensor>,
    h: Tensor,
    c: Option<Tensor>,
    states: Vec<RnnState>,
}

/// One direction of one layer over a time-major input `[T, B, I]`.
fn run_direction(
    kind: CellKind,
    p: &DirParams,
    x: &Tensor,
    mut h: Tensor,
    mut c: Option<Tensor>,
    mask: Option<&Tensor>,
    reverse: bool,
) -> DirectionRun {
    // The input term of every step in one product; for RNN and LSTM it also carries b_hh, so that a
    // step is one addmm. `unbind` gives every step a view with a single backward node (indexing step
    // by step would make each step's backward write a zero-filled [T, B, gates * H] gradient).
    let (bias, b_hh) = match (kind, &p.b_ih, &p.b_hh) {
        (CellKind::Gru, b_ih, b_hh) => (b_ih.as_ref().map(Tensor::shallow_clone), b_hh.as_ref()),
        (_, Some(b_ih), Some(b_hh)) => (Some(b_ih + b_hh), None),
        (_, b_ih, b_hh) => (b_ih.as_ref().or(b_hh.as_ref()).map(Tensor::shallow_clone), None),
    };
    let lstm = (kind == CellKind::Lstm).then(|| LstmGates::new(p.w_hh.size()[1], x.kind(), x.device()));
    let (xw, w_hh_t) = match &lstm {
        // The LSTM loop runs on the g rows doubled (see LstmGates).
        Some(g) => (
            x.linear(&g.double_g(&p.w_ih), bias.map(|b| g.double_g(&b)).as_ref()),
            g.double_g(&p.w_hh).tr(),
        ),
        None => (x.linear(&p.w_ih, bias.as_ref()), p.w_hh.tr()),
    };
    let xw = xw.unbind(0);
    let t = xw.len();
    let mut outputs = Vec::with_capacity(t);
    let mut states = Vec::with_capacity(t);
    let order: Vec<usize> = if reverse {
        (0..t).rev().collect()
    } else {
        (0..t).collect()
    };
    for &step in &order {
        let (h_new, c_new) = match &lstm {
            Some(g) => {
                let (h_new, c_new) = g.step(&xw[step], &h, c.as_ref().expect("an LSTM has a cell"), &w_hh_t);
                (h_new, Some(c_new))
            }
            None => explicit_step(kind, &xw[step], &h, c.as_ref(), &w_hh_t, b_hh),
        };
        match mask {
            // Padded steps keep the previous state and output zero (as packed sequences do); for the
            // reverse direction this also starts each sequence at its own last valid step.
            Some(m) => {
                let m = m.get(step as i64);
                h = &m * &h_new + (1.0 - &m) * &h;
                c = c_new.map(|cn| &m * cn + (1.0 - &m) * c.as_ref().expect("lstm"));
                outputs.push(&m * &h);
            }
            None => {
                h = h_new;
                c = c_new;
                outputs.push(h.shallow_clone());
            }
        }
        states.push(RnnState {
            h: h.shallow_clone(),
            c: c.as_ref().map(Tensor::shallow_clone),
        });
    }
    if reverse {
        outputs.reverse();
        states.reverse();
    }
    DirectionRun {
        outputs,
        h,
        c,
        states,
    }
}

/// The LSTM step of the layer loop, with one sigmoid for all four gates: `tanh(x) = 2σ(2x) - 1`, so with
/// the `g` rows of `W_ih`, `W_hh` and the biases doubled (once per call, [`LstmGates::double_g`]), the
/// step is `s = σ(xw + W_hh h)`, `[i, f, u, o] = s`, `g = 2u - 1`, `c' = f * c + i * g`,
/// `h' = o * tanh(c')`: eight ATen ops (addmm, sigmoid, chunk, addcmul, mul, addcmul, tanh, mul)
/// where the four separate activations take ten, and autograd keeps `s` and `g` (`[B, 5H]` a step,
/// against `[B, 4H]` for separate activations). Same values as [`explicit_step`] up to rounding (the
/// agreement tests hold it to 1e-5 against the fused kernel); each op costs about 3 us of dispatch and
/// autograd on a CPU, which is most of a small layer's time.
struct LstmGates {
    /// `[1, 1, 2, 1]` per gate block (a `[4H]` vector).
    scale: Tensor,
    /// The scalars -1 and 2, for `g = -1 + u * 2` in one op.
    minus_one: Tensor,
    two: Tensor,
}

impl LstmGates {
    fn new(hidden: i64, kind: Kind, device: Device) -> LstmGates {
        let h = hidden as usize;
        let scale: Vec<f32> = (0..4 * h).map(|k| if k / h == 2 { 2.0 } else { 1.0 }).collect();
        let t = |v: &[f32]| Tensor::from_slice(v).to_kind(kind).to_device(device);
        LstmGates {
            scale: t(&scale),
            minus_one: t(&[-1.0]),
            two: t(&[2.0]),
        }
    }

    /// `w` (`[4H, n]` or `[4H]`) with its `g` rows doubled.
    fn double_g(&self, w: &Tensor) -> Tensor {
        if w.dim() == 2 {
            w * self.scale.unsqueeze(1)
        } else {
            w * &self.scale
        }
    }

    /// One step on the doubled input term `xw` and transposed doubled recurrent weight; returns `(h', c')`.
    fn step(&self, xw: &Tensor, h: &Tensor, c: &Tensor, w_hh_t: &Tensor) -> (Tensor, Tensor) {
        let s = xw.addmm(h, w_hh_t).sigmoid().chunk(4, -1);
        let g = self.minus_one.addcmul(&s[2], &self.two);
        let c_new = (&s[1] * c).addcmul(&s[0], &g);
        (&s[3] * c_new.tanh(), c_new)
    }
}

impl nn::ModuleT for Recurrent {
    /// The fused forward from a zero state; returns the outputs only.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward(xs, None, None, train).output
    }
}

/// `layer expects what of shape expected, got got`.
pub(crate) fn shape_error(
    layer: &'static str,
    what: &'static str,
    expected: String,
    got: Vec<i64>,
) -> SeqError {
    SeqError::Input {
        layer,
        what,
        mismatch: Mismatch::Shape { expected, got },
    }
}

/// Checks that `x` has the parameters' kind and device.
pub(crate) fn check_tensor(
    layer: &'static str,
    what: &'static str,
    x: &Tensor,
    kind: Kind,
    device: Device,
) -> Result<()> {
    let mismatch = if x.kind() != kind {
        Mismatch::Kind {
            expected: kind,
            got: x.kind(),
        }
    } else if x.device() != device {
        Mismatch::Device {
            expected: device,
            got: x.device(),
        }
    } else {
        return Ok(());
    };
    Err(SeqError::Input {
        layer,
        what,
        mismatch,
    })
}

/// Checks one length per batch row, each in `1..=time`.
pub(crate) fn check_lengths(layer: &'static str, lengths: &[i64], batch: i64, time: i64) -> Result<()> {
    if lengths.len() as i64 != batch {
        return Err(SeqError::Lengths(format!(
            "{layer} got {} lengths for a batch of {batch}",
            lengths.len()
        )));
    }
    if let Some(&bad) = lengths.iter().find(|&&n| n < 1 || n > time) {
        return Err(SeqError::Lengths(format!(
            "{layer} got length {bad}, outside 1..={time}"
        )));
    }
    Ok(())
}

/// A single step of a recurrence, as `torch.nn.LSTMCell` / `GRUCell` / `RNNCell`, with PyTorch's names
/// `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
///
/// ```
/// use seq_models::recurrent::{CellKind, RecurrentCell};
/// use tch::{nn, Device, Kind, Tensor};
///
/// let vs = nn::VarStore::new(Device::Cpu);
/// let cell = RecurrentCell::new(vs.root(), CellKind::Gru, 3, 5);
/// let s = cell.f_step(&Tensor::randn([2, 3], (Kind::Float, Device::Cpu)), None).unwrap();
/// assert_eq!(s.h.size(), [2, 5]);
/// ```
#[derive(Debug)]
pub struct RecurrentCell {
    kind: CellKind,
    input_size: i64,
    hidden_size: i64,
    p: DirParams,
}

impl RecurrentCell {
    /// Creates a cell with biases, initialised as PyTorch does.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        input_size: i64,
        hidden_size: i64,
    ) -> Self {
        let p = DirParams::new(path.borrow(), kind, input_size, hidden_size, true, "");
        RecurrentCell {
            kind,
            input_size,
            hidden_size,
            p,
        }
    }

    /// The recurrence computed.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// Hidden units.
    pub fn hidden_size(&self) -> i64 {
        self.hidden_size
    }

    /// The recurrent weight `weight_hh`.
    pub fn weight_hh(&self) -> &Tensor {
        &self.p.w_hh
    }

    /// A zero state `[batch, hidden]`.
    pub fn zero_state(&self, batch: i64) -> RnnState {
        let opts = (self.p.w_hh.kind(), self.p.w_hh.device());
        let z = || Tensor::zeros([batch, self.hidden_size], opts);
        RnnState {
            h: z(),
            c: self.kind.has_cell().then(z),
        }
    }

    fn validate(&self, x: &Tensor, state: Option<&RnnState>) -> Result<()> {
        let size = x.size();
        let layer = self.kind.cell_name();
        if size.len() != 2 || size[1] != self.input_size || size[0] == 0 {
            return Err(shape_error(
                layer,
                "input",
                format!("[batch >= 1, {}]", self.input_size),
                size,
            ));
        }
        let (kind, device) = (self.p.w_hh.kind(), self.p.w_hh.device());
        check_tensor(layer, "input", x, kind, device)?;
        if let Some(s) = state {
            let shape = vec![size[0], self.hidden_size];
            for (what, t) in [("state h", Some(&s.h)), ("state c", s.c.as_ref())] {
                let Some(t) = t else { continue };
                if t.size() != shape {
                    return Err(shape_error(layer, what, format!("{shape:?}"), t.size()));
                }
                check_tensor(layer, what, t, kind, device)?;
            }
            if s.c.is_some() != self.kind.has_cell() {
                return Err(SeqError::Config(format!(
                    "{layer} expects a state {} a cell state c",
                    if self.kind.has_cell() { "with" } else { "without" }
                )));
            }
        }
        Ok(())
    }

    /// One explicit step from the equations; `state` defaults to zeros.
    pub fn f_step(&self, x: &Tensor, state: Option<&RnnState>) -> Result<RnnState> {
        self.validate(x, state)?;
        let zero;
        let s = match state {
            Some(s) => s,
            None => {
                zero = self.zero_state(x.size()[0]);
                &zero
            }
        };
        let xw = x.linear(&self.p.w_ih, self.p.b_ih.as_ref());
        let (h, c) = explicit_step(
            self.kind,
            &xw,
            &s.h,
            s.c.as_ref(),
            &self.p.w_hh.tr(),
            self.p.b_hh.as_ref(),
        );
        Ok(RnnState { h, c })
    }

    /// One step with libtorch's fused cell kernels (`lstm_cell`, `gru_cell`, `rnn_tanh_cell`, ...).
    pub fn f_step_fused(&self, x: &Tensor, state: Option<&RnnState>) -> Result<RnnState> {
        self.validate(x, state)?;
        let zero;
        let s = match state {
            Some(s) => s,
            None => {
                zero = self.zero_state(x.size()[0]);
                &zero
            }
        };
        let p = &self.p;
        let (bi, bh) = (p.b_ih.as_ref(), p.b_hh.as_ref());
        Ok(match self.kind {
            CellKind::Lstm => {
                let hx = [
                    s.h.shallow_clone(),
                    s.c.as_ref().expect("validated").shallow_clone(),
                ];
                let (h, c) = x.f_lstm_cell(
                    &hx,
                    &p.w_ih,
                    &p.w_hh,
                    bi.map(Tensor::shallow_clone),
                    bh.map(Tensor::shallow_clone),
                )?;
                RnnState { h, c: Some(c) }
            }
            CellKind::Gru => RnnState {
                h: x.f_gru_cell(&s.h, &p.w_ih, &p.w_hh, bi, bh)?,
                c: None,
            },
            CellKind::RnnTanh => RnnState {
                h: x.f_rnn_tanh_cell(&s.h, &p.w_ih, &p.w_hh, bi, bh)?,
                c: None,
            },
            CellKind::RnnRelu => RnnState {
                h: x.f_rnn_relu_cell(&s.h, &p.w_ih, &p.w_hh, bi, bh)?,
                c: None,
            },
        })
    }

    /// Panicking [`RecurrentCell::f_step`].
    pub fn step(&self, x: &Tensor, state: Option<&RnnState>) -> RnnState {
        self.f_step(x, state).unwrap_or_else(|e| panic!("{e}"))
    }
}
