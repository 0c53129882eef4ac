//! `cargo xtask bench`: criterion benches of ours and the peer programs.

use anyhow::Result;
use std::path::Path;

/// Runs the benches with the words after `bench`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut bench = vec!["bench", "-p", "seqgraph-benches"];
    bench.extend(args.iter().map(String::as_str));
    crate::cargo(root, &bench)
}
