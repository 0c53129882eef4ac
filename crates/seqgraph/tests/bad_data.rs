//! Bad data never becomes wrong data, seen from the training commands: a
//! missing data set stops `seqgraph train temporal` with a message naming it
//! and where it was looked for; a corrupt cached file is refetched after its
//! checksum fails, and the run then gives the same numbers as from a clean cache.

mod common;

use std::process::{Command, Output};

const CHICKENPOX_SHA256: &str = "724b48cfb274b2ecbb855bdb99b970b5ef9dd3671694fa477435dc1e08293735";

fn train(cache: &std::path::Path, mirror: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .args([
            "train",
            "temporal",
            "--dataset",
            "chickenpox",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--json",
        ])
        .env("SEQGRAPH_DATA_DIR", cache)
        .env("SEQGRAPH_DATA_MIRROR", mirror)
        .env("SEQGRAPH_OFFLINE", "1")
        .output()
        .unwrap()
}

fn sha256(path: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn a_missing_data_set_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let empty_mirror = tempfile::tempdir().unwrap();
    let out = train(cache.path(), empty_mirror.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.starts_with("seqgraph: cannot fetch chickenpox/chickenpox.json"),
        "{err}"
    );
    assert!(
        err.contains("(missing)") && err.contains("SEQGRAPH_OFFLINE"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "no results printed");
}

#[test]
fn a_corrupt_cached_file_is_refetched_not_used() {
    let mirror = common::mirror();
    let clean = tempfile::tempdir().unwrap();
    let reference = train(clean.path(), &mirror);
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );

    let cache = tempfile::tempdir().unwrap();
    let file = cache.path().join("chickenpox/chickenpox.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    // Valid JSON of the right kind would parse: a silently wrong data set if it were used.
    let mut bytes = std::fs::read(mirror.join("pgt/chickenpox.json")).unwrap();
    let at = bytes.iter().position(|b| b.is_ascii_digit()).unwrap();
    bytes[at] = if bytes[at] == b'9' { b'8' } else { bytes[at] + 1 };
    std::fs::write(&file, &bytes).unwrap();
    assert_ne!(sha256(&file), CHICKENPOX_SHA256);

    let out = train(cache.path(), &mirror);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("failed its checksum; fetching it again"), "{err}");
    assert_eq!(
        sha256(&file),
        CHICKENPOX_SHA256,
        "the cache now holds the verified file"
    );
    let metrics = |o: &Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v["mse"].as_f64(), v["mae"].as_f64(), v["rmse"].as_f64())
    };
    assert_eq!(
        metrics(&out),
        metrics(&reference),
        "same results as from a clean cache"
    );

    // With the corrupt file back and nowhere to refetch from, the run stops instead.
    std::fs::write(&file, &bytes).unwrap();
    let empty_mirror = tempfile::tempdir().unwrap();
    let out = train(cache.path(), empty_mirror.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("failed its checksum") && err.contains("cannot fetch chickenpox"),
        "{err}"
    );
    assert!(
        !file.exists(),
        "the corrupt file was removed, not kept for a later run"
    );
}
