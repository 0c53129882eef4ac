//! Backpropagation-through-time diagnostics: how far back a loss at the last step reaches.
//!
//! For `S_t = f(W_in X_t + W_s S_{t-1} + b)`, `dL/dS_k = dL/dS_T prod_{j=k+1..T} dS_j/dS_{j-1}` and, for
//! a tanh RNN, `dS_j/dS_{j-1} = diag(1 - S_j^2) W_s`. With `W_s` a scaled orthogonal matrix of spectral
//! radius `rho`, the log gradient norm moves roughly linearly in `T - k` with slope near
//! `log(rho * E[tanh'])`: vanishing when that is below 0, exploding above.
//!
//! The Jacobian products are computed in closed form for every cell (see `step_jacobians` in the
//! source for the equations). The state is `S = h` for RNN and GRU; for an LSTM it is the full state
//! `S = [h; c]` (`2H` entries, `h` and `c` as independent coordinates), so that
//! `S_j = F(S_{j-1}, x_j)` is a true recurrence and `prod_{j=k+1..T} dS_j/dS_{j-1} = dS_T/dS_k`.
//! The gradient norms `||dL/dS_k||` instead come from autograd on the retained states: for an LSTM
//! they combine `dL/dh_k` and `dL/dc_k`, where autograd's `dL/dc_k` also counts the path through
//! `h_k = o_k tanh(c_k)`.
//!
//! ```
//! use seq_models::diagnostics::{bptt, scaled_orthogonal_};
//! use seq_models::{Recurrent, RecurrentConfig};
//! use tch::{nn, Device, Kind, Tensor};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let rnn = Recurrent::rnn(vs.root(), 4, 16, RecurrentConfig::default());
//! scaled_orthogonal_(rnn.weight_hh(0, false), 0.5);
//! let x = Tensor::randn([1, 30, 4], (Kind::Float, Device::Cpu));
//! let d = bptt(&rnn, &x, |h| h.sum(Kind::Float)).unwrap();
//! assert!(d.state_grad_norms[0] < 1e-4 * d.state_grad_norms[29]); // vanished over 29 steps
//! ```

use tch::{nn::VarStore, Kind, Tensor};

use crate::error::{Result, SeqError};
use crate::recurrent::{CellKind, Recurrent};

/// Fills `w` (`[gates * H, H]`) in place with a random orthogonal `H x H` block per gate, scaled by
/// `rho`: each block then has every singular value, hence spectral radius, equal to `rho`.
pub fn scaled_orthogonal_(w: &Tensor, rho: f64) {
    let size = w.size();
    let h = size[1];
    assert!(
        size.len() == 2 && size[0] % h == 0,
        "expected [gates * H, H], got {size:?}"
    );
    tch::no_grad(|| {
        for g in 0..size[0] / h {
            let a = Tensor::randn([h, h], (Kind::Double, w.device()));
            let (q, r) = Tensor::linalg_qr(&a, "reduced");
            // Sign fix so the draw is uniform over orthogonal matrices.
            let q = q * r.diagonal(0, 0, 1).sign().unsqueeze(0);
            w.narrow(0, g * h, h).copy_(&(q * rho).to_kind(w.kind()));
        }
    });
}

/// The largest absolute eigenvalue of a square matrix.
pub fn spectral_radius(w: &Tensor) -> f64 {
    tch::no_grad(|| {
        w.to_kind(Kind::Double)
            .linalg_eigvals()
            .abs()
            .max()
            .double_value(&[])
    })
}

/// What [`bptt`] measures, indexed by step `k = 1..=T` (entry `k - 1`).
#[derive(Debug, Clone)]
pub struct Bptt {
    /// `||dL/dS_k||` (for an LSTM, `S_k = (h_k, c_k)`), summed over the batch in the loss.
    pub state_grad_norms: Vec<f64>,
    /// The spectral norm of `prod_{j=k+1..T} dS_j/dS_{j-1}` (mean over the batch); entry `T - 1` is
    /// the empty product (1). The state `S` is `h` for RNN and GRU and the full state `[h; c]`
    /// (`2H` entries) for an LSTM, so the product is the exact `dS_T/dS_k` that autograd follows.
    pub jacobian_norms: Vec<f64>,
    /// Mean of `f'` over units, steps and batch (tanh: `1 - S^2`; relu: `S > 0`); 0 for gated cells.
    pub mean_derivative: f64,
}

impl Bptt {
    /// Least-squares slope of `ln ||dL/dS_k||` against the distance `T - k`, over `k` in `from..=T`.
    pub fn log_slope(&self, from: usize) -> f64 {
        let t = self.state_grad_norms.len();
        let pts: Vec<(f64, f64)> = (from..=t)
            .map(|k| ((t - k) as f64, self.state_grad_norms[k - 1].ln()))
            .collect();
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        sxy / sxx
    }
}

/// Runs a one-layer, one-direction `rnn` explicitly over `input`, applies `loss` to the final hidden
/// state `[batch, hidden]`, and measures the gradient reaching every intermediate state through
/// autograd, and the norms of the Jacobian products in closed form (for every cell kind).
pub fn bptt(rnn: &Recurrent, input: &Tensor, loss: impl FnOnce(&Tensor) -> Tensor) -> Result<Bptt> {
    let cfg = rnn.config();
    if cfg.num_layers != 1 || cfg.bidirectional {
        return Err(SeqError::Config(
            "bptt diagnostics take a one-layer, one-direction layer".into(),
        ));
    }
    // Validates the input like a forward pass would.
    rnn.f_forward_explicit(
        &input.narrow(if cfg.batch_first { 1 } else { 0 }, 0, 1),
        None,
        None,
        false,
    )?;
    let b = input.size()[if cfg.batch_first { 0 } else { 1 }];
    let run = rnn.explicit_steps(input, &rnn.zero_state(b), None, false);
    let states = &run.states;
    let l = loss(&states.last().expect("at least one step").h);
    let mut wrt: Vec<&Tensor> = states.iter().map(|s| &s.h).collect();
    wrt.extend(states.iter().filter_map(|s| s.c.as_ref()));
    let grads = Tensor::f_run_backward(&[l], &wrt, false, false)?;
    let t = states.len();
    let sq = |g: &Tensor| {
        g.to_kind(Kind::Double)
            .square()
            .sum(Kind::Double)
            .double_value(&[])
    };
    let state_grad_norms = (0..t)
        .map(|k| {
            let c = if grads.len() > t { sq(&grads[t + k]) } else { 0.0 };
            (sq(&grads[k]) + c).sqrt()
        })
        .collect();

    let mean_derivative = match rnn.kind() {
        CellKind::RnnTanh | CellKind::RnnRelu => tch::no_grad(|| {
            let deriv: Vec<Tensor> = states
                .iter()
                .map(|s| {
                    let h = s.h.to_kind(Kind::Double);
                    if rnn.kind() == CellKind::RnnTanh {
                        1.0 - h.square()
                    } else {
                        h.gt(0.0).to_kind(Kind::Double)
                    }
                })
                .collect();
            Tensor::stack(&deriv, 0).mean(Kind::Double).double_value(&[])
        }),
        _ => 0.0,
    };
    let jacobian_norms = tch::no_grad(|| {
        let jacobians = step_jacobians(rnn, input, states);
        // P_k = J_T ... J_{k+1}, built from the end; its spectral norm is the square root of the
        // largest eigenvalue of P^T P.
        let (n, dev) = (jacobians[0].size()[1], jacobians[0].device());
        let mut p = Tensor::eye(n, (Kind::Double, dev)).expand([b, n, n], false);
        let mut norms = vec![0.0; t];
        for k in (0..t).rev() {
            norms[k] = spectral_norm(&p);
            p = p.matmul(&jacobians[k]);
        }
        norms
    });
    Ok(Bptt {
        state_grad_norms,
        jacobian_norms,
        mean_derivative,
    })
}

/// Mean over the batch of the spectral norms of `p` (`[B, n, n]`).
fn spectral_norm(p: &Tensor) -> f64 {
    p.transpose(-2, -1)
        .matmul(p)
        .linalg_eigvalsh("L")
        .max_dim(-1, false)
        .0
        .clamp_min(0.0)
        .sqrt()
        .mean(Kind::Double)
        .double_value(&[])
}

/// The one-step Jacobians `J_j = dS_j/dS_{j-1}`, `[B, n, n]` in f64, for `j = 1..=T` (entry `j - 1`),
/// of a one-layer, one-direction `rnn` that produced `states` from `input` and a zero initial state.
///
/// In closed form, with `σ' = σ(1 - σ)`, `tanh' = 1 - tanh²`, row scalings written `d * W` and the
/// recurrent weight's gate blocks `W_*` (rows of `weight_hh`):
/// - RNN: `J = f'(a) * W_hh`.
/// - GRU (`S = h`): `J = diag(z) + (1 - z) * dn/dh + (h - n) * dz/dh`, with
///   `dz/dh = σ'(z) * W_hz` and `dn/dh = tanh'(n) * (r * W_hn + (W_hn h + b_hn) σ'(r) * W_hr)`.
/// - LSTM (`S = [h; c]`): `dc'/dc = diag(f)`,
///   `dc'/dh = (g σ'(i)) * W_hi + (c σ'(f)) * W_hf + (i tanh'(g)) * W_hg`,
///   `dh'/dh = (tanh(c') σ'(o)) * W_ho + (o tanh'(c')) * dc'/dh` and `dh'/dc = diag(o tanh'(c') f)`;
///   `J = [[dh'/dh, dh'/dc], [dc'/dh, dc'/dc]]`.
pub(crate) fn step_jacobians(
    rnn: &Recurrent,
    input: &Tensor,
    states: &[crate::recurrent::RnnState],
) -> Vec<Tensor> {
    let dbl = |x: &Tensor| x.to_kind(Kind::Double);
    let p = rnn.dir_params(0);
    let (w_ih, w_hh) = (dbl(&p.w_ih), dbl(&p.w_hh));
    let (b_ih, b_hh) = (p.b_ih.as_ref().map(dbl), p.b_hh.as_ref().map(dbl));
    let x = if rnn.config().batch_first {
        input.transpose(0, 1)
    } else {
        input.shallow_clone()
    };
    // Input terms W_ih x_j + b_ih and recurrent terms W_hh h_{j-1} + b_hh of every step.
    let xw = dbl(&x).linear(&w_ih, b_ih.as_ref()).unbind(0);
    let zero = rnn.zero_state(xw[0].size()[0]); // [1, B, H]: one layer, one direction
    let zero = crate::recurrent::RnnState {
        h: zero.h.get(0),
        c: zero.c.map(|c| c.get(0)),
    };
    let hsz = rnn.hidden_size();
    let block = |w: &Tensor, k: i64| w.narrow(0, k * hsz, hsz);
    let sig_d = |s: &Tensor| s * (1.0 - s);
    let tanh_d = |t: &Tensor| 1.0 - t.square();
    let rows = |d: &Tensor, w: &Tensor| d.unsqueeze(-1) * w; // diag(d) W, [B, H, H]
    (0..states.len())
        .map(|j| {
            let prev = if j == 0 { &zero } else { &states[j - 1] };
            let h = dbl(&prev.h);
            let hw = h.linear(&w_hh, b_hh.as_ref());
            match rnn.kind() {
                CellKind::RnnTanh => rows(&tanh_d(&(&xw[j] + &hw).tanh()), &w_hh),
                CellKind::RnnRelu => rows(&(&xw[j] + &hw).gt(0.0).to_kind(Kind::Double), &w_hh),
                CellKind::Gru => {
                    let (xs, hs) = (xw[j].chunk(3, -1), hw.chunk(3, -1));
                    let r = (&xs[0] + &hs[0]).sigmoid();
                    let z = (&xs[1] + &hs[1]).sigmoid();
                    let n = (&xs[2] + &r * &hs[2]).tanh();
                    let dz = rows(&sig_d(&z), &block(&w_hh, 1));
                    let dn = rows(
                        &tanh_d(&n),
                        &(rows(&r, &block(&w_hh, 2)) + rows(&(&hs[2] * sig_d(&r)), &block(&w_hh, 0))),
                    );
                    z.diag_embed(0, -2, -1) + rows(&(1.0 - &z), &dn) + rows(&(h - &n), &dz)
                }
                CellKind::Lstm => {
                    let c = dbl(prev.c.as_ref().expect("an LSTM state has a cell"));
                    let a = (&xw[j] + &hw).chunk(4, -1);
                    let (i, f, g, o) = (a[0].sigmoid(), a[1].sigmoid(), a[2].tanh(), a[3].sigmoid());
                    let tc = (&f * &c + &i * &g).tanh();
                    let dc_dh = rows(&(&g * sig_d(&i)), &block(&w_hh, 0))
                        + rows(&(&c * sig_d(&f)), &block(&w_hh, 1))
                        + rows(&(&i * tanh_d(&g)), &block(&w_hh, 2));
                    let dh_dc_new = &o * tanh_d(&tc);
                    let dh_dh = rows(&(&tc * sig_d(&o)), &block(&w_hh, 3)) + rows(&dh_dc_new, &dc_dh);
                    let dh_dc = (&dh_dc_new * &f).diag_embed(0, -2, -1);
                    let top = Tensor::cat(&[dh_dh, dh_dc], -1);
                    let bottom = Tensor::cat(&[dc_dh, f.diag_embed(0, -2, -1)], -1);
                    Tensor::cat(&[top, bottom], -2)
                }
            }
        })
        .collect()
}

/// Total 2-norm of the gradients of all trainable variables.
pub fn grad_norm(vs: &VarStore) -> f64 {
    let sq: f64 = vs
        .trainable_variables()
        .iter()
        .map(|v| v.grad())
        .filter(|g| g.defined())
        .map(|g| {
            g.to_kind(Kind::Double)
                .square()
                .sum(Kind::Double)
                .double_value(&[])
        })
        .sum();
    sq.sqrt()
}

/// Scales all gradients so their total 2-norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(vs: &VarStore, max_norm: f64) -> f64 {
    let norm = grad_norm(vs);
    if norm > max_norm && norm.is_finite() {
        let scale = max_norm / (norm + 1e-6);
        tch::no_grad(|| {
            for v in vs.trainable_variables() {
                let mut g = v.grad();
                if g.defined() {
                    let _ = g.g_mul_scalar_(scale);
                }
            }
        });
    }
    norm
}

/// Clamps every gradient entry to `[-clip, clip]`; returns the total 2-norm before clipping.
pub fn clip_grad_value(vs: &VarStore, clip: f64) -> f64 {
    let norm = grad_norm(vs);
    tch::no_grad(|| {
        for v in vs.trainable_variables() {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.clamp_(-clip, clip);
            }
        }
    });
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrent::{RecurrentConfig, RnnState};
    use tch::{nn, Device};

    /// The product of the closed-form one-step Jacobians equals autograd's `dS_T/dS_k`, for every `k`,
    /// every cell kind and both layouts. Autograd reruns the layer from `S_k` set as a leaf (for an
    /// LSTM, `h_k` and `c_k` as two independent leaves: the state's coordinates).
    #[test]
    fn jacobian_products_match_autograd() {
        tch::manual_seed(1);
        for kind in [
            CellKind::RnnTanh,
            CellKind::RnnRelu,
            CellKind::Gru,
            CellKind::Lstm,
        ] {
            for batch_first in [true, false] {
                let mut vs = nn::VarStore::new(Device::Cpu);
                let config = RecurrentConfig {
                    batch_first,
                    ..RecurrentConfig::default()
                };
                let rnn = Recurrent::new(vs.root(), kind, 3, 4, config);
                vs.double();
                let (b, t) = (2, 6);
                let time_dim = if batch_first { 1 } else { 0 };
                let shape = if batch_first { [b, t, 3] } else { [t, b, 3] };
                let x = Tensor::randn(shape, (Kind::Double, Device::Cpu));
                let run = rnn.explicit_steps(&x, &rnn.zero_state(b), None, false);
                let states = &run.states;
                let jac = tch::no_grad(|| step_jacobians(&rnn, &x, states));
                let n = if kind == CellKind::Lstm { 8 } else { 4 };
                assert_eq!(jac.len(), t as usize);
                assert_eq!(jac[0].size(), [b, n, n], "{kind:?}");
                let mut p = Tensor::eye(n, (Kind::Double, Device::Cpu)).expand([b, n, n], false);
                for k in (0..t - 1).rev() {
                    p = p.matmul(&jac[k as usize + 1]);
                    let leaf = |s: &Tensor| s.detach().unsqueeze(0).set_requires_grad(true);
                    let s_k = RnnState {
                        h: leaf(&states[k as usize].h),
                        c: states[k as usize].c.as_ref().map(leaf),
                    };
                    let rest = x.narrow(time_dim, k + 1, t - k - 1);
                    let out = rnn.f_forward_explicit(&rest, Some(&s_k), None, false).unwrap();
                    let s_t = match &out.state.c {
                        Some(c) => Tensor::cat(&[&out.state.h, c], -1),
                        None => out.state.h.shallow_clone(),
                    };
                    let mut wrt = vec![&s_k.h];
                    wrt.extend(s_k.c.as_ref());
                    // Row u of dS_T/dS_k for every batch row at once (rows do not interact).
                    let rows: Vec<Tensor> = (0..n)
                        .map(|u| {
                            let y = s_t.select(-1, u).sum(Kind::Double);
                            Tensor::cat(&Tensor::run_backward(&[y], &wrt, true, false), -1).squeeze_dim(0)
                        })
                        .collect();
                    let auto = Tensor::stack(&rows, 1);
                    let err = (&p - &auto).abs().max().double_value(&[]);
                    let scale = auto.abs().max().double_value(&[]);
                    assert!(scale > 1e-6, "{kind:?} k {k}: a vanished product tests nothing");
                    assert!(err <= 1e-10 * scale, "{kind:?} k {k}: error {err}, scale {scale}");
                }
                let d = bptt(&rnn, &x, |h| h.sum(Kind::Double)).unwrap();
                assert_eq!(d.jacobian_norms.len(), t as usize);
                assert!((d.jacobian_norms[t as usize - 1] - 1.0).abs() < 1e-12);
                // Entry 0 is the product over j = 2..=T, which the loop above ended with.
                assert!(
                    (d.jacobian_norms[0] - spectral_norm(&p)).abs() < 1e-10,
                    "{kind:?}"
                );
            }
        }
    }
}
