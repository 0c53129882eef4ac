//! Spatio-temporal forecasting as one library call: a data set and its
//! protocol, a model, several seeds, the summary `cargo xtask train temporal`
//! prints. Each protocol's defaults are the settings behind the numbers in
//! `docs/temporal.md`; every `Option` of [`ForecastConfig`] left `None` takes them.
//!
//! ```no_run
//! use hybrid::recipe::{forecast, Dataset, ForecastConfig};
//! use hybrid::ModelKind;
//!
//! // T-GCN on Los-loop at 15 minutes: z-score, Adam 0.01, up to 60 epochs, patience 10.
//! let config = ForecastConfig { model: ModelKind::Tgcn, dataset: Dataset::LosLoop, ..Default::default() };
//! let summary = forecast(&config)?;
//! println!("RMSE {:.4} (persistence {:.4})", summary.rmse, summary.persistence.rmse);
//! # Ok::<(), train_utils::TrainError>(())
//! ```

use std::path::PathBuf;

use graph_data::fetch::Fetcher;
use graph_data::pgt::Signal;
use serde::Serialize;
use serde_json::json;
use tch::{nn, Device};
use train_utils::{Checkpointing, RunIdentity, TrainError, TrainOptions};

use crate::forecast::{Forecaster, Head, ModelConfig, ModelKind};
use crate::metrics::Metrics;
use crate::protocol::{self, Evaluation, Prepared, Scaling, CHICKENPOX_FIT};
use crate::train::{fit_forecaster, FitConfig, Fitted, Loss};

/// A data set with its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// Chickenpox Hungary, PyG Temporal's recipe: 4 lags as features, train
    /// ratio 0.2, 200 full-batch epochs of Adam 0.01, hidden 32, K 1 (3 for
    /// STGCN and Graph WaveNet), no validation.
    Chickenpox,
    /// Los-loop, T-GCN's protocol: 12 steps in, 3 out (15 minutes), 80/20
    /// chronological split, z-scored speeds, T-GCN's linear head, hidden 64,
    /// K 2, batches of 32, Adam 0.01, up to 60 epochs with patience 10 on the
    /// last 10 % of the training windows.
    LosLoop,
    /// flu_bybw: 8 weeks in, 1 out, z-scored counts, hidden 32, K 2, batches of
    /// 32, Adam 0.01, up to 60 epochs with patience 20.
    FluBybw,
    /// england_covid (a graph per day): 8 days in, 1 out, hidden 32, K 2,
    /// batches of 8, Adam 0.001, 150 epochs, best validation epoch kept.
    EnglandCovid,
    /// METR-LA (207 sensors, Los Angeles), from files the user provides
    /// ([`ForecastConfig::data_dir`], `graph_data::traffic`); only with
    /// [`Protocol::Dcrnn`].
    MetrLa,
    /// PEMS-BAY (325 sensors, Bay Area), as [`Dataset::MetrLa`].
    PemsBay,
}

/// Which protocol a data set is run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// The data set's own protocol (the [`Dataset`] variants say which): the
    /// settings behind the numbers in `docs/temporal.md`.
    #[default]
    Native,
    /// DCRNN's and Graph WaveNet's METR-LA / PEMS-BAY protocol
    /// ([`protocol::dcrnn`]): 12 steps in, 12 out, 70/10/20 split of the
    /// windows, speeds z-scored on the training inputs plus a time-of-day
    /// channel, masked MAE loss, masked MAE / RMSE / MAPE at horizons 3, 6, 12.
    /// Training as DCRNN's `dcrnn_la.yaml` where practical: Adam 0.01 (Graph
    /// WaveNet: 0.001 and weight decay 1e-4, its `train.py`), batches of 64,
    /// gradient norm clipped at 5, up to 100 epochs, patience 50 on the
    /// validation MAE, hidden 64 (Graph WaveNet: 32), K 3 (diffusion order
    /// 2); no learning-rate decay (DCRNN divides it by 10 at epochs 20, 30,
    /// 40, 50). On Los-loop the time of day is the step index mod 288 (the
    /// series is taken to start at midnight).
    Dcrnn,
}

impl Protocol {
    /// The name the command line takes (`native`, `dcrnn`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Native => "native",
            Protocol::Dcrnn => "dcrnn",
        }
    }

    /// Parses `native` or `dcrnn`.
    pub fn parse(name: &str) -> Option<Protocol> {
        match name {
            "native" => Some(Protocol::Native),
            "dcrnn" => Some(Protocol::Dcrnn),
            _ => None,
        }
    }
}

impl Dataset {
    /// The name the command line takes.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Chickenpox => "chickenpox",
            Dataset::LosLoop => "los-loop",
            Dataset::FluBybw => "flu-bybw",
            Dataset::EnglandCovid => "england-covid",
            Dataset::MetrLa => "metr-la",
            Dataset::PemsBay => "pems-bay",
        }
    }

    /// Parses `chickenpox`, `los-loop`, `flu-bybw`, `england-covid`,
    /// `metr-la`, `pems-bay` (or with `_`).
    pub fn parse(name: &str) -> Option<Dataset> {
        Some(match name.replace('_', "-").to_ascii_lowercase().as_str() {
            "chickenpox" => Dataset::Chickenpox,
            "los-loop" => Dataset::LosLoop,
            "flu-bybw" => Dataset::FluBybw,
            "england-covid" => Dataset::EnglandCovid,
            "metr-la" => Dataset::MetrLa,
            "pems-bay" => Dataset::PemsBay,
            _ => return None,
        })
    }
}

/// What [`forecast`] runs; every `None` takes the protocol's default.
/// `Default`: DCRNN on Chickenpox, one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastConfig {
    /// The model.
    pub model: ModelKind,
    /// The data set.
    pub dataset: Dataset,
    /// The protocol (default: the data set's own).
    pub protocol: Protocol,
    /// The folder holding a user-provided data set's files (METR-LA,
    /// PEMS-BAY); default `datasets/cache/NAME/` of the workspace.
    pub data_dir: Option<PathBuf>,
    /// Seeds `1..=seeds` (at least one).
    pub seeds: u64,
    /// Epochs (at most, with patience).
    pub epochs: Option<usize>,
    /// Hidden size.
    pub hidden: Option<i64>,
    /// Filter size `K` (diffusion terms or Chebyshev order).
    pub k: Option<i64>,
    /// Input steps (lags).
    pub t_in: Option<i64>,
    /// Steps forecast (Los-loop and flu-bybw; the others forecast one).
    pub horizon: Option<i64>,
    /// Adam's learning rate.
    pub lr: Option<f64>,
    /// Adam's weight decay.
    pub weight_decay: Option<f64>,
    /// Samples per optimiser step.
    pub batch_size: Option<i64>,
    /// Fraction of the training windows (the chronological tail) held out for
    /// model selection (Chickenpox has none).
    pub val_fraction: Option<f64>,
    /// Epochs without a better validation RMSE before stopping (0: never).
    pub patience: Option<usize>,
    /// The head after the encoder.
    pub head: Option<Head>,
    /// How Los-loop and flu-bybw scale their series.
    pub scaling: Option<Scaling>,
    /// Clip the global gradient norm at this value.
    pub clip: Option<f64>,
    /// Use only the first this many windows of each part (train, validation,
    /// test): quick runs, whose numbers are not the protocol's.
    pub limit: Option<usize>,
    /// Checkpoints and resume.
    pub checkpointing: Checkpointing,
    /// Where to train.
    pub device: Device,
    /// Print each epoch's training loss and validation RMSE to stderr.
    pub verbose: bool,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            model: ModelKind::Dcrnn,
            dataset: Dataset::Chickenpox,
            protocol: Protocol::Native,
            data_dir: None,
            seeds: 1,
            epochs: None,
            hidden: None,
            k: None,
            t_in: None,
            horizon: None,
            lr: None,
            weight_decay: None,
            batch_size: None,
            val_fraction: None,
            patience: None,
            head: None,
            scaling: None,
            clip: None,
            limit: None,
            checkpointing: Checkpointing::default(),
            device: Device::cuda_if_available(),
            verbose: false,
        }
    }
}

/// The settings a run used: the protocol's defaults with the config's overrides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Training.
    pub fit: FitConfig,
    /// Hidden size.
    pub hidden: i64,
    /// Filter size.
    pub k: i64,
    /// Input steps.
    pub t_in: i64,
    /// Steps forecast.
    pub horizon: i64,
    /// Validation fraction.
    pub val_fraction: f64,
    /// Head.
    pub head: Head,
    /// Scaling.
    pub scaling: Scaling,
    /// Gradient-norm clipping.
    pub clip: Option<f64>,
}

impl ForecastConfig {
    /// The effective settings, or [`TrainError::Config`] for an override the
    /// protocol cannot take.
    pub fn settings(&self) -> Result<Settings, TrainError> {
        if self.protocol == Protocol::Dcrnn {
            return self.dcrnn_settings();
        }
        if matches!(self.dataset, Dataset::MetrLa | Dataset::PemsBay) {
            return Err(TrainError::Config(format!(
                "{} is run under the dcrnn protocol (--protocol dcrnn)",
                self.dataset.name()
            )));
        }
        let convolutional = matches!(self.model, ModelKind::Stgcn | ModelKind::GraphWaveNet);
        // (epochs, lr, batch, patience, hidden, k, t_in, horizon, val, head, scaling)
        let (epochs, lr, batch, patience, hidden, k, t_in, horizon, val, head, scaling) = match self.dataset {
            Dataset::Chickenpox => (
                CHICKENPOX_FIT.epochs,
                CHICKENPOX_FIT.lr,
                None,
                0,
                32,
                1,
                4,
                1,
                0.0,
                Head::ReluLinear,
                Scaling::Max,
            ),
            Dataset::LosLoop => (
                60,
                0.01,
                Some(32),
                10,
                64,
                2,
                12,
                3,
                0.1,
                Head::Linear,
                Scaling::ZScore,
            ),
            Dataset::FluBybw => (
                60,
                0.01,
                Some(32),
                20,
                32,
                2,
                8,
                1,
                0.1,
                Head::ReluLinear,
                Scaling::ZScore,
            ),
            Dataset::MetrLa | Dataset::PemsBay => unreachable!("refused above"),
            Dataset::EnglandCovid => (
                150,
                0.001,
                Some(8),
                0,
                32,
                2,
                8,
                1,
                0.1,
                Head::ReluLinear,
                Scaling::Max,
            ),
        };
        // Graph WaveNet's paper uses 32 residual channels; the convolutional
        // models' papers use Ks = 3 (diffusion order 2).
        let hidden = self.hidden.unwrap_or(if self.model == ModelKind::GraphWaveNet {
            32
        } else {
            hidden
        });
        let k = self.k.unwrap_or(if convolutional { 3 } else { k });
        let val_fraction = self.val_fraction.unwrap_or(val);
        if !(0.0..0.9).contains(&val_fraction) {
            return Err(TrainError::Config(format!(
                "the validation fraction must be in [0, 0.9), got {val_fraction}"
            )));
        }
        if self.dataset == Dataset::Chickenpox && val_fraction > 0.0 {
            return Err(TrainError::Config(
                "Chickenpox follows PGT's recipe, which has no validation part".into(),
            ));
        }
        let horizon = self.horizon.unwrap_or(horizon);
        if matches!(self.dataset, Dataset::Chickenpox | Dataset::EnglandCovid) && horizon != 1 {
            return Err(TrainError::Config(format!(
                "{} forecasts the next step only",
                self.dataset.name()
            )));
        }
        Ok(Settings {
            fit: FitConfig {
                epochs: self.epochs.unwrap_or(epochs),
                lr: self.lr.unwrap_or(lr),
                weight_decay: self.weight_decay.unwrap_or(0.0),
                batch_size: self.batch_size.or(batch),
                loss: Loss::Mse,
                patience: self.patience.unwrap_or(patience),
            },
            hidden,
            k,
            t_in: self.t_in.unwrap_or(t_in),
            horizon,
            val_fraction,
            head: self.head.unwrap_or(head),
            scaling: self.scaling.unwrap_or(scaling),
            clip: self.clip,
        })
    }

    /// [`Protocol::Dcrnn`]'s settings with the config's overrides.
    fn dcrnn_settings(&self) -> Result<Settings, TrainError> {
        if !matches!(
            self.dataset,
            Dataset::LosLoop | Dataset::MetrLa | Dataset::PemsBay
        ) {
            return Err(TrainError::Config(format!(
                "the dcrnn protocol is for traffic speeds (los-loop, metr-la, pems-bay), not {}",
                self.dataset.name()
            )));
        }
        if self.val_fraction.is_some() || self.scaling.is_some_and(|s| s != Scaling::ZScore) {
            return Err(TrainError::Config(
                "the dcrnn protocol fixes its split (70/10/20) and its scaling (z-score)".into(),
            ));
        }
        let gwn = self.model == ModelKind::GraphWaveNet;
        Ok(Settings {
            fit: FitConfig {
                epochs: self.epochs.unwrap_or(100),
                lr: self.lr.unwrap_or(if gwn { 0.001 } else { 0.01 }),
                weight_decay: self.weight_decay.unwrap_or(if gwn { 1e-4 } else { 0.0 }),
                batch_size: self.batch_size.or(Some(64)),
                loss: Loss::MaskedMae,
                patience: self.patience.unwrap_or(50),
            },
            hidden: self.hidden.unwrap_or(if gwn { 32 } else { 64 }),
            k: self.k.unwrap_or(3),
            t_in: self.t_in.unwrap_or(12),
            horizon: self.horizon.unwrap_or(12),
            val_fraction: 0.1,
            head: self.head.unwrap_or(Head::ReluLinear),
            scaling: Scaling::ZScore,
            clip: self.clip.or(Some(5.0)),
        })
    }

    /// The protocol in words, as the summary states it.
    fn protocol_words(&self, s: &Settings) -> String {
        let (t_in, horizon, val, scaling) = (s.t_in, s.horizon, s.val_fraction, s.scaling);
        if self.protocol == Protocol::Dcrnn {
            let tod = if self.dataset == Dataset::LosLoop {
                "time of day = (step mod 288) / 288 (series taken to start at midnight)"
            } else {
                "time of day from the file (else from the step index)"
            };
            return format!(
                "DCRNN / Graph WaveNet: {t_in} steps in, {horizon} out, windows split 70/10/20 in time order, \
                 speeds z-scored on the training inputs, {tod} as a second feature, masked MAE loss, best \
                 validation MAE kept, metrics masked where the truth is 0, at horizons 3, 6, 12 separately"
            );
        }
        match self.dataset {
            Dataset::MetrLa | Dataset::PemsBay => unreachable!("only under the dcrnn protocol"),
            Dataset::Chickenpox => "PyG Temporal's recipe: lags 4 as features, train ratio 0.2, one Adam step per \
                                    epoch on the mean MSE"
                .into(),
            Dataset::LosLoop => format!(
                "T-GCN: speeds scaled ({scaling:?}), 80/20 chronological split, {t_in} steps in, {horizon} out, \
                 last {val} of the training windows for validation (best epoch kept), metrics over \
                 all {horizon} steps flattened (T-GCN's convention) and per step, unmasked (no zero speeds)"
            ),
            Dataset::FluBybw => format!(
                "weekly windows: {t_in} weeks in, next {horizon} out, 80/20 chronological split of the weeks, \
                 counts scaled ({scaling:?}, training part), last {val} of the training windows for validation, unmasked"
            ),
            Dataset::EnglandCovid => format!(
                "PGT's lag view (lags {t_in}, next day) with the days as steps, each step on its own day's graph, \
                 80/20 split of the windows in time order, cases / training max, last {val} of the \
                 training windows for validation, unmasked"
            ),
        }
    }
}

/// Loads the data set of `config` and prepares it as its protocol says.
pub fn prepare(config: &ForecastConfig, settings: &Settings) -> Result<Prepared, TrainError> {
    let fetcher = Fetcher::from_env();
    let (kind, s) = (config.model, settings);
    if config.protocol == Protocol::Dcrnn {
        let (signal, tod) = match config.dataset {
            Dataset::LosLoop => (graph_data::tabular::load_los_loop(&fetcher)?, None),
            d => {
                let dir = config
                    .data_dir
                    .clone()
                    .unwrap_or_else(|| fetcher.cache.join(d.name()));
                let t = graph_data::traffic::load(d.name(), &dir)?;
                (t.signal, t.time_of_day)
            }
        };
        let tod = tod.unwrap_or_else(|| protocol::time_of_day_from_index(signal.steps));
        let mut data = protocol::dcrnn(config.dataset.name(), &signal, &tod, kind, s.t_in, s.horizon)?;
        if let Some(n) = config.limit {
            data.truncate(n);
        }
        return Ok(data);
    }
    let data = match config.dataset {
        Dataset::MetrLa | Dataset::PemsBay => unreachable!("settings() refuses them"),
        Dataset::Chickenpox => {
            let Signal::Static(signal) = graph_data::pgt::load("chickenpox", &fetcher)? else {
                return Err(TrainError::Config("Chickenpox should have a static graph".into()));
            };
            protocol::chickenpox(&signal, kind, s.t_in, 0.2)?
        }
        Dataset::LosLoop => {
            let signal = graph_data::tabular::load_los_loop(&fetcher)?;
            protocol::los_loop(&signal, kind, s.t_in, s.horizon, s.val_fraction, s.scaling)?
        }
        Dataset::FluBybw => {
            let signal = graph_data::tabular::load_flu_bybw(&fetcher)?;
            protocol::flu_bybw(&signal, kind, s.t_in, s.horizon, s.val_fraction, s.scaling)?
        }
        Dataset::EnglandCovid => {
            let Signal::Dynamic(signal) = graph_data::pgt::load("england-covid", &fetcher)? else {
                return Err(TrainError::Config(
                    "england_covid should have a graph per day".into(),
                ));
            };
            protocol::england_covid(&signal, kind, s.t_in, s.val_fraction)?
        }
    };
    let mut data = data;
    if let Some(n) = config.limit {
        data.truncate(n);
    }
    Ok(data)
}

/// One seed's training and test scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// What training did (history, kept epoch, validation RMSE).
    pub fit: Fitted,
    /// Test scores beside the baselines.
    pub evaluation: Evaluation,
}

/// The model configuration `settings` builds for `data`.
pub fn model_config(kind: ModelKind, data: &Prepared, settings: &Settings) -> ModelConfig {
    ModelConfig {
        kind,
        in_features: data.in_features,
        hidden: settings.hidden,
        k: settings.k,
        periods: data.periods,
        nodes: data.nodes(),
        horizon: data.horizon,
        head: settings.head,
    }
}

/// What a checkpoint of this run must match: the model, every size and
/// training setting except the epoch count (a run may be extended), the data
/// (checksum of the train and test tensors) and the seed.
fn identity(data: &Prepared, config: &ModelConfig, fit: &FitConfig, seed: u64) -> RunIdentity {
    let c = config;
    RunIdentity::new(
        c.kind.name(),
        json!({
            "in_features": c.in_features, "hidden": c.hidden, "k": c.k, "periods": c.periods,
            "horizon": c.horizon, "lr": fit.lr, "weight_decay": fit.weight_decay,
            "batch_size": fit.batch_size, "loss": format!("{:?}", fit.loss),
        }),
        data.dataset.clone(),
        train_utils::data_checksum(&[&data.train.x, &data.train.y, &data.test.x, &data.test.y]),
        seed,
    )
}

/// Builds the model of `model` with `seed`, trains it on `data` with
/// [`fit_forecaster`] and scores it on the test samples.
pub fn train_seed(
    data: &Prepared,
    model: &ModelConfig,
    fit: &FitConfig,
    seed: u64,
    device: Device,
    options: TrainOptions,
    verbose: bool,
) -> Result<SeedRun, TrainError> {
    train_utils::determinism::seed_everything(seed);
    let vs = nn::VarStore::new(device);
    let forecaster = Forecaster::f_new(vs.root(), model)?;
    let fitted = fit_forecaster(
        &forecaster,
        &vs,
        data,
        fit,
        identity(data, model, fit, seed),
        options,
        verbose,
    )?;
    let graph = data.graph.to_device(device);
    let evaluation = protocol::evaluate(&forecaster, &graph, data, device)?;
    Ok(SeedRun {
        seed,
        fit: fitted,
        evaluation,
    })
}

/// One horizon step of the summary, means over seeds (the baselines are the
/// same for every seed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    /// 1-based step.
    pub step: usize,
    /// The model at this step alone.
    pub mae: f64,
    /// The model at this step alone.
    pub rmse: f64,
    /// Sample standard deviation of `rmse` over seeds.
    pub rmse_std: f64,
    /// The model at this step alone, percent.
    pub mape: f64,
    /// Persistence at this step.
    pub persistence_mae: f64,
    /// Persistence at this step.
    pub persistence_rmse: f64,
    /// Historical average at this step.
    pub ha_mae: f64,
    /// Historical average at this step.
    pub ha_rmse: f64,
    /// Steps `1..=step` flattened (T-GCN's longer horizons).
    pub to_step: ToStep,
}

/// Steps `1..=step` flattened, means over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToStep {
    /// The model.
    pub mae: f64,
    /// The model.
    pub rmse: f64,
    /// Sample standard deviation of `rmse` over seeds.
    pub rmse_std: f64,
    /// Persistence.
    pub persistence_mae: f64,
    /// Persistence.
    pub persistence_rmse: f64,
    /// Historical average.
    pub ha_mae: f64,
    /// Historical average.
    pub ha_rmse: f64,
}

/// One horizon of the published METR-LA / PEMS-BAY tables ([`Protocol::Dcrnn`]):
/// the step alone, metrics masked where the truth is 0, means and sample
/// standard deviations over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonRow {
    /// 1-based step (3, 6, 12).
    pub step: usize,
    /// Minutes ahead (5-minute steps).
    pub minutes: usize,
    /// Masked MAE.
    pub mae: f64,
    /// Its standard deviation over seeds.
    pub mae_std: f64,
    /// Masked RMSE.
    pub rmse: f64,
    /// Its standard deviation over seeds.
    pub rmse_std: f64,
    /// Masked MAPE, percent.
    pub mape: f64,
    /// Its standard deviation over seeds.
    pub mape_std: f64,
    /// Persistence (last input speed) at this step, masked.
    pub persistence: Metrics,
}

/// The result over seeds (the JSON of `train temporal --json`): test metrics
/// over all horizon steps flattened, means and sample standard deviations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastSummary {
    /// The model's name.
    pub model: String,
    /// The data set's name.
    pub dataset: String,
    /// The protocol in words.
    pub protocol: String,
    /// Steps forecast.
    pub horizon: i64,
    /// What the top-level metrics are over.
    pub metrics_over: String,
    /// Mean test MAE.
    pub mae: f64,
    /// Its standard deviation.
    pub mae_std: f64,
    /// Mean test RMSE.
    pub rmse: f64,
    /// Its standard deviation.
    pub rmse_std: f64,
    /// Mean test MSE.
    pub mse: f64,
    /// Its standard deviation.
    pub mse_std: f64,
    /// Mean test MAPE, percent.
    pub mape: f64,
    /// Seeds run.
    pub seeds: usize,
    /// Each seed's test RMSE.
    pub per_seed_rmse: Vec<f64>,
    /// Each seed's kept epoch.
    pub best_epoch: Vec<usize>,
    /// Each seed's epochs run.
    pub epochs_run: Vec<usize>,
    /// Each seed's validation RMSE of the kept parameters.
    pub val_rmse: Vec<Option<f64>>,
    /// Mean seconds per epoch.
    pub s_per_epoch: f64,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Epoch budget.
    pub epochs: usize,
    /// Patience.
    pub patience: usize,
    /// Learning rate.
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Batch size (`None`: full batch).
    pub batch_size: Option<i64>,
    /// Hidden size.
    pub hidden: i64,
    /// Filter size.
    pub k: i64,
    /// `relu+linear` or `linear`.
    pub head: String,
    /// Per horizon step (every step up to 3, then every third).
    pub per_horizon: Vec<StepSummary>,
    /// The protocol's name (`native`, `dcrnn`).
    pub protocol_name: String,
    /// [`Protocol::Dcrnn`]: masked MAE / RMSE / MAPE at horizons 3, 6 and 12
    /// separately (those the horizon reaches); empty otherwise.
    pub horizons: Vec<HorizonRow>,
    /// Persistence over all steps.
    pub persistence: Metrics,
    /// Historical average over all steps.
    pub historical_average: Metrics,
    /// The device, as tch prints it.
    pub device: String,
    /// libtorch's intra-op threads.
    pub threads: i32,
    /// Every seed's run.
    #[serde(skip)]
    pub runs: Vec<SeedRun>,
}

/// Trains `config.model` on `config.dataset` with its protocol for seeds
/// `1..=config.seeds` and summarises the test scores.
pub fn forecast(config: &ForecastConfig) -> Result<ForecastSummary, TrainError> {
    let settings = config.settings()?;
    let seeds = config.seeds.max(1);
    config.checkpointing.check(seeds)?;
    let data = prepare(config, &settings)?;
    let model = model_config(config.model, &data, &settings);
    let mut runs = Vec::new();
    for seed in 1..=seeds {
        let options = config
            .checkpointing
            .options(settings.fit.epochs, settings.clip, seed, seeds);
        runs.push(train_seed(
            &data,
            &model,
            &settings.fit,
            seed,
            config.device,
            options,
            config.verbose,
        )?);
    }
    Ok(summarise(config, &settings, &data, runs))
}

fn summarise(config: &ForecastConfig, s: &Settings, data: &Prepared, runs: Vec<SeedRun>) -> ForecastSummary {
    use train_utils::stats::mean_std;
    let stat = |f: &dyn Fn(&SeedRun) -> f64| mean_std(&runs.iter().map(f).collect::<Vec<_>>());
    let (mse, mse_std) = stat(&|r| r.evaluation.model.overall.mse);
    let (mae, mae_std) = stat(&|r| r.evaluation.model.overall.mae);
    let (rmse, rmse_std) = stat(&|r| r.evaluation.model.overall.rmse);
    let (mape, _) = stat(&|r| r.evaluation.model.overall.mape);
    let (spe, _) = stat(&|r| r.fit.seconds_per_epoch);
    let first = &runs[0].evaluation;
    let per_horizon = (0..data.horizon as usize)
        .filter(|h| data.horizon <= 3 || (h + 1) % 3 == 0)
        .map(|h| {
            let (base, ha) = (&first.persistence, &first.historical_average);
            StepSummary {
                step: h + 1,
                mae: stat(&|r| r.evaluation.model.per_step[h].mae).0,
                rmse: stat(&|r| r.evaluation.model.per_step[h].rmse).0,
                rmse_std: stat(&|r| r.evaluation.model.per_step[h].rmse).1,
                mape: stat(&|r| r.evaluation.model.per_step[h].mape).0,
                persistence_mae: base.per_step[h].mae,
                persistence_rmse: base.per_step[h].rmse,
                ha_mae: ha.per_step[h].mae,
                ha_rmse: ha.per_step[h].rmse,
                to_step: ToStep {
                    mae: stat(&|r| r.evaluation.model.to_step[h].mae).0,
                    rmse: stat(&|r| r.evaluation.model.to_step[h].rmse).0,
                    rmse_std: stat(&|r| r.evaluation.model.to_step[h].rmse).1,
                    persistence_mae: base.to_step[h].mae,
                    persistence_rmse: base.to_step[h].rmse,
                    ha_mae: ha.to_step[h].mae,
                    ha_rmse: ha.to_step[h].rmse,
                },
            }
        })
        .collect();
    let horizons = if config.protocol == Protocol::Dcrnn {
        [3usize, 6, 12]
            .into_iter()
            .filter(|&h| h <= data.horizon as usize)
            .map(|h| {
                let at = |r: &SeedRun| r.evaluation.model.per_step[h - 1];
                let (mae, mae_std) = stat(&|r| at(r).mae);
                let (rmse, rmse_std) = stat(&|r| at(r).rmse);
                let (mape, mape_std) = stat(&|r| at(r).mape);
                HorizonRow {
                    step: h,
                    minutes: 5 * h,
                    mae,
                    mae_std,
                    rmse,
                    rmse_std,
                    mape,
                    mape_std,
                    persistence: first.persistence.per_step[h - 1],
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    ForecastSummary {
        protocol_name: config.protocol.name().into(),
        horizons,
        model: config.model.name().into(),
        dataset: data.dataset.clone(),
        protocol: config.protocol_words(s),
        horizon: data.horizon,
        metrics_over: format!("all {} horizon steps flattened", data.horizon),
        mae,
        mae_std,
        rmse,
        rmse_std,
        mse,
        mse_std,
        mape,
        seeds: runs.len(),
        per_seed_rmse: runs.iter().map(|r| r.evaluation.model.overall.rmse).collect(),
        best_epoch: runs.iter().map(|r| r.fit.best_epoch).collect(),
        epochs_run: runs.iter().map(|r| r.fit.epochs_run).collect(),
        val_rmse: runs.iter().map(|r| r.fit.val_rmse).collect(),
        s_per_epoch: spe,
        peak_rss_mib: train_utils::memory::peak_rss_mib(),
        epochs: s.fit.epochs,
        patience: s.fit.patience,
        lr: s.fit.lr,
        weight_decay: s.fit.weight_decay,
        batch_size: s.fit.batch_size,
        hidden: s.hidden,
        k: s.k,
        head: match s.head {
            Head::ReluLinear => "relu+linear",
            Head::Linear => "linear",
        }
        .into(),
        persistence: first.persistence.overall,
        historical_average: first.historical_average.overall,
        per_horizon,
        device: format!("{:?}", config.device),
        threads: tch::get_num_threads(),
        runs,
    }
}
