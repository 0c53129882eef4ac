//! Helpers shared by the command-line tests: where the data mirror is, running
//! the `seqgraph` binary, comparing checkpoints and results, and Ctrl-C.
// Each test file uses its own subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use train_utils::checkpoint;

/// The data mirror the tests read: `$SEQGRAPH_DATA_MIRROR` (relative to the
/// workspace root, as `.ci/run` sets it), else `../shared/datasets` next to the
/// workspace. These tests need real data, so a missing mirror fails them with
/// that said, rather than letting them pass without asserting anything.
pub fn mirror() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let m = match std::env::var_os("SEQGRAPH_DATA_MIRROR").map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        Some(p) => root.join(p),
        None => root.join("../shared/datasets"),
    };
    assert!(
        m.is_dir(),
        "these tests read the data mirror, not found at {}: set SEQGRAPH_DATA_MIRROR",
        m.display()
    );
    m
}

/// Runs `seqgraph ARGS` reading data from `mirror`: its stdout when it
/// succeeds, its stderr when it fails.
pub fn seqgraph(mirror: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .args(args)
        .env("SEQGRAPH_DATA_MIRROR", mirror)
        .output()
        .expect("the seqgraph binary runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A command's one JSON object.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).expect("one JSON object")
}

/// A command's JSON result without what measures the run rather than the
/// training: timings, peak memory, the thread count.
pub fn result_of_training(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        let measured = |k: &str| {
            k.contains("seconds")
                || k.contains("per_epoch")
                || k.ends_with("ms")
                || k.starts_with("peak_")
                || k == "threads"
        };
        o.retain(|k, _| !measured(k));
    }
    v
}

/// Asserts that two checkpoints hold the same parameter names and bit-identical values.
pub fn assert_same_params(a: &Path, b: &Path) {
    let (a, b) = (checkpoint::load(a).unwrap(), checkpoint::load(b).unwrap());
    assert_eq!(
        a.params.keys().collect::<Vec<_>>(),
        b.params.keys().collect::<Vec<_>>()
    );
    for (name, x) in &a.params {
        let y = &b.params[name];
        assert!(x.equal(y), "parameter `{name}` differs");
    }
    assert_eq!(a.meta.epoch, b.meta.epoch);
    assert_eq!(a.meta.optimizer.step, b.meta.optimizer.step);
}

/// Largest |a - b| over the parameters of two checkpoints (same names required).
pub fn max_param_diff(a: &Path, b: &Path) -> f64 {
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

/// Sends Ctrl-C (SIGINT) to a training run once it has written its first
/// periodic checkpoint `ck` (at most 5 minutes), and waits for it to end.
pub fn interrupt_once_checkpointed(child: Child, ck: &Path) -> Output {
    let start = Instant::now();
    while !ck.exists() && start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}
