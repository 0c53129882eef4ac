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
/// Blocks of 32 MiB and more are not put on the heap: with every block there,
/// a GConvGRU step on a 10,000-node graph ran faster but its peak resident
/// memory doubled from heap fragmentation (the measurements are in
/// docs/benchmarks.md and docs/temporal.md). libtorch's tensors of that size
/// go to [`cache_large_blocks`] instead, which reuses them by exact size
/// (keeping freed ones up to the most the live ones ever took).
/// Returns true when glibc accepted both settings; does nothing (false) on
/// other platforms.
pub fn keep_freed_memory() -> bool {
    cache_large_blocks(MMAP_THRESHOLD as usize, MAX_CACHED_BYTES);
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

extern "C" {
    fn seqgraph_block_cache_install(min_bytes: usize, max_cached_bytes: usize);
    fn seqgraph_block_cache_bytes() -> usize;
    fn seqgraph_block_cache_empty() -> usize;
}

/// The most freed memory [`keep_freed_memory`]'s block cache holds: no cap
/// of its own. The cache's rule bounds it: live and cached blocks together
/// never pass the most the live blocks ever took (see [`cache_large_blocks`]).
///
/// It was 2 GiB: a 10,000-node GConvGRU step peaks at about 3 GB, so a
/// third of its blocks went back to the system after every step and were
/// zeroed again by the next (0.4 s of a 6.5 s step in `clear_page`).
pub const MAX_CACHED_BYTES: usize = usize::MAX;

/// Makes libtorch keep freed CPU tensor blocks of `min_bytes` and more for
/// reuse by the next tensor of the same size (rounded up to 2 MiB), instead
/// of returning them to the system, up to `max_cached_bytes` of freed blocks
/// (a block freed beyond that goes back to the system); smaller blocks go to
/// the allocator it replaces. Affects tensors created afterwards; calling it
/// again only changes the two limits.
///
/// Cached blocks only fill the room under the live blocks' high-water mark:
/// when a request finds no freed block of its size and the live blocks, the
/// cached ones and the new one would pass the most the live blocks ever
/// took, cached blocks are returned to the system first. So the cache never
/// raises the resident memory above the program's own peak, and sizes that
/// stop repeating do not pile up.
///
/// Why: glibc maps every block from its mmap threshold up afresh and unmaps
/// it when freed, so a training step that frees and reallocates the same
/// large activations at every time step makes the kernel zero each page
/// again (`clear_page` was half of a 10,000-node GConvGRU step's time). A
/// training loop's sizes repeat, so the cache stays close to the step's live
/// memory; [`empty_block_cache`] gives it back.
pub fn cache_large_blocks(min_bytes: usize, max_cached_bytes: usize) {
    // SAFETY: the shim only swaps c10's CPU allocator pointer (once, behind a
    // std::once_flag) and sets a threshold; blocks from the replaced
    // allocator keep their own deleters.
    unsafe { seqgraph_block_cache_install(min_bytes, max_cached_bytes) }
}

/// Bytes of freed tensor blocks the cache of [`cache_large_blocks`] holds.
pub fn block_cache_bytes() -> usize {
    // SAFETY: reads a counter under the shim's mutex.
    unsafe { seqgraph_block_cache_bytes() }
}

/// Returns every freed block held by [`cache_large_blocks`]'s cache to the
/// system; returns the bytes released.
pub fn empty_block_cache() -> usize {
    // SAFETY: frees only blocks no tensor owns (those in the free lists).
    unsafe { seqgraph_block_cache_empty() }
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
    /// The block cache is one per process: tests that free and take large
    /// blocks run one at a time, or one takes the block the other freed.
    static BLOCK_CACHE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn a_freed_large_block_is_reused_for_the_next_tensor_of_its_size() {
        let _one_at_a_time = BLOCK_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        super::cache_large_blocks(super::MMAP_THRESHOLD as usize, super::MAX_CACHED_BYTES);
        super::empty_block_cache();
        let n = (super::MMAP_THRESHOLD as i64) / 4 + 1; // just over the threshold in f32
        let first = tch::Tensor::ones([n], (tch::Kind::Float, tch::Device::Cpu));
        let ptr = first.data_ptr();
        drop(first);
        assert!(super::block_cache_bytes() >= n as usize * 4);
        let second = tch::Tensor::zeros([n], (tch::Kind::Float, tch::Device::Cpu));
        assert_eq!(second.data_ptr(), ptr, "the freed block is handed out again");
        assert_eq!(
            second.sum(tch::Kind::Double).double_value(&[]),
            0.0,
            "and zeroed by zeros()"
        );
        drop(second);
        assert!(super::empty_block_cache() >= n as usize * 4);
        assert_eq!(super::block_cache_bytes(), 0);
        // With no room, a freed block goes back to the system at once.
        super::cache_large_blocks(super::MMAP_THRESHOLD as usize, 0);
        drop(tch::Tensor::ones([n], (tch::Kind::Float, tch::Device::Cpu)));
        assert_eq!(super::block_cache_bytes(), 0);
        super::cache_large_blocks(super::MMAP_THRESHOLD as usize, super::MAX_CACHED_BYTES);
    }

    /// oneDNN's convolutions take scratch memory through c10's raw allocator
    /// interface, which aborts the process unless the allocator has one
    /// deleter for all its blocks (found by Graph WaveNet's dilated conv).
    #[test]
    fn convolutions_run_with_the_block_cache_installed() {
        let _one_at_a_time = BLOCK_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        super::keep_freed_memory();
        let opts = (tch::Kind::Float, tch::Device::Cpu);
        let x = tch::Tensor::randn([16, 64, 207, 12], opts).set_requires_grad(true);
        let w = tch::Tensor::randn([64, 64, 1, 2], opts);
        let y = x.conv2d(&w, None::<tch::Tensor>, [1, 1], [0, 0], [1, 2], 1);
        assert_eq!(y.size(), [16, 64, 207, 10]);
        y.sum(tch::Kind::Float).backward();
        assert_eq!(x.grad().size(), x.size());
    }

    #[test]
    fn peak_rss_is_positive_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss_mib().is_some_and(|m| m > 1.0));
        }
    }
}
