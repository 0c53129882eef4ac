//! Adam with state we own, so a checkpoint can hold it and a resumed run
//! continues exactly.
//!
//! The update is PyTorch's `torch.optim.Adam` (not AMSGrad, L2 weight decay
//! added to the gradient):
//!
//! ```text
//! g = grad + wd * p
//! m = b1 * m + (1 - b1) * g
//! v = b2 * v + (1 - b2) * g^2
//! p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//! ```

use crate::error::TrainError;
use std::collections::BTreeMap;
use tch::Tensor;

/// Adam's hyper-parameters and state: the step count and, per parameter name,
/// the first and second moment estimates.
#[derive(Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 weight decay, added to the gradient.
    pub weight_decay: f64,
    /// Steps taken so far.
    pub step: u64,
    /// First moments by parameter name (created at the first step).
    pub exp_avg: BTreeMap<String, Tensor>,
    /// Second moments by parameter name.
    pub exp_avg_sq: BTreeMap<String, Tensor>,
}

impl Adam {
    /// Adam with PyTorch's defaults (betas 0.9, 0.999, eps 1e-8, no weight decay).
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            step: 0,
            exp_avg: BTreeMap::new(),
            exp_avg_sq: BTreeMap::new(),
        }
    }

    /// The same with L2 weight decay `wd`.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }

    /// One update of `params` (name, variable) from their gradients; a
    /// parameter without a gradient is left alone.
    pub fn step(&mut self, params: &[(String, Tensor)]) -> Result<(), TrainError> {
        let _no_grad = tch::no_grad_guard();
        self.step += 1;
        let t = self.step as f64;
        let bias1 = 1.0 - self.beta1.powf(t);
        let bias2_sqrt = (1.0 - self.beta2.powf(t)).sqrt();
        for (name, p) in params {
            let grad = p.grad();
            if !grad.defined() {
                continue;
            }
            let g = if self.weight_decay != 0.0 {
                grad.f_add(&p.f_mul_scalar(self.weight_decay)?)?
            } else {
                grad
            };
            let m = self.exp_avg.entry(name.clone()).or_insert_with(|| p.zeros_like());
            *m = m
                .f_mul_scalar(self.beta1)?
                .f_add(&g.f_mul_scalar(1.0 - self.beta1)?)?;
            let v = self
                .exp_avg_sq
                .entry(name.clone())
                .or_insert_with(|| p.zeros_like());
            *v = v
                .f_mul_scalar(self.beta2)?
                .f_add(&g.f_square()?.f_mul_scalar(1.0 - self.beta2)?)?;
            let denom = v.f_sqrt()?.f_div_scalar(bias2_sqrt)?.f_add_scalar(self.eps)?;
            let update = m.f_div(&denom)?.f_mul_scalar(self.lr / bias1)?;
            let mut p = p.shallow_clone();
            let _ = p.f_sub_(&update)?;
        }
        Ok(())
    }
}
