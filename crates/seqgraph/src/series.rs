//! Time series read two ways, as one library recipe: as a sequence (an LSTM
//! or GRU over the steps) or as a graph of its time points
//! (`graph_data::series_graph`: the causal lag graph, the natural or the
//! horizontal visibility graph, multiplex over channels), read by GIN layers
//! over a `graph_data::batch` block-diagonal batch, then
//! `graph_models::pool`'s mean and max pooling (classification) or the last
//! time point's state (forecasting).
//!
//! Tasks: classification on the UEA/UCR sets in the mirror (JapaneseVowels,
//! GunPoint, ArrowHead, BasicMotions, ItalyPowerDemand; the archive's train /
//! test split, test accuracy after the last epoch: no validation set, no
//! model selection) and one-step forecasting of yearly sunspots (the next
//! year from the previous 20, 80/20 chronological split, test RMSE). Both
//! views get the same budget: epochs, batch, learning rate, hidden size and
//! clipping. Beside each result the summary carries the majority class (or
//! persistence's RMSE) and 1-NN DTW computed in the same run
//! ([`dtw_1nn_accuracy`]), with the archive's published 1-NN DTW accuracy.
//!
//! The graph network ([`SeriesGin`]): `L` GIN layers
//! `h' = ReLU(MLP((1 + eps) h_v + sum_u m_uv))` (MLP: `Linear, BN, ReLU,
//! Linear`); on a visibility graph `m_uv = w_uv h_u` (`w_uv` the multiplex
//! weight over the number of channels, else 1), on the lag graph
//! `m_uv = W_lag h_u`, one map per lag (and direction), the taps of a causal
//! convolution (`unification::lag_graph_as_causal_conv`);
//! each layer's states read out (mean and max pooling, or the last node) and
//! concatenated (jumping knowledge), then one linear layer.
//!
//! ```no_run
//! use seqgraph::series::{train_series, SeriesConfig, SeriesTask, SeriesView};
//!
//! let config = SeriesConfig { task: SeriesTask::GunPoint, view: SeriesView::VisibilityGraph, ..SeriesConfig::default() };
//! let s = train_series(&config)?;
//! println!("{}: {:.4} ± {:.4}", s.metric, s.value, s.std);
//! # Ok::<(), train_utils::TrainError>(())
//! ```

use std::time::Instant;

use graph_data::batch::{BatchTensors, GraphSample};
use graph_data::dataset::SequenceDataset;
use graph_data::fetch::Fetcher;
use graph_data::series_graph::{series_graph, Orientation, PositionEncoding, SeriesGraphKind};
use graph_models::pool::{f_global_max_pool, f_global_mean_pool};
use seq_models::modes::ManyToOne;
use seq_models::recurrent::{CellKind, RecurrentConfig};
use serde::Serialize;
use serde_json::json;
use tch::nn::{self, Module, ModuleT};
use tch::{Device, Kind, Tensor};
use train_utils::{Adam, Checkpointing, RunIdentity, TrainError, Trainer};

/// A data set and what is predicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesTask {
    /// JapaneseVowels (UEA): 12 channels, 7 to 29 steps, 9 speakers; 270 / 370.
    JapaneseVowels,
    /// GunPoint (UCR): 150 steps, 2 classes; 50 / 150.
    GunPoint,
    /// ArrowHead (UCR): 251 steps, 3 classes; 36 / 175.
    ArrowHead,
    /// BasicMotions (UEA): 6 channels, 100 steps, 4 classes; 40 / 40.
    BasicMotions,
    /// ItalyPowerDemand (UCR): 24 steps, 2 classes; 67 / 1029.
    ItalyPower,
    /// Yearly sunspots: the next year from the previous 20 (forecasting).
    Sunspots,
}

/// All tasks, in the order of the report.
pub const SERIES_TASKS: [SeriesTask; 6] = [
    SeriesTask::JapaneseVowels,
    SeriesTask::GunPoint,
    SeriesTask::ArrowHead,
    SeriesTask::BasicMotions,
    SeriesTask::ItalyPower,
    SeriesTask::Sunspots,
];

impl SeriesTask {
    /// The name `train series --task` takes.
    pub fn name(self) -> &'static str {
        match self {
            SeriesTask::JapaneseVowels => "japanese-vowels",
            SeriesTask::GunPoint => "gunpoint",
            SeriesTask::ArrowHead => "arrowhead",
            SeriesTask::BasicMotions => "basic-motions",
            SeriesTask::ItalyPower => "italy-power",
            SeriesTask::Sunspots => "sunspots",
        }
    }

    /// Parses [`SeriesTask::name`].
    pub fn parse(name: &str) -> Option<SeriesTask> {
        SERIES_TASKS.into_iter().find(|t| t.name() == name)
    }

    /// The data set's name in the manifest.
    pub fn dataset(self) -> &'static str {
        match self {
            SeriesTask::ItalyPower => "italy-power-demand",
            other => other.name(),
        }
    }

    /// True for the forecasting task.
    pub fn is_forecast(self) -> bool {
        self == SeriesTask::Sunspots
    }

    /// What the task reports.
    pub fn metric(self) -> &'static str {
        if self.is_forecast() {
            "test_rmse"
        } else {
            "test_accuracy"
        }
    }

    /// The archive's published 1-NN DTW test accuracy (full warping window;
    /// UCR: Dau et al. 2018's table; UEA multivariate: DTW_D in Bagnall et
    /// al. 2018), or `None` (sunspots).
    pub fn published_dtw(self) -> Option<f64> {
        match self {
            SeriesTask::JapaneseVowels => Some(0.949),
            SeriesTask::GunPoint => Some(0.907),
            SeriesTask::ArrowHead => Some(0.703),
            SeriesTask::BasicMotions => Some(0.975),
            SeriesTask::ItalyPower => Some(0.950),
            SeriesTask::Sunspots => None,
        }
    }

    /// `(epochs, batch)`: JapaneseVowels as `train seq` (60 epochs of batches
    /// of 32); the small UCR/UEA sets 150 epochs of 16; sunspots 400
    /// full-batch epochs.
    fn defaults(self) -> (usize, usize) {
        match self {
            SeriesTask::JapaneseVowels => (60, 32),
            SeriesTask::Sunspots => (400, usize::MAX),
            _ => (150, 16),
        }
    }
}

/// How a series is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeriesView {
    /// The steps in order, for an LSTM or GRU.
    Sequence,
    /// The causal lag graph ([`SeriesConfig::lags`]).
    LagGraph,
    /// The natural visibility graph (multiplex over channels).
    VisibilityGraph,
    /// The horizontal visibility graph (multiplex over channels).
    HorizontalVisibility,
}

/// All views, in the order of the report.
pub const SERIES_VIEWS: [SeriesView; 4] = [
    SeriesView::Sequence,
    SeriesView::LagGraph,
    SeriesView::VisibilityGraph,
    SeriesView::HorizontalVisibility,
];

impl SeriesView {
    /// The name `--view` takes.
    pub fn name(self) -> &'static str {
        match self {
            SeriesView::Sequence => "sequence",
            SeriesView::LagGraph => "lag-graph",
            SeriesView::VisibilityGraph => "visibility-graph",
            SeriesView::HorizontalVisibility => "horizontal-visibility",
        }
    }

    /// Parses [`SeriesView::name`].
    pub fn parse(name: &str) -> Option<SeriesView> {
        SERIES_VIEWS.into_iter().find(|v| v.name() == name)
    }
}

/// The model of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesModel {
    /// LSTM (sequence view).
    Lstm,
    /// GRU (sequence view).
    Gru,
    /// GIN layers with a jumping-knowledge readout (graph views).
    Gin,
}

impl SeriesModel {
    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            SeriesModel::Lstm => "lstm",
            SeriesModel::Gru => "gru",
            SeriesModel::Gin => "gin",
        }
    }

    /// Parses [`SeriesModel::name`].
    pub fn parse(name: &str) -> Option<SeriesModel> {
        [SeriesModel::Lstm, SeriesModel::Gru, SeriesModel::Gin]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// What [`train_series`] runs. `Default`: JapaneseVowels, the horizontal
/// visibility view, its default model, one seed, the task's epochs, batch,
/// GIN layers and lags, hidden 64, Adam 5e-3, clipping at 5, relative
/// position encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesConfig {
    /// The task.
    pub task: SeriesTask,
    /// The view.
    pub view: SeriesView,
    /// The model (`None`: LSTM for the sequence view, GIN for the graph views).
    pub model: Option<SeriesModel>,
    /// Seeds `0..seeds` (at least one).
    pub seeds: u64,
    /// Epochs (`None`: the task's).
    pub epochs: Option<usize>,
    /// Examples per batch (`None`: the task's; sunspots is full batch).
    pub batch: Option<usize>,
    /// Hidden units (both views).
    pub hidden: i64,
    /// GIN layers (graph views; `None`: 3 for classification, 1 for
    /// forecasting, as deep as the one-layer LSTM: deeper ones overfit the
    /// 230 sunspot windows).
    pub layers: Option<usize>,
    /// Adam's learning rate.
    pub lr: f64,
    /// Clip the global gradient norm at this value.
    pub clip: Option<f64>,
    /// Lags of the lag graph (`None`: 1, 2, 4, 8, 16 for classification,
    /// 1..=10 for forecasting, an AR(10)'s inputs).
    pub lags: Option<Vec<usize>>,
    /// Edge orientation (`None`: past -> future for the lag graph and for
    /// forecasting, both ways for visibility graphs in classification).
    pub orientation: Option<Orientation>,
    /// Position encoding of the graph views' nodes.
    pub encoding: PositionEncoding,
    /// Compute 1-NN DTW on the same split (classification; a second or so).
    pub dtw: bool,
    /// Checkpoints and resume.
    pub checkpointing: Checkpointing,
    /// Where to train.
    pub device: Device,
}

impl Default for SeriesConfig {
    fn default() -> Self {
        SeriesConfig {
            task: SeriesTask::JapaneseVowels,
            view: SeriesView::HorizontalVisibility,
            model: None,
            seeds: 1,
            epochs: None,
            batch: None,
            hidden: 64,
            layers: None,
            lr: 5e-3,
            clip: Some(5.0),
            lags: None,
            orientation: None,
            encoding: PositionEncoding::Relative,
            dtw: true,
            checkpointing: Checkpointing::default(),
            device: Device::Cpu,
        }
    }
}

impl SeriesConfig {
    /// The GIN layers this config trains.
    pub fn layers(&self) -> usize {
        self.layers.unwrap_or(if self.task.is_forecast() { 1 } else { 3 })
    }

    /// The lag graph's lags this config builds.
    pub fn lags(&self) -> Vec<usize> {
        self.lags.clone().unwrap_or_else(|| {
            if self.task.is_forecast() {
                (1..=10).collect()
            } else {
                graph_data::series_graph::dilated_lags(16)
            }
        })
    }
}

/// The result over seeds (the JSON of `train series --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSummary {
    /// The task's name.
    pub task: String,
    /// The view's name.
    pub view: String,
    /// The model's name.
    pub model: String,
    /// What `value` measures (`test_accuracy` or `test_rmse`).
    pub metric: String,
    /// Mean over seeds.
    pub value: f64,
    /// Standard deviation over seeds (sample, n - 1).
    pub std: f64,
    /// Seeds run.
    pub seeds: usize,
    /// Each seed's value.
    pub per_seed: Vec<f64>,
    /// Epochs per seed.
    pub epochs: usize,
    /// The trivial baseline on the same test part: the training set's
    /// majority class's accuracy, or persistence's RMSE.
    pub baseline: f64,
    /// 1-NN DTW's test accuracy computed in this run (classification, when asked).
    pub dtw_1nn: Option<f64>,
    /// The archive's published 1-NN DTW accuracy.
    pub published_dtw: Option<f64>,
    /// Mean nodes and edges per training graph (graph views).
    pub graph_size: Option<(f64, f64)>,
    /// Wall-clock seconds for all seeds.
    pub seconds: f64,
}

/// One GIN layer: the MLP, `eps`, and with typed edges one linear map per type.
#[derive(Debug)]
struct GinLayer {
    lin1: nn::Linear,
    bn: nn::BatchNorm,
    lin2: nn::Linear,
    eps: Tensor,
    typed: Option<nn::Linear>,
}

/// A graph network over series graphs (see the module doc).
#[derive(Debug)]
pub struct SeriesGin {
    layers: Vec<GinLayer>,
    head: nn::Linear,
    readout_last: bool,
    edge_types: i64,
}

impl SeriesGin {
    /// `layers` GIN layers from `inputs` features to `hidden` units, then a
    /// linear map of the readout to `outputs`; the readout is mean and max
    /// pooling (`readout_last` false) or each graph's last node. With
    /// `edge_types > 0` the edges are typed (the lag graph: one type per lag
    /// and direction, one-hot in `edge_attr`) and a message is `W_type h_u`,
    /// as a temporal convolution's taps; else it is `w_uv h_u` (`w_uv` the
    /// one edge feature when there is one, else 1).
    pub fn new(
        p: &nn::Path,
        inputs: i64,
        hidden: i64,
        layers: usize,
        outputs: i64,
        readout_last: bool,
        edge_types: i64,
    ) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        let layers: Vec<_> = (0..layers)
            .map(|l| {
                let q = p / "convs" / l;
                let d_in = if l == 0 { inputs } else { hidden };
                GinLayer {
                    lin1: nn::linear(&q / "lin1", d_in, hidden, Default::default()),
                    bn: nn::batch_norm1d(&q / "bn", hidden, Default::default()),
                    lin2: nn::linear(&q / "lin2", hidden, hidden, Default::default()),
                    eps: q.var("eps", &[1], nn::Init::Const(0.0)),
                    typed: (edge_types > 0)
                        .then(|| nn::linear(&q / "typed", d_in, d_in * edge_types, no_bias)),
                }
            })
            .collect();
        let width = hidden * layers.len() as i64 * if readout_last { 1 } else { 2 };
        SeriesGin {
            head: nn::linear(p / "head", width, outputs, Default::default()),
            layers,
            readout_last,
            edge_types,
        }
    }

    /// The outputs `[num_graphs, outputs]` of a batch.
    pub fn f_forward_t(&self, g: &BatchTensors, train: bool) -> Result<Tensor, TrainError> {
        let (src, dst) = (g.edge_index.get(0), g.edge_index.get(1));
        let k = self.edge_types;
        let width = g.edge_attr.as_ref().map(|a| a.size()[1]);
        let attr = match (&g.edge_attr, width) {
            (Some(a), Some(w)) if (k > 0 && w == k) || (k == 0 && w == 1) => Some(a),
            (None, None) if k == 0 => None,
            _ => {
                return Err(TrainError::Config(format!(
                    "SeriesGin: edge_attr of width {width:?}, expected {}",
                    if k > 0 {
                        format!("{k} (one-hot edge types)")
                    } else {
                        "1 (weights) or none".into()
                    }
                )))
            }
        };
        let last = g.ptr.narrow(0, 1, g.num_graphs) - 1;
        let mut h = g.x.shallow_clone();
        let mut parts = Vec::new();
        for GinLayer {
            lin1,
            bn,
            lin2,
            eps,
            typed,
        } in &self.layers
        {
            let msg = match (typed, attr) {
                (Some(t), Some(onehot)) => {
                    let d = h.size()[1];
                    let per_type = t.forward(&h).view([-1, k, d]).index_select(0, &src);
                    (per_type * onehot.unsqueeze(-1)).sum_dim_intlist(1, false, Kind::Float)
                }
                (_, Some(w)) => h.index_select(0, &src) * w,
                _ => h.index_select(0, &src),
            };
            let agg = h.zeros_like().index_add(0, &dst, &msg);
            let z = lin1.forward(&(agg + &h * (eps + 1.0)));
            h = lin2.forward(&bn.forward_t(&z, train).relu()).relu();
            if self.readout_last {
                parts.push(h.index_select(0, &last));
            } else {
                parts.push(f_global_mean_pool(&h, &g.batch, g.num_graphs)?);
                parts.push(f_global_max_pool(&h, &g.batch, g.num_graphs)?);
            }
        }
        Ok(self.head.forward(&Tensor::cat(&parts, 1)))
    }
}

/// 1-NN DTW test accuracy (full warping window; for several channels DTW_D,
/// the squared Euclidean distance between steps' value vectors), on the
/// series as given (the UCR sets are z-normalised per series already).
pub fn dtw_1nn_accuracy(train: &SequenceDataset, test: &SequenceDataset) -> f64 {
    let c = train.channels.max(1);
    let dtw = |a: &[f32], b: &[f32]| -> f64 {
        let (n, m) = (a.len() / c, b.len() / c);
        let mut prev = vec![f64::INFINITY; m + 1];
        let mut cur = vec![f64::INFINITY; m + 1];
        prev[0] = 0.0;
        for i in 1..=n {
            cur[0] = f64::INFINITY;
            for j in 1..=m {
                let d: f64 = (0..c)
                    .map(|k| (a[(i - 1) * c + k] as f64 - b[(j - 1) * c + k] as f64).powi(2))
                    .sum();
                cur[j] = d + prev[j - 1].min(prev[j]).min(cur[j - 1]);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        prev[m]
    };
    let correct = std::thread::scope(|s| {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        let chunk = test.len().div_ceil(workers).max(1);
        let handles: Vec<_> = test
            .series
            .chunks(chunk)
            .zip(test.labels.chunks(chunk))
            .map(|(xs, ys)| {
                s.spawn(move || {
                    xs.iter()
                        .zip(ys)
                        .filter(|&(x, &y)| {
                            let best = train
                                .series
                                .iter()
                                .map(|t| dtw(x.as_slice(), t.as_slice()))
                                .enumerate()
                                .min_by(|a, b| a.1.total_cmp(&b.1))
                                .map(|(i, _)| train.labels[i]);
                            best == Some(y)
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum::<usize>()
    });
    correct as f64 / test.len().max(1) as f64
}

/// Per-channel mean and std of a data set's values.
fn channel_stats(d: &SequenceDataset) -> (Vec<f32>, Vec<f32>) {
    let c = d.channels.max(1);
    let (mut sum, mut sq, mut n) = (vec![0f64; c], vec![0f64; c], 0f64);
    for s in &d.series {
        for (j, v) in s.iter().enumerate() {
            sum[j % c] += *v as f64;
            sq[j % c] += (*v as f64).powi(2);
        }
        n += (s.len() / c) as f64;
    }
    let n = n.max(1.0);
    let mean = sum.iter().map(|s| (s / n) as f32).collect();
    let std = sq
        .iter()
        .zip(&sum)
        .map(|(q, s)| ((q / n - (s / n).powi(2)).max(0.0).sqrt().max(1e-6)) as f32)
        .collect();
    (mean, std)
}

fn standardise(s: &[f32], mean: &[f32], std: &[f32]) -> Vec<f32> {
    let c = mean.len();
    s.iter()
        .enumerate()
        .map(|(j, v)| (v - mean[j % c]) / std[j % c])
        .collect()
}

/// Standardised series `[N, T_max, C]` padded with zeros, and the lengths.
fn pad(series: &[Vec<f32>], c: usize, device: Device) -> (Tensor, Vec<i64>) {
    let lengths: Vec<i64> = series.iter().map(|s| (s.len() / c) as i64).collect();
    let t = *lengths.iter().max().unwrap_or(&1) as usize;
    let mut data = vec![0f32; series.len() * t * c];
    for (i, s) in series.iter().enumerate() {
        data[i * t * c..i * t * c + s.len()].copy_from_slice(s);
    }
    let x = Tensor::from_slice(&data)
        .view([series.len() as i64, t as i64, c as i64])
        .to_device(device);
    (x, lengths)
}

/// The inputs of one view: padded sequences or graphs.
enum Inputs {
    Sequences(Tensor, Vec<i64>),
    Graphs(Vec<GraphSample>),
}

impl Inputs {
    fn len(&self) -> usize {
        match self {
            Inputs::Sequences(x, _) => x.size()[0] as usize,
            Inputs::Graphs(g) => g.len(),
        }
    }
}

/// The model of one run.
enum Net {
    Rnn(ManyToOne),
    Gin(SeriesGin),
}

impl Net {
    fn forward(
        &self,
        inputs: &Inputs,
        idx: &[usize],
        device: Device,
        train: bool,
    ) -> Result<Tensor, TrainError> {
        match (self, inputs) {
            (Net::Rnn(m), Inputs::Sequences(x, lengths)) => {
                let index: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
                let lens: Vec<i64> = idx.iter().map(|&i| lengths[i]).collect();
                let t = x.index_select(0, &Tensor::from_slice(&index).to_device(device));
                Ok(m.f_forward(&t, Some(&lens), train)?)
            }
            (Net::Gin(m), Inputs::Graphs(graphs)) => {
                let refs: Vec<&GraphSample> = idx.iter().map(|&i| &graphs[i]).collect();
                let b = BatchTensors::from_refs(&refs)?.to_device(device);
                m.f_forward_t(&b, train)
            }
            _ => Err(TrainError::Config(
                "series: model and inputs of different views".into(),
            )),
        }
    }
}

/// Prepared data of a task and view.
struct Prepared {
    train: Inputs,
    test: Inputs,
    /// Class labels or regression targets.
    y: Tensor,
    yt: Tensor,
    inputs: i64,
    outputs: i64,
    baseline: f64,
    dtw: Option<f64>,
    /// Regression: the target's std (RMSE back in the data's units).
    scale: f64,
    graph_size: Option<(f64, f64)>,
    /// Edge types of the graphs (the lag graph's), 0 when untyped.
    edge_types: i64,
    checksum: String,
}

fn graph_kind(view: SeriesView, lags: &[usize]) -> SeriesGraphKind {
    match view {
        SeriesView::LagGraph => SeriesGraphKind::Lag(lags.to_vec()),
        SeriesView::VisibilityGraph => SeriesGraphKind::NaturalVisibility,
        _ => SeriesGraphKind::HorizontalVisibility,
    }
}

fn orientation(config: &SeriesConfig) -> Orientation {
    config.orientation.unwrap_or(
        if config.view == SeriesView::LagGraph || config.task.is_forecast() {
            Orientation::Directed
        } else {
            Orientation::Undirected
        },
    )
}

/// The lag graph's edge types: one per lag, and one more per lag for the
/// reversed edges when undirected; 0 for visibility graphs.
fn edge_types(config: &SeriesConfig) -> i64 {
    match (config.view, orientation(config)) {
        (SeriesView::LagGraph, Orientation::Directed) => config.lags().len() as i64,
        (SeriesView::LagGraph, Orientation::Undirected) => 2 * config.lags().len() as i64,
        _ => 0,
    }
}

/// Graphs of standardised series; multiplex weights divided by the channels;
/// the lag graph's edges typed by lag and direction (one-hot `edge_attr`).
fn graphs(
    config: &SeriesConfig,
    raw: &[Vec<f32>],
    standardised: &[Vec<f32>],
    labels: &[i64],
    c: usize,
) -> Result<Vec<GraphSample>, TrainError> {
    let kind = graph_kind(config.view, &config.lags());
    let orient = orientation(config);
    raw.iter()
        .zip(standardised)
        .zip(labels)
        .map(|((r, s), &y)| {
            // The graph from the raw values (visibility is invariant under the
            // per-channel standardisation anyway), the features standardised.
            let mut g = series_graph(r, c, &kind, orient, config.encoding, y)?;
            let f = graph_data::series_graph::node_features(s, c, config.encoding)?;
            g.x = f;
            g.edge_attr.iter_mut().for_each(|w| *w /= c as f32);
            let k = edge_types(config) as usize;
            if k > 0 {
                let lags = &config.lags();
                let mut onehot = vec![0f32; g.num_edges() * k];
                for (e, (&s, &d)) in g.src.iter().zip(&g.dst).enumerate() {
                    let (lag, back) = if d > s { (d - s, 0) } else { (s - d, lags.len()) };
                    let i = lags.iter().position(|&l| l as i64 == lag).unwrap_or(0);
                    onehot[e * k + back + i] = 1.0;
                }
                g.edge_attr = onehot;
                g.num_edge_features = k;
            }
            Ok(g)
        })
        .collect()
}

fn mean_size(g: &[GraphSample]) -> (f64, f64) {
    let n = g.len().max(1) as f64;
    (
        g.iter().map(|g| g.num_nodes as f64).sum::<f64>() / n,
        g.iter().map(|g| g.num_edges() as f64).sum::<f64>() / n,
    )
}

fn prepare_classification(config: &SeriesConfig) -> Result<Prepared, TrainError> {
    let device = config.device;
    let data = graph_data::ts::load(config.task.dataset(), &Fetcher::from_env())?;
    let c = data.train.channels.max(1);
    let classes = data.train.class_names.len() as i64;
    let (mean, std) = channel_stats(&data.train);
    let st = |d: &SequenceDataset| -> Vec<Vec<f32>> {
        d.series.iter().map(|s| standardise(s, &mean, &std)).collect()
    };
    let (train_s, test_s) = (st(&data.train), st(&data.test));
    let mut counts = vec![0usize; classes as usize];
    data.train.labels.iter().for_each(|&l| counts[l as usize] += 1);
    let majority = (0..counts.len())
        .max_by_key(|&k| (counts[k], usize::MAX - k))
        .unwrap_or(0) as i64;
    let baseline =
        data.test.labels.iter().filter(|&&l| l == majority).count() as f64 / data.test.len().max(1) as f64;
    let dtw = (config.dtw).then(|| dtw_1nn_accuracy(&data.train, &data.test));
    let y = Tensor::from_slice(&data.train.labels).to_device(device);
    let yt = Tensor::from_slice(&data.test.labels).to_device(device);
    let checksum = train_utils::data_checksum(&[&y, &Tensor::from_slice(&train_s.concat())]);
    let (train, test, inputs, graph_size) = if config.view == SeriesView::Sequence {
        let (x, l) = pad(&train_s, c, device);
        let (xt, lt) = pad(&test_s, c, device);
        (Inputs::Sequences(x, l), Inputs::Sequences(xt, lt), c as i64, None)
    } else {
        let g = graphs(config, &data.train.series, &train_s, &data.train.labels, c)?;
        let gt = graphs(config, &data.test.series, &test_s, &data.test.labels, c)?;
        let size = mean_size(&g);
        let f = g.first().map_or(c, |g| g.num_node_features) as i64;
        (Inputs::Graphs(g), Inputs::Graphs(gt), f, Some(size))
    };
    Ok(Prepared {
        train,
        test,
        y,
        yt,
        inputs,
        outputs: classes,
        baseline,
        dtw,
        scale: 1.0,
        graph_size,
        edge_types: edge_types(config),
        checksum,
    })
}

/// Sunspot windows: the previous 20 years (standardised with the training
/// part's mean and std) and the next one.
fn prepare_forecast(config: &SeriesConfig) -> Result<Prepared, TrainError> {
    let device = config.device;
    let mut s = graph_data::text::load_series("sunspots", &Fetcher::from_env())?;
    s.fill_linear()?;
    let vals = &s.values;
    let w = 20usize;
    let split = vals.len() * 8 / 10;
    let mean = vals[..split].iter().sum::<f32>() / split as f32;
    let std = (vals[..split].iter().map(|v| (v - mean).powi(2)).sum::<f32>() / split as f32).sqrt();
    let z: Vec<f32> = vals.iter().map(|v| (v - mean) / std).collect();
    let ends = |range: std::ops::Range<usize>| range.filter(|&e| e >= w).collect::<Vec<usize>>();
    let (train_ends, test_ends) = (ends(0..split), ends(split..vals.len()));
    let target =
        |e: &[usize]| Tensor::from_slice(&e.iter().map(|&e| z[e]).collect::<Vec<f32>>()).view([-1, 1]);
    let (y, yt) = (
        target(&train_ends).to_device(device),
        target(&test_ends).to_device(device),
    );
    let last: Vec<f64> = test_ends.iter().map(|&e| z[e - 1] as f64).collect();
    let persistence = (test_ends
        .iter()
        .zip(&last)
        .map(|(&e, l)| (z[e] as f64 - l).powi(2))
        .sum::<f64>()
        / test_ends.len().max(1) as f64)
        .sqrt()
        * std as f64;
    let windows = |e: &[usize]| -> Vec<Vec<f32>> { e.iter().map(|&e| z[e - w..e].to_vec()).collect() };
    let (train_w, test_w) = (windows(&train_ends), windows(&test_ends));
    let checksum = train_utils::data_checksum(&[&y, &Tensor::from_slice(&train_w.concat())]);
    let (train, test, inputs, graph_size) = if config.view == SeriesView::Sequence {
        let (x, l) = pad(&train_w, 1, device);
        let (xt, lt) = pad(&test_w, 1, device);
        (Inputs::Sequences(x, l), Inputs::Sequences(xt, lt), 1, None)
    } else {
        let zeros = vec![0; train_w.len()];
        let g = graphs(config, &train_w, &train_w, &zeros, 1)?;
        let gt = graphs(config, &test_w, &test_w, &vec![0; test_w.len()], 1)?;
        let size = mean_size(&g);
        let f = g.first().map_or(1, |g| g.num_node_features) as i64;
        (Inputs::Graphs(g), Inputs::Graphs(gt), f, Some(size))
    };
    Ok(Prepared {
        train,
        test,
        y,
        yt,
        inputs,
        outputs: 1,
        baseline: persistence,
        dtw: None,
        scale: std as f64,
        graph_size,
        edge_types: edge_types(config),
        checksum,
    })
}

/// Trains `config.view`'s model on `config.task` for each seed and summarises.
pub fn train_series(config: &SeriesConfig) -> Result<SeriesSummary, TrainError> {
    let start = Instant::now();
    let seeds = config.seeds.max(1);
    config.checkpointing.check(seeds)?;
    let model = config.model.unwrap_or(if config.view == SeriesView::Sequence {
        SeriesModel::Lstm
    } else {
        SeriesModel::Gin
    });
    if (model == SeriesModel::Gin) == (config.view == SeriesView::Sequence) {
        return Err(TrainError::Config(format!(
            "model `{}` does not read the {} view (sequence: lstm, gru; graph views: gin)",
            model.name(),
            config.view.name()
        )));
    }
    if config.hidden < 1 || config.layers() < 1 || config.batch == Some(0) || config.epochs == Some(0) {
        return Err(TrainError::Config(
            "series: hidden, layers, batch and epochs must be at least 1".into(),
        ));
    }
    let data = if config.task.is_forecast() {
        prepare_forecast(config)?
    } else {
        prepare_classification(config)?
    };
    let (task_epochs, task_batch) = config.task.defaults();
    let epochs = config.epochs.unwrap_or(task_epochs);
    let batch = config.batch.unwrap_or(task_batch);
    let mut per_seed = Vec::new();
    for seed in 0..seeds {
        per_seed.push(one_seed(config, model, &data, seed, seeds, epochs, batch)?);
    }
    let (value, std) = train_utils::stats::mean_std(&per_seed);
    Ok(SeriesSummary {
        task: config.task.name().into(),
        view: config.view.name().into(),
        model: model.name().into(),
        metric: config.task.metric().into(),
        value,
        std: if per_seed.len() > 1 { std } else { 0.0 },
        seeds: per_seed.len(),
        per_seed,
        epochs,
        baseline: data.baseline,
        dtw_1nn: data.dtw,
        published_dtw: config.task.published_dtw(),
        graph_size: data.graph_size,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn one_seed(
    config: &SeriesConfig,
    model: SeriesModel,
    data: &Prepared,
    seed: u64,
    seeds: u64,
    epochs: usize,
    batch: usize,
) -> Result<f64, TrainError> {
    let device = config.device;
    train_utils::determinism::seed_everything(seed);
    let vs = nn::VarStore::new(device);
    let net = match model {
        SeriesModel::Gin => Net::Gin(SeriesGin::new(
            &vs.root(),
            data.inputs,
            config.hidden,
            config.layers(),
            data.outputs,
            config.task.is_forecast(),
            data.edge_types,
        )),
        SeriesModel::Lstm | SeriesModel::Gru => {
            let cell = if model == SeriesModel::Lstm {
                CellKind::Lstm
            } else {
                CellKind::Gru
            };
            Net::Rnn(ManyToOne::f_new(
                vs.root(),
                cell,
                data.inputs,
                config.hidden,
                data.outputs,
                RecurrentConfig::default(),
            )?)
        }
    };
    let task = json!({
        "view": config.view.name(), "hidden": config.hidden, "layers": config.layers(), "batch": batch,
        "lr": config.lr, "clip": config.clip, "lags": config.lags(), "orientation": format!("{:?}", orientation(config)),
        "encoding": format!("{:?}", config.encoding),
    });
    let identity = RunIdentity::new(
        model.name(),
        task,
        config.task.name(),
        data.checksum.clone(),
        seed,
    );
    let options = config.checkpointing.options(epochs, config.clip, seed, seeds);
    let mut trainer = Trainer::new(&vs, Adam::new(config.lr), identity, options);
    let n = data.train.len();
    let forecast = config.task.is_forecast();
    trainer.run(|epoch| -> Result<f64, TrainError> {
        let perm: Vec<i64> = Vec::try_from(&epoch.permutation(n as i64, Device::Cpu))?;
        let (mut total, mut steps) = (0.0, 0);
        for chunk in perm.chunks(batch.min(n).max(1)) {
            let idx: Vec<usize> = chunk.iter().map(|&i| i as usize).collect();
            let out = net.forward(&data.train, &idx, device, true)?;
            let target = data
                .y
                .index_select(0, &Tensor::from_slice(chunk).to_device(device));
            let loss = if forecast {
                out.mse_loss(&target, tch::Reduction::Mean)
            } else {
                out.cross_entropy_for_logits(&target)
            };
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
            steps += 1;
        }
        Ok(total / steps.max(1) as f64)
    })?;
    let all: Vec<usize> = (0..data.test.len()).collect();
    let out = tch::no_grad(|| net.forward(&data.test, &all, device, false))?;
    Ok(if forecast {
        (out - &data.yt)
            .square()
            .mean(Kind::Float)
            .sqrt()
            .double_value(&[])
            * data.scale
    } else {
        out.argmax(-1, false)
            .eq_tensor(&data.yt)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in SERIES_TASKS {
            assert_eq!(SeriesTask::parse(t.name()), Some(t));
        }
        for v in SERIES_VIEWS {
            assert_eq!(SeriesView::parse(v.name()), Some(v));
        }
        assert_eq!(SeriesModel::parse("gru"), Some(SeriesModel::Gru));
        assert!(SeriesTask::parse("mnist").is_none());
    }

    #[test]
    fn dtw_on_a_toy_set() {
        let d = |series: Vec<Vec<f32>>, labels: Vec<i64>| SequenceDataset {
            name: "toy".into(),
            channels: 1,
            series,
            labels,
            class_names: vec!["a".into(), "b".into()],
        };
        // A shifted bump is near the bump under DTW, far under the Euclidean distance.
        let train = d(
            vec![vec![0., 0., 5., 0., 0., 0.], vec![1., 1., 1., 1., 1., 1.]],
            vec![0, 1],
        );
        let test = d(
            vec![vec![0., 0., 0., 0., 5., 0.], vec![1., 1., 1., 1., 1., 0.8]],
            vec![0, 1],
        );
        assert_eq!(dtw_1nn_accuracy(&train, &test), 1.0);
    }
}
