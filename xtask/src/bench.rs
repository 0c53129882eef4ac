//! `cargo xtask bench [--suite data|seq|gnn|graph|link|temporal|text|series|all] [--json] [--no-peers] [--threads N]`:
//! our criterion benches and the peer programs (PyG, PyG Temporal, `torch.nn`) in the same run, on
//! the same data and threads, side by side. The `text` and `series` suites have no outside peer: their
//! baselines are our own, measured in the same bench (the node-by-node Tree-LSTM recursion over the
//! same cell; the O(n^2) definitions of the visibility graphs on the same series).
//!
//! - Ours: `cargo bench -p seqgraph-benches --bench SUITE`, then the medians criterion wrote in
//!   `target/criterion/**/new/estimates.json` during this run, named by `benchmark.json`'s `full_id`;
//!   peak memory from `target/bench-memory/*.json` (written by `seqgraph_benches::record_peak`).
//! - Peers: `benches/peers/*.py` (the contract is in `benches/README.md`), run with a Python whose
//!   packages live in the seqgraph cache (`~/.cache/seqgraph/peers`), installed on first use.
//! - Output: a table, `target/bench-report/bench.json` and `bench.svg`, and `--json` on stdout.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// The suites, each a criterion bench of `benches/benches/` and a family of peer scripts.
const SUITES: [&str; 8] = [
    "data", "seq", "gnn", "graph", "link", "temporal", "text", "series",
];
/// What the peers are: pinned versions, installed together.
const PEER_PACKAGES: [&str; 6] = [
    "torch==2.13.0",
    "torch_geometric==2.8.1",
    // PyG's Planetoid reader unpickles scipy sparse matrices (peer pyg_gnn.py).
    "scipy",
    // torch-geometric-temporal's own pure-Python needs (it is installed without its deps, below).
    "decorator==4.4.2",
    "networkx",
    "numpy",
];
const PGT: &str = "torch-geometric-temporal==0.56.2";
/// Stated whenever PGT results are shown.
const SHIM_NOTE: &str = "PyG Temporal imports torch_sparse, which has no wheel for torch 2.13: its peer \
     scripts register an empty stand-in module, used only by the bench and never by the timed layers.";

/// Parsed command line.
#[derive(Debug, PartialEq)]
struct Options {
    suites: Vec<&'static str>,
    json: bool,
    no_peers: bool,
    threads: usize,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        suites: SUITES.to_vec(),
        json: false,
        no_peers: false,
        threads: 2,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => o.json = true,
            "--no-peers" => o.no_peers = true,
            "--suite" => {
                let s = it.next().context(
                    "--suite needs a value (data, seq, gnn, graph, link, temporal, text, series, all)",
                )?;
                o.suites = match SUITES.iter().find(|x| **x == s) {
                    Some(x) => vec![*x],
                    None if s == "all" => SUITES.to_vec(),
                    None => bail!(
                        "unknown suite `{s}` (data, seq, gnn, graph, link, temporal, text, series, all)"
                    ),
                };
            }
            "--threads" => {
                let t = it.next().context("--threads needs a number")?;
                o.threads = t
                    .parse()
                    .with_context(|| format!("--threads: `{t}` is not a number"))?;
            }
            other => bail!("unknown argument `{other}` (--suite S, --json, --no-peers, --threads N)"),
        }
    }
    Ok(o)
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Default)]
struct Row {
    case: String,
    ours_ms: Option<f64>,
    peer_ms: Option<f64>,
    ours_peak_mb: Option<f64>,
    peer_peak_mb: Option<f64>,
    peer: Option<String>,
    /// Our time is one run (`seqgraph_benches::record_once`), not criterion's median.
    ours_one_run: bool,
}

impl Row {
    /// Speed-up: the peer's time over ours (> 1: seqgraph is faster).
    fn ratio(&self) -> Option<f64> {
        Some(self.peer_ms? / self.ours_ms?)
    }

    fn to_json(&self) -> Value {
        json!({
            "case": self.case,
            "ours_ms": self.ours_ms,
            "peer_ms": self.peer_ms,
            "ratio": self.ratio(),
            "ours_peak_mb": self.ours_peak_mb,
            "peer_peak_mb": self.peer_peak_mb,
            "peer": self.peer,
            "ours_one_run": self.ours_one_run,
        })
    }
}

/// Runs the benches with the words after `bench`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let target = target_dir(root);
    let started = SystemTime::now();
    // Same threads for both sides: libtorch and Python torch both read OMP_NUM_THREADS at start.
    let threads = opts.threads.to_string();
    let python = if opts.no_peers {
        None
    } else {
        Some(ensure_peers()?)
    };
    let mut notes = vec![
        format!("{} thread(s) on both sides (OMP_NUM_THREADS)", opts.threads),
        "both sides keep freed memory for reuse (ours: mallopt, as the seqgraph commands; peers: \
         GLIBC_TUNABLES), so a case's peak counts memory beyond what its process already held"
            .to_owned(),
    ];
    let mut peers = Vec::new();
    for suite in &opts.suites {
        if root.join("benches/benches").join(format!("{suite}.rs")).is_file() {
            cargo_bench(root, suite, &threads)?;
        } else {
            notes.push(format!(
                "suite {suite}: no criterion bench yet (benches/benches/{suite}.rs)"
            ));
        }
        if let Some((py, site)) = &python {
            for script in peer_scripts(root, suite)? {
                match run_peer(root, py, site, &script, &threads, &target) {
                    Ok(mut r) => peers.append(&mut r),
                    Err(e) => notes.push(format!("{}: {e:#}", script.display())),
                }
            }
        }
    }
    if opts.no_peers {
        notes.push("--no-peers: peer programs not run".to_owned());
    } else if peers
        .iter()
        .any(|(_, p)| p.peer.as_deref().is_some_and(|n| n.contains("temporal")))
    {
        notes.push(SHIM_NOTE.to_owned());
    }
    let mut ours = criterion_results(&target.join("criterion"), started)?;
    let (memory, once) = ours_records(&target.join("bench-memory"), started);
    ours.extend(once.clone());
    let mut rows = join(ours, memory, peers);
    for r in &mut rows {
        r.ours_one_run = once.contains_key(&r.case);
    }

    let out = target.join("bench-report");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let doc = json!({ "rows": rows.iter().map(Row::to_json).collect::<Vec<_>>(), "notes": notes });
    std::fs::write(out.join("bench.json"), serde_json::to_string_pretty(&doc)? + "\n")?;
    std::fs::write(out.join("bench.svg"), chart(&rows)?)?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", table(&rows));
        for n in &notes {
            println!("note: {n}");
        }
        println!("chart: {}", out.join("bench.svg").display());
    }
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// `cargo bench` for one suite, its output on stderr so that `--json` keeps stdout clean.
fn cargo_bench(root: &Path, suite: &str, threads: &str) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let args = ["bench", "-p", "seqgraph-benches", "--bench", suite];
    eprintln!("seqgraph: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(root)
        .env("OMP_NUM_THREADS", threads)
        .env("SEQGRAPH_BENCH_THREADS", threads)
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed", args.join(" "));
    }
    Ok(())
}

/// Medians (ms) of the criterion benchmarks written since `since`, by `full_id`.
fn criterion_results(dir: &Path, since: SystemTime) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.file_name().is_none_or(|n| n != "estimates.json")
                || !p.parent().is_some_and(|q| q.ends_with("new"))
            {
                continue;
            }
            let fresh = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= since);
            if !fresh {
                continue;
            }
            let meta: Value = read_json(&p.with_file_name("benchmark.json"))?;
            let est: Value = read_json(&p)?;
            let (Some(id), Some(ns)) = (meta["full_id"].as_str(), est["median"]["point_estimate"].as_f64())
            else {
                continue;
            };
            out.insert(id.to_owned(), ns / 1e6);
        }
    }
    Ok(out)
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Our peak memory per case, from the files `seqgraph_benches::record_peak` and `record_once`
/// write, and the one-run times (ms) of `record_once` among those written since `since`.
fn ours_records(dir: &Path, since: SystemTime) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let (mut memory, mut once) = (BTreeMap::new(), BTreeMap::new());
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(v) = read_json(&e.path()) else {
            continue;
        };
        let Some(case) = v["case"].as_str() else {
            continue;
        };
        if let Some(mb) = v["peak_mb"].as_f64() {
            memory.insert(case.to_owned(), mb);
        }
        let fresh = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t >= since);
        if let (Some(ms), true) = (v["once_ms"].as_f64(), fresh) {
            once.insert(case.to_owned(), ms);
        }
    }
    (memory, once)
}

/// The peer scripts of a suite: `pyg_data*` for data, `torch_*` for seq, `pyg_graph*` for graph,
/// `pyg_link*` for link, the other `pyg_*` for gnn, `pgt_*` for temporal.
fn peer_scripts(root: &Path, suite: &str) -> Result<Vec<PathBuf>> {
    let dir = root.join("benches/peers");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            suite_of(name) == Some(suite)
        })
        .collect();
    out.sort();
    Ok(out)
}

fn suite_of(script: &str) -> Option<&'static str> {
    // Fixture generators (`pgt_export.py`) live beside the peers but time nothing.
    if script.contains("_export") {
        None
    } else if script.starts_with("pyg_data") {
        Some("data")
    } else if script.starts_with("torch_") {
        Some("seq")
    } else if script.starts_with("pyg_graph") {
        Some("graph")
    } else if script.starts_with("pyg_link") {
        Some("link")
    } else if script.starts_with("pyg_") {
        Some("gnn")
    } else if script.starts_with("pgt_") {
        Some("temporal")
    } else {
        None
    }
}

/// The R-MAT edge list the data bench writes for its peer.
const RMAT_EDGES: &str = "bench-data/rmat_1m_16m.bin";

/// Runs one peer script and returns its results by case.
/// glibc's tunables for what `train_utils::memory::keep_freed_memory` sets on our side: blocks under
/// 32 MiB from the heap, never trimmed. PyTorch frees and reallocates each step's activations, as libtorch
/// does for us; with glibc's defaults every such buffer is a fresh mapping that page-faults.
const KEEP_FREED_MEMORY: &str = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647";

fn run_peer(
    root: &Path,
    python: &str,
    site: &Path,
    script: &Path,
    threads: &str,
    target: &Path,
) -> Result<Vec<(String, Row)>> {
    let name = script.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .current_dir(root)
        .env("PYTHONPATH", site)
        .env("OMP_NUM_THREADS", threads)
        .env("SEQGRAPH_BENCH_THREADS", threads)
        .env("SEQGRAPH_BENCH_DATA", target.join("bench-data"))
        // The allocator setting our side makes with mallopt (train_utils::memory::keep_freed_memory).
        .env("GLIBC_TUNABLES", KEEP_FREED_MEMORY)
        .stderr(Stdio::inherit());
    // pyg_data.py predates the contract: it takes the edge file and --threads, and has no --json.
    if name == "pyg_data.py" {
        cmd.arg(target.join(RMAT_EDGES)).args(["--threads", threads]);
    } else {
        cmd.arg("--json");
    }
    eprintln!("seqgraph: peer {name}");
    let out = cmd.output().with_context(|| format!("cannot run {python}"))?;
    if !out.status.success() {
        bail!("exited with {}", out.status);
    }
    let stem = name.trim_end_matches(".py");
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter_map(|v| peer_row(stem, &v))
        .collect::<Vec<_>>();
    if rows.is_empty() {
        bail!("printed no JSON result line");
    }
    Ok(rows)
}

/// Reads one JSON line of a peer: the contract's keys (`case`, `peer_ms`, `peer_peak_mb`), or the
/// older keys of the first scripts (`median_s`, `s_per_epoch`, `peak_extra_bytes`, `model`).
fn peer_row(stem: &str, v: &Value) -> Option<(String, Row)> {
    let case = match v["case"].as_str() {
        Some(c) => c.to_owned(),
        None if stem == "pyg_data" => "gcn_csr/rmat_1m_16m".to_owned(),
        None => match v["model"].as_str() {
            Some(m) => format!(
                "{}/{m}",
                stem.trim_start_matches("pgt_").trim_start_matches("pyg_")
            ),
            None => stem.to_owned(),
        },
    };
    let ms = v["peer_ms"]
        .as_f64()
        .or_else(|| v["median_s"].as_f64().map(|s| s * 1e3))
        .or_else(|| v["s_per_epoch"].as_f64().map(|s| s * 1e3))?;
    let peak = v["peer_peak_mb"]
        .as_f64()
        .or_else(|| v["peak_extra_bytes"].as_f64().map(|b| b / (1 << 20) as f64));
    let peer = v["peer"].as_str().unwrap_or(stem).to_owned();
    Some((
        case.clone(),
        Row {
            case,
            peer_ms: Some(ms),
            peer_peak_mb: peak,
            peer: Some(peer),
            ..Row::default()
        },
    ))
}

/// Benches that carry their own baseline: `(suffix of ours, suffix of the baseline, baseline's name)`.
/// `X/level_batched` and `X/node_by_node` become one row `X` with the recursion as the peer.
const INTERNAL_BASELINES: [(&str, &str, &str); 2] = [
    (
        "/level_batched",
        "/node_by_node",
        "node-by-node recursion, same cell (ours)",
    ),
    ("/fast", "/naive", "the O(n^2) definition, same series (ours)"),
];

/// Pairs each bench with its internal baseline (see [`INTERNAL_BASELINES`]) as one row.
fn pair_internal(ours: &mut BTreeMap<String, f64>) -> Vec<(String, Row)> {
    let mut peers = Vec::new();
    for (fast, slow, name) in INTERNAL_BASELINES {
        let stems: Vec<String> = ours
            .keys()
            .filter_map(|k| k.strip_suffix(fast).map(str::to_owned))
            .filter(|stem| ours.contains_key(&format!("{stem}{slow}")))
            .collect();
        for stem in stems {
            let ms_fast = ours.remove(&format!("{stem}{fast}"));
            let ms_slow = ours.remove(&format!("{stem}{slow}"));
            ours.insert(stem.clone(), ms_fast.unwrap_or(f64::NAN));
            peers.push((
                stem.clone(),
                Row {
                    case: stem,
                    peer_ms: ms_slow,
                    peer: Some(name.to_owned()),
                    ..Row::default()
                },
            ));
        }
    }
    peers
}

/// One row per case seen on either side, sorted by case.
fn join(
    mut ours: BTreeMap<String, f64>,
    memory: BTreeMap<String, f64>,
    mut peers: Vec<(String, Row)>,
) -> Vec<Row> {
    peers.extend(pair_internal(&mut ours));
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (case, ms) in ours {
        let r = rows.entry(case.clone()).or_default();
        r.case = case;
        r.ours_ms = Some(ms);
    }
    for (case, p) in peers {
        let r = rows.entry(case.clone()).or_default();
        r.case = case;
        r.peer_ms = p.peer_ms;
        r.peer_peak_mb = p.peer_peak_mb;
        r.peer = p.peer;
    }
    for r in rows.values_mut() {
        r.ours_peak_mb = memory.get(&r.case).copied();
    }
    rows.into_values().collect()
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".to_owned())
}

/// The comparison as a text table.
fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<40} {:>11} {:>11} {:>9} {:>13} {:>13}\n",
        "case", "ours_ms", "peer_ms", "ratio", "ours_peak_mb", "peer_peak_mb"
    );
    s += &format!("{}\n", "-".repeat(102));
    for r in rows {
        let case = if r.ours_one_run {
            format!("{}*", r.case)
        } else {
            r.case.clone()
        };
        s += &format!(
            "{:<40} {:>11} {:>11} {:>9} {:>13} {:>13}\n",
            case,
            cell(r.ours_ms, 3),
            cell(r.peer_ms, 3),
            r.ratio()
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".to_owned()),
            cell(r.ours_peak_mb, 1),
            cell(r.peer_peak_mb, 1),
        );
    }
    s += "ratio = peer_ms / ours_ms (above 1: seqgraph is faster); times are medians of repeated runs.\n";
    if rows.iter().any(|r| r.ours_one_run) {
        s += "* ours is one run, timed once (a case too long for criterion's ten samples); \
              its peer's note says how the peer was timed.\n";
    }
    s
}

/// Reads one side's time from a row.
type Side = fn(&Row) -> Option<f64>;

/// Grouped bars (ours, peer) per case, log-scale milliseconds, as SVG.
fn chart(rows: &[Row]) -> Result<String> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| anyhow::anyhow!("plotters: {e:?}");
    let values = rows
        .iter()
        .flat_map(|r| [r.ours_ms, r.peer_ms])
        .flatten()
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    let (lo, hi) = if lo.is_finite() {
        (lo / 2.0, hi * 2.0)
    } else {
        (0.1, 10.0)
    };
    let n = rows.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (200 + 90 * n as u32, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let label = |x: &f64| {
            let i = x.round();
            match rows.get(i as usize) {
                Some(r) if (x - i).abs() < 1e-9 && i >= 0.0 => r.case.clone(),
                _ => String::new(),
            }
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "seqgraph against its peers (median ms, lower is better)",
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.6..(n as f64 - 0.4), (lo..hi).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&label)
            .y_desc("ms")
            .draw()
            .map_err(|e| err(&e))?;
        let sides: [(&str, RGBColor, Side); 2] = [
            ("seqgraph", RGBColor(0, 114, 178), |r| r.ours_ms),
            ("peer", RGBColor(213, 94, 0), |r| r.peer_ms),
        ];
        for (k, (name, c, get)) in sides.into_iter().enumerate() {
            let bars = rows.iter().enumerate().filter_map(|(i, r)| {
                let v = get(r)?;
                let left = i as f64 - 0.4 + 0.4 * k as f64;
                Some(Rectangle::new([(left, lo), (left + 0.4, v)], c.filled()))
            });
            chart
                .draw_series(bars)
                .map_err(|e| err(&e))?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// Makes sure the peers are installed in the seqgraph cache; returns (python, site folder).
fn ensure_peers() -> Result<(String, PathBuf)> {
    let site = crate::setup::cache_root()?.join("peers");
    let marker = site.join(".seqgraph-complete");
    let python = crate::setup::python();
    if marker.is_file() {
        return Ok((python, site));
    }
    println!(
        "seqgraph: installing the bench peers ({}, {PGT}) into {}.\n\
         seqgraph: torch with its CUDA dependencies is about 4.5 GB of downloads; run with --no-peers to skip.",
        PEER_PACKAGES[..2].join(", "),
        site.display()
    );
    let pip = |extra: &[&str], pkgs: &[&str]| -> Result<()> {
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--root-user-action=ignore",
            ])
            .args(["--upgrade", "--target"])
            .arg(&site)
            .args(extra)
            .args(pkgs)
            .status()
            .with_context(|| format!("cannot run `{python} -m pip`"))?;
        if !status.success() {
            bail!(
                "pip could not install {}; see its message above (or use --no-peers)",
                pkgs.join(" ")
            );
        }
        Ok(())
    };
    pip(&[], &PEER_PACKAGES)?;
    // PGT's metadata requires torch-sparse and torch-scatter, which have no wheels for torch 2.13.
    pip(&["--no-deps"], &[PGT])?;
    std::fs::write(&marker, format!("{}\n{PGT}\n", PEER_PACKAGES.join("\n")))?;
    Ok((python, site))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_suites_and_flags() {
        let o = parse(&words("--suite gnn --json --no-peers --threads 4")).unwrap();
        assert_eq!(
            o,
            Options {
                suites: vec!["gnn"],
                json: true,
                no_peers: true,
                threads: 4
            }
        );
        assert_eq!(parse(&[]).unwrap().suites, SUITES);
        assert_eq!(parse(&words("--suite all")).unwrap().suites, SUITES);
        assert!(parse(&words("--suite graphs")).is_err());
        assert_eq!(parse(&words("--suite graph")).unwrap().suites, vec!["graph"]);
        assert!(parse(&words("--fast")).is_err());
    }

    #[test]
    fn peer_lines_follow_the_contract_or_the_old_keys() {
        let (case, r) = peer_row(
            "torch_lstm",
            &json!({"case": "lstm/b64_t100", "peer_ms": 34.9, "peer_peak_mb": 120.0}),
        )
        .unwrap();
        assert_eq!(case, "lstm/b64_t100");
        assert_eq!((r.peer_ms, r.peer_peak_mb), (Some(34.9), Some(120.0)));
        let (case, r) = peer_row(
            "pyg_data",
            &json!({"median_s": 2.0, "peak_extra_bytes": 1048576.0}),
        )
        .unwrap();
        assert_eq!(case, "gcn_csr/rmat_1m_16m");
        assert_eq!((r.peer_ms, r.peer_peak_mb), (Some(2000.0), Some(1.0)));
        let (case, r) = peer_row(
            "pgt_chickenpox",
            &json!({"model": "dcrnn", "s_per_epoch": 0.1145}),
        )
        .unwrap();
        assert_eq!(case, "chickenpox/dcrnn");
        assert!((r.peer_ms.unwrap() - 114.5).abs() < 1e-9);
        assert!(peer_row("x", &json!({"case": "no time"})).is_none());
    }

    #[test]
    fn scripts_map_to_suites() {
        assert_eq!(suite_of("pyg_data.py"), Some("data"));
        assert_eq!(suite_of("pyg_gcn.py"), Some("gnn"));
        assert_eq!(suite_of("pyg_graph.py"), Some("graph"));
        assert_eq!(suite_of("pyg_link.py"), Some("link"));
        assert_eq!(suite_of("link_metrics_fixture.py"), None);
        assert_eq!(suite_of("torch_lstm.py"), Some("seq"));
        assert_eq!(suite_of("pgt_chickenpox.py"), Some("temporal"));
        assert_eq!(suite_of("pgt_export.py"), None);
        assert_eq!(suite_of("helper.py"), None);
    }

    #[test]
    fn one_run_cases_join_as_ours_and_are_marked() {
        let dir = tempfile::tempdir().unwrap();
        let case = "sensor_step/graphwavenet_knn8600_b16";
        std::fs::write(
            dir.path().join("sensor_step_graphwavenet_knn8600_b16.json"),
            format!(r#"{{"case": "{case}", "peak_mb": 15000.0, "once_ms": 300000.0}}"#),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sensor_step_dcrnn_knn8600.json"),
            r#"{"case": "sensor_step/dcrnn_knn8600", "peak_mb": 2.0}"#,
        )
        .unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        let (memory, once) = ours_records(dir.path(), before);
        assert_eq!(memory.len(), 2, "{memory:?}");
        assert_eq!(once, BTreeMap::from([(case.to_owned(), 300000.0)]));
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        let (memory, once) = ours_records(dir.path(), later);
        assert!(once.is_empty(), "a one-run time from an earlier run is left out");
        assert_eq!(memory[case], 15000.0, "peaks are kept as before");

        let peer = peer_row("pgt_sensor", &json!({"case": case, "peer_ms": 900000.0})).unwrap();
        let mut rows = join(BTreeMap::from([(case.to_owned(), 300000.0)]), memory, vec![peer]);
        rows[0].ours_one_run = true;
        assert_eq!(rows[0].ratio(), Some(3.0));
        assert_eq!(rows[0].to_json()["ours_one_run"], true);
        let t = table(&rows);
        assert!(
            t.contains(&format!("{case}*")) && t.contains("* ours is one run"),
            "{t}"
        );
    }

    #[test]
    fn reads_fresh_criterion_medians_and_joins_with_peers() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("gcn_epoch/cora/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join("benchmark.json"), r#"{"full_id": "gcn_epoch/cora"}"#).unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median": {"point_estimate": 5000000.0}}"#,
        )
        .unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        let ours = criterion_results(dir.path(), before).unwrap();
        assert_eq!(ours.get("gcn_epoch/cora"), Some(&5.0));
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(
            criterion_results(dir.path(), later).unwrap().is_empty(),
            "stale results are left out"
        );

        let peer = peer_row("pyg_gcn", &json!({"case": "gcn_epoch/cora", "peer_ms": 50.0})).unwrap();
        let memory = BTreeMap::from([("gcn_epoch/cora".to_owned(), 30.0)]);
        let rows = join(ours, memory, vec![peer]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].ratio(), Some(10.0));
        assert_eq!(rows[0].to_json()["ours_peak_mb"], 30.0);
        let t = table(&rows);
        assert!(t.contains("gcn_epoch/cora") && t.contains("10.00x"), "{t}");
        let svg = chart(&rows).unwrap();
        let inner = BTreeMap::from([
            ("tree_lstm_train_step/child_sum/level_batched".to_owned(), 2.0),
            ("tree_lstm_train_step/child_sum/node_by_node".to_owned(), 30.0),
            ("tree_lstm_train_step/lonely/level_batched".to_owned(), 1.0),
        ]);
        let paired = join(inner, BTreeMap::new(), Vec::new());
        assert_eq!(paired.len(), 2, "{paired:?}");
        assert_eq!(paired[0].case, "tree_lstm_train_step/child_sum");
        assert_eq!(paired[0].ratio(), Some(15.0));
        assert_eq!(paired[1].peer_ms, None, "no baseline, no ratio");
        assert!(svg.starts_with("<svg") && svg.contains("gcn_epoch/cora") && svg.contains("<rect"));
    }
}
