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
use tch::{nn::VarStore, Tensor};

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
    /// Per-parameter weight decay replacing `weight_decay` for the parameters
    /// named (tch's parameter groups, e.g. Kipf's GCN decays its first layer only).
    pub param_weight_decay: BTreeMap<String, f64>,
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
            param_weight_decay: BTreeMap::new(),
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

    /// The same with weight decay `wd` for each variable of `vs` in tch
    /// parameter group `group`, for each `(group, wd)` of `groups` (as
    /// `tch::nn::Optimizer::set_weight_decay_group`); other variables keep
    /// `weight_decay`.
    pub fn with_group_weight_decay(mut self, vs: &VarStore, groups: &[(usize, f64)]) -> Self {
        let variables = vs.variables_.lock().unwrap_or_else(|e| e.into_inner());
        for var in &variables.trainable_variables {
            let Some(&(_, wd)) = groups.iter().find(|(g, _)| *g == var.group) else {
                continue;
            };
            // A trainable variable and its named entry are shallow clones: same storage.
            let name = variables
                .named_variables
                .iter()
                .find(|(_, t)| t.data_ptr() == var.tensor.data_ptr() && t.size() == var.tensor.size());
            if let Some((name, _)) = name {
                self.param_weight_decay.insert(name.clone(), wd);
            }
        }
        drop(variables);
        self
    }

    /// The weight decay applied to parameter `name`.
    pub fn weight_decay_of(&self, name: &str) -> f64 {
        self.param_weight_decay
            .get(name)
            .copied()
            .unwrap_or(self.weight_decay)
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
            let wd = self.weight_decay_of(name);
            let g = if wd != 0.0 {
                grad.f_add(&p.f_mul_scalar(wd)?)?
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
