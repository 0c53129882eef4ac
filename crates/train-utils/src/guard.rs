//! NaN / Inf guard: checks the loss and each parameter's gradient norm before
//! the optimiser may step.

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

/// Checks a step's loss and gradients and says what to try when they go bad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NanGuard {
    /// The learning rate, quoted in the hint.
    pub lr: f64,
    /// The gradient clipping threshold in use, quoted in the hint.
    pub clip: Option<f64>,
}

impl NanGuard {
    /// The gradient norms of `params` (call after `backward`).
    pub fn grad_norms(params: &[(String, Tensor)]) -> GradNorms {
        let per_param: Vec<(String, f64)> = params
            .iter()
            .filter_map(|(n, p)| {
                let g = p.grad();
                g.defined().then(|| (n.clone(), g.norm().double_value(&[])))
            })
            .collect();
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
}
