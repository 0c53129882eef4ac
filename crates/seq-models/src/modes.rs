//! The four input-output patterns of recurrent networks, each a small model:
//!
//! | pattern | type | what it does |
//! |---|---|---|
//! | one-to-one | [`OneToOne`] | one step of a cell from a zero state, then a linear head: a feed-forward net |
//! | one-to-many | [`OneToMany`] | a vector sets the initial state; each output is fed back as the next input |
//! | many-to-one | [`ManyToOne`] | a recurrent layer, then a linear head on the last valid state (`SimpleRNN`) |
//! | many-to-many, aligned | [`ManyToMany`] | a linear head on every step's output (tagging, language models) |
//! | many-to-many, encoder-decoder | [`Seq2Seq`] | an encoder's final state starts a decoder; teacher forcing, greedy decoding |

use std::borrow::Borrow;

use tch::{nn, nn::Module, Kind, Tensor};

use crate::error::{Mismatch, Result, SeqError};
use crate::recurrent::{
    check_lengths, check_tensor, input_error, shape_error, CellKind, Recurrent, RecurrentCell,
    RecurrentConfig, RnnState,
};

/// The last layer's final state, both directions concatenated: `[batch, directions * hidden]`.
pub fn last_layer_state(rnn: &Recurrent, state: &RnnState) -> Tensor {
    let d = rnn.directions();
    let h = state.h.narrow(0, (rnn.config().num_layers - 1) * d, d); // [d, B, H]
    h.transpose(0, 1).reshape([-1, d * rnn.hidden_size()])
}

/// One-to-one: `y = W_out f(W_ih x + b) + b_out`, a single step of a cell from a zero state.
#[derive(Debug)]
pub struct OneToOne {
    cell: RecurrentCell,
    head: nn::Linear,
}

impl OneToOne {
    /// A cell of `kind` with `hidden` units and a linear head to `outputs`;
    /// panics with [`OneToOne::f_new`]'s message on sizes below 1.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
    ) -> Self {
        Self::f_new(path, kind, inputs, hidden, outputs).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`OneToOne::new`], or [`SeqError::Config`] for sizes below 1.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
    ) -> Result<Self> {
        let p = path.borrow();
        check_outputs("OneToOne", outputs)?;
        Ok(OneToOne {
            cell: RecurrentCell::f_new(p / "cell", kind, inputs, hidden)?,
            head: nn::linear(p / "head", hidden, outputs, Default::default()),
        })
    }

    /// `[batch, inputs]` to `[batch, outputs]`.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.head.forward(&self.cell.f_step(x, None)?.h))
    }

    /// [`OneToOne::f_forward`], panicking with its message on bad input.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// One-to-many: a vector `x` sets the initial state `h_0 = tanh(W x + b)`; the first input is zero and
/// each later input is the previous output (fed back), `y_t = W_out h_t + b_out`.
#[derive(Debug)]
pub struct OneToMany {
    init: nn::Linear,
    cell: RecurrentCell,
    head: nn::Linear,
    outputs: i64,
}

impl OneToMany {
    /// A generator of `outputs`-dimensional sequences from `inputs`-dimensional
    /// vectors; panics with [`OneToMany::f_new`]'s message on sizes below 1.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
    ) -> Self {
        Self::f_new(path, kind, inputs, hidden, outputs).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`OneToMany::new`], or [`SeqError::Config`] for sizes below 1.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
    ) -> Result<Self> {
        let p = path.borrow();
        check_outputs("OneToMany", inputs)?;
        // An LSTM's initial state is (h, c): the init layer produces both.
        let width = if kind.has_cell() { 2 * hidden } else { hidden };
        let cell = RecurrentCell::f_new(p / "cell", kind, outputs, hidden)?;
        Ok(OneToMany {
            init: nn::linear(p / "init", inputs, width, Default::default()),
            cell,
            head: nn::linear(p / "head", hidden, outputs, Default::default()),
            outputs,
        })
    }

    /// [`OneToMany::f_generate`], panicking with its message on bad input.
    pub fn generate(&self, x: &Tensor, steps: i64) -> Tensor {
        self.f_generate(x, steps).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Generates `steps` outputs, `[batch, steps, outputs]`, feeding each output back as the next input.
    pub fn f_generate(&self, x: &Tensor, steps: i64) -> Result<Tensor> {
        if steps < 1 {
            return Err(SeqError::Empty("one-to-many needs at least one step".into()));
        }
        let inputs = self.init.ws.size()[1];
        if x.dim() != 2 || x.size()[1] != inputs || x.size()[0] == 0 {
            let expected = format!("[batch >= 1, {inputs}]");
            return Err(shape_error("OneToMany", "input", expected, x.size()));
        }
        check_tensor(
            "OneToMany",
            "input",
            x,
            self.init.ws.kind(),
            self.init.ws.device(),
        )?;
        let s0 = x.apply(&self.init).tanh();
        let hidden = self.cell.hidden_size();
        let mut state = RnnState {
            h: s0.narrow(1, 0, hidden),
            c: self.cell.kind().has_cell().then(|| s0.narrow(1, hidden, hidden)),
        };
        let mut y = Tensor::zeros([x.size()[0], self.outputs], (x.kind(), x.device()));
        let mut ys = Vec::with_capacity(steps as usize);
        for _ in 0..steps {
            state = self.cell.f_step(&y, Some(&state))?;
            y = self.head.forward(&state.h);
            ys.push(y.shallow_clone());
        }
        Ok(Tensor::stack(&ys, 1))
    }
}

/// Many-to-one: a recurrent layer and a linear head on the last valid state of the last layer (both
/// directions when bidirectional). Inputs are batch-first.
///
/// ```
/// use seq_models::modes::ManyToOne;
/// use seq_models::{CellKind, RecurrentConfig};
/// use tch::{nn, Device, Kind, Tensor};
///
/// let vs = nn::VarStore::new(Device::Cpu);
/// let model = ManyToOne::new(vs.root(), CellKind::Lstm, 12, 32, 9, RecurrentConfig::default());
/// let x = Tensor::zeros([2, 29, 12], (Kind::Float, Device::Cpu));
/// assert_eq!(model.f_forward(&x, Some(&[29, 7]), false).unwrap().size(), [2, 9]);
/// ```
#[derive(Debug)]
pub struct ManyToOne {
    rnn: Recurrent,
    head: nn::Linear,
}

impl ManyToOne {
    /// A recurrent layer (`config.batch_first` is forced to true) and a head to `outputs`.
    /// Panics with [`ManyToOne::f_new`]'s message on a configuration it refuses.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
        config: RecurrentConfig,
    ) -> Self {
        Self::f_new(path, kind, inputs, hidden, outputs, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ManyToOne::new`], or [`SeqError::Config`] for sizes below 1 or a
    /// configuration [`Recurrent::f_new`] refuses.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
        config: RecurrentConfig,
    ) -> Result<Self> {
        let p = path.borrow();
        check_outputs("ManyToOne", outputs)?;
        let rnn = Recurrent::f_new(
            p / "rnn",
            kind,
            inputs,
            hidden,
            RecurrentConfig {
                batch_first: true,
                ..config
            },
        )?;
        let head = nn::linear(p / "head", rnn.output_size(), outputs, Default::default());
        Ok(ManyToOne { rnn, head })
    }

    /// The recurrent layer.
    pub fn rnn(&self) -> &Recurrent {
        &self.rnn
    }

    /// `[batch, time, inputs]` (and lengths) to `[batch, outputs]`.
    pub fn f_forward(&self, x: &Tensor, lengths: Option<&[i64]>, train: bool) -> Result<Tensor> {
        let out = self.rnn.f_forward(x, None, lengths, train)?;
        Ok(self.head.forward(&last_layer_state(&self.rnn, &out.state)))
    }

    /// [`ManyToOne::f_forward`], panicking with its message on bad input.
    pub fn forward(&self, x: &Tensor, lengths: Option<&[i64]>, train: bool) -> Tensor {
        self.f_forward(x, lengths, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Many-to-many, aligned: a linear head on every step's output, `[batch, time, outputs]`. Padded steps
/// give the head's bias (their recurrent output is zero): mask them out of the loss.
#[derive(Debug)]
pub struct ManyToMany {
    rnn: Recurrent,
    head: nn::Linear,
}

impl ManyToMany {
    /// A recurrent layer (`config.batch_first` forced to true) and a head to `outputs` per step.
    /// Panics with [`ManyToMany::f_new`]'s message on a configuration it refuses.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
        config: RecurrentConfig,
    ) -> Self {
        Self::f_new(path, kind, inputs, hidden, outputs, config).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ManyToMany::new`], or [`SeqError::Config`] for sizes below 1 or a
    /// configuration [`Recurrent::f_new`] refuses.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        inputs: i64,
        hidden: i64,
        outputs: i64,
        config: RecurrentConfig,
    ) -> Result<Self> {
        let p = path.borrow();
        check_outputs("ManyToMany", outputs)?;
        let rnn = Recurrent::f_new(
            p / "rnn",
            kind,
            inputs,
            hidden,
            RecurrentConfig {
                batch_first: true,
                ..config
            },
        )?;
        let head = nn::linear(p / "head", rnn.output_size(), outputs, Default::default());
        Ok(ManyToMany { rnn, head })
    }

    /// The recurrent layer.
    pub fn rnn(&self) -> &Recurrent {
        &self.rnn
    }

    /// Outputs at every step and the final state (carry it over for truncated BPTT).
    pub fn f_forward(
        &self,
        x: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> Result<(Tensor, RnnState)> {
        let out = self.rnn.f_forward(x, state, lengths, train)?;
        Ok((self.head.forward(&out.output), out.state))
    }

    /// [`ManyToMany::f_forward`], panicking with its message on bad input.
    pub fn forward(
        &self,
        x: &Tensor,
        state: Option<&RnnState>,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> (Tensor, RnnState) {
        self.f_forward(x, state, lengths, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Encoder-decoder over token sequences: an embedding and a recurrent encoder read the source; its
/// final state (last layer, forward direction) starts a decoder cell that reads the begin token, then
/// either the true previous token (teacher forcing) or its own previous guess.
#[derive(Debug)]
pub struct Seq2Seq {
    src_embed: nn::Embedding,
    encoder: Recurrent,
    tgt_embed: nn::Embedding,
    decoder: RecurrentCell,
    head: nn::Linear,
    bos: i64,
}

impl Seq2Seq {
    /// Source and target vocabularies, embedding width, hidden units; `bos` is the target token the
    /// decoder reads first. Panics with [`Seq2Seq::f_new`]'s message on a configuration it refuses.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        vocab_in: i64,
        vocab_out: i64,
        embed: i64,
        hidden: i64,
        bos: i64,
    ) -> Self {
        Self::f_new(path, kind, vocab_in, vocab_out, embed, hidden, bos).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Seq2Seq::new`], or [`SeqError::Config`] for sizes below 1 or a `bos`
    /// outside the target vocabulary.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        vocab_in: i64,
        vocab_out: i64,
        embed: i64,
        hidden: i64,
        bos: i64,
    ) -> Result<Self> {
        let p = path.borrow();
        check_outputs("Seq2Seq", vocab_in)?;
        check_outputs("Seq2Seq", vocab_out)?;
        if !(0..vocab_out).contains(&bos) {
            return Err(SeqError::Config(format!(
                "Seq2Seq: bos {bos} is not a target token id (0..{vocab_out})"
            )));
        }
        Ok(Seq2Seq {
            src_embed: nn::embedding(p / "src_embed", vocab_in, embed, Default::default()),
            encoder: Recurrent::f_new(p / "encoder", kind, embed, hidden, RecurrentConfig::default())?,
            tgt_embed: nn::embedding(p / "tgt_embed", vocab_out, embed, Default::default()),
            decoder: RecurrentCell::f_new(p / "decoder", kind, embed, hidden)?,
            head: nn::linear(p / "head", hidden, vocab_out, Default::default()),
            bos,
        })
    }

    fn encode(&self, src: &Tensor, lengths: Option<&[i64]>) -> Result<RnnState> {
        if src.dim() != 2 {
            return Err(shape_error(
                "Seq2Seq",
                "source tokens",
                "[batch, time]".into(),
                src.size(),
            ));
        }
        check_token_kind("source tokens", src)?;
        if let Some(l) = lengths {
            check_lengths("Seq2Seq", l, src.size()[0], src.size()[1])?;
        }
        check_vocabulary("source tokens", src, &self.src_embed)?;
        let out = self
            .encoder
            .f_forward(&src.apply(&self.src_embed), None, lengths, false)?;
        Ok(RnnState {
            h: out.state.h.get(0),
            c: out.state.c.map(|c| c.get(0)),
        })
    }

    /// Logits `[batch, T, vocab_out]` for the target `[batch, T]`. At each step after the first, the
    /// decoder reads the true previous token with probability `teacher_forcing` (drawn once per step for
    /// the whole batch), else its own argmax.
    pub fn f_forward(
        &self,
        src: &Tensor,
        lengths: Option<&[i64]>,
        tgt: &Tensor,
        teacher_forcing: f64,
    ) -> Result<Tensor> {
        let mut state = self.encode(src, lengths)?;
        let size = tgt.size();
        if size.len() != 2 || size[0] != src.size()[0] || size[1] == 0 {
            return Err(shape_error(
                "Seq2Seq",
                "target tokens",
                format!("[{}, >= 1]", src.size()[0]),
                size,
            ));
        }
        check_token_kind("target tokens", tgt)?;
        check_vocabulary("target tokens", tgt, &self.tgt_embed)?;
        let (b, t) = (size[0], size[1]);
        let mut token = Tensor::full([b], self.bos, (Kind::Int64, src.device()));
        let mut logits = Vec::with_capacity(t as usize);
        for step in 0..t {
            state = self.decoder.f_step(&token.apply(&self.tgt_embed), Some(&state))?;
            let y = self.head.forward(&state.h);
            let teach = teacher_forcing >= 1.0 || (teacher_forcing > 0.0 && rand_unit() < teacher_forcing);
            token = if teach {
                tgt.select(1, step)
            } else {
                y.argmax(-1, false)
            };
            logits.push(y);
        }
        Ok(Tensor::stack(&logits, 1))
    }

    /// [`Seq2Seq::f_forward`], panicking with its message on bad input.
    pub fn forward(
        &self,
        src: &Tensor,
        lengths: Option<&[i64]>,
        tgt: &Tensor,
        teacher_forcing: f64,
    ) -> Tensor {
        self.f_forward(src, lengths, tgt, teacher_forcing)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Seq2Seq::f_greedy`], panicking with its message on bad input.
    pub fn greedy(&self, src: &Tensor, lengths: Option<&[i64]>, steps: i64) -> Tensor {
        self.f_greedy(src, lengths, steps)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Greedy decoding of `steps >= 1` tokens, `[batch, steps]`.
    pub fn f_greedy(&self, src: &Tensor, lengths: Option<&[i64]>, steps: i64) -> Result<Tensor> {
        if steps < 1 {
            return Err(SeqError::Empty(format!(
                "Seq2Seq greedy decoding needs at least one step, got {steps}"
            )));
        }
        let batch = src.size().first().copied().unwrap_or(0);
        let dummy = Tensor::zeros([batch, steps], (Kind::Int64, src.device()));
        Ok(tch::no_grad(|| self.f_forward(src, lengths, &dummy, 0.0))?.argmax(-1, false))
    }
}

/// Refuses an output (or vocabulary) size below 1.
fn check_outputs(layer: &str, n: i64) -> Result<()> {
    if n < 1 {
        return Err(SeqError::Config(format!(
            "{layer}: sizes must be at least 1, got {n}"
        )));
    }
    Ok(())
}

/// Token ids must be int64 (embedding lookups take no other kind).
fn check_token_kind(what: &'static str, tokens: &Tensor) -> Result<()> {
    if tokens.kind() == Kind::Int64 {
        return Ok(());
    }
    Err(input_error(
        "Seq2Seq",
        what,
        Mismatch::Kind {
            expected: Kind::Int64,
            got: tokens.kind(),
        },
    ))
}

/// Checks that every token of `tokens` indexes a row of `embedding` (libtorch
/// would abort the embedding lookup otherwise).
fn check_vocabulary(what: &'static str, tokens: &Tensor, embedding: &nn::Embedding) -> Result<()> {
    let vocab = embedding.ws.size()[0];
    if tokens.numel() == 0 {
        return Ok(());
    }
    let (lo, hi) = (tokens.min().int64_value(&[]), tokens.max().int64_value(&[]));
    if lo < 0 || hi >= vocab {
        let bad = if lo < 0 { lo } else { hi };
        return Err(input_error(
            "Seq2Seq",
            what,
            Mismatch::Range {
                expected: format!("token ids in 0..{vocab}"),
                found: bad,
            },
        ));
    }
    Ok(())
}

/// A uniform draw from libtorch's generator (seeded by `tch::manual_seed`).
fn rand_unit() -> f64 {
    Tensor::rand([1], (Kind::Double, tch::Device::Cpu)).double_value(&[0])
}
