//! Published data protocols as functions: samples cut from a signal with
//! tensor windows, a chronological split, scaling, the supports a model needs,
//! the baselines, and test scores in the data's units. Training is
//! [`crate::train`]; the whole recipe over seeds is [`crate::recipe`].

use crate::error::{HybridError, InputError, Result};
use crate::forecast::{Forecaster, ModelKind};
use crate::graph::{SupportKind, Supports};
use crate::metrics::{metrics, metrics_per_horizon, Mask, Metrics};
use crate::train::{persistence, predict, FitConfig, Loss, Samples};
use graph_data::csr::Csr;
use graph_data::temporal::{DynamicGraphSignal, StaticGraphSignal};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

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
        let expected = format!("[steps >= {}, N] with t_in, horizon >= 1", t_in + horizon);
        return Err(InputError::shape("windows", "series", expected, size).into());
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
    pub graph: Supports,
    /// Features per step `F`.
    pub in_features: i64,
    /// Steps per sample `T`.
    pub periods: i64,
    /// Values forecast per node.
    pub horizon: i64,
    /// Values in the data's units are `scaled * scale + offset`: metrics are
    /// reported in the data's units.
    pub scale: f64,
    /// See `scale` (0 for max scaling).
    pub offset: f64,
    /// Which test targets count in the metrics.
    pub mask: Mask,
    /// Validation samples for early stopping (the chronological tail of the
    /// training part), when the protocol keeps some.
    pub val: Option<Samples>,
    /// A dynamic graph: each sample's own supports (one set per input step),
    /// for the training, validation and test samples in order. `graph` is
    /// then the first training sample's.
    pub sample_graphs: Option<SampleGraphs>,
    /// The scaled value of a missing reading (a zero in the data's units),
    /// for protocols that leave zeros out of the loss and the metrics
    /// ([`dcrnn`]): targets equal to it are restored to exactly 0 by
    /// [`Prepared::unscale_target`] and masked by [`Prepared::loss`].
    pub missing: Option<f64>,
    /// The input feature that holds the forecast variable, when the inputs
    /// carry other channels too ([`dcrnn`]'s time of day); `None`: every
    /// feature is a lag of it (the baselines then read the last feature).
    pub target_feature: Option<i64>,
}

/// The supports of each sample of a dynamic graph (england_covid: one graph
/// per day, so every window has its own sequence of graphs).
#[derive(Debug)]
pub struct SampleGraphs {
    /// One per training sample.
    pub train: Vec<Supports>,
    /// One per validation sample.
    pub val: Vec<Supports>,
    /// One per test sample.
    pub test: Vec<Supports>,
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
fn graph_for(kind: ModelKind, signal: &StaticGraphSignal) -> Result<Supports> {
    let adj = Csr::from_edge_list(&signal.edges).map_err(|e| HybridError::Graph(e.to_string()))?;
    let n = adj.num_nodes();
    let dense = n <= 64 || adj.nnz() * 20 > n * n;
    Ok(Supports::Static(kind.support_kind().supports(&adj, dense)?))
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
        offset: 0.0,
        mask: Mask::None,
        val: None,
        sample_graphs: None,
        missing: None,
        target_feature: None,
    })
}

/// How a protocol scales its series before the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scaling {
    /// Divided by the maximum (T-GCN's reference code: of the whole series).
    Max,
    /// Minus the training part's mean, divided by its standard deviation
    /// (DCRNN's and Graph WaveNet's `StandardScaler`).
    ZScore,
}

/// `(offset, scale)` of `scaling` fitted on `values`.
fn fit_scaling(values: &Tensor, scaling: Scaling) -> (f64, f64) {
    let v = values.to_kind(Kind::Double);
    match scaling {
        Scaling::Max => (0.0, v.max().double_value(&[]).max(1e-12)),
        Scaling::ZScore => (
            v.mean(Kind::Double).double_value(&[]),
            v.std(true).double_value(&[]).max(1e-12),
        ),
    }
}

/// T-GCN's support: `D^-1/2 (A + I) D^-1/2` with the identity added to
/// whatever diagonal the adjacency has (Los-loop's file already holds ones,
/// so its self loops weigh 2, as in T-GCN's `calculate_laplacian_with_self_loop`).
fn tgcn_support(adj: &Csr, dense: bool) -> Result<Vec<Tensor>> {
    let n = adj.num_nodes();
    let mut entries: Vec<(u32, u32, f32)> = Vec::with_capacity(adj.nnz() + n);
    for r in 0..n {
        let (cols, w) = adj.row(r);
        for (i, &c) in cols.iter().enumerate() {
            entries.push((r as u32, c, w.map_or(1.0, |w| w[i])));
        }
        entries.push((r as u32, r as u32, 1.0));
    }
    let (src, dst, w): (Vec<u32>, Vec<u32>, Vec<f32>) = entries.into_iter().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |(mut s, mut d, mut w), (a, b, c)| {
            s.push(a);
            d.push(b);
            w.push(c);
            (s, d, w)
        },
    );
    let edges =
        graph_data::EdgeList::new(n, src, dst, Some(w)).map_err(|e| HybridError::Graph(e.to_string()))?;
    // Duplicate (r, r) entries are summed by the CSR build: A_rr + 1.
    let plus_i = Csr::from_edge_list(&edges)
        .map_err(|e| HybridError::Graph(e.to_string()))?
        .deduplicated(graph_data::csr::Dedup::Sum);
    let t = plus_i
        .gcn_normalized(false, false)
        .transpose()
        .to_sparse_coo_tensor();
    Ok(vec![if dense { t.to_dense(None, false) } else { t }])
}

/// The first `1 - val_fraction` of `samples` and the rest (`None` when
/// `val_fraction` is 0).
fn split_val(samples: Samples, val_fraction: f64) -> (Samples, Option<Samples>) {
    let n = samples.len();
    let n_val = (val_fraction * n as f64).round() as i64;
    if n_val <= 0 || n_val >= n {
        return (samples, None);
    }
    (samples.slice(0, n - n_val), Some(samples.slice(n - n_val, n)))
}

/// T-GCN's Los-loop protocol (Zhao et al. 2019 and its reference code): speeds
/// divided by the maximum of the whole series (or z-scored with the training
/// part's statistics, `scaling`), the first 80 % of the steps for
/// training and the rest for testing, windows of `t_in` (12) steps and the
/// next `horizon` steps cut inside each part (T-GCN trains one model per
/// horizon: 3 steps for its "15 minutes"). The last `val_fraction` of the
/// training windows are held out for early stopping (T-GCN has none). T-GCN
/// and A3T-GCN get T-GCN's support `D^-1/2 (A + I) D^-1/2`. Metrics are not
/// masked (Los-loop has no zero speeds, so masking would change nothing).
pub fn los_loop(
    signal: &StaticGraphSignal,
    kind: ModelKind,
    t_in: i64,
    horizon: i64,
    val_fraction: f64,
    scaling: Scaling,
) -> Result<Prepared> {
    let series = series_tensor(signal)?;
    let steps = signal.steps as i64;
    let n_train = (0.8 * steps as f64) as i64;
    // T-GCN divides by the maximum of the whole series (train and test).
    let (offset, scale) = match scaling {
        Scaling::Max => fit_scaling(&series, scaling),
        Scaling::ZScore => fit_scaling(&series.narrow(0, 0, n_train), scaling),
    };
    let series = (series - offset) / scale;
    let cut = |s: &Tensor| windows(s, t_in, horizon, LagLayout::Steps);
    let graph = if kind.support_kind() == SupportKind::GcnNormalised {
        let adj = Csr::from_edge_list(&signal.edges).map_err(|e| HybridError::Graph(e.to_string()))?;
        Supports::Static(tgcn_support(&adj, false)?)
    } else {
        graph_for(kind, signal)?
    };
    let (train, val) = split_val(cut(&series.narrow(0, 0, n_train))?, val_fraction);
    Ok(Prepared {
        dataset: "los-loop".into(),
        train,
        test: cut(&series.narrow(0, n_train, steps - n_train))?,
        graph,
        in_features: 1,
        periods: t_in,
        horizon,
        scale,
        offset,
        mask: Mask::None,
        val,
        sample_graphs: None,
        missing: None,
        target_feature: None,
    })
}

/// flu_bybw (140 districts, 416 weekly influenza counts): `t_in` weeks in
/// (as steps), the next `horizon` weeks out, windows cut inside each part of
/// an 80/20 chronological split of the weeks, counts scaled with the training
/// part's statistics (`scaling`; metrics in counts, unmasked: a zero count is a real zero),
/// the last `val_fraction` of the training windows held out for early stopping.
pub fn flu_bybw(
    signal: &StaticGraphSignal,
    kind: ModelKind,
    t_in: i64,
    horizon: i64,
    val_fraction: f64,
    scaling: Scaling,
) -> Result<Prepared> {
    let series = series_tensor(signal)?;
    let steps = signal.steps as i64;
    let n_train = (0.8 * steps as f64) as i64;
    let (offset, scale) = fit_scaling(&series.narrow(0, 0, n_train), scaling);
    let series = (series - offset) / scale;
    let cut = |s: &Tensor| windows(s, t_in, horizon, LagLayout::Steps);
    let (train, val) = split_val(cut(&series.narrow(0, 0, n_train))?, val_fraction);
    Ok(Prepared {
        dataset: "flu-bybw".into(),
        train,
        test: cut(&series.narrow(0, n_train, steps - n_train))?,
        graph: graph_for(kind, signal)?,
        in_features: 1,
        periods: t_in,
        horizon,
        scale,
        offset,
        mask: Mask::None,
        val,
        sample_graphs: None,
        missing: None,
        target_feature: None,
    })
}

/// england_covid (129 regions, 61 days, a mobility graph per day), PyG
/// Temporal's lag view (`lags` days in, the next day out) with the days as
/// steps so that step `j` of the window starting at day `s` reads day
/// `s + j`'s graph; windows are split 80/20 in time order (`int(0.8 * S)`,
/// as `temporal_signal_split`), the last `val_fraction` of the training
/// windows held out; cases divided by the training part's maximum, metrics
/// in cases, unmasked.
pub fn england_covid(
    signal: &DynamicGraphSignal,
    kind: ModelKind,
    lags: i64,
    val_fraction: f64,
) -> Result<Prepared> {
    if signal.features != 1 {
        return Err(HybridError::Config(format!(
            "expected one feature per node, the signal has {}",
            signal.features
        )));
    }
    let (steps, n) = (signal.steps() as i64, signal.nodes() as i64);
    let series = Tensor::from_slice(&signal.values).reshape([steps, n]);
    let all = windows(&series, lags, 1, LagLayout::Steps)?;
    let total = all.len();
    let n_train = (0.8 * total as f64) as i64;
    // Scale by the largest value any training sample sees (inputs or target).
    let scale = series
        .narrow(0, 0, n_train + lags)
        .max()
        .double_value(&[])
        .max(1e-12);
    let offset = 0.0;
    let all = Samples::new(all.x / scale, all.y / scale)?;
    let dense = n <= 64;
    let day_supports = signal
        .edges
        .iter()
        .map(|e| {
            let adj = Csr::from_edge_list(e).map_err(|e| HybridError::Graph(e.to_string()))?;
            kind.support_kind().supports(&adj, dense)
        })
        .collect::<Result<Vec<_>>>()?;
    let graph_of = |start: i64| {
        Supports::PerStep(
            (start..start + lags)
                .map(|d| {
                    day_supports[d as usize]
                        .iter()
                        .map(Tensor::shallow_clone)
                        .collect()
                })
                .collect(),
        )
    };
    let (train, val) = split_val(all.slice(0, n_train), val_fraction);
    let n_fit = train.len();
    let n_val = val.as_ref().map_or(0, Samples::len);
    Ok(Prepared {
        dataset: "england-covid".into(),
        train,
        test: all.slice(n_train, total),
        graph: graph_of(0),
        in_features: 1,
        periods: lags,
        horizon: 1,
        scale,
        offset,
        mask: Mask::None,
        val,
        sample_graphs: Some(SampleGraphs {
            train: (0..n_fit).map(graph_of).collect(),
            val: (n_fit..n_fit + n_val).map(graph_of).collect(),
            test: (n_train..total).map(graph_of).collect(),
        }),
        missing: None,
        target_feature: None,
    })
}

/// Python's `round` (ties to even), as DCRNN's split rounds its part sizes.
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}

/// The sizes `(train, val, test)` of DCRNN's split of `samples` windows:
/// `test = round(0.2 S)`, `train = round(0.7 S)`, validation the rest.
pub fn dcrnn_split(samples: i64) -> (i64, i64, i64) {
    let test = round_half_even(samples as f64 * 0.2);
    let train = round_half_even(samples as f64 * 0.7);
    (train, samples - test - train, test)
}

/// The time of day of step `i` of a 5-minute series that starts at midnight,
/// as a fraction of a day (what DCRNN's `add_time_in_day` computes from the
/// timestamps): `(i mod 288) / 288`.
pub fn time_of_day_from_index(steps: usize) -> Vec<f32> {
    (0..steps).map(|i| (i % 288) as f32 / 288.0).collect()
}

/// The protocol of DCRNN (Li et al. 2018, `scripts/generate_training_data.py`
/// and `lib/utils.py`) and Graph WaveNet (Wu et al. 2019), the one METR-LA and
/// PEMS-BAY results are reported under:
///
/// - windows of `t_in` (12) steps in and the next `horizon` (12) out, cut
///   from the whole series (`S = steps - t_in - horizon + 1`), each input step
///   with two features: the speed and the time of day (a fraction of a day);
/// - a chronological split of the windows, `round(0.7 S)` train, `round(0.2
///   S)` test (the last ones), validation in between ([`dcrnn_split`]);
/// - the speed z-scored with the mean and (population) standard deviation of
///   the training inputs `x_train[..., 0]` (zeros included, as DCRNN's
///   `StandardScaler`); the time of day unscaled; targets scaled alike;
/// - zeros are missing readings: left out of the loss ([`Prepared::loss`])
///   and of the metrics ([`Mask::Zeros`]), which are reported per horizon
///   step (3, 6, 12: 15, 30, 60 minutes).
///
/// `series` is `(steps, N)` in the data's units, `time_of_day` one value per
/// step; the supports are `kind`'s for `signal`'s graph.
pub fn dcrnn(
    name: &str,
    signal: &StaticGraphSignal,
    time_of_day: &[f32],
    kind: ModelKind,
    t_in: i64,
    horizon: i64,
) -> Result<Prepared> {
    let series = series_tensor(signal)?;
    let steps = signal.steps as i64;
    if time_of_day.len() != signal.steps {
        return Err(HybridError::Config(format!(
            "{name}: {} time-of-day values for {steps} steps",
            time_of_day.len()
        )));
    }
    let n = signal.nodes() as i64;
    let tod = Tensor::from_slice(time_of_day)
        .reshape([steps, 1])
        .expand([steps, n], false);
    let raw = windows(&series, t_in, horizon, LagLayout::Steps)?;
    let s = raw.len();
    let (n_train, n_val, n_test) = dcrnn_split(s);
    if n_train < 1 || n_val < 1 || n_test < 1 {
        return Err(HybridError::Config(format!(
            "{name}: {s} windows of {} steps are too few for a 70/10/20 split",
            t_in + horizon
        )));
    }
    // StandardScaler on x_train[..., 0]: every training input value, overlaps included.
    let train_x = raw.x.narrow(0, 0, n_train).to_kind(Kind::Double);
    let mean = train_x.mean(Kind::Double).double_value(&[]);
    let std = train_x.std(false).double_value(&[]).max(1e-12);
    let scaled = |t: &Tensor| (t - mean) / std;
    let tod_windows = windows(&tod, t_in, horizon, LagLayout::Steps)?.x;
    let x = Tensor::cat(&[scaled(&raw.x), tod_windows], -1);
    let all = Samples::new(x, scaled(&raw.y))?;
    let missing = scaled(&Tensor::zeros([1], (Kind::Float, Device::Cpu))).double_value(&[0]);
    Ok(Prepared {
        dataset: name.into(),
        train: all.slice(0, n_train),
        val: Some(all.slice(n_train, n_train + n_val)),
        test: all.slice(s - n_test, s),
        graph: graph_for(kind, signal)?,
        in_features: 2,
        periods: t_in,
        horizon,
        scale: std,
        offset: mean,
        mask: Mask::Zeros,
        sample_graphs: None,
        missing: Some(missing),
        target_feature: Some(0),
    })
}

impl Prepared {
    /// Number of nodes `N`.
    pub fn nodes(&self) -> i64 {
        self.train.x.size()[2]
    }

    /// Keeps only the first `n` samples of each part (train, validation,
    /// test) and of their graphs: quick runs, whose numbers are not the
    /// protocol's.
    pub fn truncate(&mut self, n: usize) {
        let cut = |s: &Samples| s.slice(0, s.len().min(n as i64));
        self.train = cut(&self.train);
        self.test = cut(&self.test);
        self.val = self.val.as_ref().map(cut);
        if let Some(g) = &mut self.sample_graphs {
            for part in [&mut g.train, &mut g.val, &mut g.test] {
                part.truncate(n);
            }
        }
    }
}

/// Which samples of a [`Prepared`] data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The training samples.
    Train,
    /// The validation samples (none: an error).
    Val,
    /// The test samples.
    Test,
}

impl Prepared {
    /// Scaled values back in the data's units: `v * scale + offset`.
    pub fn unscale(&self, v: &Tensor) -> Tensor {
        v * self.scale + self.offset
    }

    /// Scaled targets back in the data's units, missing readings (targets
    /// equal to [`Prepared::missing`]) exactly 0 so that [`Mask::Zeros`] finds them.
    pub fn unscale_target(&self, y: &Tensor) -> Tensor {
        let v = self.unscale(y);
        match self.missing {
            Some(m) => v.masked_fill(&y.eq(m), 0.0),
            None => v,
        }
    }

    /// The training loss of `pred` against the scaled targets `y`. MSE is on
    /// the scaled values (PGT's recipes); the masked MAE is in the data's
    /// units with the missing readings left out, as DCRNN and Graph WaveNet
    /// compute it (`masked_mae(inverse_transform(pred), y_true, 0)`).
    pub fn loss(&self, loss: Loss, pred: &Tensor, y: &Tensor) -> Result<Tensor> {
        match (loss, self.missing) {
            (Loss::MaskedMae, Some(m)) => {
                crate::metrics::check_same(pred, y)?;
                let keep = y.ne(m).to_kind(pred.kind());
                let err = (pred - y).abs() * self.scale * &keep;
                Ok(err.sum(Kind::Float) / keep.sum(Kind::Float).clamp_min(1.0))
            }
            (Loss::MaskedMae, None) => Ok(loss.of(&self.unscale(pred), &self.unscale(y))?),
            (Loss::Mse, _) => loss.of(pred, y),
        }
    }

    /// The forecast variable's inputs `(S, T, N, 1)` of `x` (what the baselines read).
    fn target_inputs(&self, x: &Tensor) -> Tensor {
        match self.target_feature {
            Some(f) => x.narrow(-1, f, 1),
            None => x.shallow_clone(),
        }
    }

    /// The samples of `part`.
    pub fn part(&self, part: Part) -> Result<&Samples> {
        match part {
            Part::Train => Ok(&self.train),
            Part::Test => Ok(&self.test),
            Part::Val => self
                .val
                .as_ref()
                .ok_or_else(|| HybridError::Config(format!("{} has no validation samples", self.dataset))),
        }
    }

    /// Each sample's graph for `part` on a dynamic graph, `None` on a static one.
    pub fn graphs(&self, part: Part) -> Option<&[Supports]> {
        self.sample_graphs.as_ref().map(|g| match part {
            Part::Train => g.train.as_slice(),
            Part::Val => g.val.as_slice(),
            Part::Test => g.test.as_slice(),
        })
    }
}

/// The historical-average forecast (T-GCN's "HA" baseline): each node's mean
/// over all the input values of its window (every step and lag), repeated
/// over the horizon, `(S, N, horizon)`.
pub fn historical_average(x: &Tensor, horizon: i64) -> Tensor {
    x.mean_dim([1i64, 3].as_slice(), false, Kind::Float)
        .unsqueeze(-1)
        .repeat([1, 1, horizon])
}

/// The model's forecasts for `part` (scaled units), `(S, N, horizon)`: in
/// batches of 1024 on a static graph, sample by sample on a dynamic one.
/// `graph` is `data.graph` already on `device`.
pub fn predict_part(
    model: &Forecaster,
    graph: &Supports,
    data: &Prepared,
    part: Part,
    device: Device,
) -> Result<Tensor> {
    let samples = data.part(part)?;
    let x = samples.x.to_device(device);
    match data.graphs(part) {
        None => predict(model, graph, &x, 1024),
        Some(graphs) => {
            let _guard = tch::no_grad_guard();
            let preds = graphs
                .iter()
                .enumerate()
                .map(|(i, g)| model.f_forward(&x.narrow(0, i as i64, 1), &g.to_device(device)))
                .collect::<Result<Vec<_>>>()?;
            Ok(Tensor::cat(&preds, 0))
        }
    }
}

/// The model's metrics on `part` (over all horizon steps, in the data's units).
pub fn score(
    model: &Forecaster,
    graph: &Supports,
    data: &Prepared,
    part: Part,
    device: Device,
) -> Result<Metrics> {
    let pred = data.unscale(&predict_part(model, graph, data, part, device)?.to_kind(Kind::Float));
    let y = data.unscale_target(&data.part(part)?.y.to_device(device));
    metrics(&pred, &y, data.mask)
}

/// One forecast's test scores (in the data's units).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Over all horizon steps flattened together (T-GCN's convention: its
    /// "15 minutes" are steps 1 to 3 together).
    pub overall: Metrics,
    /// At each horizon step alone.
    pub per_step: Vec<Metrics>,
    /// Over the steps `1..=h` flattened, for each `h` (T-GCN's convention for
    /// its longer horizons: "30 minutes" are steps 1 to 6).
    pub to_step: Vec<Metrics>,
}

impl Scores {
    /// Scores `pred` against `y`, both `(S, N, horizon)`.
    pub fn of(pred: &Tensor, y: &Tensor, mask: Mask) -> Result<Scores> {
        let horizon = y.size().last().copied().unwrap_or(0);
        Ok(Scores {
            overall: metrics(pred, y, mask)?,
            per_step: metrics_per_horizon(pred, y, mask)?,
            to_step: (1..=horizon)
                .map(|h| metrics(&pred.narrow(-1, 0, h), &y.narrow(-1, 0, h), mask))
                .collect::<Result<Vec<_>>>()?,
        })
    }
}

/// A trained model's test scores beside the two baselines, on the same windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The model.
    pub model: Scores,
    /// The last input value repeated ([`persistence`]).
    pub persistence: Scores,
    /// Each node's mean over its input window ([`historical_average`]).
    pub historical_average: Scores,
}

/// Scores a trained model on `data.test` (in the data's original units),
/// overall and per horizon step, beside the persistence and historical-average
/// baselines. `graph` must already be on `device`, the model's device.
pub fn evaluate(model: &Forecaster, graph: &Supports, data: &Prepared, device: Device) -> Result<Evaluation> {
    let test = data.test.to_device(device);
    let pred = data.unscale(&predict_part(model, graph, data, Part::Test, device)?.to_kind(Kind::Float));
    let y = data.unscale_target(&test.y);
    let inputs = data.target_inputs(&test.x);
    let base = data.unscale(&persistence(&inputs, data.horizon));
    let ha = data.unscale(&historical_average(&inputs, data.horizon));
    Ok(Evaluation {
        model: Scores::of(&pred, &y, data.mask)?,
        persistence: Scores::of(&base, &y, data.mask)?,
        historical_average: Scores::of(&ha, &y, data.mask)?,
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
    patience: 0,
};
