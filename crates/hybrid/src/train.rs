//! Batched training and evaluation of a [`Forecaster`].

use crate::error::{check_shape, HybridError, Result};
use crate::forecast::Forecaster;
use crate::graph::Graph;
use crate::metrics::{masked_mae_loss, Mask};
use std::time::Instant;
use tch::{nn, Kind, Tensor};

/// Forecasting samples: inputs `x` `(S, T, N, F)` and targets `y` `(S, N, horizon)`.
#[derive(Debug)]
pub struct Samples {
    /// Inputs.
    pub x: Tensor,
    /// Targets.
    pub y: Tensor,
}

impl Samples {
    /// Checks that `x` and `y` agree on samples and nodes.
    pub fn new(x: Tensor, y: Tensor) -> Result<Self> {
        let xs = check_shape("samples x", &x, &[None, None, None, None], "(S, T, N, F)")?;
        check_shape(
            "samples y",
            &y,
            &[Some(xs[0]), Some(xs[2]), None],
            &format!("({}, {}, horizon)", xs[0], xs[2]),
        )?;
        Ok(Samples { x, y })
    }

    /// Number of samples `S`.
    pub fn len(&self) -> i64 {
        self.x.size()[0]
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples `start..end`.
    pub fn slice(&self, start: i64, end: i64) -> Samples {
        Samples {
            x: self.x.narrow(0, start, end - start),
            y: self.y.narrow(0, start, end - start),
        }
    }

    /// Moves both tensors to `device`.
    pub fn to_device(&self, device: tch::Device) -> Samples {
        Samples {
            x: self.x.to_device(device),
            y: self.y.to_device(device),
        }
    }
}

/// The training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Mean squared error (PGT's recipes).
    Mse,
    /// Mean absolute error, zero targets left out (DCRNN, Graph WaveNet).
    MaskedMae,
}

/// How to train.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    /// Number of epochs.
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Adam's weight decay (L2).
    pub weight_decay: f64,
    /// Samples per optimiser step, shuffled each epoch; `None`: all samples in
    /// one step per epoch, which is what PGT's recipes do (they sum the
    /// snapshots' losses, divide by their number, then step once).
    pub batch_size: Option<i64>,
    /// The loss.
    pub loss: Loss,
}

/// What training did.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Mean training loss of each epoch.
    pub losses: Vec<f64>,
    /// Wall-clock seconds per epoch.
    pub seconds_per_epoch: f64,
}

fn loss_of(loss: Loss, pred: &Tensor, y: &Tensor) -> Result<Tensor> {
    match loss {
        // Every snapshot has the same node count, so the mean of per-snapshot MSEs is the overall MSE.
        Loss::Mse => Ok((pred - y).square().mean(Kind::Float)),
        Loss::MaskedMae => masked_mae_loss(pred, y, Mask::Zeros),
    }
}

/// Trains `model` (whose variables are in `vs`) on `train` with Adam.
pub fn fit(
    model: &Forecaster,
    vs: &nn::VarStore,
    graph: &Graph,
    train: &Samples,
    config: &FitConfig,
) -> Result<FitReport> {
    use tch::nn::OptimizerConfig;
    if train.is_empty() {
        return Err(HybridError::Config("no training samples".into()));
    }
    let mut opt = nn::Adam {
        wd: config.weight_decay,
        ..Default::default()
    }
    .build(vs, config.lr)?;
    let n = train.len();
    let batch = config.batch_size.unwrap_or(n).clamp(1, n);
    let start = Instant::now();
    let mut losses = Vec::with_capacity(config.epochs);
    let mut batches_seen = 0;
    for _ in 0..config.epochs {
        let order = if batch < n {
            Some(Tensor::randperm(n, (Kind::Int64, train.x.device())))
        } else {
            None
        };
        let (mut total, mut steps) = (0.0, 0);
        for first in (0..n).step_by(batch as usize) {
            let len = batch.min(n - first);
            let (x, y) = match &order {
                Some(o) => {
                    let idx = o.narrow(0, first, len);
                    (train.x.index_select(0, &idx), train.y.index_select(0, &idx))
                }
                None => (train.x.shallow_clone(), train.y.shallow_clone()),
            };
            let loss = loss_of(
                config.loss,
                &model.f_forward_train(&x, graph, &y, batches_seen)?,
                &y,
            )?;
            opt.backward_step(&loss);
            batches_seen += 1;
            total += loss.double_value(&[]);
            steps += 1;
        }
        losses.push(total / steps as f64);
    }
    let seconds_per_epoch = start.elapsed().as_secs_f64() / config.epochs.max(1) as f64;
    Ok(FitReport {
        losses,
        seconds_per_epoch,
    })
}

/// Forecasts for all of `x` `(S, T, N, F)`, `batch_size` samples at a time,
/// without gradients.
pub fn predict(model: &Forecaster, graph: &Graph, x: &Tensor, batch_size: i64) -> Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let n = x.size().first().copied().unwrap_or(0);
    let batch = batch_size.max(1);
    let parts = (0..n)
        .step_by(batch as usize)
        .map(|first| model.f_forward(&x.narrow(0, first, batch.min(n - first)), graph))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0))
}

/// The persistence forecast: the last input value (last step, last feature)
/// repeated over the horizon, `(S, N, horizon)`.
pub fn persistence(x: &Tensor, horizon: i64) -> Tensor {
    x.select(1, -1)
        .select(-1, -1)
        .unsqueeze(-1)
        .repeat([1, 1, horizon])
}

pub use train_utils::memory::{keep_freed_memory, peak_rss_mib};
