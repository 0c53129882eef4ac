//! The `seqgraph` command behind `cargo xtask demo | train | reproduce`.
//!
//! Each family of tasks lives in its own module of `cli/` and parses its own
//! arguments, so `train seq …` and `train node …` grow independently.

mod cli;
mod report;

use anyhow::{bail, Result};

fn main() {
    if let Err(e) = run() {
        eprintln!("seqgraph: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    // Training steps free and reallocate the same large buffers; keep them instead of page-faulting
    // fresh mappings every step (a quarter of a GAT step on Cora, half of a Los-loop epoch).
    train_utils::memory::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        bail!("usage: seqgraph demo | train seq|series|node|graph|link|temporal|text … | reproduce …");
    };
    match cmd.as_str() {
        "demo" => cli::demo::run(&args[1..]),
        "train" => {
            let Some(family) = args.get(1) else {
                bail!("usage: seqgraph train seq|series|node|graph|link|temporal|text …");
            };
            let rest = &args[2..];
            match family.as_str() {
                "seq" => cli::seq::run(rest),
                "series" => cli::series::run(rest),
                "node" => cli::node::run(rest),
                "graph" => cli::graph::run(rest),
                "link" => cli::link::run(rest),
                "temporal" => cli::temporal::run(rest),
                "text" => cli::text::run(rest),
                other => bail!(
                    "unknown training family `{other}` (seq, series, node, graph, link, temporal, text)"
                ),
            }
        }
        "reproduce" => cli::reproduce::run(&args[1..]),
        other => bail!("unknown command `{other}` (demo, train, reproduce)"),
    }
}
