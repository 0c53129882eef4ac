//! Bad data never becomes wrong data, for every training command (the
//! temporal command has its own cases in `bad_data.rs`): a missing data set
//! stops `train seq`, `train node` and `train text` (SST and UD) with exit
//! status 1 and one message naming the data set, the file and where it was
//! looked for, never a panic or a result; a corrupt cached file (Cora for
//! `train node`, EWT for `train text --task ud-upos`) fails its checksum, is
//! fetched again from the mirror, and the run gives the numbers of a clean cache.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// `seqgraph train ARGS --threads 1 --json` with this cache and mirror, offline.
fn train(args: &[&str], cache: &Path, mirror: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .arg("train")
        .args(args)
        .args(["--threads", "1", "--json"])
        .env("SEQGRAPH_DATA_DIR", cache)
        .env("SEQGRAPH_DATA_MIRROR", mirror)
        .env("SEQGRAPH_OFFLINE", "1")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const NODE: &[&str] = &[
    "node",
    "--model",
    "gcn",
    "--dataset",
    "cora",
    "--epochs",
    "3",
    "--seeds",
    "1",
];
const UPOS: &[&str] = &[
    "text",
    "--task",
    "ud-upos",
    "--limit",
    "10",
    "--eval-limit",
    "20",
    "--embed",
    "8",
    "--hidden",
    "8",
    "--epochs",
    "1",
];

#[test]
fn a_missing_data_set_stops_every_training_command_with_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["seq", "--task", "japanese-vowels", "--epochs", "1"],
            "japanese-vowels/JapaneseVowels_TRAIN.ts",
        ),
        (
            &["node", "--dataset", "citeseer", "--epochs", "1", "--seeds", "1"],
            "citeseer/ind.citeseer.x",
        ),
        (NODE, "cora/ind.cora.x"),
        (
            &["text", "--task", "sst-binary", "--epochs", "1"],
            "sst/train.txt",
        ),
        (UPOS, "ud-english-ewt/en_ewt-ud-dev.conllu"),
    ];
    for (args, file) in cases {
        let out = train(args, cache.path(), empty.path());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        // The data set and file come first: `seqgraph: cannot fetch cora/ind.cora.x: ...`.
        assert!(
            err.starts_with(&format!("seqgraph: cannot fetch {file}")),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("(missing)"),
            "{args:?}: names where it looked: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: no result printed");
    }
}

/// Corrupts `file` in a cache filled by a first run of `args`, reruns, and
/// checks the refetch: message, the mirror's bytes back in the cache, same result.
fn corrupt_then_rerun(args: &[&str], cached: &str, mirrored: &str) {
    let m = common::mirror();
    let cache = tempfile::tempdir().unwrap();
    let clean = train(args, cache.path(), &m);
    assert!(clean.status.success(), "{}", stderr(&clean));
    let file = cache.path().join(cached);
    let good = std::fs::read(m.join(mirrored)).unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        good,
        "the first run cached the mirror's file"
    );
    // One byte changed in the middle: a file that may well still parse.
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x01;
    std::fs::write(&file, &bad).unwrap();

    let again = train(args, cache.path(), &m);
    let err = stderr(&again);
    assert!(again.status.success(), "{err}");
    assert!(err.contains("failed its checksum; fetching it again"), "{err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        good,
        "the cache holds the verified file again"
    );
    assert_eq!(
        common::result_of_training(serde_json::from_slice(&again.stdout).expect("one JSON object")),
        common::result_of_training(serde_json::from_slice(&clean.stdout).expect("one JSON object")),
        "same result as from a clean cache"
    );

    // Corrupt again with nowhere to refetch from: the run stops, the file is not kept.
    std::fs::write(&file, &bad).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = train(args, cache.path(), empty.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("failed its checksum"), "{err}");
    assert!(out.stdout.is_empty(), "no result from a corrupt file: {err}");
    assert!(!file.exists(), "the corrupt file was removed");
}

#[test]
fn a_corrupt_cached_cora_file_is_refetched_for_train_node() {
    corrupt_then_rerun(NODE, "cora/ind.cora.graph", "planetoid/ind.cora.graph");
}

#[test]
fn a_corrupt_cached_ewt_file_is_refetched_for_train_text() {
    corrupt_then_rerun(
        UPOS,
        "ud-english-ewt/en_ewt-ud-dev.conllu",
        "text/ud_english_ewt/en_ewt-ud-dev.conllu",
    );
}
