//! The gate equations of the Elman RNN, the LSTM and the GRU, written once
//! over any linear maps.
//!
//! A recurrent cell is its gate equations applied to linear maps of its input
//! and of its state. In [`RecurrentCell`](super::RecurrentCell) the maps are
//! matrix products (`W_ih x + b_ih`, `W_hh h + b_hh`); in a graph-recurrent
//! cell (hybrid's GConvGRU, GConvLSTM, DCRNN, T-GCN) they are graph filters
//! over the nodes. [`cell_step`] takes the input's terms already computed
//! (for a whole sequence they are one product, outside the time loop) and the
//! state's maps as a [`StateMaps`], so both kinds of cell run these equations
//! and no other.
//!
//! Gate order is PyTorch's: RNN `[h]`, LSTM `[i, f, g, o]`, GRU `[r, z, n]`.
//! With `x_*` the input terms and `U_*(s)` the state maps:
//! - RNN: `h' = f(x_h + U_h(h))`, `f` = tanh or relu.
//! - LSTM: `i = σ(x_i + U_i(h) + p_i ⊙ c)`, `f = σ(x_f + U_f(h) + p_f ⊙ c)`,
//!   `c' = f ⊙ c + i ⊙ tanh(x_g + U_g(h))`, `o = σ(x_o + U_o(h) + p_o ⊙ c')`,
//!   `h' = o ⊙ tanh(c')`; the peepholes `p_*` (Gers and Schmidhuber 2000, as
//!   GConvLSTM has them) are optional.
//! - GRU: `r = σ(x_r + U_r(h))`, `z = σ(x_z + U_z(h))`, `n = tanh(x_n + r ⊙
//!   U_n(h))` ([`ResetGate::AfterMap`], PyTorch) or `tanh(x_n + U_n(r ⊙ h))`
//!   ([`ResetGate::BeforeMap`], Cho et al. 2014), `h' = (1 - z) ⊙ n + z ⊙ h`.

use std::ops::Range;

use tch::Tensor;
use train_utils::gru_update::gru_update;

use super::CellKind;

/// Where a GRU's reset gate acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetGate {
    /// `n = tanh(x_n + r ⊙ U_n(h))`: PyTorch's `GRU` and cuDNN's.
    #[default]
    AfterMap,
    /// `n = tanh(x_n + U_n(r ⊙ h))`: Cho et al. 2014, and the graph GRUs built
    /// on it (DCRNN, GConvGRU, T-GCN).
    BeforeMap,
}

/// The linear maps of a cell's state, gate by gate.
pub trait StateMaps {
    /// `U_g(s)` for each gate `g` in `gates` (indices in the kind's gate
    /// order), in that order; each has the state's shape.
    fn apply(&self, s: &Tensor, gates: Range<i64>) -> Vec<Tensor>;

    /// `acc_g + U_g(s)` for each gate `g` in `gates`, `acc` holding one term
    /// per gate: the gates' pre-activations. The default adds [`apply`]'s
    /// maps; maps that can add a term inside their own products (a graph
    /// filter whose sparse product starts from it) override it to save a
    /// pass over the state per gate.
    ///
    /// [`apply`]: StateMaps::apply
    fn apply_acc(&self, acc: &[Tensor], s: &Tensor, gates: Range<i64>) -> Vec<Tensor> {
        assert_eq!(acc.len() as i64, gates.end - gates.start, "one term per gate");
        self.apply(s, gates)
            .into_iter()
            .zip(acc)
            .map(|(u, a)| a + u)
            .collect()
    }
}

/// Dense maps `U(s) = s W_hh^T + b_hh` for a state `[batch, hidden]`: one
/// matrix product for all the gates asked for at once.
#[derive(Debug)]
pub struct DenseMaps<'a> {
    /// `W_hh` `[gates * hidden, hidden]`.
    pub weight: &'a Tensor,
    /// `b_hh` `[gates * hidden]`, if any.
    pub bias: Option<&'a Tensor>,
}

impl StateMaps for DenseMaps<'_> {
    fn apply(&self, s: &Tensor, gates: Range<i64>) -> Vec<Tensor> {
        let hidden = self.weight.size()[1];
        let (start, count) = (gates.start * hidden, (gates.end - gates.start) * hidden);
        let w = self.weight.narrow(0, start, count);
        let out = match self.bias {
            Some(b) => b.narrow(0, start, count).addmm(s, &w.tr()),
            None => s.mm(&w.tr()),
        };
        out.chunk(gates.end - gates.start, -1)
    }
}

/// LSTM peephole weights `(p_i, p_f, p_o)`, each `[hidden]`.
pub type Peepholes<'a> = (&'a Tensor, &'a Tensor, &'a Tensor);

/// One step of the recurrence `kind` (equations in the [module docs](self)):
/// `x` holds the input's terms, one per gate in PyTorch's order, each with the
/// state's shape; `h` the state, `c` the LSTM's cell; `maps` the state's
/// linear maps. Returns `(h', c')` (`c'` only for an LSTM).
///
/// `reset` matters only for a GRU and `peepholes` only for an LSTM.
///
/// Panics if `x` has the wrong number of terms or an LSTM gets no cell.
pub fn cell_step(
    kind: CellKind,
    x: &[Tensor],
    h: &Tensor,
    c: Option<&Tensor>,
    maps: &impl StateMaps,
    reset: ResetGate,
    peepholes: Option<Peepholes>,
) -> (Tensor, Option<Tensor>) {
    assert_eq!(
        x.len() as i64,
        kind.gates(),
        "{}: one input term per gate",
        kind.cell_name()
    );
    match kind {
        CellKind::RnnTanh => (maps.apply_acc(x, h, 0..1)[0].tanh(), None),
        CellKind::RnnRelu => (maps.apply_acc(x, h, 0..1)[0].relu(), None),
        CellKind::Lstm => {
            let c = c.expect("an LSTM step needs a cell state");
            let pre = maps.apply_acc(x, h, 0..4);
            let (i, f) = match peepholes {
                Some((p_i, p_f, _)) => ((&pre[0] + p_i * c).sigmoid(), (&pre[1] + p_f * c).sigmoid()),
                None => (pre[0].sigmoid(), pre[1].sigmoid()),
            };
            // c' = f ⊙ c + i ⊙ g, as one addcmul.
            let c_new = (f * c).addcmul(&i, &pre[2].tanh());
            let o = match peepholes {
                Some((_, _, p_o)) => (&pre[3] + p_o * &c_new).sigmoid(),
                None => pre[3].sigmoid(),
            };
            (o * c_new.tanh(), Some(c_new))
        }
        CellKind::Gru => {
            // The tanh's argument: `x_n + r ⊙ U_n(h)` or `x_n + U_n(r ⊙ h)`.
            let (z, n_pre) = match reset {
                ResetGate::AfterMap => {
                    // U_n(h) is needed without x_n: one product for all three maps.
                    let u = maps.apply(h, 0..3);
                    let r = (&x[0] + &u[0]).sigmoid();
                    let z = (&x[1] + &u[1]).sigmoid();
                    (z, x[2].addcmul(&r, &u[2]))
                }
                ResetGate::BeforeMap => {
                    let pre = maps.apply_acc(&x[..2], h, 0..2);
                    let r = pre[0].sigmoid();
                    let n_pre = maps.apply_acc(&x[2..], &(r * h), 2..3).remove(0);
                    (pre[1].sigmoid(), n_pre)
                }
            };
            // h' = (1 - z) ⊙ tanh(n_pre) + z ⊙ h in one pass each way.
            (gru_update(&n_pre, h, &z), None)
        }
    }
}
