//! A training command killed with SIGKILL (no handler runs, unlike Ctrl-C)
//! at a random moment or in the middle of a checkpoint write, then resumed:
//! the last checkpoint on disk always loads, and `--resume` ends with the
//! parameters of an uninterrupted run, bit for bit (CPU, one thread).
//! The rounds cycle through `train seq`, `train node`, `train temporal` and
//! `train text`, each kill time drawn from its round's seed.
//!
//! `cargo test -p seqgraph --test kill` runs 8 rounds;
//! `cargo test -p seqgraph --test kill -- --ignored` runs 40.
//! Needs the data mirror (see `common::mirror`).

mod common;

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use train_utils::checkpoint;

/// The commands killed: short runs of each `train` subcommand.
const RUNS: [(&str, &[&str]); 4] = [
    (
        "seq",
        &[
            "train", "seq", "--task", "sunspots", "--model", "gru", "--epochs", "30",
        ],
    ),
    (
        "node",
        &[
            "train",
            "node",
            "--model",
            "gcn",
            "--dataset",
            "cora",
            "--seeds",
            "1",
            "--epochs",
            "30",
        ],
    ),
    (
        "temporal",
        &[
            "train",
            "temporal",
            "--model",
            "gconvgru",
            "--dataset",
            "chickenpox",
            "--epochs",
            "20",
        ],
    ),
    (
        "text",
        &[
            "train",
            "text",
            "--task",
            "ud-upos",
            "--model",
            "bilstm-gcn",
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
            "12",
        ],
    ),
];

/// `seqgraph ARGS --threads 1 --json EXTRA`, to the end; panics with its stderr on failure.
fn run_to_end(mirror: &Path, args: &[&str], extra: &[&str]) {
    let all = [args, &["--threads", "1", "--json"], extra].concat();
    if let Err(e) = common::seqgraph(mirror, &all) {
        panic!("seqgraph {all:?} failed: {e}");
    }
}

/// Temporary files a checkpoint write of `ck` left (`.NAME.tmp-PID`).
fn temporaries(ck: &Path) -> Vec<PathBuf> {
    let prefix = format!(".{}.tmp-", ck.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(ck.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// What one round saw.
struct Round {
    /// The child died of SIGKILL (it had not finished on its own).
    killed: bool,
    /// The kill landed in a checkpoint write: its temporary file was left.
    mid_write: bool,
    /// Epochs in the checkpoint the kill left (0: none yet).
    epoch: usize,
}

/// Starts `run` with a checkpoint every epoch, kills it (at a random moment
/// after its first checkpoint, or, with `in_write`, as soon as a checkpoint
/// write is seen under way), checks what is on disk and resumes it to the end;
/// its parameters must equal `reference`'s.
fn round(mirror: &Path, dir: &Path, args: &[&str], reference: &Path, seed: u64, in_write: bool) -> Round {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let ck = dir.join(format!("kill{seed}.st"));
    let ck_arg = ck.to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .args(args)
        .args(["--threads", "1", "--json", "--checkpoint", &ck_arg])
        .args(["--checkpoint-every", "1"])
        .env("SEQGRAPH_DATA_MIRROR", mirror)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the seqgraph binary starts");
    let start = Instant::now();
    let running = |child: &mut std::process::Child| child.try_wait().unwrap().is_none();
    if in_write {
        // Poll for a write under way, from a random moment after the first one.
        while running(&mut child) && !ck.exists() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
        while running(&mut child) && start.elapsed() < Duration::from_secs(60) {
            if ck.exists() && !temporaries(&ck).is_empty() {
                break;
            }
        }
    } else {
        while running(&mut child) && !ck.exists() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..600)));
    }
    let _ = child.kill(); // SIGKILL; fails only when the child has already ended
    let status = child.wait().unwrap();
    let killed = status.signal() == Some(9);
    assert!(killed || status.success(), "seed {seed}: {status:?}");
    let mid_write = !temporaries(&ck).is_empty();
    // Whatever the kill interrupted, the checkpoint on disk is a whole one.
    let epoch = if ck.exists() {
        let loaded = checkpoint::load(&ck)
            .unwrap_or_else(|e| panic!("seed {seed}: the checkpoint left by SIGKILL does not load: {e}"));
        assert_eq!(loaded.meta.losses.len(), loaded.meta.epoch);
        loaded.meta.epoch
    } else {
        0
    };
    // Continue the way the Ctrl-C message says, into the same file.
    let resume: Vec<&str> = if ck.exists() {
        vec!["--checkpoint", &ck_arg, "--resume", &ck_arg]
    } else {
        vec!["--checkpoint", &ck_arg]
    };
    run_to_end(mirror, args, &resume);
    common::assert_same_params(reference, &ck);
    // The resumed run's writes removed what the killed write left.
    assert_eq!(temporaries(&ck), Vec::<PathBuf>::new(), "seed {seed}");
    Round {
        killed,
        mid_write,
        epoch,
    }
}

/// Runs `rounds` rounds; returns how many kills landed in a checkpoint write.
fn kill_and_resume(rounds: u64) -> usize {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let mut references = HashMap::new();
    for (name, args) in RUNS {
        let reference = dir.path().join(format!("{name}.st"));
        run_to_end(&m, args, &["--checkpoint", &reference.to_string_lossy()]);
        references.insert(name, reference);
    }
    let (mut killed, mut mid_write, mut mid_training) = (0, 0, 0);
    for seed in 0..rounds {
        let (name, args) = RUNS[seed as usize % RUNS.len()];
        // Every other round aims at a checkpoint write.
        let in_write = seed % 8 >= 4;
        let r = round(&m, dir.path(), args, &references[name], seed, in_write);
        eprintln!(
            "round {seed} ({name}, {}): killed {}, in a write {}, checkpoint at epoch {}",
            if in_write { "aimed at a write" } else { "random" },
            r.killed,
            r.mid_write,
            r.epoch
        );
        killed += r.killed as usize;
        mid_write += r.mid_write as usize;
        mid_training += (r.killed && r.epoch > 0) as usize;
    }
    eprintln!("{rounds} rounds: {killed} killed, {mid_training} after a checkpoint, {mid_write} in a write");
    // The test is about kills: most rounds must have killed a run under way.
    assert!(
        mid_training * 2 >= rounds as usize,
        "only {mid_training} of {rounds} kills landed in training"
    );
    mid_write
}

#[test]
fn sigkill_during_training_or_a_checkpoint_write_then_resume_gives_the_uninterrupted_parameters() {
    kill_and_resume(8);
}

/// The long loop, 40 kills (10 per command): `-- --ignored`.
#[test]
#[ignore]
fn sigkill_forty_times_then_resume_gives_the_uninterrupted_parameters() {
    // Over 40 rounds, 20 aimed at a write, some must land in one.
    assert!(kill_and_resume(40) > 0, "no kill landed in a checkpoint write");
}
