//! Published protocols as functions: samples cut from a signal with tensor
//! windows, a chronological split, training over seeds, test metrics.

use crate::error::{HybridError, Result};
use crate::forecast::{Forecaster, ModelConfig, ModelKind};
use crate::graph::Graph;
use crate::metrics::{metrics, metrics_per_horizon, Mask, Metrics};
use crate::train::{fit, persistence, predict, FitConfig, Loss, Samples};
use graph_data::csr::Csr;
use graph_data::temporal::StaticGraphSignal;
use tch::{nn, Device, Kind, Tensor};

/// Where the input steps of each sample go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LagLayout {
    /// `T` lags as the `T` features of one step, `(S, 1, N, T)`: PyG
    /// Temporal's lag view, what its recurrent recipes read.
    Features,
    /// `T` lags as `T` steps of one feature, `(S, T, N, 1)`.
    Steps,
}

/// Cuts a `(steps, N)` series into samples of `t_in` inputs and the next
/// `horizon` values: `x` as `layout` says, `y` `(S, N, horizon)`, with
/// `S = steps - t_in - horizon + 1`.
pub fn windows(series: &Tensor, t_in: i64, horizon: i64, layout: LagLayout) -> Result<Samples> {
    let size = series.size();
    if size.len() != 2 || size[0] < t_in + horizon || t_in < 1 || horizon < 1 {
        return Err(HybridError::Shape {
            what: "series",
            expected: format!("(steps >= {}, N)", t_in + horizon),
            got: size,
        });
    }
    // (S, N, t_in + horizon): window s holds steps s .. s + t_in + horizon.
    let w = series.unfold(0, t_in + horizon, 1);
    let x = w.narrow(2, 0, t_in);
    let x = match layout {
        LagLayout::Features => x.unsqueeze(1),
        LagLayout::Steps => x.permute([0, 2, 1]).unsqueeze(-1),
    };
    Samples::new(x.contiguous(), w.narrow(2, t_in, horizon).contiguous())
}

/// A data set ready for a model: samples, split, supports.
#[derive(Debug)]
pub struct Prepared {
    /// Data set name.
    pub dataset: String,
    /// Training samples (the first part, in time order).
    pub train: Samples,
    /// Test samples (the rest).
    pub test: Samples,
    /// The model's supports.
    pub graph: Graph,
    /// Features per step `F`.
    pub in_features: i64,
    /// Steps per sample `T`.
    pub periods: i64,
    /// Values forecast per node.
    pub horizon: i64,
    /// Targets are multiplied by this to report metrics in the data's units.
    pub scale: f64,
    /// Which test targets count in the metrics.
    pub mask: Mask,
}

fn series_tensor(signal: &StaticGraphSignal) -> Result<Tensor> {
    if signal.features != 1 {
        return Err(HybridError::Config(format!(
            "expected one feature per node, the signal has {}",
            signal.features
        )));
    }
    Ok(Tensor::from_slice(&signal.values).reshape([signal.steps as i64, signal.nodes() as i64]))
}

/// The model's supports for the signal's graph: dense for small or dense
/// graphs, sparse otherwise (Los-loop, 6.6 % non-zero, propagates ~5x faster sparse).
fn graph_for(kind: ModelKind, signal: &StaticGraphSignal) -> Result<Graph> {
    let adj = Csr::from_edge_list(&signal.edges).map_err(|e| HybridError::Graph(e.to_string()))?;
    let n = adj.num_nodes();
    let dense = n <= 64 || adj.nnz() * 20 > n * n;
    Ok(Graph::Static(kind.support_kind().supports(&adj, dense)?))
}

/// PyG Temporal's Chickenpox recipe: `lags` lagged weeks as features (as
/// steps for the models that [read steps](ModelKind::reads_steps)), next week as target, the first `train_ratio` of the
/// snapshots for training (`int(ratio * S)`, as `temporal_signal_split`).
pub fn chickenpox(
    signal: &StaticGraphSignal,
    kind: ModelKind,
    lags: i64,
    train_ratio: f64,
) -> Result<Prepared> {
    let layout = if kind.reads_steps() {
        LagLayout::Steps
    } else {
        LagLayout::Features
    };
    let all = windows(&series_tensor(signal)?, lags, 1, layout)?;
    let n_train = (train_ratio * all.len() as f64) as i64;
    let (in_features, periods) = if layout == LagLayout::Features {
        (lags, 1)
    } else {
        (1, lags)
    };
    Ok(Prepared {
        dataset: "chickenpox".into(),
        train: all.slice(0, n_train),
        test: all.slice(n_train, all.len()),
        graph: graph_for(kind, signal)?,
        in_features,
        periods,
        horizon: 1,
        scale: 1.0,
        mask: Mask::None,
    })
}

/// T-GCN's Los-loop protocol: speeds divided by their maximum, the first
/// `train_ratio` (0.8) of the steps for training and the rest for testing,
/// windows of `t_in` (12) steps and the next `horizon` (12) steps cut inside
/// each part. Metrics leave out zero speeds (missing readings).
pub fn los_loop(signal: &StaticGraphSignal, kind: ModelKind, t_in: i64, horizon: i64) -> Result<Prepared> {
    let series = series_tensor(signal)?;
    let scale = series.max().double_value(&[]);
    let series = series / scale;
    let steps = signal.steps as i64;
    let n_train = (0.8 * steps as f64) as i64;
    let cut = |s: &Tensor| windows(s, t_in, horizon, LagLayout::Steps);
    Ok(Prepared {
        dataset: "los-loop".into(),
        train: cut(&series.narrow(0, 0, n_train))?,
        test: cut(&series.narrow(0, n_train, steps - n_train))?,
        graph: graph_for(kind, signal)?,
        in_features: 1,
        periods: t_in,
        horizon,
        scale,
        mask: Mask::Zeros,
    })
}

impl Prepared {
    /// Number of nodes `N`.
    pub fn nodes(&self) -> i64 {
        self.train.x.size()[2]
    }
}

/// What one training run reached.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Test metrics over all horizons, in the data's units.
    pub test: Metrics,
    /// Test metrics at each horizon step.
    pub per_horizon: Vec<Metrics>,
    /// The persistence baseline's test metrics.
    pub persistence: Metrics,
    /// The persistence baseline's test metrics at each horizon step.
    pub persistence_per_horizon: Vec<Metrics>,
    /// Seconds per training epoch.
    pub seconds_per_epoch: f64,
    /// Last epoch's training loss.
    pub final_train_loss: f64,
}

/// Builds the model of `config` with `seed`, trains it on `data.train` and
/// evaluates it on `data.test`, on `device`.
pub fn run(
    data: &Prepared,
    config: &ModelConfig,
    fit_config: &FitConfig,
    seed: i64,
    device: Device,
) -> Result<RunResult> {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(device);
    let model = Forecaster::new(vs.root(), config)?;
    let graph = data.graph.to_device(device);
    let train = data.train.to_device(device);
    let report = fit(&model, &vs, &graph, &train, fit_config)?;
    let final_loss = report.losses.last().copied().unwrap_or(f64::NAN);
    evaluate(&model, &graph, data, device, report.seconds_per_epoch, final_loss)
}

/// Scores a trained model on `data.test` (in the data's original units),
/// overall and per horizon step, beside the persistence baseline. `graph`
/// must already be on `device`, the model's device.
pub fn evaluate(
    model: &Forecaster,
    graph: &Graph,
    data: &Prepared,
    device: Device,
    seconds_per_epoch: f64,
    final_train_loss: f64,
) -> Result<RunResult> {
    let test = data.test.to_device(device);
    let pred = predict(model, graph, &test.x, 1024)?.to_kind(Kind::Float) * data.scale;
    let y = &test.y * data.scale;
    let base = persistence(&test.x, data.horizon) * data.scale;
    Ok(RunResult {
        test: metrics(&pred, &y, data.mask)?,
        per_horizon: metrics_per_horizon(&pred, &y, data.mask)?,
        persistence: metrics(&base, &y, data.mask)?,
        persistence_per_horizon: metrics_per_horizon(&base, &y, data.mask)?,
        seconds_per_epoch,
        final_train_loss,
    })
}

/// PyG Temporal's Chickenpox training: 200 epochs, Adam 0.01, one step per
/// epoch on the mean MSE of all training snapshots.
pub const CHICKENPOX_FIT: FitConfig = FitConfig {
    epochs: 200,
    lr: 0.01,
    weight_decay: 0.0,
    batch_size: None,
    loss: Loss::Mse,
};
