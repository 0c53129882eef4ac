//! `seqgraph train text` on a small SST subset, seen from the command line:
//! checkpoints resume bit for bit (2 epochs straight write the same checkpoint
//! as 1 epoch, a resume, and 1 more), a checkpoint of another run is refused,
//! and `--supervise all` trains the sequence view on every labelled phrase;
//! UD UPOS tagging resumes bit for bit too (20 epochs = 10 + resume + 10) and
//! refuses a checkpoint of another model, other training data or SST, and
//! Ctrl-C during UPOS training writes a checkpoint the run resumes from.
//! Needs the data mirror (see `common::mirror`).

mod common;

use std::path::Path;
use std::process::Command;

/// Runs `train text` on 40 training and 20 dev/test sentences: its stdout, or
/// its stderr when it fails.
fn train(mirror: &Path, extra: &[&str]) -> Result<String, String> {
    let sst = [
        "train",
        "text",
        "--task",
        "sst-fine",
        "--limit",
        "40",
        "--eval-limit",
        "20",
    ];
    let small = [
        "--embed",
        "16",
        "--hidden",
        "16",
        "--batch",
        "8",
        "--threads",
        "1",
        "--json",
    ];
    common::seqgraph(mirror, &[&sst[..], &small, extra].concat())
}

#[test]
fn two_epochs_equal_one_then_resume_then_one_bit_for_bit() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let (straight, half, resumed) = (
        dir.path().join("straight.safetensors"),
        dir.path().join("half.safetensors"),
        dir.path().join("resumed.safetensors"),
    );
    for view in [
        ["--view", "tree", "--model", "n-ary"],
        ["--view", "graph", "--model", "gat"],
    ] {
        let s = |p: &Path| p.to_str().unwrap().to_owned();
        let a = common::json(
            &train(
                &m,
                &[&view[..], &["--epochs", "2", "--checkpoint", &s(&straight)]].concat(),
            )
            .unwrap(),
        );
        train(
            &m,
            &[&view[..], &["--epochs", "1", "--checkpoint", &s(&half)]].concat(),
        )
        .unwrap();
        let b = common::json(
            &train(
                &m,
                &[
                    &view[..],
                    &[
                        "--epochs",
                        "2",
                        "--resume",
                        &s(&half),
                        "--checkpoint",
                        &s(&resumed),
                    ],
                ]
                .concat(),
            )
            .unwrap(),
        );
        let (x, y) = (
            std::fs::read(&straight).unwrap(),
            std::fs::read(&resumed).unwrap(),
        );
        assert!(x.len() > 1000, "{view:?}: a checkpoint holds the parameters");
        assert!(
            x == y,
            "{view:?}: 2 epochs straight and 1 + resume + 1 write different checkpoints"
        );
        assert_ne!(
            x,
            std::fs::read(&half).unwrap(),
            "{view:?}: the second epoch changes the checkpoint"
        );
        // The best-dev selection travels in the checkpoint: same reported numbers.
        for key in ["values", "dev", "best_epoch"] {
            assert_eq!(a[key], b[key], "{view:?}: {key}");
        }
    }
}

#[test]
fn resume_refuses_a_checkpoint_of_another_run() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("c.safetensors");
    let c = ckpt.to_str().unwrap();
    train(&m, &["--view", "tree", "--epochs", "1", "--checkpoint", c]).unwrap();
    let err = train(
        &m,
        &["--view", "tree", "--epochs", "2", "--lr", "0.01", "--resume", c],
    )
    .unwrap_err();
    assert!(
        err.contains("lr"),
        "the refusal names the field that differs: {err}"
    );
    let err = train(
        &m,
        &[
            "--view", "tree", "--model", "n-ary", "--epochs", "2", "--resume", c,
        ],
    )
    .unwrap_err();
    assert!(err.contains("model"), "{err}");
}

#[test]
fn supervise_all_trains_the_sequence_view_on_every_labelled_phrase() {
    let m = common::mirror();
    let run = |supervise: &str| {
        common::json(
            &train(
                &m,
                &["--view", "sequence", "--epochs", "1", "--supervise", supervise],
            )
            .unwrap(),
        )
    };
    let (all, root) = (run("all"), run("root"));
    assert_eq!(root["train_examples"], 40, "one example per training sentence");
    let phrases = all["train_examples"].as_u64().unwrap();
    // 40 sentences of ~19 words have hundreds of distinct labelled subtrees.
    assert!(phrases > 300, "{phrases} phrases");
    assert_eq!(all["supervise"], "all");
    let v = all["values"][0].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&v));
    assert!(train(&m, &["--supervise", "some"])
        .unwrap_err()
        .contains("--supervise"));
}

/// Runs `train text --task ud-upos` on 20 EWT dev sentences (unless `extra`
/// sets `--limit`), tested on 50 test sentences: its stdout, or its stderr when it fails.
fn upos(mirror: &Path, extra: &[&str]) -> Result<String, String> {
    let limit: &[&str] = if extra.contains(&"--limit") {
        &[]
    } else {
        &["--limit", "20"]
    };
    common::seqgraph(
        mirror,
        &[&["train", "text", "--task", "ud-upos"], limit, &SMALL_UPOS, extra].concat(),
    )
}

/// The small UPOS model every test here trains: tested on 50 sentences, widths 8, batches of 5.
const SMALL_UPOS: [&str; 11] = [
    "--eval-limit",
    "50",
    "--embed",
    "8",
    "--hidden",
    "8",
    "--batch",
    "5",
    "--threads",
    "1",
    "--json",
];

#[test]
fn upos_twenty_epochs_equal_ten_then_resume_then_ten_bit_for_bit() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (straight, half, resumed) = (path("straight.st"), path("half.st"), path("resumed.st"));
    let gcn = ["--model", "bilstm-gcn"];
    let run = |extra: &[&str]| upos(&m, &[&gcn[..], extra].concat());
    let a = common::json(&run(&["--epochs", "20", "--checkpoint", &straight]).unwrap());
    run(&["--epochs", "10", "--checkpoint", &half]).unwrap();
    let b = common::json(&run(&["--epochs", "20", "--resume", &half, "--checkpoint", &resumed]).unwrap());
    let (x, y) = (
        std::fs::read(&straight).unwrap(),
        std::fs::read(&resumed).unwrap(),
    );
    assert!(x.len() > 1000, "a checkpoint holds the parameters");
    assert!(
        x == y,
        "20 epochs straight and 10 + resume + 10 write different checkpoints"
    );
    assert_ne!(x, std::fs::read(&half).unwrap(), "epochs 11-20 change it");
    assert_eq!(a["values"], b["values"], "the same test accuracy");
    let acc = a["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{acc}");

    // A checkpoint of another model, of other training data, of another task.
    let err = upos(&m, &["--model", "bilstm", "--epochs", "20", "--resume", &half]).unwrap_err();
    assert!(
        err.contains("model `bilstm-gcn`") && err.contains("model `bilstm`"),
        "{err}"
    );
    let err = upos(
        &m,
        &[&gcn[..], &["--limit", "21", "--epochs", "20", "--resume", &half]].concat(),
    )
    .unwrap_err();
    assert!(
        err.contains("refusing to resume") && (err.contains("data checksum") || err.contains("limit")),
        "{err}"
    );
    let sst = path("sst.st");
    train(
        &m,
        &[
            "--view",
            "sequence",
            "--model",
            "bilstm",
            "--epochs",
            "1",
            "--checkpoint",
            &sst,
        ],
    )
    .unwrap();
    let err = upos(&m, &["--model", "bilstm", "--epochs", "2", "--resume", &sst]).unwrap_err();
    assert!(err.contains("refusing to resume"), "{err}");
}

#[test]
fn upos_ctrl_c_checkpoints_and_the_run_resumes() {
    let m = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ctrl-c.st");
    let ck_arg = ck.to_string_lossy().into_owned();
    let child = Command::new(env!("CARGO_BIN_EXE_seqgraph"))
        .args(["train", "text", "--task", "ud-upos", "--limit", "20"])
        .args(SMALL_UPOS)
        .args([
            "--epochs",
            "1000000",
            "--checkpoint-every",
            "5",
            "--checkpoint",
            &ck_arg,
        ])
        .env("SEQGRAPH_DATA_MIRROR", &m)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the seqgraph binary starts");
    // Ctrl-C once training runs (the first periodic checkpoint is written).
    let out = common::interrupt_once_checkpointed(child, &ck);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("interrupted after epoch") && err.contains("continue with --resume"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no result from an interrupted run");
    let done = train_utils::checkpoint::load(&ck).unwrap().meta.epoch;
    assert!((5..1_000_000).contains(&done), "{done}");
    let more = (done + 2).to_string();
    let r = upos(&m, &["--epochs", &more, "--resume", &ck_arg]);
    let v = common::json(&r.unwrap());
    assert!((0.0..=1.0).contains(&v["value"].as_f64().unwrap()));
}
