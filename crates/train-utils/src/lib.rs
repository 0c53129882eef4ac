//! Training you can trust: checkpoints that resume bit for bit, runs that
//! repeat with the same seed, and loud stops instead of silent NaNs.
//!
//! - [`Adam`]: Adam (PyTorch's update rule) whose moment buffers and step
//!   count are ours, so they can be saved; weight decay per tch parameter
//!   group ([`Adam::with_group_weight_decay`]) as the GCN recipes need. `tch::nn::Optimizer` wraps a C++
//!   optimiser whose state tch does not expose, so a checkpoint of it could
//!   only hold the parameters and a resumed run would restart Adam's moments.
//! - [`checkpoint`]: parameters and optimiser state in one safetensors file
//!   whose header carries a small JSON ([`CheckpointMeta`]: epoch, seed,
//!   model, config, data-set checksum), written to a temporary file and
//!   renamed; loading refuses a checkpoint of another model, config, seed or
//!   data set and names the field that differs.
//! - [`NanGuard`]: checks the loss and every parameter's gradient norm; on NaN
//!   or Inf it names the epoch, the parameter and a hint, and so it does when
//!   a finite run diverges ([`Divergence`]: a loss past 1e4 times its first
//!   value, a gradient norm past 1e8, by default).
//! - [`determinism`]: seeding, per-epoch reseeding (the RNG state a
//!   checkpoint records), thread counts, and which ops are not deterministic.
//! - [`input`]: [`InputError`], the one typed "this tensor does not fit"
//!   payload every crate's errors carry, and that converts into [`TrainError`].
//! - [`stats`]: mean, sample standard deviation and median over seeds.
//! - [`memory`]: keep freed memory for reuse (no page faults on every step's
//!   fresh buffers) and the process's peak resident memory.
//! - [`Trainer`]: an epoch loop tying them together: checkpoint every N
//!   epochs and on Ctrl-C, `--resume`, the guard, optional clipping, early
//!   stopping ([`Epoch::stop`], recorded so that a resume stops there too).
//!
//! ```
//! use tch::{nn, nn::Module, Device, Kind, Tensor};
//! use train_utils::{Adam, RunIdentity, TrainOptions, Trainer, TrainError};
//!
//! train_utils::determinism::seed_everything(0);
//! let vs = nn::VarStore::new(Device::Cpu);
//! let linear = nn::linear(vs.root() / "linear", 3, 1, Default::default());
//! let x = Tensor::randn([16, 3], (Kind::Float, Device::Cpu));
//! let y = x.sum_dim_intlist(-1, true, Kind::Float);
//! let id = RunIdentity::new("linear", serde_json::json!({"lr": 0.1}), "toy", "none", 0);
//! let mut trainer = Trainer::new(&vs, Adam::new(0.1), id, TrainOptions::epochs(50));
//! let report = trainer
//!     .run(|epoch| -> Result<f64, TrainError> {
//!         let loss = (linear.forward(&x) - &y).square().mean(Kind::Float);
//!         epoch.step(&loss)?;
//!         Ok(loss.double_value(&[]))
//!     })
//!     .unwrap();
//! assert!(report.losses[49] < report.losses[0]);
//! ```
#![deny(missing_docs)]

pub mod adam;
pub mod checkpoint;
pub mod determinism;
pub mod error;
pub mod error_cases;
pub mod gru_update;
pub mod guard;
pub mod input;
pub mod interrupt;
pub mod memory;
pub mod pair_dot;
mod shim;
pub mod small_linear;
pub mod sparse;
pub mod stats;
pub mod trainer;

pub use adam::Adam;
pub use checkpoint::{data_checksum, CheckpointMeta, RunIdentity};
pub use error::TrainError;
pub use guard::{Divergence, GradNorms, NanGuard};
pub use input::{InputError, Mismatch};
pub use trainer::{Checkpointing, Epoch, TrainOptions, TrainReport, Trainer};
