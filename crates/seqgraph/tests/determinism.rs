//! The same seed gives the same run: every training command, run twice with
//! one thread, writes byte-identical checkpoints (parameters, Adam's state,
//! the loss of every epoch) and prints the same numbers; run with two threads
//! it agrees to rounding (libtorch's whole-tensor `sum`/`mean` add partial sums
//! per thread, see `train_utils::determinism`). Through the binary, so each
//! run is a fresh process. Needs the data mirror (see `common::mirror`).

mod common;

use std::path::Path;
use std::process::Command;

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

#[test]
fn same_seed_same_run_and_other_thread_counts_agree_to_rounding() {
    let m = common::mirror();
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
        assert_eq!(
            common::result_of_training(common::json(&a)),
            common::result_of_training(common::json(&b)),
            "{name}: two runs print different results"
        );
        let d = common::max_param_diff(&ck("a"), &ck("c"));
        eprintln!("{name}: 1 vs 2 threads, max parameter difference {d:e}");
        assert!(
            d < 1e-4,
            "{name}: 1 and 2 threads differ by {d:e}, more than rounding"
        );
        assert!(!common::result_of_training(common::json(&c)).is_null());
    }
}
