//! Every `train` command line the README and docs/ quote runs, at reduced
//! size, with the flags the docs name: a renamed flag, a removed model or a
//! default that no longer parses breaks this test, not a reader.
//!
//! A quoted command is taken as written: `a|b|c` lists alternatives (each is
//! run at least once: the i-th run takes the i-th alternative of every list,
//! cycling), `[--flag X]` is optional (included), a one-letter placeholder
//! takes a small value (`S` seeds: 1, `L` layers: 2, `M` a model, `D` a data
//! set). Then flags that make the run small replace or join the quoted ones
//! (fewer epochs, a few windows or sentences); the quoted flags stay.

mod common;

use std::path::Path;
use std::process::Command;

/// The workspace root (two levels above this crate).
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

/// Every inline code span or code-block line of `text` that is a `train` command.
fn train_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Inline spans may wrap across lines in Markdown: join the text first.
    let joined = text.replace('\n', " ");
    for (i, span) in joined.split('`').enumerate() {
        if i % 2 == 1 {
            let span = span.split_whitespace().collect::<Vec<_>>().join(" ");
            if span.starts_with("cargo xtask train ") || span.starts_with("seqgraph train ") {
                out.push(span);
            }
        }
    }
    out
}

/// The words after `train` of run `i` of a quoted command.
fn expand(command: &str, i: usize) -> Vec<String> {
    let words = command.split(" train ").nth(1).expect("a train command");
    let words = words.replace("\\|", "|").replace(['[', ']'], "");
    let family = words.split_whitespace().next().unwrap_or("").to_owned();
    let mut out = Vec::new();
    let mut flag = String::new();
    for w in words.split_whitespace() {
        let w = if w.contains('|') {
            let alts: Vec<&str> = w.split('|').collect();
            alts[i % alts.len()].to_owned()
        } else {
            match (flag.as_str(), w) {
                (_, "S") => "1".into(),
                (_, "L") => "2".into(),
                ("--model", "M") => if family == "temporal" { "dcrnn" } else { "gcn" }.into(),
                ("--dataset", "D") => if family == "temporal" {
                    "chickenpox"
                } else {
                    "cora"
                }
                .into(),
                _ => w.to_owned(),
            }
        };
        flag = w.clone();
        out.push(w);
    }
    out
}

/// How many runs cover every alternative of `command`.
fn runs(command: &str) -> usize {
    command
        .replace("\\|", "|")
        .split_whitespace()
        .map(|w| w.split('|').count())
        .max()
        .unwrap_or(1)
}

/// Sets `flag` to `value`, replacing a quoted value.
fn set(words: &mut Vec<String>, flag: &str, value: &str) {
    match words.iter().position(|w| w == flag) {
        Some(p) if p + 1 < words.len() && !words[p + 1].starts_with("--") => words[p + 1] = value.into(),
        Some(p) => words.insert(p + 1, value.into()),
        None => words.extend([flag.to_owned(), value.to_owned()]),
    }
}

/// The reduced-size flags of each family.
fn reduce(words: &mut Vec<String>) {
    let family = words[0].clone();
    let task = words
        .iter()
        .position(|w| w == "--task")
        .map(|p| words[p + 1].clone());
    set(words, "--threads", "1");
    match family.as_str() {
        "seq" => {
            set(words, "--epochs", "1");
            match task.as_deref() {
                Some("adding") => set(words, "--length", "10"),
                Some("moby-dick") => set(words, "--budget", "0"),
                _ => {}
            }
        }
        "node" => {
            set(words, "--epochs", "2");
            set(words, "--seeds", "1");
            if words.iter().any(|w| w == "gcn2") {
                set(words, "--layers", "4");
            }
        }
        "temporal" => {
            set(words, "--epochs", "1");
            set(words, "--limit", "8");
        }
        "link" => {
            set(words, "--epochs", "2");
            set(words, "--seeds", "1");
        }
        "graph" => {
            set(words, "--epochs", "1");
            set(words, "--folds", "2");
            set(words, "--max-folds", "1");
        }
        "text" => {
            for (f, v) in [
                ("--epochs", "1"),
                ("--limit", "10"),
                ("--eval-limit", "10"),
                ("--embed", "8"),
                ("--hidden", "8"),
            ] {
                set(words, f, v);
            }
        }
        "series" => {
            set(words, "--epochs", "1");
            if !words.iter().any(|w| w == "--no-dtw") {
                words.push("--no-dtw".into());
            }
        }
        other => panic!("unknown train family `{other}`"),
    }
}

#[test]
fn every_train_command_the_docs_quote_runs() {
    let mut sources = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    sources.extend(docs);
    let mut ran = 0;
    for source in &sources {
        let text = std::fs::read_to_string(source).unwrap();
        for command in train_commands(&text) {
            for i in 0..runs(&command) {
                let mut words = expand(&command, i);
                reduce(&mut words);
                let out = Command::new(env!("CARGO_BIN_EXE_seqgraph"))
                    .arg("train")
                    .args(&words)
                    .env("SEQGRAPH_DATA_MIRROR", common::mirror())
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}: `{command}` as `train {}` failed:\n{}",
                    source.display(),
                    words.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
                ran += 1;
            }
        }
    }
    // README's four synopses and docs/temporal.md's two command lines, every alternative.
    assert!(
        ran >= 20,
        "only {ran} runs: did the docs lose their command lines?"
    );
}
