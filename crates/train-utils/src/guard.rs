//! NaN / Inf and divergence guard: checks the loss and each parameter's
//! gradient norm before the optimiser may step.
//!
//! A run can also diverge without ever producing a NaN: with a learning rate
//! of 1e30 saturated activations keep every number finite while the loss
//! grows by orders of magnitude. [`Divergence`] sets the limits past which a
//! finite run is stopped all the same ([`TrainError::Diverged`]).

use crate::error::TrainError;
use tch::Tensor;

/// Per-parameter gradient norms of one step, in parameter-name order.
#[derive(Debug, Clone, PartialEq)]
pub struct GradNorms {
    /// (name, L2 norm of its gradient); parameters without a gradient are left out.
    pub per_param: Vec<(String, f64)>,
    /// The L2 norm of all gradients together.
    pub total: f64,
}

/// When a finite run counts as diverged. The defaults are far from anything
/// a working recipe produces (its loss falls, its gradient norms stay below
/// 1e3), so they only stop runs that are already lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Divergence {
    /// Stop when a step's loss (in magnitude) exceeds this many times the
    /// reference loss: the run's first step loss during the first epoch, the
    /// first epoch's mean loss after it (which a checkpoint holds, so a
    /// resumed run checks against the same value). Default 1e4.
    pub loss_factor: f64,
    /// Stop when one parameter's gradient norm exceeds this. Default 1e8.
    pub max_grad_norm: f64,
}

impl Default for Divergence {
    fn default() -> Self {
        Divergence {
            loss_factor: 1e4,
            max_grad_norm: 1e8,
        }
    }
}

impl Divergence {
    /// No divergence check (NaN and Inf are still caught).
    pub const OFF: Divergence = Divergence {
        loss_factor: f64::INFINITY,
        max_grad_norm: f64::INFINITY,
    };
}

/// Checks a step's loss and gradients and says what to try when they go bad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NanGuard {
    /// The learning rate, quoted in the hint.
    pub lr: f64,
    /// The gradient clipping threshold in use, quoted in the hint.
    pub clip: Option<f64>,
    /// The limits of [`NanGuard::check_divergence`].
    pub divergence: Divergence,
}

impl NanGuard {
    /// The gradient norms of `params` (call after `backward`).
    pub fn grad_norms(params: &[(String, Tensor)]) -> GradNorms {
        let (names, norms): (Vec<String>, Vec<Tensor>) = params
            .iter()
            .filter_map(|(n, p)| {
                let g = p.grad();
                g.defined()
                    .then(|| (n.clone(), g.norm().to_kind(tch::Kind::Double)))
            })
            .unzip();
        // One read of all the norms: a read per parameter costs a synchronisation
        // each, which dominates the step of a small model.
        let values: Vec<f64> = if norms.is_empty() {
            Vec::new()
        } else {
            Vec::try_from(&Tensor::stack(&norms, 0).to_device(tch::Device::Cpu))
                .expect("a 1-D double CPU tensor converts to Vec<f64>")
        };
        let per_param: Vec<(String, f64)> = names.into_iter().zip(values).collect();
        let total = per_param.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
        GradNorms { per_param, total }
    }

    /// Ok with the gradient norms when `loss` and every gradient are finite;
    /// otherwise [`TrainError::NonFinite`] naming `epoch` and the optimiser
    /// `step` (both 1-based), the first parameter (in name order) whose
    /// gradient is not finite, and a hint.
    pub fn check(
        &self,
        epoch: usize,
        step: u64,
        loss: f64,
        params: &[(String, Tensor)],
    ) -> Result<GradNorms, TrainError> {
        let norms = Self::grad_norms(params);
        let bad_param = norms.per_param.iter().find(|(_, x)| !x.is_finite());
        if loss.is_finite() && bad_param.is_none() {
            return Ok(norms);
        }
        let bad_params = norms.per_param.iter().filter(|(_, x)| !x.is_finite()).count();
        let what = if !loss.is_finite() {
            format!("the loss is {loss}")
        } else {
            let (n, x) = bad_param.expect("checked above");
            format!("the loss is finite ({loss:.4e}) but the gradient norm of `{n}` is {x}")
        };
        let what = format!(
            "at optimiser step {step} {what}; {bad_params} of {} gradients are not finite",
            norms.per_param.len()
        );
        let clip = match self.clip {
            Some(c) => format!("gradients are clipped at norm {c}; try a smaller threshold"),
            None => "clip gradients (e.g. --clip 1.0)".to_owned(),
        };
        let hint = if step <= 1 {
            format!(
                "it failed at the first step: check the inputs and targets for NaN/Inf (one NaN in the data \
                 makes every gradient NaN); otherwise lower the learning rate (now {:e}) or {clip}",
                self.lr
            )
        } else {
            format!(
                "lower the learning rate (now {:e}) or {clip}; if the data can hold NaN/Inf, check it",
                self.lr
            )
        };
        Err(TrainError::NonFinite {
            epoch,
            what,
            param: bad_param.map(|(n, _)| n.clone()),
            hint,
            last_checkpoint: None,
        })
    }

    /// Ok when a finite step stays within [`NanGuard::divergence`]; otherwise
    /// [`TrainError::Diverged`] naming `epoch`, the parameter with the
    /// largest gradient norm and a hint. `reference` is the loss the step's
    /// is compared with (see [`Divergence::loss_factor`]); `None` skips that
    /// comparison, as does a reference of 0.
    pub fn check_divergence(
        &self,
        epoch: usize,
        step: u64,
        loss: f64,
        reference: Option<f64>,
        norms: &GradNorms,
    ) -> Result<(), TrainError> {
        let limits = self.divergence;
        let largest = norms
            .per_param
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, x)| (n.clone(), *x));
        let grew = reference.filter(|r| *r != 0.0 && loss.abs() > limits.loss_factor * r.abs());
        let what = if let Some(r) = grew {
            format!(
                "at optimiser step {step} the loss is {loss:.4e}, over {:e} times the reference {r:.4e} \
                 (the first step's loss in epoch 1, the first epoch's mean after it)",
                limits.loss_factor
            )
        } else {
            match &largest {
                Some((n, x)) if *x > limits.max_grad_norm => format!(
                    "at optimiser step {step} the gradient norm of `{n}` is {x:.4e}, over the bound {:e}",
                    limits.max_grad_norm
                ),
                _ => return Ok(()),
            }
        };
        let clip = match self.clip {
            Some(c) => format!("a smaller clipping threshold (now {c})"),
            None => "clipping gradients (e.g. --clip 1.0)".to_owned(),
        };
        Err(TrainError::Diverged {
            epoch,
            what,
            param: largest.map(|(n, _)| n),
            hint: format!(
                "lower the learning rate (now {:e}; try 10 times lower) or try {clip}; \
                 the inputs may also need scaling",
                self.lr
            ),
            last_checkpoint: None,
        })
    }
}
