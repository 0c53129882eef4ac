//! Training a [`Forecaster`] on a prepared data set (checkpoints, guards,
//! dynamic graphs, validation selection, patience), and batched prediction.

use crate::error::{check_shape, Result};
use crate::forecast::Forecaster;
use crate::graph::Supports;
use crate::metrics::{masked_mae_loss, Mask};
use crate::protocol::{score, Part, Prepared};
use serde::Serialize;
use tch::{nn, Kind, Tensor};
use train_utils::{Adam, RunIdentity, TrainError, TrainOptions, Trainer};

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
        let xs = check_shape("Samples", "x", &x, &[None, None, None, None], "[S, T, N, F]")?;
        check_shape(
            "Samples",
            "y",
            &y,
            &[Some(xs[0]), Some(xs[2]), None],
            &format!("[S={}, N={}, horizon]", xs[0], xs[2]),
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

impl Loss {
    /// The loss of `pred` against `y` (same shape).
    pub fn of(self, pred: &Tensor, y: &Tensor) -> Result<Tensor> {
        match self {
            // Every snapshot has the same node count, so the mean of per-snapshot MSEs is the overall MSE.
            Loss::Mse => Ok((pred - y).square().mean(Kind::Float)),
            Loss::MaskedMae => masked_mae_loss(pred, y, Mask::Zeros),
        }
    }
}

/// How to train a forecaster (Adam as PyTorch's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    /// Number of epochs (at most, with `patience`).
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
    /// With validation samples, stop after this many epochs without a better
    /// validation RMSE (0: never).
    pub patience: usize,
}

impl Default for FitConfig {
    /// 100 epochs of shuffled batches of 32, Adam 0.001, MSE (T-GCN's settings).
    fn default() -> Self {
        FitConfig {
            epochs: 100,
            lr: 0.001,
            weight_decay: 0.0,
            batch_size: Some(32),
            loss: Loss::Mse,
            patience: 0,
        }
    }
}

/// One epoch of [`fit_forecaster`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochLog {
    /// Mean training loss of the epoch's steps.
    pub train_loss: f64,
    /// Validation RMSE after the epoch (data's units), with validation samples.
    pub val_rmse: Option<f64>,
    /// Validation MAE after the epoch (data's units, masked as the test
    /// metrics are), with validation samples.
    pub val_mae: Option<f64>,
}

/// What [`fit_forecaster`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitted {
    /// Every epoch run (those before a resume included in `train_losses` only).
    pub history: Vec<EpochLog>,
    /// Mean training loss of every epoch, those before a resume included.
    pub train_losses: Vec<f64>,
    /// 1-based epoch whose parameters were kept (the last without validation).
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Validation RMSE of the kept parameters.
    pub val_rmse: Option<f64>,
    /// Validation MAE of the kept parameters.
    pub val_mae: Option<f64>,
    /// Wall-clock seconds per epoch run in this process.
    pub seconds_per_epoch: f64,
}

/// Trains `model` (parameters in `vs`) on `data.train` through
/// `train_utils::Trainer`: Adam with `fit`'s settings, shuffled batches drawn
/// from the epoch's generator, the NaN and divergence guards, checkpoints and
/// exact resume (`options`, whose checkpoint must match `identity`). On a
/// dynamic graph each sample runs on its own supports and a batch averages
/// its samples' losses. With validation samples, the parameters of the epoch
/// with the lowest validation RMSE (MAE when the loss is
/// [`Loss::MaskedMae`], as DCRNN and Graph WaveNet select) are kept and
/// `fit.patience` stops early.
/// `verbose` prints each epoch to stderr.
pub fn fit_forecaster(
    model: &Forecaster,
    vs: &nn::VarStore,
    data: &Prepared,
    fit: &FitConfig,
    identity: RunIdentity,
    options: TrainOptions,
    verbose: bool,
) -> std::result::Result<Fitted, TrainError> {
    let device = vs.device();
    let graph = data.graph.to_device(device);
    let train = data.train.to_device(device);
    let sample_graphs: Option<Vec<Supports>> = data
        .graphs(Part::Train)
        .map(|g| g.iter().map(|g| g.to_device(device)).collect());
    let adam = Adam::new(fit.lr).with_weight_decay(fit.weight_decay);
    let mut trainer = Trainer::new(vs, adam, identity, options);
    let n = train.len();
    if n == 0 {
        return Err(TrainError::Config(format!(
            "{} has no training samples",
            data.dataset
        )));
    }
    let batch = fit.batch_size.unwrap_or(n).clamp(1, n);
    let params: Vec<Tensor> = vs.trainable_variables();
    // (selection value, epoch, parameters, validation RMSE, validation MAE)
    let mut best: Option<(f64, usize, Vec<Tensor>, f64, f64)> = None;
    let mut history = Vec::new();
    let report = trainer.run(|epoch| -> std::result::Result<f64, TrainError> {
        let order = (batch < n).then(|| epoch.permutation(n, device));
        let (mut total, mut steps) = (0.0, 0);
        let batches_per_epoch = (n as usize).div_ceil(batch as usize);
        for first in (0..n).step_by(batch as usize) {
            let len = batch.min(n - first);
            let idx = match &order {
                Some(o) => o.narrow(0, first, len),
                None => Tensor::arange_start(first, first + len, (Kind::Int64, device)),
            };
            let batches_seen = epoch.index() * batches_per_epoch + steps;
            let loss = match &sample_graphs {
                None => {
                    let (x, y) = (train.x.index_select(0, &idx), train.y.index_select(0, &idx));
                    data.loss(
                        fit.loss,
                        &model.f_forward_train(&x, &graph, &y, batches_seen)?,
                        &y,
                    )?
                }
                Some(graphs) => {
                    // Each sample has its own graphs: the batch's mean loss, sample by sample.
                    let losses = Vec::<i64>::try_from(&idx)?
                        .into_iter()
                        .map(|i| {
                            let (x, y) = (train.x.narrow(0, i, 1), train.y.narrow(0, i, 1));
                            let pred = model.f_forward_train(&x, &graphs[i as usize], &y, batches_seen)?;
                            data.loss(fit.loss, &pred, &y)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Tensor::stack(&losses, 0).mean(Kind::Float)
                }
            };
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
            steps += 1;
        }
        let train_loss = total / steps as f64;
        let mut log = EpochLog {
            train_loss,
            val_rmse: None,
            val_mae: None,
        };
        if data.val.is_some() {
            let m = score(model, &graph, data, Part::Val, device)?;
            (log.val_rmse, log.val_mae) = (Some(m.rmse), Some(m.mae));
            let value = if fit.loss == Loss::MaskedMae {
                m.mae
            } else {
                m.rmse
            };
            let improved = best.as_ref().is_none_or(|b| value < b.0);
            if improved {
                let copy = tch::no_grad(|| params.iter().map(|p| p.detach().copy()).collect());
                best = Some((value, epoch.index() + 1, copy, m.rmse, m.mae));
            } else if fit.patience > 0 && epoch.index() + 1 >= best.as_ref().map_or(0, |b| b.1) + fit.patience
            {
                epoch.stop();
            }
        }
        if verbose {
            let val = log
                .val_rmse
                .map(|v| format!(", validation RMSE {v:.4}"))
                .unwrap_or_default();
            eprintln!("epoch {}: train loss {train_loss:.6}{val}", epoch.index() + 1);
        }
        history.push(log);
        Ok(train_loss)
    })?;
    let epochs_run = report.losses.len();
    let (best_epoch, val_rmse, val_mae) = match best {
        Some((_, at, saved, rmse, mae)) => {
            tch::no_grad(|| {
                for (p, s) in params.iter().zip(&saved) {
                    p.shallow_clone().copy_(s);
                }
            });
            (at, Some(rmse), Some(mae))
        }
        None => (epochs_run, None, None),
    };
    Ok(Fitted {
        history,
        train_losses: report.losses,
        best_epoch,
        epochs_run,
        val_rmse,
        val_mae,
        seconds_per_epoch: report.seconds_per_epoch,
    })
}

/// Forecasts for all of `x` `(S, T, N, F)`, `batch_size` samples at a time,
/// without gradients.
pub fn predict(model: &Forecaster, graph: &Supports, x: &Tensor, batch_size: i64) -> Result<Tensor> {
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
