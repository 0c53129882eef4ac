//! Shared helpers for the criterion benches.
//!
//! - [`record_peak`]: measures the peak memory of one run of a bench case and writes it where
//!   `cargo xtask bench` reads it (`target/bench-memory/<case>.json`), beside criterion's timings;
//!   [`record_once`] also times that one run, for cases too long for criterion's ten samples.
//! - [`setup`]: what every bench does first, as the seqgraph commands do: libtorch's threads from
//!   the environment, and glibc told to keep freed memory (the peers get the same allocator setting
//!   through `GLIBC_TUNABLES`, set by `cargo xtask bench`).
//! - [`bench_data_dir`]: the folder where benches write inputs their peer scripts read
//!   (`target/bench-data`, or `$SEQGRAPH_BENCH_DATA`), and [`write_edges`], the edge-list file
//!   format they read.
//!
//! The contract with the peer scripts is in `benches/README.md`.

use std::path::PathBuf;

/// The workspace's `target` folder (`$CARGO_TARGET_DIR` when set).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// Sets libtorch's intra-op threads from `SEQGRAPH_BENCH_THREADS`, else `OMP_NUM_THREADS`, else 2
/// (as the peers read them; without this the benches ran with libtorch's default pool, which on the
/// loaded 2-core machine made one GAT Cora step take 1.97 s instead of 38 ms), and keeps freed memory
/// for reuse ([`train_utils::memory::keep_freed_memory`], as the seqgraph commands do). Returns the
/// thread count.
///
/// Keeping freed memory means a case's peak counts only memory beyond what the process already held
/// from earlier cases; the first case of each bench binary is exact, the large cases are dominated by
/// their own fresh allocations.
pub fn setup() -> i32 {
    let threads = ["SEQGRAPH_BENCH_THREADS", "OMP_NUM_THREADS"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    train_utils::memory::keep_freed_memory();
    threads
}

/// Where benches write the inputs their peers read (`$SEQGRAPH_BENCH_DATA`, else `target/bench-data`).
pub fn bench_data_dir() -> PathBuf {
    std::env::var_os("SEQGRAPH_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("bench-data"))
}

/// Writes `edges` as the peers read them: `u64` number of nodes, `u64` number of edges (little
/// endian), then every source and every target as `u32`.
pub fn write_edges(edges: &graph_data::EdgeList, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap_or(std::path::Path::new(".")))?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&(edges.num_nodes as u64).to_le_bytes())?;
    f.write_all(&(edges.len() as u64).to_le_bytes())?;
    for &v in edges.src.iter().chain(&edges.dst) {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`); `None` off Linux.
fn status_kb(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the process's peak resident set (`VmHWM`) to its current size; false where not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs `f` once and returns how far the resident set rose above its size before the call, in MiB
/// (`None` where the kernel cannot reset the peak). Memory libtorch's allocator keeps cached from
/// earlier runs is not counted again, so call this before criterion's own iterations.
pub fn peak_mb<R>(f: impl FnOnce() -> R) -> (R, Option<f64>) {
    let exact = reset_peak();
    let before = status_kb("VmRSS");
    let out = f();
    let peak = status_kb("VmHWM");
    let mb = match (exact, before, peak) {
        (true, Some(b), Some(p)) => Some(p.saturating_sub(b) as f64 / 1024.0),
        _ => None,
    };
    (out, mb)
}

/// Runs `f` once, measures its peak memory with [`peak_mb`] and writes
/// `{"case": case, "peak_mb": ...}` to `target/bench-memory/`, where `cargo xtask bench` reads it.
/// `case` is the criterion id (`group/function`) the timing is filed under.
pub fn record_peak<R>(case: &str, f: impl FnOnce() -> R) -> R {
    let (out, mb) = peak_mb(f);
    write_record(case, mb, None);
    out
}

/// Runs `f` once, timing it and measuring its peak memory, and writes
/// `{"case": case, "peak_mb": ..., "once_ms": ...}` to `target/bench-memory/`: for a case too long
/// for criterion's ten samples (a step of minutes). `cargo xtask bench` files `once_ms` as our time
/// for `case`, marked as one run, when the file was written during its run. Returns `f`'s output
/// and the seconds it took.
pub fn record_once<R>(case: &str, f: impl FnOnce() -> R) -> (R, f64) {
    let start = std::time::Instant::now();
    let (out, mb) = peak_mb(f);
    let seconds = start.elapsed().as_secs_f64();
    write_record(case, mb, Some(seconds * 1e3));
    (out, seconds)
}

/// Writes one case's record for `cargo xtask bench` (`target/bench-memory/<case>.json`).
fn write_record(case: &str, peak_mb: Option<f64>, once_ms: Option<f64>) {
    let Some(json) = record_json(case, peak_mb, once_ms) else {
        return;
    };
    let dir = target_dir().join("bench-memory");
    let file = dir.join(format!("{}.json", case.replace(['/', ' '], "_")));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, json)) {
        eprintln!("seqgraph-benches: cannot write {}: {e}", file.display());
    }
}

/// One case's record as a JSON line; `None` when there is nothing measured to write.
fn record_json(case: &str, peak_mb: Option<f64>, once_ms: Option<f64>) -> Option<String> {
    let mut fields = vec![format!("\"case\": {case:?}")];
    if let Some(mb) = peak_mb {
        fields.push(format!("\"peak_mb\": {mb:.3}"));
    }
    if let Some(ms) = once_ms {
        fields.push(format!("\"once_ms\": {ms:.3}"));
    }
    (fields.len() > 1).then(|| format!("{{{}}}\n", fields.join(", ")))
}

/// The memory this machine can still give without swapping, GiB (`MemAvailable` of
/// `/proc/meminfo`); `None` off Linux. Benches whose one case needs more than a small machine has
/// skip it with a note instead of being killed.
pub fn available_gib() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / (1024.0 * 1024.0))
}

/// Median milliseconds of `f` over `reps` runs, after `warmup` runs not counted
/// (the examples' timer: one place for how they time).
pub fn median_ms(warmup: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut t: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = std::time::Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_hold_what_was_measured() {
        assert_eq!(
            record_json("a/b", None, None),
            None,
            "nothing measured, nothing written"
        );
        let line = record_json("sensor_step/x", Some(12.5), Some(3000.25)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["case"], "sensor_step/x");
        assert_eq!(v["peak_mb"], 12.5);
        assert_eq!(v["once_ms"], 3000.25);
        let peak_only: serde_json::Value =
            serde_json::from_str(&record_json("c", Some(1.0), None).unwrap()).unwrap();
        assert!(peak_only.get("once_ms").is_none(), "{peak_only}");
    }

    #[test]
    fn peak_sees_a_large_allocation() {
        let (len, mb) = peak_mb(|| {
            let v = vec![1u8; 64 << 20];
            std::hint::black_box(&v).len()
        });
        assert_eq!(len, 64 << 20);
        if let Some(mb) = mb {
            assert!(mb >= 60.0, "a 64 MiB buffer raised the peak by only {mb} MiB");
        }
    }
}
