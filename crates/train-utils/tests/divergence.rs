//! The divergence guard: a run whose loss stays finite but grows past
//! `loss_factor` times its reference, or whose gradient norm passes
//! `max_grad_norm`, stops with `TrainError::Diverged` naming the epoch, the
//! parameter and a hint, keeps the last checkpoint, and stops at the same
//! epoch after a resume. The default limits leave normal runs alone.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tch::{nn, nn::Module, Device, Kind, Tensor};
use train_utils::{
    checkpoint, Adam, Divergence, RunIdentity, TrainError, TrainOptions, TrainReport, Trainer,
};

/// libtorch's generator is global: tests of this file take turns.
static TORCH: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    let g = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    g
}

fn identity(name: &str, lr: f64) -> RunIdentity {
    RunIdentity::new(name, serde_json::json!({"lr": lr}), "toy", "none", 0)
}

fn options(epochs: usize, ck: Option<&Path>, resume: Option<&Path>) -> TrainOptions {
    TrainOptions {
        checkpoint: ck.map(Path::to_owned),
        checkpoint_every: 1,
        resume: resume.map(Path::to_owned),
        ..TrainOptions::epochs(epochs)
    }
}

/// A linear model whose loss is scaled by 20^epoch while Adam's learning
/// rate is 0 (the parameters never move): the loss and every gradient grow
/// twentyfold per epoch (far from any limit's edge). Returns the report and the step-1 gradient
/// norms by parameter.
fn growing(
    epochs: usize,
    limits: Divergence,
    opts: TrainOptions,
) -> (Result<TrainReport, TrainError>, Vec<(String, f64)>) {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = nn::linear(vs.root() / "lin", 3, 2, Default::default());
    let x = Tensor::randn([8, 3], (Kind::Float, Device::Cpu));
    let y = Tensor::randn([8, 2], (Kind::Float, Device::Cpu));
    let mut first = Vec::new();
    let opts = TrainOptions { epochs, ..opts };
    let mut trainer =
        Trainer::new(&vs, Adam::new(0.0), identity("growing", 0.0), opts).with_divergence(limits);
    assert_eq!(trainer.divergence(), limits);
    let report = trainer.run(|epoch| -> Result<f64, TrainError> {
        let scale = 20f64.powi(epoch.index() as i32);
        let loss = (net.forward(&x) - &y).square().mean(Kind::Float) * scale;
        let norms = epoch.step(&loss)?;
        if first.is_empty() {
            first = norms.per_param;
        }
        Ok(loss.double_value(&[]))
    });
    (report, first)
}

#[test]
fn a_loss_past_the_factor_stops_naming_epoch_parameter_hint_and_last_checkpoint() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("grow.st");
    let limits = Divergence {
        loss_factor: 500.0,
        ..Divergence::default()
    };
    let (r, first) = growing(10, limits, options(10, Some(&ck), None));
    let err = r.unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    let TrainError::Diverged {
        epoch,
        param: Some(param),
        hint,
        last_checkpoint: Some(last),
        ..
    } = &err
    else {
        panic!("expected Diverged naming a parameter and the last checkpoint: {msg}");
    };
    // Epoch e's loss is 20^(e-1) times epoch 1's: 8000 > 500 first at epoch 4.
    assert_eq!(*epoch, 4, "{msg}");
    // The parameter with the largest gradient (all grow alike, so step 1's largest).
    let largest = first.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(param, &largest.0);
    assert!(
        msg.contains("training diverged at epoch 4") && msg.contains(&format!("`{param}`")),
        "{msg}"
    );
    assert!(hint.contains("lower the learning rate"), "{hint}");
    assert_eq!(last, &ck);
    assert_eq!(
        checkpoint::load(&ck).unwrap().meta.epoch,
        3,
        "the last good checkpoint is kept"
    );

    // A resume from epoch 2 checks against the same reference: it stops at epoch 4 too.
    let half = dir.path().join("half.st");
    growing(2, limits, options(2, Some(&half), None)).0.unwrap();
    let (r, _) = growing(10, limits, options(10, None, Some(&half)));
    let again = r.unwrap_err();
    assert!(matches!(again, TrainError::Diverged { epoch: 4, .. }), "{again}");
}

#[test]
fn a_gradient_norm_past_the_bound_stops_naming_that_parameter() {
    let _g = lock();
    // Bound at 50 times step 1's largest gradient norm: passed at epoch 3 (400 times).
    let (_, first) = growing(1, Divergence::OFF, TrainOptions::epochs(1));
    let largest = first.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().clone();
    let limits = Divergence {
        loss_factor: f64::INFINITY,
        max_grad_norm: 50.0 * largest.1,
    };
    let (r, _) = growing(10, limits, TrainOptions::epochs(10));
    let err = r.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, TrainError::Diverged { epoch: 3, param: Some(p), .. } if *p == largest.0),
        "{msg}"
    );
    assert!(
        msg.contains("gradient norm of") && msg.contains("over the bound"),
        "{msg}"
    );
}

#[test]
fn the_defaults_let_a_run_grow_8000_fold_and_stop_it_at_160000_fold_and_off_lets_any_run() {
    let _g = lock();
    // 8000 times the first loss (epoch 4) is within the default factor of 1e4.
    let (r, _) = growing(4, Divergence::default(), TrainOptions::epochs(4));
    assert_eq!(r.unwrap().losses.len(), 4);
    // The fifth (160000 times) is past it.
    let (r, _) = growing(6, Divergence::default(), TrainOptions::epochs(6));
    assert!(matches!(r, Err(TrainError::Diverged { epoch: 5, .. })), "{r:?}");
    let (r, _) = growing(8, Divergence::OFF, TrainOptions::epochs(8));
    assert_eq!(r.unwrap().losses.len(), 8);
}

/// The failure the issue names: Adam at lr 1e30 on a tanh network with a
/// linear classifier. Saturated tanh keeps every number finite (no NaN for
/// the NaN guard), while the loss jumps by thirty orders of magnitude.
#[test]
fn lr_1e30_on_a_saturating_classifier_diverges_without_a_nan() {
    let _g = lock();
    tch::manual_seed(3);
    let x = Tensor::randn([64, 4], (Kind::Float, Device::Cpu));
    let y = x
        .sum_dim_intlist(-1, false, Kind::Float)
        .gt(0.0)
        .to_kind(Kind::Int64);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = nn::seq()
        .add(nn::linear(vs.root() / "l1", 4, 16, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(vs.root() / "l2", 16, 2, Default::default()));
    let mut trainer = Trainer::new(
        &vs,
        Adam::new(1e30),
        identity("tanh", 1e30),
        TrainOptions::epochs(20),
    );
    let mut losses = Vec::new();
    let err = trainer
        .run(|epoch| -> Result<f64, TrainError> {
            let mut total = 0.0;
            for b in 0..4 {
                let idx = Tensor::arange_start(b * 16, (b + 1) * 16, (Kind::Int64, Device::Cpu));
                let loss = net
                    .forward(&x.index_select(0, &idx))
                    .cross_entropy_for_logits(&y.index_select(0, &idx));
                losses.push(loss.double_value(&[]));
                epoch.step(&loss)?;
                total += loss.double_value(&[]);
            }
            Ok(total / 4.0)
        })
        .unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(
        matches!(
            &err,
            TrainError::Diverged {
                epoch: 1,
                param: Some(_),
                ..
            }
        ),
        "{msg}"
    );
    // Every loss it saw was finite: the NaN guard alone would have let it run.
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses.last().unwrap() > &(1e4 * losses[0]), "{losses:?}");
    assert!(msg.contains("now 1e30"), "{msg}");
}
