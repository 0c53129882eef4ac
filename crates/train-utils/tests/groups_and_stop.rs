//! Per-group weight decay (as tch's `set_weight_decay_group`), its refusal on
//! resume when it differs, and early stopping that a resume respects.

use std::sync::{Mutex, MutexGuard};
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};
use train_utils::{checkpoint, Adam, RunIdentity, TrainError, TrainOptions, Trainer};

/// libtorch's generator is global: tests of this file take turns.
static TORCH: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    let g = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    g
}

/// Two linear layers, the first in parameter group 1.
fn net(vs: &nn::VarStore) -> impl Module {
    let root = vs.root();
    nn::seq()
        .add(nn::linear(root.set_group(1) / "l1", 4, 8, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(&root / "l2", 8, 1, Default::default()))
}

fn batch() -> (Tensor, Tensor) {
    let x = Tensor::randn([32, 4], (Kind::Float, Device::Cpu));
    let y = x.cos().sum_dim_intlist(-1, true, Kind::Float);
    (x, y)
}

fn sorted(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<_> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// 20 steps of our Adam with `groups`; the parameters after.
fn ours(groups: &[(usize, f64)]) -> Vec<(String, Tensor)> {
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = net(&vs);
    let (x, y) = batch();
    let mut adam = Adam::new(0.05).with_group_weight_decay(&vs, groups);
    let params = sorted(&vs);
    for _ in 0..20 {
        for (_, p) in &params {
            p.shallow_clone().zero_grad();
        }
        (model.forward(&x) - &y).square().mean(Kind::Float).backward();
        adam.step(&params).unwrap();
    }
    params
}

#[test]
fn group_weight_decay_follows_tch_adam_groups() {
    let _g = lock();
    let groups = [(0, 0.0), (1, 0.5)];
    let mine = ours(&groups);
    // tch's Adam (libtorch's C++ optimiser) with the same groups.
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = net(&vs);
    let (x, y) = batch();
    let mut opt = nn::Adam::default().build(&vs, 0.05).unwrap();
    for &(g, wd) in &groups {
        opt.set_weight_decay_group(g, wd);
    }
    for _ in 0..20 {
        opt.backward_step(&(model.forward(&x) - &y).square().mean(Kind::Float));
    }
    let theirs = sorted(&vs);
    for ((name, a), (_, b)) in mine.iter().zip(&theirs) {
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "`{name}` differs from tch's Adam by {diff}");
    }
    // The decay matters: without it the first layer ends elsewhere.
    let plain = ours(&[]);
    let moved = (&mine[0].1 - &plain[0].1).abs().max().double_value(&[]);
    assert_eq!(mine[0].0, "l1.bias");
    assert!(moved > 1e-3, "weight decay 0.5 on l1 changed nothing ({moved})");
    let adam = Adam::new(0.1).with_group_weight_decay(&vs, &groups);
    assert_eq!(adam.weight_decay_of("l1.weight"), 0.5);
    assert_eq!(adam.weight_decay_of("l2.weight"), 0.0);
}

fn identity() -> RunIdentity {
    RunIdentity::new("two-layer", serde_json::json!({"lr": 0.05}), "toy", "none", 1)
}

/// A run's epoch losses, whether it stopped early, and its parameters.
type Outcome = (Vec<f64>, bool, Vec<(String, Tensor)>);

/// Trains 20 epochs at most, stopping after epoch `stop_after` (1-based).
fn run(options: TrainOptions, stop_after: usize, groups: &[(usize, f64)]) -> Result<Outcome, TrainError> {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = net(&vs);
    let (x, y) = batch();
    let adam = Adam::new(0.05).with_group_weight_decay(&vs, groups);
    let mut trainer = Trainer::new(&vs, adam, identity(), options);
    let report = trainer.run(|epoch| -> Result<f64, TrainError> {
        let loss = (model.forward(&x) - &y).square().mean(Kind::Float);
        epoch.step(&loss)?;
        if epoch.index() + 1 == stop_after {
            epoch.stop();
        }
        Ok(loss.double_value(&[]))
    })?;
    Ok((report.losses, report.stopped, sorted(&vs)))
}

#[test]
fn an_early_stopped_run_resumes_to_the_same_end_and_other_decay_is_refused() {
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("stopped.safetensors");
    let options = TrainOptions {
        checkpoint: Some(ck.clone()),
        ..TrainOptions::epochs(20)
    };
    let (losses, stopped, params) = run(options.clone(), 7, &[(1, 0.1)]).unwrap();
    assert_eq!(losses.len(), 7);
    assert!(stopped);
    let meta = checkpoint::load(&ck).unwrap().meta;
    assert!(meta.stopped);
    assert_eq!(meta.epoch, 7);

    // Resuming a stopped run trains nothing more, though 20 epochs are allowed.
    let resume = TrainOptions {
        resume: Some(ck.clone()),
        checkpoint: None,
        ..options
    };
    let (again, stopped_again, resumed) = run(resume.clone(), usize::MAX, &[(1, 0.1)]).unwrap();
    assert_eq!(again, losses);
    assert!(stopped_again);
    for ((name, a), (_, b)) in params.iter().zip(&resumed) {
        assert!(a.equal(b), "`{name}` changed");
    }

    // Another weight decay for the first layer is another run.
    let err = run(resume, usize::MAX, &[(1, 0.2)]).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, TrainError::Mismatch { field, .. } if field == "optimizer.weight_decay of `l1.bias`"),
        "{msg}"
    );
    assert!(msg.contains("0.1") && msg.contains("0.2"), "{msg}");
}
