//! `cargo xtask …`: the project's tasks.
//!
//! This binary does not link libtorch, so `cargo xtask setup` builds on a
//! fresh machine. Work that needs libtorch (demo, training, reproductions)
//! runs the `seqgraph` binary through cargo after setup.

mod bench;
mod setup;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use graph_data::fetch::{Fetcher, Manifest};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "seqgraph project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install libtorch 2.13.0 (once, per user) and link it into the workspace.
    Setup {
        /// Install the full CUDA build (about 4.5 GB) instead of the CPU-only one.
        #[arg(long, conflicts_with = "cpu")]
        cuda: bool,
        /// Install (or switch back to) the CPU-only build.
        #[arg(long)]
        cpu: bool,
        /// Also write the `.cargo/config.toml` that a crate of your own (in
        /// this folder) needs to link and run against this libtorch.
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
    /// Set up if needed, then run every test, `cargo fmt --check` and clippy.
    Test {
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Train a small RNN and a small GCN on real data and print what they reached.
    Demo,
    /// Data sets: list, fetch, inspect.
    Data {
        #[command(subcommand)]
        cmd: DataCmd,
    },
    /// Train a model (`cargo xtask train seq|series|node|graph|link|temporal|text …`).
    Train {
        /// Passed to `seqgraph train`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Reproduce the project's experiments into a report folder.
    Reproduce {
        /// Passed to `seqgraph reproduce`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Package every library crate and build each from its `.crate` alone
    /// (`cargo package --workspace`, without xtask and the benches).
    Package {
        /// Extra arguments for `cargo package` (`--allow-dirty`, `--no-verify`, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the criterion benches and the peer programs (PyG, PGT, torch.nn) side by side.
    Bench {
        /// `--suite data|seq|gnn|graph|link|temporal|text|series|all`, `--json`, `--no-peers`, …
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DataCmd {
    /// List the data sets of datasets/manifest.toml.
    List,
    /// Fetch data sets (mirror first, then original URL), verifying SHA-256.
    Fetch {
        /// Data set names; `all` for every one.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Print facts about a data set.
    Info {
        /// Data set name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    if let Err(e) = run() {
        eprintln!("{e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.task {
        Task::Setup { cuda, cpu, project } => {
            let flavour = match (cuda, cpu) {
                (true, _) => Some(setup::Flavour::Cuda),
                (_, true) => Some(setup::Flavour::Cpu),
                _ => None,
            };
            setup::run(&root, flavour)?;
            match project {
                Some(dir) => setup::write_project_config(&root, &dir),
                None => {
                    setup::print_project_hint();
                    Ok(())
                }
            }
        }
        Task::Test { args } => {
            ensure_setup(&root)?;
            cargo(&root, &["fmt", "--all", "--check"])?;
            let mut test = vec!["test", "--workspace"];
            if !args.is_empty() {
                test.push("--");
                test.extend(args.iter().map(String::as_str));
            }
            cargo(&root, &test)?;
            cargo(
                &root,
                &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
            )?;
            // Manifests, versions and files of every library crate, in under a
            // second; `cargo xtask package` also builds each (minutes).
            let quick = ["--no-verify", "--offline", "--allow-dirty", "--quiet"];
            cargo(&root, &[&PACKAGE_WORKSPACE[..], &quick].concat())?;
            println!("seqgraph: tests, fmt, clippy and packaging passed");
            Ok(())
        }
        Task::Package { args } => {
            ensure_setup(&root)?;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cargo(&root, &[&PACKAGE_WORKSPACE[..], &args].concat())
        }
        Task::Demo => {
            ensure_setup(&root)?;
            seqgraph_bin(&root, &["demo".to_owned()])
        }
        Task::Train { args } => {
            ensure_setup(&root)?;
            seqgraph_bin(&root, &[vec!["train".to_owned()], args].concat())
        }
        Task::Reproduce { args } => {
            ensure_setup(&root)?;
            seqgraph_bin(&root, &[vec!["reproduce".to_owned()], args].concat())
        }
        Task::Bench { args } => {
            ensure_setup(&root)?;
            bench::run(&root, &args)
        }
        Task::Data { cmd } => data(cmd),
    }
}

/// Every publishable crate at once: `cargo package -p NAME` alone fails for
/// a crate that depends on another of ours, since cargo resolves it against
/// crates.io; packaged together they resolve through a temporary registry.
const PACKAGE_WORKSPACE: [&str; 6] = [
    "package",
    "--workspace",
    "--exclude",
    "xtask",
    "--exclude",
    "seqgraph-benches",
];

/// What the first release build of the `seqgraph` command costs, measured
/// from a clean target folder (see the README).
const FIRST_BUILD: &str = "3 to 7 minutes on 2 cores, once per clone";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn ensure_setup(root: &Path) -> Result<()> {
    if !setup::is_ready(root) {
        setup::run(root, None)?;
    }
    Ok(())
}

/// Runs cargo in the workspace, failing on a non-zero exit.
pub(crate) fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    println!("seqgraph: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("seqgraph: `cargo {}` failed", args.join(" "));
    }
    Ok(())
}

/// Runs the `seqgraph` binary (release build) with `args`. Cargo's progress
/// stays visible: on a fresh clone the build takes minutes, not the command.
fn seqgraph_bin(root: &Path, args: &[String]) -> Result<()> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    if !target.join("release").join("seqgraph").exists() {
        println!("seqgraph: first, a release build of the seqgraph command ({FIRST_BUILD}; later runs start in seconds)");
    }
    let mut all = vec!["run", "--release", "-p", "seqgraph", "--"];
    all.extend(args.iter().map(String::as_str));
    cargo(root, &all)
}

fn data(cmd: DataCmd) -> Result<()> {
    let manifest = Manifest::builtin()?;
    let fetcher = Fetcher::from_env();
    match cmd {
        DataCmd::List => {
            println!("{:<20} {:>10}  {:<14} title", "name", "size", "licence");
            for ds in &manifest.datasets {
                let cached = ds.files.iter().all(|f| fetcher.folder(ds).join(&f.path).exists());
                println!(
                    "{:<20} {:>8} kB  {:<14} {}{}",
                    ds.name,
                    ds.size() / 1000,
                    ds.licence,
                    ds.title,
                    if cached { "  [cached]" } else { "" }
                );
            }
            Ok(())
        }
        DataCmd::Fetch { names } => {
            let wanted: Vec<&str> = if names.iter().any(|n| n == "all") {
                manifest.datasets.iter().map(|d| d.name.as_str()).collect()
            } else {
                names.iter().map(String::as_str).collect()
            };
            for name in wanted {
                let folder = fetcher.fetch(manifest.get(name)?)?;
                println!("{name}: verified in {}", folder.display());
            }
            Ok(())
        }
        DataCmd::Info { name, json } => {
            let ds = manifest.get(&name)?;
            let folder = fetcher.fetch(ds)?;
            let facts = graph_data::info::dataset_facts(&name, &fetcher)?;
            let info = serde_json::json!({
                "name": ds.name,
                "title": ds.title,
                "licence": ds.licence,
                "citation": ds.citation,
                "source": ds.source,
                "folder": folder,
                "facts": facts,
            });
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                println!("{}: {}", ds.name, ds.title);
                println!(
                    "  licence: {}\n  source: {}\n  cite: {}",
                    ds.licence, ds.source, ds.citation
                );
                println!("  folder: {}", folder.display());
                if let Some(map) = facts.as_object() {
                    for (k, v) in map {
                        println!("  {k}: {v}");
                    }
                }
            }
            Ok(())
        }
    }
}
