//! The same seed gives the same run: every training command, run twice with
//! one thread, writes byte-identical checkpoints (parameters, Adam's state,
//! the loss of every epoch) and prints the same numbers; run with two threads
//! it agrees to rounding (libtorch's whole-tensor `sum`/`mean` add partial sums
//! per thread, see `train_utils::determinism`). Through the binary, so each
//! run is a fresh process. Skipped (with a note) where the data mirror is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use train_utils::checkpoint;

/// The shared mirror next to the workspace, if this machine has it.
fn mirror() -> Option<PathBuf> {
    let m = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    m.join("planetoid").exists().then_some(m)
}

/// Runs `seqgraph train ARGS --threads T --json --checkpoint CK`; its stdout.
fn train(mirror: &Path, args: &[&str], threads: &str, ck: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .arg("train")
        .args(args)
        .args(["--threads", threads, "--json", "--checkpoint"])
        .arg(ck)
        .env("SEQGRAPH_DATA_MIRROR", mirror)
        .env("OMP_NUM_THREADS", threads)
        .output()
        .expect("the seqgraph binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON result without its timings.
fn result(stdout: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    if let Some(o) = v.as_object_mut() {
        // Time and memory are measurements of the run, not results of the training.
        let timing = |k: &str| {
            k.contains("seconds") || k.contains("per_epoch") || k.ends_with("ms") || k.starts_with("peak_")
        };
        o.retain(|k, _| !timing(k) && k != "threads");
    }
    v
}

/// Largest |a - b| over the parameters of two checkpoints (same names required).
fn max_param_diff(a: &Path, b: &Path) -> f64 {
    let (a, b) = (checkpoint::load(a).unwrap(), checkpoint::load(b).unwrap());
    assert_eq!(
        a.params.keys().collect::<Vec<_>>(),
        b.params.keys().collect::<Vec<_>>()
    );
    a.params
        .iter()
        .map(|(name, x)| {
            let d = (x - &b.params[name]).abs().max().double_value(&[]);
            assert!(d.is_finite(), "{name}");
            d
        })
        .fold(0.0, f64::max)
}

#[test]
fn same_seed_same_run_and_other_thread_counts_agree_to_rounding() {
    let Some(m) = mirror() else {
        eprintln!("skipped: no data mirror");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 4] = [
        (
            "seq",
            &[
                "seq",
                "--task",
                "japanese-vowels",
                "--model",
                "lstm",
                "--epochs",
                "5",
            ],
        ),
        (
            "node",
            &[
                "node",
                "--model",
                "gcn",
                "--dataset",
                "cora",
                "--epochs",
                "20",
                "--seeds",
                "1",
            ],
        ),
        (
            "temporal",
            &[
                "temporal",
                "--model",
                "gconvgru",
                "--dataset",
                "chickenpox",
                "--epochs",
                "2",
            ],
        ),
        (
            "text",
            &[
                "text",
                "--task",
                "ud-upos",
                "--model",
                "bilstm-gcn",
                "--limit",
                "40",
                "--eval-limit",
                "50",
                "--embed",
                "16",
                "--hidden",
                "16",
                "--epochs",
                "3",
            ],
        ),
    ];
    for (name, args) in cases {
        let ck = |t: &str| dir.path().join(format!("{name}.{t}.st"));
        let a = train(&m, args, "1", &ck("a"));
        let b = train(&m, args, "1", &ck("b"));
        let c = train(&m, args, "2", &ck("c"));
        let (x, y) = (std::fs::read(ck("a")).unwrap(), std::fs::read(ck("b")).unwrap());
        assert!(x.len() > 1000, "{name}: a checkpoint holds the parameters");
        assert!(
            x == y,
            "{name}: two runs with seed 0 and 1 thread write different checkpoints"
        );
        assert_eq!(result(&a), result(&b), "{name}: two runs print different results");
        let d = max_param_diff(&ck("a"), &ck("c"));
        eprintln!("{name}: 1 vs 2 threads, max parameter difference {d:e}");
        assert!(
            d < 1e-4,
            "{name}: 1 and 2 threads differ by {d:e}, more than rounding"
        );
        assert!(!result(&c).is_null());
    }
}
