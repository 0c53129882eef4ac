//! [`RecurrentCell`]: one step of a recurrence, as `torch.nn.LSTMCell`.

use std::borrow::Borrow;

use tch::{nn, Tensor};

use super::{check_tensor, explicit_step, shape_error, CellKind, DirParams, RnnState};
use crate::error::{Result, SeqError};

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
    /// Creates a cell with biases, initialised as PyTorch does; panics with
    /// [`RecurrentCell::f_new`]'s message on sizes below 1.
    pub fn new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        input_size: i64,
        hidden_size: i64,
    ) -> Self {
        Self::f_new(path, kind, input_size, hidden_size).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`RecurrentCell::new`], or [`SeqError::Config`] for sizes below 1.
    pub fn f_new<'a>(
        path: impl Borrow<nn::Path<'a>>,
        kind: CellKind,
        input_size: i64,
        hidden_size: i64,
    ) -> Result<Self> {
        if input_size < 1 || hidden_size < 1 {
            return Err(SeqError::Config(format!(
                "{}: input_size {input_size} and hidden_size {hidden_size} must be >= 1",
                kind.cell_name()
            )));
        }
        let p = DirParams::new(path.borrow(), kind, input_size, hidden_size, true, "");
        Ok(RecurrentCell {
            kind,
            input_size,
            hidden_size,
            p,
        })
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
            &self.p.w_hh,
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
