//! Faults met by the `seqgraph` binary: SIGKILL mid-training or mid
//! checkpoint write then `--resume` (`kill`), and `--lr 1e30` on every
//! `train` command (`divergence`). One test binary for both: each
//! `seqgraph` test binary costs a link of libtorch-sized code in CI.
//! Needs the data mirror (see `common::mirror`).

mod common;

mod kill {
    //! A training command killed with SIGKILL (no handler runs, unlike Ctrl-C)
    //! at a random moment or in the middle of a checkpoint write, then resumed:
    //! the last checkpoint on disk always loads, and `--resume` ends with the
    //! parameters of an uninterrupted run, bit for bit (CPU, one thread).
    //! The rounds cycle through `train seq`, `train node`, `train temporal` and
    //! `train text`, each kill time drawn from its round's seed.
    //!
    //! `cargo test -p seqgraph --test faults kill` runs 8 rounds;
    //! `cargo test -p seqgraph --test faults kill -- --ignored` runs 40.
    //! Needs the data mirror (see `common::mirror`).

    use std::collections::HashMap;
    use std::os::unix::process::ExitStatusExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use rand::{Rng, SeedableRng};
    use train_utils::checkpoint;

    /// The commands killed: short runs of each `train` subcommand.
    // Long enough that a kill up to 600 ms after the first checkpoint lands in
    // training: with the cached-transpose product the node and temporal runs
    // of 30 and 20 epochs ended before it (a Chickenpox epoch takes about 3 ms).
    const RUNS: [(&str, &[&str]); 4] = [
        (
            "seq",
            &[
                "train", "seq", "--task", "sunspots", "--model", "gru", "--epochs", "120",
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
                "150",
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
                "400",
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
        if let Err(e) = super::common::seqgraph(mirror, &all) {
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
        super::common::assert_same_params(reference, &ck);
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
        let m = super::common::mirror();
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
        eprintln!(
            "{rounds} rounds: {killed} killed, {mid_training} after a checkpoint, {mid_write} in a write"
        );
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
}

mod divergence {
    //! `--lr 1e30` on each `train` command stops the run: with a typed guard
    //! error naming the epoch, a parameter and a lower learning rate, keeping
    //! the last good checkpoint. Where the numbers overflow to Inf/NaN the NaN
    //! guard stops it ("training stopped"); where saturating activations keep
    //! them finite (the BiLSTM tagger, the Tree-LSTM, the character LSTM),
    //! the divergence guard does ("training diverged"), which before it ran to
    //! the end with useless parameters. Needs the data mirror.

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
        let err = super::common::seqgraph(mirror, &all).expect_err("lr 1e30 must not finish");
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
        let m = super::common::mirror();
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
}
