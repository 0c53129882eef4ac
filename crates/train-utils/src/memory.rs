//! Process memory: the allocator setting training loops want, and the peak
//! resident set a run reports.

/// The size from which glibc serves a block with its own `mmap` (returned to
/// the system when freed) rather than from the heap: 32 MiB, the ceiling of
/// glibc's own adaptive threshold.
pub const MMAP_THRESHOLD: i32 = 32 << 20;

/// Tells glibc's allocator to keep freed memory for reuse: blocks under
/// [`MMAP_THRESHOLD`] come from the heap and the heap is never trimmed.
///
/// libtorch frees and allocates the same activation buffers at every training
/// step; with glibc's defaults freed heap memory is trimmed and blocks from
/// 128 KiB up may be fresh zero-filled mappings, which page-fault on first
/// touch: a GAT step on Cora spends a quarter of its time, and a T-GCN epoch
/// on Los-loop half of its time, in the kernel's page-fault handling without it.
///
/// Blocks of 32 MiB and more keep their own mappings: with every block on the
/// heap, a GConvGRU step on a 10,000-node graph ran faster but its peak
/// resident memory doubled from heap fragmentation (the measurements are in
/// docs/benchmarks.md and docs/temporal.md). Returns true when glibc accepted
/// both settings; does nothing (false) on other platforms.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes allocator tuning parameters; it is
        // called with glibc's documented parameter numbers and valid values.
        let (a, b) = unsafe {
            (
                mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                mallopt(M_TRIM_THRESHOLD, i32::MAX),
            )
        };
        a == 1 && b == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Peak resident memory of this process in MiB (`VmHWM`), Linux only.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_is_positive_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss_mib().is_some_and(|m| m > 1.0));
        }
    }
}
