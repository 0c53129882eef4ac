//! Training you can trust, for `train seq`, `train node` and `train temporal`: 20 epochs
//! straight leave the same parameters, bit for bit, as 10 epochs, a resume
//! and 10 more; a checkpoint of another model or data set is refused naming
//! the field; an absurd learning rate stops naming the epoch and the
//! parameter and keeps the last good checkpoint; Ctrl-C checkpoints.
//! Node training is called as a library; `train seq` and `train temporal`
//! (6 epochs = 3 + resume + 3 on Chickenpox) through the binary.
//! Needs the data mirror (see `common::mirror`).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use seqgraph::graph_models::train::{train_node_with, TrainOptions};
use seqgraph::graph_models::{Arch, NodeData, NodeRun};
use seqgraph::tch::Device;
use train_utils::{checkpoint, TrainError};

/// libtorch's generator and thread count are global: library runs in this
/// process take turns.
static LIBTORCH: Mutex<()> = Mutex::new(());

fn cora() -> NodeData {
    let fetcher = seqgraph::graph_data::fetch::Fetcher::from_env();
    let ds = seqgraph::graph_data::planetoid::load("cora", &fetcher).expect("Cora from the mirror");
    NodeData::from_dataset(ds, Device::Cpu).unwrap()
}

fn options(epochs: usize, checkpoint: Option<&Path>, resume: Option<&Path>) -> TrainOptions {
    TrainOptions {
        epochs,
        checkpoint: checkpoint.map(Path::to_owned),
        checkpoint_every: 0,
        resume: resume.map(Path::to_owned),
        clip: None,
        catch_interrupt: false,
    }
}

/// GCN on Cora from seed 3 with Kipf's recipe cut to `epochs`.
fn gcn(data: &NodeData, options: TrainOptions) -> Result<NodeRun, TrainError> {
    let recipe = Arch::Gcn.hyperparams();
    train_node_with(Arch::Gcn, data, "cora", 2, 3, &recipe, options)
}

#[test]
fn node_twenty_epochs_equal_ten_then_resume_then_ten_and_foreign_checkpoints_are_refused() {
    common::mirror();
    let _lock = LIBTORCH.lock().unwrap_or_else(|e| e.into_inner());
    seqgraph::tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let (straight, half, resumed) = (
        dir.path().join("straight.safetensors"),
        dir.path().join("half.safetensors"),
        dir.path().join("resumed.safetensors"),
    );
    let data = cora();
    let a = gcn(&data, options(20, Some(&straight), None)).unwrap();
    let h = gcn(&data, options(10, Some(&half), None)).unwrap();
    assert_eq!(h.epochs, 10);
    let b = gcn(&data, options(20, Some(&resumed), Some(&half))).unwrap();
    assert_eq!((a.epochs, b.epochs), (20, 20));
    common::assert_same_params(&straight, &resumed);
    // The selection travels in the checkpoint: the resumed run reports the straight run's epoch.
    assert_eq!(a.test_acc.to_bits(), b.test_acc.to_bits());
    assert_eq!(a.val_acc.to_bits(), b.val_acc.to_bits());
    assert!(a.test_acc > 0.5, "20 epochs of GCN on Cora: {}", a.test_acc);

    // Another model on the same data.
    let err = train_node_with(
        Arch::Gat,
        &data,
        "cora",
        2,
        3,
        &Arch::Gat.hyperparams(),
        options(20, None, Some(&half)),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, TrainError::Mismatch { field, .. } if field == "model"),
        "{msg}"
    );
    assert!(msg.contains("`gcn`") && msg.contains("`gat`"), "{msg}");
    // Another seed.
    let err = train_node_with(
        Arch::Gcn,
        &data,
        "cora",
        2,
        4,
        &Arch::Gcn.hyperparams(),
        options(20, None, Some(&half)),
    )
    .unwrap_err();
    assert!(
        matches!(&err, TrainError::Mismatch { field, .. } if field == "seed"),
        "{err}"
    );
    // Another data set.
    let fetcher = seqgraph::graph_data::fetch::Fetcher::from_env();
    let ds = seqgraph::graph_data::planetoid::load("citeseer", &fetcher).expect("CiteSeer");
    let citeseer = NodeData::from_dataset(ds, Device::Cpu).unwrap();
    let err = train_node_with(
        Arch::Gcn,
        &citeseer,
        "citeseer",
        2,
        3,
        &Arch::Gcn.hyperparams(),
        options(20, None, Some(&half)),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, TrainError::Mismatch { field, .. } if field == "dataset"),
        "{msg}"
    );
    assert!(msg.contains("`cora`") && msg.contains("`citeseer`"), "{msg}");
}

#[test]
fn node_absurd_learning_rate_stops_naming_epoch_and_parameter_keeping_last_checkpoint() {
    common::mirror();
    let _lock = LIBTORCH.lock().unwrap_or_else(|e| e.into_inner());
    seqgraph::tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("gcn.safetensors");
    let data = cora();
    let mut recipe = Arch::Gcn.hyperparams();
    recipe.lr = 1e30;
    let opts = TrainOptions {
        checkpoint_every: 1,
        ..options(20, Some(&ck), None)
    };
    let err = train_node_with(Arch::Gcn, &data, "cora", 2, 3, &recipe, opts).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    let TrainError::NonFinite {
        epoch,
        param: Some(param),
        last_checkpoint: Some(last),
        ..
    } = &err
    else {
        panic!("expected a NaN/Inf stop naming a parameter and the last checkpoint: {msg}");
    };
    assert!(*epoch > 1, "the first step is finite at any learning rate: {msg}");
    assert!(
        msg.contains(&format!("epoch {epoch}")) && msg.contains(param.as_str()),
        "{msg}"
    );
    assert!(
        msg.contains("learning rate"),
        "the hint names the learning rate: {msg}"
    );
    assert_eq!(last, &ck);
    // The last good checkpoint is the one before the bad epoch, and its weights are finite
    // (`node_selection` starts at an infinite best loss).
    let kept = checkpoint::load(&ck).unwrap();
    assert_eq!(kept.meta.epoch, epoch - 1);
    for (name, t) in kept.params.iter().filter(|(n, _)| *n != "node_selection") {
        assert!(
            bool::try_from(t.isfinite().all()).unwrap(),
            "`{name}` is not finite"
        );
    }
}

/// `seqgraph train seq --threads 1 --json ARGS`.
fn seq(mirror: &Path, args: &[&str]) -> Result<String, String> {
    common::seqgraph(
        mirror,
        &[&["train", "seq", "--threads", "1", "--json"], args].concat(),
    )
}

/// `seqgraph train temporal --threads 1 --json ARGS`.
fn temporal(mirror: &Path, args: &[&str]) -> Result<String, String> {
    common::seqgraph(
        mirror,
        &[&["train", "temporal", "--threads", "1", "--json"], args].concat(),
    )
}

fn value(stdout: &str) -> f64 {
    common::json(stdout)["value"].as_f64().expect("a value")
}

#[test]
fn seq_twenty_epochs_equal_ten_then_resume_then_ten_and_foreign_checkpoints_are_refused() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (straight, half, resumed) = (path("straight.st"), path("half.st"), path("resumed.st"));
    let vowels = ["--task", "japanese-vowels", "--model", "lstm"];
    let run = |extra: &[&str]| seq(&m, &[&vowels[..], extra].concat());
    let a = run(&["--epochs", "20", "--checkpoint", &straight]).unwrap();
    run(&["--epochs", "10", "--checkpoint", &half]).unwrap();
    let b = run(&["--epochs", "20", "--checkpoint", &resumed, "--resume", &half]).unwrap();
    common::assert_same_params(Path::new(&straight), Path::new(&resumed));
    assert_eq!(value(&a).to_bits(), value(&b).to_bits(), "{a} vs {b}");

    // Another model, then another task.
    let err = seq(
        &m,
        &[
            "--task",
            "japanese-vowels",
            "--model",
            "gru",
            "--epochs",
            "20",
            "--resume",
            &half,
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("model `lstm`") && err.contains("model `gru`"),
        "{err}"
    );
    let err = seq(
        &m,
        &[
            "--task", "sunspots", "--model", "lstm", "--epochs", "20", "--resume", &half,
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("dataset `japanese-vowels`") && err.contains("dataset `sunspots`"),
        "{err}"
    );
}

#[test]
fn seq_absurd_learning_rate_stops_naming_epoch_and_parameter() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("sunspots.st");
    let ck_arg = ck.to_string_lossy().into_owned();
    let err = seq(
        &m,
        &[
            "--task",
            "sunspots",
            "--model",
            "rnn",
            "--lr",
            "1e30",
            "--epochs",
            "50",
            "--checkpoint",
            &ck_arg,
            "--checkpoint-every",
            "1",
        ],
    )
    .unwrap_err();
    eprintln!("{err}");
    let needle = "training stopped at epoch ";
    let at = err.find(needle).expect("a NaN/Inf stop");
    let epoch: usize = err[at + needle.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse().ok())
        .expect("the epoch");
    assert!(epoch > 1, "{err}");
    assert!(
        err.contains("first bad gradient: `"),
        "names the parameter: {err}"
    );
    assert!(err.contains("Last good checkpoint"), "{err}");
    assert_eq!(checkpoint::load(&ck).unwrap().meta.epoch, epoch - 1);
}

#[test]
fn seq_ctrl_c_checkpoints_and_the_run_resumes() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ctrl-c.st");
    let ck_arg = ck.to_string_lossy().into_owned();
    let task = ["--task", "sunspots", "--model", "gru", "--epochs", "1000000"];
    let child = Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .args([
            "train",
            "seq",
            "--threads",
            "1",
            "--json",
            "--checkpoint",
            &ck_arg,
        ])
        .args(["--checkpoint-every", "20"])
        .args(task)
        .env("SEQGRAPH_DATA_MIRROR", &m)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the seqgraph binary starts");
    // Ctrl-C once training runs (the first periodic checkpoint is written).
    let out = common::interrupt_once_checkpointed(child, &ck);
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("{err}");
    assert!(!out.status.success());
    assert!(
        err.contains("interrupted after epoch") && err.contains("continue with --resume"),
        "{err}"
    );
    let done = checkpoint::load(&ck).unwrap().meta.epoch;
    assert!(done > 0 && done < 1_000_000, "{done}");
    // It resumes: a few more epochs from where Ctrl-C left it.
    let more = (done + 3).to_string();
    let r = seq(
        &m,
        &[
            "--task", "sunspots", "--model", "gru", "--epochs", &more, "--resume", &ck_arg,
        ],
    );
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn node_early_stopping_and_selection_survive_a_resume() {
    common::mirror();
    let _lock = LIBTORCH.lock().unwrap_or_else(|e| e.into_inner());
    seqgraph::tch::set_num_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let (straight, half, resumed) = (
        dir.path().join("straight.safetensors"),
        dir.path().join("half.safetensors"),
        dir.path().join("resumed.safetensors"),
    );
    let data = cora();
    // GAT's rule (lowest validation loss selects; patience counts epochs without a
    // better loss or accuracy) on Kipf's GCN, with a short patience so it stops soon.
    let mut recipe = Arch::Gcn.hyperparams();
    recipe.patience = Some(5);
    recipe.select = seqgraph::graph_models::Select::BestValLoss;
    recipe.lr = 0.05;
    let go = |options: TrainOptions| train_node_with(Arch::Gcn, &data, "cora", 2, 1, &recipe, options);
    let a = go(options(200, Some(&straight), None)).unwrap();
    eprintln!("stopped early at epoch {} of 200", a.epochs);
    assert!(a.epochs < 200, "patience 5 never ran out");
    let cut = a.epochs / 2;
    assert_eq!(go(options(cut, Some(&half), None)).unwrap().epochs, cut);
    let b = go(options(200, Some(&resumed), Some(&half))).unwrap();
    assert_eq!(b.epochs, a.epochs, "the resumed run stops at the same epoch");
    common::assert_same_params(&straight, &resumed);
    assert_eq!(a.test_acc.to_bits(), b.test_acc.to_bits());
    // A stopped run resumed trains no further.
    let c = go(options(200, None, Some(&straight))).unwrap();
    assert_eq!((c.epochs, c.test_acc.to_bits()), (a.epochs, a.test_acc.to_bits()));
}

#[test]
fn temporal_six_epochs_equal_three_then_resume_then_three_and_foreign_checkpoints_are_refused() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (straight, half, resumed) = (path("straight.st"), path("half.st"), path("resumed.st"));
    let pox = ["--dataset", "chickenpox", "--model", "gconvgru"];
    let run = |extra: &[&str]| temporal(&m, &[&pox[..], extra].concat());
    let a = run(&["--epochs", "6", "--checkpoint", &straight]).unwrap();
    run(&["--epochs", "3", "--checkpoint", &half]).unwrap();
    let b = run(&["--epochs", "6", "--checkpoint", &resumed, "--resume", &half]).unwrap();
    common::assert_same_params(Path::new(&straight), Path::new(&resumed));
    let mse = |s: &str| common::json(s)["mse"].as_f64().expect("an MSE").to_bits();
    assert_eq!(mse(&a), mse(&b), "{a} vs {b}");

    let err = temporal(
        &m,
        &[
            "--dataset",
            "chickenpox",
            "--model",
            "tgcn",
            "--epochs",
            "6",
            "--resume",
            &half,
        ],
    )
    .unwrap_err();
    assert!(
        err.contains("refusing to resume") && err.contains("gconvgru") && err.contains("tgcn"),
        "{err}"
    );
}
