//! `seqgraph train seq --task adding|japanese-vowels|moby-dick|sunspots [--model rnn|lstm|gru]
//! [--seeds S] [--json]`: recurrent models on a synthetic benchmark and real data.
//!
//! Training goes through `train_utils::Trainer` (Adam as PyTorch's, gradient
//! clipping): `--checkpoint PATH` saves parameters and Adam's state every
//! `--checkpoint-every` epochs, after the last one and on Ctrl-C; `--resume
//! PATH` continues bit for bit (CPU) and refuses a checkpoint of another
//! model, task, config or seed; a NaN or Inf loss or gradient stops the run
//! naming the epoch and the parameter. An epoch is a pass over the training
//! set (japanese-vowels), one full-batch step (sunspots), or 100 steps of
//! fresh batches (adding, moby-dick).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use graph_data::fetch::Fetcher;
use seq_models::modes::{ManyToMany, ManyToOne};
use seq_models::{CellKind, RecurrentConfig};
use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};
use train_utils::checkpoint::seed_path;
use train_utils::{Adam, RunIdentity, TrainOptions, Trainer};

#[derive(Parser, Debug)]
#[command(name = "seqgraph train seq", about = "Train a recurrent model on one task")]
struct Args {
    /// adding | japanese-vowels | moby-dick | sunspots
    #[arg(long)]
    task: String,
    /// rnn (tanh) | lstm | gru
    #[arg(long, default_value = "lstm")]
    model: String,
    /// Number of seeds (0, 1, ...); the reported value is their mean.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Training budget in seconds per seed for moby-dick.
    #[arg(long, default_value_t = 120.0)]
    budget: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Epochs (default: the task's; on moby-dick training also ends when the budget is spent).
    #[arg(long)]
    epochs: Option<usize>,
    /// Adam's learning rate (default: the task's).
    #[arg(long)]
    lr: Option<f64>,
    /// Clip the global gradient norm at this value (default: the task's).
    #[arg(long)]
    clip: Option<f64>,
    /// libtorch's intra-op threads (default: libtorch's choice). These models are small enough that
    /// one thread is usually fastest, and on a busy machine much faster: one adding epoch of a GRU
    /// took 18.3 s with libtorch's default (2 threads, 2 cores, load ~5) and 2.3 s with `--threads 1`.
    #[arg(long)]
    threads: Option<i32>,
    /// Save checkpoints here (with several seeds: NAME.seedS.EXT), also on Ctrl-C.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Save a checkpoint every this many epochs (0: only after the last epoch and on Ctrl-C).
    #[arg(long, default_value_t = 0)]
    checkpoint_every: usize,
    /// Continue from this checkpoint (one seed only; the checkpoint must be of the same run).
    #[arg(long)]
    resume: Option<PathBuf>,
}

/// One seed's training settings: the task's defaults, the command's
/// overrides, and the checkpoint options.
#[derive(Debug, Clone)]
struct Setup {
    kind: CellKind,
    model: String,
    device: Device,
    seed: u64,
    epochs: Option<usize>,
    lr: Option<f64>,
    clip: Option<f64>,
    checkpoint: Option<PathBuf>,
    checkpoint_every: usize,
    resume: Option<PathBuf>,
}

/// A task's defaults.
struct Defaults {
    epochs: usize,
    lr: f64,
    clip: Option<f64>,
}

impl Setup {
    /// A plain run: the task's defaults, no checkpoints.
    fn plain(kind: CellKind, model: &str, seed: u64) -> Self {
        Setup {
            kind,
            model: model.to_owned(),
            device: Device::cuda_if_available(),
            seed,
            epochs: None,
            lr: None,
            clip: None,
            checkpoint: None,
            checkpoint_every: 0,
            resume: None,
        }
    }

    /// The trainer over `vs` for `task`: `config` and `checksum` (of the
    /// training data) join the identity a checkpoint must match.
    fn trainer<'a>(
        &self,
        vs: &'a nn::VarStore,
        task: &str,
        d: Defaults,
        mut config: Value,
        checksum: String,
    ) -> Trainer<'a> {
        let (lr, clip) = (self.lr.unwrap_or(d.lr), self.clip.or(d.clip));
        config["lr"] = json!(lr);
        config["clip"] = json!(clip);
        let identity = RunIdentity::new(self.model.clone(), config, task, checksum, self.seed);
        let options = TrainOptions {
            epochs: self.epochs.unwrap_or(d.epochs),
            checkpoint: self.checkpoint.clone(),
            checkpoint_every: self.checkpoint_every,
            resume: self.resume.clone(),
            clip,
            catch_interrupt: self.checkpoint.is_some(),
        };
        Trainer::new(vs, Adam::new(lr), identity, options)
    }
}

fn cell_kind(name: &str) -> Result<CellKind> {
    Ok(match name {
        "rnn" => CellKind::RnnTanh,
        "lstm" => CellKind::Lstm,
        "gru" => CellKind::Gru,
        other => bail!("unknown model `{other}` (rnn, lstm, gru)"),
    })
}

/// Runs the command with the words after `train seq`.
pub fn run(args: &[String]) -> Result<()> {
    let args =
        Args::try_parse_from(std::iter::once("seqgraph train seq".to_owned()).chain(args.iter().cloned()))?;
    let kind = cell_kind(&args.model)?;
    if let Some(t) = args.threads {
        tch::set_num_threads(t.max(1));
    }
    if args.resume.is_some() && args.seeds > 1 {
        bail!("--resume continues one run: use it with --seeds 1");
    }
    let start = Instant::now();
    let mut values = Vec::new();
    let mut extra = serde_json::Map::new();
    let metric = match args.task.as_str() {
        "adding" => "test_mse",
        "japanese-vowels" => "test_accuracy",
        "moby-dick" => "test_bits_per_char",
        "sunspots" => "test_rmse",
        other => bail!("unknown task `{other}` (adding, japanese-vowels, moby-dick, sunspots)"),
    };
    let seeds = args.seeds.max(1);
    for seed in 0..seeds {
        let setup = Setup {
            epochs: args.epochs,
            lr: args.lr,
            clip: args.clip,
            checkpoint: args.checkpoint.as_deref().map(|p| seed_path(p, seed, seeds)),
            checkpoint_every: args.checkpoint_every,
            resume: args.resume.clone(),
            ..Setup::plain(kind, &args.model, seed)
        };
        let v = match args.task.as_str() {
            "adding" => adding(&setup, 100)?,
            "japanese-vowels" => japanese_vowels(&setup)?,
            "moby-dick" => moby_dick(&setup, args.budget, &mut extra)?,
            _ => sunspots(&setup, &mut extra)?,
        };
        if !args.json {
            println!("seed {seed}: {metric} = {v:.4}");
        }
        values.push(v);
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let seconds = start.elapsed().as_secs_f64();
    if args.json {
        let mut obj = serde_json::json!({
            "task": args.task, "model": args.model, "metric": metric, "value": mean,
            "seeds": values.len(), "per_seed": values, "seconds": seconds,
        });
        obj.as_object_mut().expect("object").extend(extra);
        println!("{obj}");
    } else {
        let extra: Vec<String> = extra.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        println!(
            "{} {}: {metric} = {mean:.4} (mean of {} seeds, {seconds:.1} s){}{}",
            args.task,
            args.model,
            values.len(),
            if extra.is_empty() { "" } else { "; " },
            extra.join("; ")
        );
    }
    Ok(())
}

/// A batch of the adding problem (Hochreiter and Schmidhuber 1997): channel 0 holds U(0, 1) values,
/// channel 1 marks one position in each half; the target is the sum of the two marked values.
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

/// Trains a many-to-one model on the adding problem with sequences of length `t` (40 epochs of 100
/// steps on fresh batches of 64 by default); test MSE on 2000 fresh sequences (predicting the mean 1.0
/// gives the variance, 1/6 = 0.167).
fn adding(setup: &Setup, t: i64) -> Result<f64> {
    let device = setup.device;
    train_utils::determinism::seed_everything(setup.seed);
    let vs = nn::VarStore::new(device);
    let model = ManyToOne::new(vs.root(), setup.kind, 2, 64, 1, RecurrentConfig::default());
    let (steps, batch) = (100, 64);
    let defaults = Defaults {
        epochs: 40,
        lr: 2e-3,
        clip: Some(1.0),
    };
    let config = json!({"t": t, "hidden": 64, "batch": batch, "steps_per_epoch": steps});
    let checksum = format!("synthetic adding problem, T = {t}, drawn from the run's seed");
    let mut trainer = setup.trainer(&vs, "adding", defaults, config, checksum);
    trainer.run(|epoch| -> Result<f64> {
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
    Ok(mse.double_value(&[]))
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

/// Many-to-one classifier on JapaneseVowels (UEA canonical split; 60 epochs of batches of 32 by
/// default); returns test accuracy.
fn japanese_vowels(setup: &Setup) -> Result<f64> {
    let device = setup.device;
    let data =
        graph_data::ts::load("japanese-vowels", &Fetcher::from_env()).context("loading JapaneseVowels")?;
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
    let model = ManyToOne::new(
        vs.root(),
        setup.kind,
        c as i64,
        64,
        classes,
        RecurrentConfig::default(),
    );
    let defaults = Defaults {
        epochs: 60,
        lr: 5e-3,
        clip: Some(5.0),
    };
    let config = json!({"hidden": 64, "batch": 32});
    let checksum = train_utils::data_checksum(&[&x, &y, &Tensor::from_slice(&lengths)]);
    let mut trainer = setup.trainer(&vs, "japanese-vowels", defaults, config, checksum);
    let n = x.size()[0];
    trainer.run(|epoch| -> Result<f64> {
        let perm = epoch.permutation(n, device);
        let perm_v: Vec<i64> = Vec::try_from(&perm.to_device(Device::Cpu))?;
        let (mut total, mut steps) = (0.0, 0);
        for chunk in perm_v.chunks(32) {
            let idx = Tensor::from_slice(chunk).to_device(device);
            let lens: Vec<i64> = chunk.iter().map(|&i| lengths[i as usize]).collect();
            let logits = model.f_forward(&x.index_select(0, &idx), Some(&lens), true)?;
            let loss = logits.cross_entropy_for_logits(&y.index_select(0, &idx));
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
            steps += 1;
        }
        Ok(total / steps.max(1) as f64)
    })?;
    let logits = tch::no_grad(|| model.f_forward(&xt, Some(&lt), false))?;
    Ok(logits
        .argmax(-1, false)
        .eq_tensor(&yt)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]))
}

/// Trains a small many-to-one LSTM on JapaneseVowels for a few seconds and returns its test accuracy
/// (for `seqgraph demo`).
pub fn japanese_vowels_quick(seed: u64) -> Result<f64> {
    japanese_vowels_with("lstm", seed, Some(15))
}

/// JapaneseVowels test accuracy of the many-to-one `model` (`rnn`, `lstm`, `gru`) as `train seq
/// --task japanese-vowels` trains it (hidden 64, batch 32, Adam 5e-3, clipping at norm 5), for
/// `epochs` epochs (the command's 60 when `None`).
pub fn japanese_vowels_with(model: &str, seed: u64, epochs: Option<usize>) -> Result<f64> {
    japanese_vowels(&Setup {
        epochs,
        ..Setup::plain(cell_kind(model)?, model, seed)
    })
}

/// Character language model on Moby Dick (many-to-many, truncated BPTT), trained for `budget` seconds;
/// returns held-out bits per character and records the unigram baseline and a sample. Epochs are
/// 100 steps; training ends after `--epochs` (default: as many as fit) or when the budget is spent,
/// whichever comes first (a budget-ended run resumes exactly only when the budget is not what ended it).
fn moby_dick(
    setup: &Setup,
    budget: f64,
    extra: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<f64> {
    let (text, vocab) =
        graph_data::text::load_moby_dick(&Fetcher::from_env()).context("loading Moby Dick")?;
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

    let device = setup.device;
    let train_t = Tensor::from_slice(train).to_device(device);
    train_utils::determinism::seed_everything(setup.seed);
    let vs = nn::VarStore::new(device);
    let model = ManyToMany::new(vs.root(), setup.kind, v, 256, v, RecurrentConfig::default());
    let (b, t, per_epoch) = (32i64, 100i64, 100);
    let defaults = Defaults {
        epochs: usize::MAX / per_epoch,
        lr: 2e-3,
        clip: Some(5.0),
    };
    let config = json!({"hidden": 256, "batch": b, "bptt": t, "steps_per_epoch": per_epoch});
    let checksum = train_utils::data_checksum(&[&train_t]);
    let mut trainer = setup.trainer(&vs, "moby-dick", defaults, config, checksum);
    let start = Instant::now();
    let report = trainer.run(|epoch| -> Result<f64> {
        let mut total = 0.0;
        for _ in 0..per_epoch {
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
        Ok(total / per_epoch as f64)
    })?;
    let steps = report.losses.len() * per_epoch;
    // Held-out: the first 50k test characters as 50 streams, state carried across windows.
    let n = (test.len() as i64 - 1).min(50_000) / 50 * 50;
    let test_t = Tensor::from_slice(&test[..n as usize + 1]).to_device(device);
    let streams = test_t.narrow(0, 0, n).view([50, n / 50]);
    let targets = test_t.narrow(0, 1, n).view([50, n / 50]);
    let mut nll = 0.0;
    let mut state = None;
    tch::no_grad(|| -> Result<()> {
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
    tch::no_grad(|| -> Result<()> {
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
    let sample = vocab.decode(&out)?;
    println!("--- sample ({steps} training steps) ---\n{sample}\n---");
    extra.insert("unigram_bits_per_char".into(), unigram.into());
    extra.insert("train_steps".into(), steps.into());
    Ok(bpc)
}

/// Many-to-one forecasting of yearly sunspots from the previous 20 years (80/20 chronological split);
/// returns test RMSE and records the persistence forecast's.
fn sunspots(setup: &Setup, extra: &mut serde_json::Map<String, serde_json::Value>) -> Result<f64> {
    let device = setup.device;
    let mut s =
        graph_data::text::load_series("sunspots", &Fetcher::from_env()).context("loading sunspots")?;
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
    let model = ManyToOne::new(vs.root(), setup.kind, 1, 32, 1, RecurrentConfig::default());
    let defaults = Defaults {
        epochs: 400,
        lr: 5e-3,
        clip: None,
    };
    let config = json!({"hidden": 32, "window": w});
    let checksum = train_utils::data_checksum(&[&x, &y]);
    let mut trainer = setup.trainer(&vs, "sunspots", defaults, config, checksum);
    // One full-batch step per epoch.
    trainer.run(|epoch| -> Result<f64> {
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
    extra.insert("persistence_rmse".into(), rmse(&last).into());
    Ok(rmse(&pred))
}
