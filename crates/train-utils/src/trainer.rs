//! An epoch loop with checkpoints, `--resume`, the NaN and divergence guard, clipping and Ctrl-C.

use crate::adam::Adam;
use crate::checkpoint::{self, AdamMeta, CheckpointMeta, RunIdentity, FORMAT};
use crate::determinism::epoch_seed;
use crate::error::TrainError;
use crate::guard::{Divergence, GradNorms, NanGuard};
use crate::interrupt;
use std::path::PathBuf;
use std::time::Instant;
use tch::{nn::VarStore, Device, Kind, Tensor};

/// How to run the loop.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Total epochs, counting those done before a resume.
    pub epochs: usize,
    /// Where to write checkpoints (`None`: never).
    pub checkpoint: Option<PathBuf>,
    /// Write one every this many epochs (0: only after the last epoch and on Ctrl-C).
    pub checkpoint_every: usize,
    /// Resume from this checkpoint.
    pub resume: Option<PathBuf>,
    /// Clip the global gradient norm at this value.
    pub clip: Option<f64>,
    /// Install the Ctrl-C handler: on Ctrl-C, finish the epoch, checkpoint, stop.
    pub catch_interrupt: bool,
}

impl TrainOptions {
    /// `epochs` epochs, no checkpoints, no clipping, no Ctrl-C handler.
    pub fn epochs(epochs: usize) -> Self {
        TrainOptions {
            epochs,
            checkpoint: None,
            checkpoint_every: 0,
            resume: None,
            clip: None,
            catch_interrupt: false,
        }
    }
}

/// Checkpoints, resume and Ctrl-C as a recipe over several seeds takes them
/// (the CLI's `--checkpoint`, `--checkpoint-every`, `--resume`): every recipe's
/// config carries one, and [`Checkpointing::options`] turns it into one seed's
/// [`TrainOptions`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpointing {
    /// Where to write checkpoints (with several seeds: `NAME.seedS.EXT`, see
    /// [`seed_path`](crate::checkpoint::seed_path)); also written on Ctrl-C.
    pub path: Option<PathBuf>,
    /// Write one every this many epochs (0: only after the last epoch and on Ctrl-C).
    pub every: usize,
    /// Continue from this checkpoint (one seed only; it must be of the same run).
    pub resume: Option<PathBuf>,
}

impl Checkpointing {
    /// Refuses `--resume` with several seeds: a checkpoint continues one run.
    pub fn check(&self, seeds: u64) -> Result<(), TrainError> {
        if self.resume.is_some() && seeds > 1 {
            return Err(TrainError::Config(
                "resume continues one run: use it with one seed".into(),
            ));
        }
        Ok(())
    }

    /// The loop options of seed `seed` of `seeds`: `epochs`, gradient
    /// clipping at `clip`, this seed's checkpoint file, and the Ctrl-C handler
    /// when checkpointing (so Ctrl-C saves before stopping).
    pub fn options(&self, epochs: usize, clip: Option<f64>, seed: u64, seeds: u64) -> TrainOptions {
        TrainOptions {
            epochs,
            checkpoint: self
                .path
                .as_deref()
                .map(|p| crate::checkpoint::seed_path(p, seed, seeds)),
            checkpoint_every: self.every,
            resume: self.resume.clone(),
            clip,
            catch_interrupt: self.path.is_some(),
        }
    }
}

/// What the loop did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Mean loss of every epoch, those before a resume included.
    pub losses: Vec<f64>,
    /// The epoch count the run resumed at, if it resumed.
    pub resumed_at: Option<usize>,
    /// Wall-clock seconds per epoch run in this process.
    pub seconds_per_epoch: f64,
    /// The last checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
    /// True when the epoch function ended the run early ([`Epoch::stop`]),
    /// in this process or before the checkpoint it resumed from.
    pub stopped: bool,
}

/// One epoch in progress, handed to the epoch function: it steps the optimiser
/// through the guard and gives the epoch's random permutations.
#[derive(Debug)]
pub struct Epoch<'a> {
    index: usize,
    params: &'a [(String, Tensor)],
    adam: &'a mut Adam,
    guard: NanGuard,
    /// The loss a step's is compared with ([`Divergence::loss_factor`]).
    reference: Option<f64>,
    last_checkpoint: Option<PathBuf>,
    stop: bool,
}

/// Gives a guard's error the last checkpoint written, which it leaves untouched.
fn with_last_checkpoint(e: TrainError, last: &Option<PathBuf>) -> TrainError {
    match e {
        TrainError::NonFinite {
            epoch,
            what,
            param,
            hint,
            ..
        } => TrainError::NonFinite {
            epoch,
            what,
            param,
            hint,
            last_checkpoint: last.clone(),
        },
        TrainError::Diverged {
            epoch,
            what,
            param,
            hint,
            ..
        } => TrainError::Diverged {
            epoch,
            what,
            param,
            hint,
            last_checkpoint: last.clone(),
        },
        other => other,
    }
}

impl Epoch<'_> {
    /// Ends the run after this epoch (early stopping): the loop checkpoints
    /// it, marked as stopped so that `--resume` from it trains no more.
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// The epoch's 0-based index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Sets Adam's learning rate for this epoch's steps and after (a
    /// schedule: the caller computes the rate from [`Epoch::index`], as
    /// `torch.optim.lr_scheduler.StepLR` does, so a resumed run gets the same).
    pub fn set_lr(&mut self, lr: f64) {
        self.adam.lr = lr;
    }

    /// Adam's current learning rate.
    pub fn lr(&self) -> f64 {
        self.adam.lr
    }

    /// A random permutation of `0..n` (drawn from the generator reseeded for this epoch).
    pub fn permutation(&self, n: i64, device: Device) -> Tensor {
        Tensor::randperm(n, (Kind::Int64, device))
    }

    /// Zeroes the gradients, back-propagates `loss`, checks the loss and every
    /// gradient ([`NanGuard`]: NaN, Inf and [`Divergence`]), clips if asked,
    /// and takes an Adam step. When a check fails it returns the error
    /// without touching the parameters.
    pub fn step(&mut self, loss: &Tensor) -> Result<GradNorms, TrainError> {
        for (_, p) in self.params {
            p.shallow_clone().zero_grad();
        }
        loss.f_backward()?;
        let value = loss.f_double_value(&[])?;
        let (epoch, step) = (self.index + 1, self.adam.step + 1);
        let norms = self
            .guard
            .check(epoch, step, value, self.params)
            .map_err(|e| with_last_checkpoint(e, &self.last_checkpoint))?;
        // The run's first step sets the reference for the rest of epoch 1.
        let reference = *self.reference.get_or_insert(value);
        self.guard
            .check_divergence(epoch, step, value, Some(reference), &norms)
            .map_err(|e| with_last_checkpoint(e, &self.last_checkpoint))?;
        if let Some(max) = self.guard.clip {
            if norms.total > max {
                let _no_grad = tch::no_grad_guard();
                let scale = max / (norms.total + 1e-6);
                for (_, p) in self.params {
                    let mut g = p.grad();
                    if g.defined() {
                        let _ = g.f_mul_scalar_(scale)?;
                    }
                }
            }
        }
        self.adam.step(self.params)?;
        Ok(norms)
    }
}

/// The loop: owns the [`Adam`] and the run's identity, reads the variables of a `VarStore`.
#[derive(Debug)]
pub struct Trainer<'a> {
    vs: &'a VarStore,
    params: Vec<(String, Tensor)>,
    /// The optimiser (its state is saved in checkpoints).
    pub adam: Adam,
    identity: RunIdentity,
    options: TrainOptions,
    divergence: Divergence,
}

impl<'a> Trainer<'a> {
    /// A loop over the variables of `vs` (all of them are saved; those with
    /// gradients are trained), in name order.
    pub fn new(vs: &'a VarStore, adam: Adam, identity: RunIdentity, options: TrainOptions) -> Self {
        let mut params: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        Trainer {
            vs,
            params,
            adam,
            identity,
            options,
            divergence: Divergence::default(),
        }
    }

    /// Sets the limits past which a finite run is stopped as diverged
    /// (default: [`Divergence::default`]; [`Divergence::OFF`] turns them off).
    pub fn with_divergence(mut self, divergence: Divergence) -> Self {
        self.divergence = divergence;
        self
    }

    /// The divergence limits in force.
    pub fn divergence(&self) -> Divergence {
        self.divergence
    }

    /// The variable store trained.
    pub fn var_store(&self) -> &VarStore {
        self.vs
    }

    fn save(&self, epoch: usize, losses: &[f64], stopped: bool) -> Result<Option<PathBuf>, TrainError> {
        let Some(path) = &self.options.checkpoint else {
            return Ok(None);
        };
        let a = &self.adam;
        let meta = CheckpointMeta {
            format: FORMAT,
            identity: self.identity.clone(),
            epoch,
            rng: "libtorch's generator is reseeded at the start of each epoch from (seed, epoch)".into(),
            losses: losses.to_vec(),
            optimizer: AdamMeta {
                lr: a.lr,
                beta1: a.beta1,
                beta2: a.beta2,
                eps: a.eps,
                weight_decay: a.weight_decay,
                param_weight_decay: a.param_weight_decay.clone(),
                step: a.step,
            },
            stopped,
        };
        checkpoint::save(path, &meta, &self.params, a)?;
        Ok(Some(path.clone()))
    }

    /// Runs the remaining epochs. `epoch_fn` trains one epoch, calling
    /// [`Epoch::step`] once per optimiser step, and returns the epoch's mean loss.
    pub fn run<E, F>(&mut self, mut epoch_fn: F) -> Result<TrainReport, E>
    where
        E: From<TrainError>,
        F: FnMut(&mut Epoch<'_>) -> Result<f64, E>,
    {
        let mut losses = Vec::new();
        let mut resumed_at = None;
        let mut last_checkpoint = None;
        let mut stopped = false;
        if let Some(path) = self.options.resume.clone() {
            let meta = checkpoint::restore(&path, &self.identity, &self.params, &mut self.adam)?;
            losses = meta.losses;
            resumed_at = Some(meta.epoch);
            stopped = meta.stopped;
            last_checkpoint = Some(path);
        }
        if self.options.catch_interrupt {
            interrupt::install();
        }
        let guard = NanGuard {
            lr: self.adam.lr,
            clip: self.options.clip,
            divergence: self.divergence,
        };
        let start = Instant::now();
        let first = losses.len();
        let last = if stopped { first } else { self.options.epochs };
        for index in first..last {
            tch::manual_seed(epoch_seed(self.identity.seed, index));
            let mut epoch = Epoch {
                index,
                params: &self.params,
                adam: &mut self.adam,
                guard,
                // After epoch 1 its mean loss is the reference: a checkpoint holds it.
                reference: losses.first().copied(),
                last_checkpoint: last_checkpoint.clone(),
                stop: false,
            };
            let loss = epoch_fn(&mut epoch)?;
            stopped = epoch.stop;
            let reference = epoch.reference;
            if !loss.is_finite() {
                return Err(TrainError::NonFinite {
                    epoch: index + 1,
                    what: format!("the epoch's mean loss is {loss}"),
                    param: None,
                    hint: format!(
                        "lower the learning rate (now {:e}) or clip gradients",
                        self.adam.lr
                    ),
                    last_checkpoint,
                }
                .into());
            }
            // The mean too: an epoch function may step on other losses than it reports.
            guard
                .check_divergence(
                    index + 1,
                    self.adam.step,
                    loss,
                    reference,
                    &GradNorms {
                        per_param: Vec::new(),
                        total: 0.0,
                    },
                )
                .map_err(|e| with_last_checkpoint(e, &last_checkpoint))?;
            losses.push(loss);
            let done = index + 1;
            let every = self.options.checkpoint_every;
            let interrupted = self.options.catch_interrupt && interrupt::requested();
            let finished = stopped || done == self.options.epochs;
            if interrupted || finished || (every > 0 && done % every == 0) {
                if let Some(p) = self.save(done, &losses, stopped)? {
                    last_checkpoint = Some(p);
                }
            }
            if stopped {
                break;
            }
            if interrupted && done < self.options.epochs {
                return Err(TrainError::Interrupted {
                    epoch: done,
                    checkpoint: last_checkpoint,
                }
                .into());
            }
        }
        let ran = (losses.len().saturating_sub(first)).max(1);
        Ok(TrainReport {
            losses,
            stopped,
            resumed_at,
            seconds_per_epoch: start.elapsed().as_secs_f64() / ran as f64,
            last_checkpoint,
        })
    }
}
