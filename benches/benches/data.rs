//! Data-structure benches (graph-data).
//!
//! `gcn_csr/rmat_1m_16m`: from an R-MAT edge list (2^20 nodes, 16 * 2^20 directed edges, Graph500
//! parameters, generated outside the timed part), build the symmetrised, self-looped, GCN-normalised
//! CSR: the work of PyG's `to_undirected` + `gcn_norm`. When run with `--bench`, it also
//! - writes the edges to `target/bench-data/rmat_1m_16m.bin` for the peer `benches/peers/pyg_data.py`,
//! - measures our peak memory above the resident set before the build (Linux, VmHWM reset through
//!   `/proc/self/clear_refs`) against the size of the final CSR,
//! - times both sides in this run with the same thread count (`RAYON_NUM_THREADS`, passed to the peer
//!   as `torch.set_num_threads`) and prints the ratio. The peer runs when `python3` (or
//!   `SEQGRAPH_PYTHON`) imports torch and torch_geometric (`PYTHONPATH` is passed through).
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion};
use graph_data::csr::{Csr, Dedup};
use graph_data::generate::{rmat, RmatParams};
use graph_data::EdgeList;

const SCALE: u32 = 20;
const EDGES: usize = 16 << 20;

fn big_graph() -> &'static EdgeList {
    static EDGES_1M: OnceLock<EdgeList> = OnceLock::new();
    EDGES_1M.get_or_init(|| rmat(SCALE, EDGES, RmatParams::default(), 42).expect("valid R-MAT parameters"))
}

/// What PyG's `to_undirected` + `gcn_norm(add_self_loops=True)` compute.
fn gcn_csr(edges: &EdgeList) -> Csr {
    Csr::from_edge_list_undirected(edges, Dedup::Sum)
        .expect("valid edges")
        .gcn_normalized(true, false)
}

fn manifest(c: &mut Criterion) {
    c.bench_function("manifest_parse", |b| b.iter(graph_data::fetch::Manifest::builtin));
}

fn graph_ops(c: &mut Criterion) {
    let edges = rmat(16, 1 << 20, RmatParams::default(), 7).unwrap();
    let a = Csr::from_edge_list(&edges).unwrap();
    let s = a.symmetrized(Dedup::Sum);
    let mut g = c.benchmark_group("graph_ops/rmat_64k_1m");
    g.bench_function("from_edge_list", |b| {
        b.iter(|| Csr::from_edge_list(black_box(&edges)))
    });
    g.bench_function("from_edge_list_undirected", |b| {
        b.iter(|| Csr::from_edge_list_undirected(black_box(&edges), Dedup::Sum))
    });
    g.bench_function("transpose", |b| b.iter(|| black_box(&a).transpose()));
    g.bench_function("with_self_loops", |b| {
        b.iter(|| black_box(&s).with_self_loops(1.0))
    });
    g.bench_function("gcn_normalized", |b| {
        b.iter(|| black_box(&s).gcn_normalized(true, false))
    });
    g.finish();
}

fn gcn_big(c: &mut Criterion) {
    let edges = big_graph();
    let mut g = c.benchmark_group("gcn_csr");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_with_input(BenchmarkId::from_parameter("rmat_1m_16m"), edges, |b, e| {
        b.iter(|| gcn_csr(e))
    });
    g.finish();
}

fn status_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn csr_bytes(a: &Csr) -> usize {
    a.indptr().len() * 8 + a.nnz() * 4 + a.weights().map_or(0, |w| w.len() * 4)
}

fn write_edges(edges: &EdgeList, path: &PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&(edges.num_nodes as u64).to_le_bytes())?;
    f.write_all(&(edges.len() as u64).to_le_bytes())?;
    for &v in edges.src.iter().chain(&edges.dst) {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

/// Peak memory, our median time and the PyG peer's, in one run.
fn compare_with_pyg() {
    let edges = big_graph();
    // Rayon's own rule for its pool size.
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mb = |b: f64| b / (1 << 20) as f64;

    // Memory first, while nothing else of size lives in the process.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kb("VmRSS");
    let a = gcn_csr(edges);
    let peak = status_kb("VmHWM");
    let final_bytes = csr_bytes(&a) as f64;
    println!(
        "gcn_csr/rmat_1m_16m: {} nodes, {} edges -> {} entries; final CSR {:.1} MiB",
        edges.num_nodes,
        edges.len(),
        a.nnz(),
        mb(final_bytes)
    );
    if let (true, Some(before), Some(peak)) = (reset, before, peak) {
        let extra = (peak.saturating_sub(before) * 1024) as f64;
        println!(
            "  ours: peak memory above the start {:.1} MiB = {:.2}x the final CSR (target <= 2x)",
            mb(extra),
            extra / final_bytes
        );
    }
    drop(a);

    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            black_box(gcn_csr(edges));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let ours = times[2];
    println!("  ours: median {ours:.3} s over 5 runs, {threads} threads");

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/rmat_1m_16m.bin");
    if let Err(e) = write_edges(edges, &path) {
        println!("  peer skipped: cannot write {}: {e}", path.display());
        return;
    }
    let python = std::env::var("SEQGRAPH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/pyg_data.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&path)
        .args(["--threads", &threads.to_string()])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let line = String::from_utf8_lossy(&o.stdout);
            println!("  peer: {}", line.trim());
            let v: Option<f64> = line
                .split("\"median_s\": ")
                .nth(1)
                .and_then(|s| s.split([',', '}']).next())
                .and_then(|s| s.trim().parse().ok());
            if let Some(pyg) = v {
                println!("  speed-up over PyG: {:.1}x (target >= 5x)", pyg / ours);
            }
        }
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().last().unwrap_or("");
            println!("  peer skipped ({python} could not run it; set PYTHONPATH to torch + torch_geometric): {last}");
        }
        Err(e) => println!("  peer skipped: cannot start {python}: {e}"),
    }
}

criterion_group!(small, manifest, graph_ops);
criterion_group!(large, gcn_big);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then criterion runs
    // each bench once and the comparison is skipped.
    let args: Vec<String> = std::env::args().collect();
    let filters: Vec<&String> = args.iter().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = filters.is_empty() || filters.iter().any(|f| "gcn_csr/rmat_1m_16m".contains(f.as_str()));
    if args.iter().any(|a| a == "--bench") && wanted {
        compare_with_pyg();
    }
    small();
    large();
    Criterion::default().configure_from_args().final_summary();
}
