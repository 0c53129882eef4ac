//! Backpropagation-through-time diagnostics: how far back a loss at the last step reaches.
//!
//! For `S_t = f(W_in X_t + W_s S_{t-1} + b)`, `dL/dS_k = dL/dS_T prod_{j=k+1..T} dS_j/dS_{j-1}` and, for
//! a tanh RNN, `dS_j/dS_{j-1} = diag(1 - S_j^2) W_s`. With `W_s` a scaled orthogonal matrix of spectral
//! radius `rho`, the log gradient norm moves roughly linearly in `T - k` with slope near
//! `log(rho * E[tanh'])`: vanishing when that is below 0, exploding above.
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
    /// For tanh/relu RNNs, the spectral norm of `prod_{j=k+1..T} dS_j/dS_{j-1}` (mean over the batch);
    /// entry `T - 1` is the empty product (1). Empty for gated cells.
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
/// autograd (and, for tanh/relu RNNs, the Jacobian products in closed form).
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

    let (jacobian_norms, mean_derivative) = match rnn.kind() {
        CellKind::RnnTanh | CellKind::RnnRelu => tch::no_grad(|| {
            let w = rnn.weight_hh(0, false).to_kind(Kind::Double);
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
            let mean = Tensor::stack(&deriv, 0).mean(Kind::Double).double_value(&[]);
            // P_k = J_T ... J_{k+1}, with J_j = diag(f'_j) W: built from the end.
            let hsz = rnn.hidden_size();
            let mut p = Tensor::eye(hsz, (Kind::Double, w.device())).expand([b, hsz, hsz], false);
            let mut norms = vec![0.0; t];
            for k in (0..t).rev() {
                // Spectral norm: sqrt of the largest eigenvalue of P^T P.
                let gram = p.transpose(-2, -1).matmul(&p);
                norms[k] = gram
                    .linalg_eigvalsh("L")
                    .max_dim(-1, false)
                    .0
                    .clamp_min(0.0)
                    .sqrt()
                    .mean(Kind::Double)
                    .double_value(&[]);
                let j = deriv[k].unsqueeze(-1) * &w; // [B, H, H]
                p = p.matmul(&j);
            }
            (norms, mean)
        }),
        _ => (Vec::new(), 0.0),
    };
    Ok(Bptt {
        state_grad_norms,
        jacobian_norms,
        mean_derivative,
    })
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
