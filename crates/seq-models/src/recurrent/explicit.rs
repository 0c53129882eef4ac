//! The explicit path: a loop over time written from the equations, over the
//! same parameters as the fused one (for teaching, custom cells and gradient
//! diagnostics).

use tch::{Device, Kind, Tensor};

use super::gates::{cell_step, DenseMaps, ResetGate};
use super::{CellKind, DirParams, Recurrent, RnnOutput, RnnState};

/// One step of the recurrence from the equations ([`cell_step`]), given the input term `xw` already
/// computed (for a whole sequence it is one matrix product, outside the time loop) and the recurrent
/// weight `w_hh` (`[gates * H, H]`).
///
/// For RNN and LSTM, `xw = W_ih x + b_ih + b_hh` may already carry `b_hh` (then pass `b_hh = None`);
/// for GRU, `xw = W_ih x + b_ih` and `b_hh` is passed, since `b_hn` sits inside `r * (W_hn h + b_hn)`.
pub(crate) fn explicit_step(
    kind: CellKind,
    xw: &Tensor,
    h: &Tensor,
    c: Option<&Tensor>,
    w_hh: &Tensor,
    b_hh: Option<&Tensor>,
) -> (Tensor, Option<Tensor>) {
    let maps = DenseMaps {
        weight: w_hh,
        bias: b_hh,
    };
    let terms = xw.chunk(kind.gates(), -1);
    cell_step(kind, &terms, h, c, &maps, ResetGate::AfterMap, None)
}

impl Recurrent {
    pub(super) fn explicit(
        &self,
        input: &Tensor,
        state: &RnnState,
        lengths: Option<&[i64]>,
        train: bool,
    ) -> RnnOutput {
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
    let (xw, w_hh) = match &lstm {
        // The LSTM loop runs on the g rows doubled (see LstmGates).
        Some(g) => (
            x.linear(&g.double_g(&p.w_ih), bias.map(|b| g.double_g(&b)).as_ref()),
            g.double_g(&p.w_hh).tr(),
        ),
        None => (x.linear(&p.w_ih, bias.as_ref()), p.w_hh.shallow_clone()),
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
                let (h_new, c_new) = g.step(&xw[step], &h, c.as_ref().expect("an LSTM has a cell"), &w_hh);
                (h_new, Some(c_new))
            }
            None => explicit_step(kind, &xw[step], &h, c.as_ref(), &w_hh, b_hh),
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
/// agreement tests hold it to 1e-5 against the fused kernel); on a CPU each op's dispatch and autograd
/// bookkeeping is most of a small layer's time, so fewer ops is faster (docs/benchmarks.md).
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
