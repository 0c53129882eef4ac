//! The sequence tasks of `cargo xtask train seq`, each one library call from a
//! [`SeqConfig`] to a [`SeqSummary`]: the adding problem, JapaneseVowels,
//! a Moby Dick character model and yearly sunspots.
//!
//! Training goes through `train_utils::Trainer` (Adam as PyTorch's, gradient
//! clipping, the NaN guard, checkpoints and exact resume). An epoch is a pass
//! over the training set (JapaneseVowels), one full-batch step (sunspots), or
//! 100 steps of fresh batches (adding, Moby Dick).
//!
//! ```no_run
//! use seq_models::recipe::{train_seq, SeqConfig, SeqTask};
//! use seq_models::CellKind;
//!
//! let config = SeqConfig { task: SeqTask::JapaneseVowels, cell: CellKind::Gru, ..SeqConfig::default() };
//! let summary = train_seq(&config)?;
//! println!("GRU on JapaneseVowels: test accuracy {:.4}", summary.value);
//! # Ok::<(), train_utils::TrainError>(())
//! ```

use std::time::Instant;

use graph_data::fetch::Fetcher;
use serde::Serialize;
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};
use train_utils::{Adam, Checkpointing, RunIdentity, TrainError, Trainer};

use crate::modes::{ManyToMany, ManyToOne};
use crate::recurrent::{CellKind, RecurrentConfig};

/// A sequence task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeqTask {
    /// The adding problem (Hochreiter and Schmidhuber 1997) with sequences of
    /// `length` steps: many-to-one, hidden 64, 40 epochs of 100 fresh batches
    /// of 64, Adam 2e-3, clipping at 1; test MSE on 2000 fresh sequences.
    Adding {
        /// Steps per sequence (`T`).
        length: i64,
    },
    /// JapaneseVowels (UEA canonical split): many-to-one classifier, hidden 64,
    /// batches of 32, 60 epochs, Adam 5e-3, clipping at 5; test accuracy.
    JapaneseVowels,
    /// A character language model on Moby Dick (hidden 256, truncated BPTT of
    /// 100, batches of 32, Adam 2e-3, clipping at 5) trained until the epochs
    /// or the budget run out; held-out bits per character.
    MobyDick {
        /// Training budget per seed, in seconds.
        budget_secs: f64,
    },
    /// Yearly sunspots, the next year from the previous 20 (80/20
    /// chronological split, hidden 32, 400 full-batch epochs, Adam 5e-3); test RMSE.
    Sunspots,
}

impl SeqTask {
    /// The name `train seq --task` takes.
    pub fn name(self) -> &'static str {
        match self {
            SeqTask::Adding { .. } => "adding",
            SeqTask::JapaneseVowels => "japanese-vowels",
            SeqTask::MobyDick { .. } => "moby-dick",
            SeqTask::Sunspots => "sunspots",
        }
    }

    /// What the task reports.
    pub fn metric(self) -> &'static str {
        match self {
            SeqTask::Adding { .. } => "test_mse",
            SeqTask::JapaneseVowels => "test_accuracy",
            SeqTask::MobyDick { .. } => "test_bits_per_char",
            SeqTask::Sunspots => "test_rmse",
        }
    }

    /// The published defaults: `(epochs, lr, clip)`.
    fn defaults(self) -> (usize, f64, Option<f64>) {
        match self {
            SeqTask::Adding { .. } => (40, 2e-3, Some(1.0)),
            SeqTask::JapaneseVowels => (60, 5e-3, Some(5.0)),
            // As many epochs as the budget allows.
            SeqTask::MobyDick { .. } => (usize::MAX / MOBY_STEPS, 2e-3, Some(5.0)),
            SeqTask::Sunspots => (400, 5e-3, None),
        }
    }
}

/// Parses a cell name: `rnn` (tanh), `lstm` or `gru`.
pub fn parse_cell(name: &str) -> Option<CellKind> {
    Some(match name {
        "rnn" => CellKind::RnnTanh,
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        _ => return None,
    })
}

/// The short name of a cell (`rnn`, `rnn-relu`, `lstm`, `gru`).
pub fn cell_name(kind: CellKind) -> &'static str {
    match kind {
        CellKind::RnnTanh => "rnn",
        CellKind::RnnRelu => "rnn-relu",
        CellKind::Lstm => "lstm",
        CellKind::Gru => "gru",
    }
}

/// What [`train_seq`] runs. `Default`: an LSTM on JapaneseVowels, one seed,
/// the task's published settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqConfig {
    /// The task.
    pub task: SeqTask,
    /// The recurrence.
    pub cell: CellKind,
    /// Seeds `0..seeds` (at least one).
    pub seeds: u64,
    /// Epochs (`None`: the task's).
    pub epochs: Option<usize>,
    /// Adam's learning rate (`None`: the task's).
    pub lr: Option<f64>,
    /// Clip the global gradient norm at this value (`None`: the task's).
    pub clip: Option<f64>,
    /// Checkpoints and resume.
    pub checkpointing: Checkpointing,
    /// Where to train.
    pub device: Device,
}

impl Default for SeqConfig {
    fn default() -> Self {
        SeqConfig {
            task: SeqTask::JapaneseVowels,
            cell: CellKind::Lstm,
            seeds: 1,
            epochs: None,
            lr: None,
            clip: None,
            checkpointing: Checkpointing::default(),
            device: Device::cuda_if_available(),
        }
    }
}

/// One seed's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeqRun {
    /// The task's metric ([`SeqTask::metric`]).
    pub value: f64,
    /// The task's baseline on the same test data: the unigram model's bits per
    /// character (Moby Dick), persistence's RMSE (sunspots).
    pub baseline: Option<f64>,
    /// Optimiser steps taken.
    pub train_steps: usize,
    /// A sample of the trained character model (Moby Dick: 300 characters
    /// after "Call me", temperature 0.8).
    pub sample: Option<String>,
}

/// The result over seeds (the JSON of `train seq --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeqSummary {
    /// The task's name.
    pub task: String,
    /// The cell's name.
    pub model: String,
    /// What `value` measures.
    pub metric: String,
    /// The mean of the seeds' values.
    pub value: f64,
    /// Seeds run.
    pub seeds: usize,
    /// Each seed's value.
    pub per_seed: Vec<f64>,
    /// Each seed's run.
    pub runs: Vec<SeqRun>,
    /// Wall-clock seconds for all seeds.
    pub seconds: f64,
}

/// Trains `config.cell` on `config.task` for each seed and summarises.
pub fn train_seq(config: &SeqConfig) -> Result<SeqSummary, TrainError> {
    let seeds = config.seeds.max(1);
    config.checkpointing.check(seeds)?;
    let start = Instant::now();
    let mut runs = Vec::new();
    for seed in 0..seeds {
        let setup = Setup { config, seed, seeds };
        runs.push(match config.task {
            SeqTask::Adding { length } => adding(&setup, length)?,
            SeqTask::JapaneseVowels => japanese_vowels(&setup)?,
            SeqTask::MobyDick { budget_secs } => moby_dick(&setup, budget_secs)?,
            SeqTask::Sunspots => sunspots(&setup)?,
        });
    }
    let per_seed: Vec<f64> = runs.iter().map(|r| r.value).collect();
    Ok(SeqSummary {
        task: config.task.name().into(),
        model: cell_name(config.cell).into(),
        metric: config.task.metric().into(),
        value: train_utils::stats::mean_std(&per_seed).0,
        seeds: runs.len(),
        per_seed,
        runs,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A batch of the adding problem (Hochreiter and Schmidhuber 1997): channel 0
/// holds U(0, 1) values, channel 1 marks one position in each half; the target
/// is the sum of the two marked values. `x` `[b, t, 2]`, `y` `[b, 1]`.
pub fn adding_batch(b: i64, t: i64, device: Device) -> (Tensor, Tensor) {
    let values = Tensor::rand([b, t], (Kind::Float, device));
    let first = Tensor::randint(t / 2, [b, 1], (Kind::Int64, device));
    let second = Tensor::randint(t - t / 2, [b, 1], (Kind::Int64, device)) + t / 2;
    let marks = Tensor::zeros([b, t], (Kind::Float, device))
        .scatter_value(1, &first, 1.0)
        .scatter_value(1, &second, 1.0);
    let y = (&values * &marks).sum_dim_intlist(1, true, Kind::Float);
    (Tensor::stack(&[values, marks], 2), y)
}

/// Optimiser steps per Moby Dick epoch.
const MOBY_STEPS: usize = 100;

/// One seed of a config.
struct Setup<'a> {
    config: &'a SeqConfig,
    seed: u64,
    seeds: u64,
}

impl Setup<'_> {
    /// The trainer over `vs`: `task_config` and `checksum` (of the training
    /// data) join the identity a checkpoint must match.
    fn trainer<'v>(&self, vs: &'v nn::VarStore, mut task_config: Value, checksum: String) -> Trainer<'v> {
        let c = self.config;
        let (epochs, lr, clip) = c.task.defaults();
        let (lr, clip) = (c.lr.unwrap_or(lr), c.clip.or(clip));
        task_config["lr"] = json!(lr);
        task_config["clip"] = json!(clip);
        let identity = RunIdentity::new(cell_name(c.cell), task_config, c.task.name(), checksum, self.seed);
        let options = c
            .checkpointing
            .options(c.epochs.unwrap_or(epochs), clip, self.seed, self.seeds);
        Trainer::new(vs, Adam::new(lr), identity, options)
    }
}

/// Many-to-one on the adding problem; test MSE on 2000 fresh sequences
/// (predicting the mean 1.0 gives the variance, 1/6 = 0.167).
fn adding(setup: &Setup, t: i64) -> Result<SeqRun, TrainError> {
    let device = setup.config.device;
    train_utils::determinism::seed_everything(setup.seed);
    let vs = nn::VarStore::new(device);
    let model = ManyToOne::f_new(vs.root(), setup.config.cell, 2, 64, 1, RecurrentConfig::default())?;
    let (steps, batch) = (100, 64);
    let task = json!({"t": t, "hidden": 64, "batch": batch, "steps_per_epoch": steps});
    let checksum = format!("synthetic adding problem, T = {t}, drawn from the run's seed");
    let mut trainer = setup.trainer(&vs, task, checksum);
    let report = trainer.run(|epoch| -> Result<f64, TrainError> {
        let mut total = 0.0;
        for _ in 0..steps {
            let (x, y) = adding_batch(batch, t, device);
            let loss = model
                .f_forward(&x, None, true)?
                .mse_loss(&y, tch::Reduction::Mean);
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
        }
        Ok(total / steps as f64)
    })?;
    let (x, y) = adding_batch(2000, t, device);
    let mse = tch::no_grad(|| {
        model
            .f_forward(&x, None, false)
            .map(|p| p.mse_loss(&y, tch::Reduction::Mean))
    })?;
    Ok(SeqRun {
        value: mse.double_value(&[]),
        baseline: None,
        train_steps: report.losses.len() * steps,
        sample: None,
    })
}

/// Pads `T_i x C` sequences to `[N, T_max, C]`, standardised with the given per-channel mean and std.
fn pad(series: &[Vec<f32>], c: usize, mean: &[f32], std: &[f32], device: Device) -> (Tensor, Vec<i64>) {
    let lengths: Vec<i64> = series.iter().map(|s| (s.len() / c) as i64).collect();
    let t = *lengths.iter().max().unwrap_or(&1);
    let mut data = vec![0f32; series.len() * t as usize * c];
    for (i, s) in series.iter().enumerate() {
        for (j, v) in s.iter().enumerate() {
            data[i * t as usize * c + j] = (v - mean[j % c]) / std[j % c];
        }
    }
    (
        Tensor::from_slice(&data)
            .view([series.len() as i64, t, c as i64])
            .to_device(device),
        lengths,
    )
}

/// Many-to-one classifier on JapaneseVowels (UEA canonical split); test accuracy.
fn japanese_vowels(setup: &Setup) -> Result<SeqRun, TrainError> {
    let device = setup.config.device;
    let data = graph_data::ts::load("japanese-vowels", &Fetcher::from_env())?;
    let c = data.train.channels;
    let classes = data.train.class_names.len() as i64;
    // Per-channel statistics of the training part.
    let (mut sum, mut sq, mut n) = (vec![0f64; c], vec![0f64; c], 0f64);
    for s in &data.train.series {
        for (j, v) in s.iter().enumerate() {
            sum[j % c] += *v as f64;
            sq[j % c] += (*v as f64).powi(2);
        }
        n += (s.len() / c) as f64;
    }
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std: Vec<f32> = sq
        .iter()
        .zip(&sum)
        .map(|(q, s)| ((q / n - (s / n).powi(2)).sqrt().max(1e-6)) as f32)
        .collect();
    let (x, lengths) = pad(&data.train.series, c, &mean, &std, device);
    let y = Tensor::from_slice(&data.train.labels).to_device(device);
    let (xt, lt) = pad(&data.test.series, c, &mean, &std, device);
    let yt = Tensor::from_slice(&data.test.labels).to_device(device);

    train_utils::determinism::seed_everything(setup.seed);
    let vs = nn::VarStore::new(device);
    let model = ManyToOne::f_new(
        vs.root(),
        setup.config.cell,
        c as i64,
        64,
        classes,
        RecurrentConfig::default(),
    )?;
    let task = json!({"hidden": 64, "batch": 32});
    let checksum = train_utils::data_checksum(&[&x, &y, &Tensor::from_slice(&lengths)]);
    let mut trainer = setup.trainer(&vs, task, checksum);
    let n = x.size()[0];
    let mut steps = 0;
    trainer.run(|epoch| -> Result<f64, TrainError> {
        let perm = epoch.permutation(n, device);
        let perm_v: Vec<i64> = Vec::try_from(&perm.to_device(Device::Cpu))?;
        let (mut total, mut batches) = (0.0, 0);
        for chunk in perm_v.chunks(32) {
            let idx = Tensor::from_slice(chunk).to_device(device);
            let lens: Vec<i64> = chunk.iter().map(|&i| lengths[i as usize]).collect();
            let logits = model.f_forward(&x.index_select(0, &idx), Some(&lens), true)?;
            let loss = logits.cross_entropy_for_logits(&y.index_select(0, &idx));
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
            batches += 1;
        }
        steps += batches;
        Ok(total / batches.max(1) as f64)
    })?;
    let logits = tch::no_grad(|| model.f_forward(&xt, Some(&lt), false))?;
    let accuracy = logits
        .argmax(-1, false)
        .eq_tensor(&yt)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    Ok(SeqRun {
        value: accuracy,
        baseline: None,
        train_steps: steps,
        sample: None,
    })
}

/// Character language model on Moby Dick (many-to-many, truncated BPTT),
/// trained until the epochs or the budget run out (a budget-ended run resumes
/// exactly only when the budget is not what ended it); held-out bits per
/// character beside the unigram baseline, and a sample.
fn moby_dick(setup: &Setup, budget: f64) -> Result<SeqRun, TrainError> {
    let (text, vocab) = graph_data::text::load_moby_dick(&Fetcher::from_env())?;
    let ids: Vec<i64> = vocab.encode(&text)?.into_iter().map(i64::from).collect();
    let v = vocab.len() as i64;
    let split = ids.len() * 95 / 100;
    let (train, test) = (&ids[..split], &ids[split..]);
    // Unigram baseline from training counts (add-one smoothing).
    let mut counts = vec![1f64; v as usize];
    train.iter().for_each(|&i| counts[i as usize] += 1.0);
    let total: f64 = counts.iter().sum();
    let unigram = test
        .iter()
        .map(|&i| -(counts[i as usize] / total).log2())
        .sum::<f64>()
        / test.len() as f64;

    let device = setup.config.device;
    let train_t = Tensor::from_slice(train).to_device(device);
    train_utils::determinism::seed_everything(setup.seed);
    let vs = nn::VarStore::new(device);
    let model = ManyToMany::f_new(
        vs.root(),
        setup.config.cell,
        v,
        256,
        v,
        RecurrentConfig::default(),
    )?;
    let (b, t) = (32i64, 100i64);
    let task = json!({"hidden": 256, "batch": b, "bptt": t, "steps_per_epoch": MOBY_STEPS});
    let checksum = train_utils::data_checksum(&[&train_t]);
    let mut trainer = setup.trainer(&vs, task, checksum);
    let start = Instant::now();
    let report = trainer.run(|epoch| -> Result<f64, TrainError> {
        let mut total = 0.0;
        for _ in 0..MOBY_STEPS {
            let starts = Tensor::randint(train.len() as i64 - t - 1, [b, 1], (Kind::Int64, device));
            let idx = starts + Tensor::arange(t + 1, (Kind::Int64, device)).unsqueeze(0);
            let chunk = train_t.index_select(0, &idx.view([-1])).view([b, t + 1]);
            let x = chunk.narrow(1, 0, t).one_hot(v).to_kind(Kind::Float);
            let (logits, _) = model.f_forward(&x, None, None, true)?;
            let loss = logits
                .view([-1, v])
                .cross_entropy_for_logits(&chunk.narrow(1, 1, t).reshape([-1]));
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
        }
        if start.elapsed().as_secs_f64() >= budget {
            epoch.stop();
        }
        Ok(total / MOBY_STEPS as f64)
    })?;
    // Held-out: the first 50k test characters as 50 streams, state carried across windows.
    let n = (test.len() as i64 - 1).min(50_000) / 50 * 50;
    let test_t = Tensor::from_slice(&test[..n as usize + 1]).to_device(device);
    let streams = test_t.narrow(0, 0, n).view([50, n / 50]);
    let targets = test_t.narrow(0, 1, n).view([50, n / 50]);
    let mut nll = 0.0;
    let mut state = None;
    tch::no_grad(|| -> Result<(), TrainError> {
        for s in (0..n / 50).step_by(t as usize) {
            let len = t.min(n / 50 - s);
            let x = streams.narrow(1, s, len).one_hot(v).to_kind(Kind::Float);
            let (logits, st) = model.f_forward(&x, state.as_ref(), None, false)?;
            state = Some(st);
            let ce = logits.view([-1, v]).cross_entropy_loss::<Tensor>(
                &targets.narrow(1, s, len).reshape([-1]),
                None,
                tch::Reduction::Sum,
                -100,
                0.0,
            );
            nll += ce.double_value(&[]);
        }
        Ok(())
    })?;
    let bpc = nll / n as f64 / std::f64::consts::LN_2;
    // A sample, temperature 0.8, primed with "Call me".
    let mut out: Vec<u32> = vocab.encode("Call me")?;
    tch::no_grad(|| -> Result<(), TrainError> {
        let prime = Tensor::from_slice(&out.iter().map(|&i| i as i64).collect::<Vec<_>>()).to_device(device);
        let (mut logits, mut st) = model.f_forward(
            &prime.one_hot(v).to_kind(Kind::Float).unsqueeze(0),
            None,
            None,
            false,
        )?;
        for _ in 0..300 {
            let last = logits.select(1, logits.size()[1] - 1) / 0.8;
            let next = last.softmax(-1, Kind::Float).multinomial(1, true).view([1, 1]);
            out.push(next.int64_value(&[0, 0]) as u32);
            let (l, s2) = model.f_forward(&next.one_hot(v).to_kind(Kind::Float), Some(&st), None, false)?;
            logits = l;
            st = s2;
        }
        Ok(())
    })?;
    Ok(SeqRun {
        value: bpc,
        baseline: Some(unigram),
        train_steps: report.losses.len() * MOBY_STEPS,
        sample: Some(vocab.decode(&out)?),
    })
}

/// Many-to-one forecasting of yearly sunspots from the previous 20 years (80/20
/// chronological split); test RMSE beside the persistence forecast's.
fn sunspots(setup: &Setup) -> Result<SeqRun, TrainError> {
    let device = setup.config.device;
    let mut s = graph_data::text::load_series("sunspots", &Fetcher::from_env())?;
    s.fill_linear()?;
    let vals = &s.values;
    let w = 20usize;
    let split = vals.len() * 8 / 10;
    let mean = vals[..split].iter().sum::<f32>() / split as f32;
    let std = (vals[..split].iter().map(|v| (v - mean).powi(2)).sum::<f32>() / split as f32).sqrt();
    let z: Vec<f32> = vals.iter().map(|v| (v - mean) / std).collect();
    let windows = |range: std::ops::Range<usize>| {
        let ends: Vec<usize> = range.filter(|&e| e >= w).collect();
        let x: Vec<f32> = ends.iter().flat_map(|&e| z[e - w..e].to_vec()).collect();
        let y: Vec<f32> = ends.iter().map(|&e| z[e]).collect();
        let last: Vec<f32> = ends.iter().map(|&e| z[e - 1]).collect();
        let n = ends.len() as i64;
        (
            Tensor::from_slice(&x).view([n, w as i64, 1]).to_device(device),
            Tensor::from_slice(&y).view([n, 1]).to_device(device),
            Tensor::from_slice(&last).view([n, 1]),
        )
    };
    let (x, y, _) = windows(0..split);
    let (xt, yt, last) = windows(split..vals.len());
    train_utils::determinism::seed_everything(setup.seed);
    let vs = nn::VarStore::new(device);
    let model = ManyToOne::f_new(vs.root(), setup.config.cell, 1, 32, 1, RecurrentConfig::default())?;
    let task = json!({"hidden": 32, "window": w});
    let checksum = train_utils::data_checksum(&[&x, &y]);
    let mut trainer = setup.trainer(&vs, task, checksum);
    // One full-batch step per epoch.
    let report = trainer.run(|epoch| -> Result<f64, TrainError> {
        let loss = model
            .f_forward(&x, None, true)?
            .mse_loss(&y, tch::Reduction::Mean);
        epoch.step(&loss)?;
        Ok(loss.double_value(&[]))
    })?;
    let pred = tch::no_grad(|| model.f_forward(&xt, None, false))?;
    let rmse = |p: &Tensor| {
        (p.to_device(Device::Cpu) - yt.to_device(Device::Cpu))
            .square()
            .mean(Kind::Float)
            .sqrt()
            .double_value(&[])
            * std as f64
    };
    Ok(SeqRun {
        value: rmse(&pred),
        baseline: Some(rmse(&last)),
        train_steps: report.losses.len(),
        sample: None,
    })
}

/// What [`adding_curve`] trains: a many-to-one model on the adding problem
/// with fresh batches, tested on fixed sequences every `eval_every` steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddingCurveConfig {
    /// The recurrence.
    pub cell: CellKind,
    /// Steps per sequence.
    pub length: i64,
    /// Optimiser steps.
    pub steps: usize,
    /// Test every this many steps (and after the last).
    pub eval_every: usize,
    /// Sequences per training batch.
    pub batch: i64,
    /// Fixed test sequences.
    pub test: i64,
    /// Hidden units.
    pub hidden: i64,
    /// Adam's learning rate (PyTorch's Adam; gradient norm clipped at 1).
    pub lr: f64,
    /// Seed of the model and the batches (the test set is drawn from seed 1234).
    pub seed: u64,
    /// Where to train.
    pub device: Device,
}

impl Default for AddingCurveConfig {
    /// An LSTM at T = 100: 4000 steps of batches of 64, hidden 64, Adam 2e-3,
    /// tested on 2000 sequences every 100 steps.
    fn default() -> Self {
        AddingCurveConfig {
            cell: CellKind::Lstm,
            length: 100,
            steps: 4000,
            eval_every: 100,
            batch: 64,
            test: 2000,
            hidden: 64,
            lr: 2e-3,
            seed: 0,
            device: Device::cuda_if_available(),
        }
    }
}

/// The learning curve of [`AddingCurveConfig`]: `(step, test MSE)` points,
/// the first at step 0 (predicting the mean gives the variance 1/6).
pub fn adding_curve(c: &AddingCurveConfig) -> Result<Vec<(f64, f64)>, TrainError> {
    use tch::nn::OptimizerConfig;
    tch::manual_seed(1234);
    let test = adding_batch(c.test, c.length, c.device);
    tch::manual_seed(c.seed as i64);
    let vs = nn::VarStore::new(c.device);
    let model = ManyToOne::f_new(vs.root(), c.cell, 2, c.hidden, 1, RecurrentConfig::default())?;
    let mut opt = nn::Adam::default().build(&vs, c.lr)?;
    let evaluate = |model: &ManyToOne| -> Result<f64, TrainError> {
        let mse = tch::no_grad(|| {
            model
                .f_forward(&test.0, None, false)
                .map(|p| p.mse_loss(&test.1, tch::Reduction::Mean))
        })?;
        Ok(mse.double_value(&[]))
    };
    let mut points = vec![(0.0, evaluate(&model)?)];
    for step in 1..=c.steps {
        let (x, y) = adding_batch(c.batch, c.length, c.device);
        let loss = model
            .f_forward(&x, None, true)?
            .mse_loss(&y, tch::Reduction::Mean);
        opt.zero_grad();
        loss.backward();
        crate::diagnostics::clip_grad_norm(&vs, 1.0);
        opt.step();
        if step % c.eval_every == 0 || step == c.steps {
            points.push((step as f64, evaluate(&model)?));
        }
    }
    Ok(points)
}
