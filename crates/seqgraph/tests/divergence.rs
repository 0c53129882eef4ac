//! `--lr 1e30` on each `train` command stops the run: with a typed guard
//! error naming the epoch, a parameter and a lower learning rate, keeping
//! the last good checkpoint. Where the numbers overflow to Inf/NaN the NaN
//! guard stops it ("training stopped"); where saturating activations keep
//! them finite (the BiLSTM tagger, the Tree-LSTM, the character LSTM),
//! the divergence guard does ("training diverged"), which before it ran to
//! the end with useless parameters. Needs the data mirror.

mod common;

use std::path::Path;

use train_utils::checkpoint;

/// Runs `seqgraph ARGS --lr 1e30 --threads 1 --checkpoint CK --checkpoint-every 1`,
/// which must fail; returns (stopped at epoch, message).
fn absurd_lr(mirror: &Path, ck: &Path, args: &[&str]) -> (usize, String) {
    let ck_arg = ck.to_string_lossy().into_owned();
    let all = [
        args,
        &[
            "--lr",
            "1e30",
            "--threads",
            "1",
            "--checkpoint",
            &ck_arg,
            "--checkpoint-every",
            "1",
        ],
    ]
    .concat();
    let err = common::seqgraph(mirror, &all).expect_err("lr 1e30 must not finish");
    eprintln!("{args:?}: {err}");
    let at = ["training stopped at epoch ", "training diverged at epoch "]
        .iter()
        .find_map(|n| err.find(n).map(|i| i + n.len()))
        .unwrap_or_else(|| panic!("no guard error: {err}"));
    let epoch: usize = err[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse().ok())
        .expect("the epoch");
    assert!(
        err.contains("first bad gradient: `") || err.contains("largest gradient: `"),
        "names the parameter: {err}"
    );
    assert!(err.contains("lower the learning rate (now 1e30"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The last good checkpoint is the epoch before, untouched; none before epoch 2.
    if epoch > 1 {
        assert!(err.contains(&format!("Last good checkpoint: {ck_arg}")), "{err}");
        assert_eq!(checkpoint::load(ck).unwrap().meta.epoch, epoch - 1);
    } else {
        assert!(!ck.exists(), "{err}");
    }
    (epoch, err)
}

#[test]
fn lr_1e30_stops_every_train_command_with_a_guard_error() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let text = [
        "train",
        "text",
        "--limit",
        "20",
        "--eval-limit",
        "50",
        "--embed",
        "8",
        "--hidden",
        "8",
        "--batch",
        "5",
        "--epochs",
        "3",
    ];
    let runs: Vec<(&str, Vec<&str>, bool)> = vec![
        (
            "node",
            vec![
                "train",
                "node",
                "--model",
                "gcn",
                "--dataset",
                "cora",
                "--seeds",
                "1",
                "--epochs",
                "20",
            ],
            false,
        ),
        (
            "node-gat",
            vec![
                "train",
                "node",
                "--model",
                "gat",
                "--dataset",
                "citeseer",
                "--seeds",
                "1",
                "--epochs",
                "5",
            ],
            false,
        ),
        (
            "seq",
            vec![
                "train",
                "seq",
                "--task",
                "japanese-vowels",
                "--model",
                "lstm",
                "--epochs",
                "5",
            ],
            true,
        ),
        (
            "seq-rnn",
            vec![
                "train", "seq", "--task", "sunspots", "--model", "rnn", "--epochs", "5",
            ],
            false,
        ),
        (
            "seq-text",
            vec![
                "train",
                "seq",
                "--task",
                "moby-dick",
                "--model",
                "lstm",
                "--epochs",
                "2",
            ],
            true,
        ),
        (
            "temporal",
            vec![
                "train",
                "temporal",
                "--model",
                "gconvgru",
                "--dataset",
                "chickenpox",
                "--epochs",
                "3",
            ],
            false,
        ),
        (
            "upos",
            [&text[..], &["--task", "ud-upos", "--model", "bilstm"]].concat(),
            true,
        ),
        (
            "upos-gcn",
            [&text[..], &["--task", "ud-upos", "--model", "bilstm-gcn"]].concat(),
            false,
        ),
        (
            "sst-tree",
            [&text[..], &["--task", "sst-binary", "--view", "tree"]].concat(),
            true,
        ),
        (
            "sst-graph",
            [
                &text[..],
                &["--task", "sst-binary", "--view", "graph", "--model", "gat"],
            ]
            .concat(),
            false,
        ),
    ];
    for (name, args, finite) in runs {
        let (_, err) = absurd_lr(&m, &dir.path().join(format!("{name}.st")), &args);
        if finite {
            // These never produce a NaN at lr 1e30: only the divergence guard stops them.
            assert!(
                err.contains("training diverged at epoch") && err.contains("over 1e4 times"),
                "{name}: {err}"
            );
        }
    }
}
