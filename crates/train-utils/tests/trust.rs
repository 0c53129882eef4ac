//! Checkpoints resume bit for bit, seeds repeat, NaNs stop loudly, foreign
//! checkpoints are refused. A small MLP with dropout and shuffled mini-batches,
//! so the RNG matters.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tch::{nn, nn::ModuleT, Device, Kind, Tensor};
use train_utils::checkpoint;
use train_utils::{Adam, RunIdentity, TrainError, TrainOptions, TrainReport, Trainer};

/// libtorch's generator is global: tests of this file take turns.
static TORCH: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    let g = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    g
}

struct Data {
    x: Tensor,
    y: Tensor,
}

fn data() -> Data {
    tch::manual_seed(1234);
    let x = Tensor::randn([64, 4], (Kind::Float, Device::Cpu));
    let y = x.sin().sum_dim_intlist(-1, true, Kind::Float);
    Data { x, y }
}

fn identity(data: &Data, seed: u64, lr: f64) -> RunIdentity {
    RunIdentity::new(
        "mlp",
        serde_json::json!({"hidden": 16, "lr": lr, "batch": 16}),
        "toy",
        train_utils::data_checksum(&[&data.x, &data.y]),
        seed,
    )
}

/// Builds the model with `seed` and trains it; returns its variables (sorted) and the result.
fn train(
    data: &Data,
    seed: u64,
    lr: f64,
    options: TrainOptions,
    stop_at: Option<usize>,
    batches: i64,
) -> (Vec<(String, Tensor)>, Result<TrainReport, TrainError>) {
    train_utils::determinism::seed_everything(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let net = nn::seq_t()
        .add(nn::linear(&root / "l1", 4, 16, Default::default()))
        .add_fn(|x| x.relu())
        .add_fn_t(|x, train| x.dropout(0.2, train))
        .add(nn::linear(&root / "l2", 16, 1, Default::default()));
    let mut trainer = Trainer::new(&vs, Adam::new(lr), identity(data, seed, lr), options);
    let result = trainer.run(|epoch| {
        if Some(epoch.index()) == stop_at {
            train_utils::interrupt::request();
        }
        let order = epoch.permutation(64, Device::Cpu);
        let (mut total, size) = (0.0, 64 / batches);
        for b in 0..batches {
            let idx = order.narrow(0, b * size, size);
            let pred = net.forward_t(&data.x.index_select(0, &idx), true);
            let loss = (pred - data.y.index_select(0, &idx)).square().mean(Kind::Float);
            epoch.step(&loss)?;
            total += loss.double_value(&[]);
        }
        Ok(total / batches as f64)
    });
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    (vars, result)
}

fn assert_bit_equal(a: &[(String, Tensor)], b: &[(String, Tensor)]) {
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(b) {
        assert_eq!(na, nb);
        assert!(
            ta.equal(tb),
            "parameter {na} differs: max |diff| {}",
            (ta - tb).abs().max()
        );
    }
}

fn with_checkpoint(epochs: usize, path: &Path, every: usize) -> TrainOptions {
    TrainOptions {
        checkpoint: Some(path.to_owned()),
        checkpoint_every: every,
        ..TrainOptions::epochs(epochs)
    }
}

#[test]
fn twenty_epochs_equal_ten_then_resume_ten_bit_for_bit() {
    let _g = lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("run.safetensors");
    let (straight, r) = train(&d, 7, 0.01, TrainOptions::epochs(20), None, 4);
    let straight_losses = r.unwrap().losses;

    let (_, r) = train(&d, 7, 0.01, with_checkpoint(10, &ck, 0), None, 4);
    assert_eq!(r.unwrap().last_checkpoint.as_deref(), Some(ck.as_path()));
    assert!(
        checkpoint::json_path(&ck).exists(),
        "the readable JSON copy is written"
    );
    // Resume into a model initialised differently (seed 99 builds other weights; the
    // checkpoint must overwrite all of them) -- but the run's seed is 7.
    train_utils::determinism::seed_everything(99);
    let resumed = TrainOptions {
        resume: Some(ck.clone()),
        ..TrainOptions::epochs(20)
    };
    let (after, r) = train(&d, 7, 0.01, resumed, None, 4);
    let r = r.unwrap();
    assert_eq!(r.resumed_at, Some(10));
    assert_bit_equal(&straight, &after);
    assert_eq!(
        r.losses, straight_losses,
        "losses before and after the resume match too"
    );
    // Only the checkpoint and its JSON: no temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn ctrl_c_saves_a_checkpoint_that_resumes_exactly() {
    let _g = lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ctrlc.safetensors");
    let (straight, _) = train(&d, 3, 0.01, TrainOptions::epochs(12), None, 4);
    let opts = TrainOptions {
        catch_interrupt: true,
        ..with_checkpoint(12, &ck, 0)
    };
    let (_, r) = train(&d, 3, 0.01, opts, Some(4), 4);
    train_utils::interrupt::clear();
    match r {
        Err(TrainError::Interrupted { epoch, checkpoint }) => {
            assert_eq!(epoch, 5);
            assert_eq!(checkpoint.as_deref(), Some(ck.as_path()));
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
    assert_eq!(checkpoint::load(&ck).unwrap().meta.epoch, 5);
    let resumed = TrainOptions {
        resume: Some(ck.clone()),
        ..TrainOptions::epochs(12)
    };
    let (after, r) = train(&d, 3, 0.01, resumed, None, 4);
    r.unwrap();
    assert_bit_equal(&straight, &after);
}

#[test]
fn same_seed_same_parameters_other_seed_other_parameters() {
    let _g = lock();
    let d = data();
    let (a, _) = train(&d, 11, 0.01, TrainOptions::epochs(15), None, 4);
    let (b, _) = train(&d, 11, 0.01, TrainOptions::epochs(15), None, 4);
    assert_bit_equal(&a, &b);
    let (c, _) = train(&d, 12, 0.01, TrainOptions::epochs(15), None, 4);
    assert!(
        !a[0].1.equal(&c[0].1),
        "another seed should give other parameters"
    );
}

#[test]
fn huge_learning_rate_stops_with_epoch_parameter_hint_and_keeps_last_good_checkpoint() {
    let _g = lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("nan.safetensors");
    let (_, r) = train(&d, 5, 1e30, with_checkpoint(20, &ck, 1), None, 1);
    let err = r.unwrap_err();
    let msg = err.to_string();
    let TrainError::NonFinite {
        epoch,
        param,
        last_checkpoint,
        hint,
        ..
    } = err
    else {
        panic!("expected NonFinite, got {msg}");
    };
    assert!(
        epoch >= 2,
        "the first step is finite, the blow-up comes after: {msg}"
    );
    assert!(
        msg.contains(&format!("step {epoch}")),
        "one step per epoch here: {msg}"
    );
    let param = param.expect("a parameter is named");
    assert!(
        msg.contains(&format!("epoch {epoch}")) && msg.contains(&param),
        "{msg}"
    );
    assert!(
        hint.contains("learning rate (now 1e30)") && hint.contains("clip"),
        "{hint}"
    );
    assert_eq!(last_checkpoint.as_deref(), Some(ck.as_path()));
    let kept = checkpoint::load(&ck).unwrap();
    assert_eq!(
        kept.meta.epoch,
        epoch - 1,
        "the last good epoch's checkpoint is kept"
    );
    assert!(kept.meta.losses.iter().all(|l| l.is_finite()));
    for (name, t) in &kept.params {
        assert!(t.isfinite().all().int64_value(&[]) == 1, "saved {name} is finite");
    }
}

#[test]
fn nan_in_the_inputs_stops_at_the_first_step_naming_a_parameter() {
    let _g = lock();
    let d = data();
    let _ = d.x.get(3).get(1).fill_(f64::NAN);
    let (vars, r) = train(&d, 5, 0.01, TrainOptions::epochs(5), None, 1);
    let err = r.unwrap_err();
    let msg = err.to_string();
    match err {
        TrainError::NonFinite {
            epoch, param, hint, ..
        } => {
            assert_eq!(epoch, 1);
            assert!(msg.contains("step 1"), "{msg}");
            assert!(
                param.is_some_and(|p| p.starts_with("l1.") || p.starts_with("l2.")),
                "{msg}"
            );
            assert!(hint.contains("inputs"), "{hint}");
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    for (name, t) in &vars {
        assert!(
            t.isfinite().all().int64_value(&[]) == 1,
            "{name} was not updated with NaN"
        );
    }
}

#[test]
fn foreign_checkpoints_are_refused_naming_the_mismatch() {
    let _g = lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("a.safetensors");
    let (params, r) = train(&d, 7, 0.01, with_checkpoint(2, &ck, 0), None, 4);
    r.unwrap();
    let run = identity(&d, 7, 0.01);
    let refuse = |id: RunIdentity, params: &[(String, Tensor)]| -> String {
        let err = checkpoint::restore(&ck, &id, params, &mut Adam::new(0.01)).unwrap_err();
        assert!(matches!(err, TrainError::Mismatch { .. }), "{err}");
        err.to_string()
    };
    let other_model = RunIdentity {
        model: "gru".into(),
        ..run.clone()
    };
    let m = refuse(other_model, &params);
    assert!(m.contains("model `mlp`") && m.contains("model `gru`"), "{m}");
    let other_data = RunIdentity {
        data_checksum: "0".repeat(64),
        ..run.clone()
    };
    assert!(refuse(other_data, &params).contains("data checksum"));
    let other_lr = RunIdentity {
        config: serde_json::json!({"hidden": 16, "lr": 0.1, "batch": 16}),
        ..run.clone()
    };
    let m = refuse(other_lr, &params);
    assert!(m.contains("config.lr `0.01`") && m.contains("`0.1`"), "{m}");
    let other_seed = RunIdentity {
        seed: 8,
        ..run.clone()
    };
    assert!(refuse(other_seed, &params).contains("seed `7`"));
    // Same identity, other parameter shapes.
    let mut wrong: Vec<(String, Tensor)> = params
        .iter()
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    wrong[0].1 = Tensor::zeros([3, 3], (Kind::Float, Device::Cpu));
    let m = refuse(run.clone(), &wrong);
    assert!(
        m.contains(&format!("parameter `{}`", wrong[0].0)) && m.contains("[3, 3]"),
        "{m}"
    );
    // And the matching one loads.
    checkpoint::restore(&ck, &run, &params, &mut Adam::new(0.01)).unwrap();
}

#[test]
fn a_truncated_checkpoint_is_reported_not_used() {
    let _g = lock();
    let d = data();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("t.safetensors");
    let (params, r) = train(&d, 7, 0.01, with_checkpoint(1, &ck, 0), None, 4);
    r.unwrap();
    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&ck, &bytes[..bytes.len() / 2]).unwrap();
    let err = checkpoint::restore(&ck, &identity(&d, 7, 0.01), &params, &mut Adam::new(0.01)).unwrap_err();
    assert!(matches!(err, TrainError::Corrupt { .. }), "{err}");
    let missing = dir.path().join("none.safetensors");
    let err = checkpoint::load(&missing).unwrap_err();
    assert!(err.to_string().contains("none.safetensors"), "{err}");
}
