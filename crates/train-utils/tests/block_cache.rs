//! The block cache's rule, in a process of its own (the cache is one per
//! process): freed large blocks are reused by size, and cached blocks are
//! returned to the system before the live and cached blocks together pass the
//! most the live blocks ever took.

use tch::{Device, Kind, Tensor};
use train_utils::memory::{block_cache_bytes, cache_large_blocks, MAX_CACHED_BYTES, MMAP_THRESHOLD};

const MIB: usize = 1 << 20;

/// A float tensor of exactly `mib` MiB (a whole number of 2 MiB blocks).
fn block(mib: usize) -> Tensor {
    Tensor::ones([(mib * MIB / 4) as i64], (Kind::Float, Device::Cpu))
}

#[test]
fn cached_blocks_stay_under_the_live_peak() {
    cache_large_blocks(MMAP_THRESHOLD as usize, MAX_CACHED_BYTES);
    let first = block(40);
    drop(first);
    assert_eq!(block_cache_bytes(), 40 * MIB, "the freed block is kept");

    // A new size: 100 MiB live and 40 cached would pass the peak (100), so
    // the cached block goes back to the system.
    let bigger = block(100);
    assert_eq!(block_cache_bytes(), 0, "evicted for the bigger block");
    drop(bigger);
    assert_eq!(block_cache_bytes(), 100 * MIB);

    // Two blocks that fit under the peak together: the cached 100 MiB goes
    // for the first (40 + 100 > 100), then the second fits (40 + 60 = 100).
    let a = block(40);
    assert_eq!(block_cache_bytes(), 0);
    let b = block(60);
    let a_ptr = a.data_ptr();
    drop(a);
    drop(b);
    assert_eq!(
        block_cache_bytes(),
        100 * MIB,
        "both kept: together they are the peak"
    );

    // A repeated size is served from the cache, with nothing evicted.
    let again = block(40);
    assert_eq!(
        again.data_ptr(),
        a_ptr,
        "the freed 40 MiB block is handed out again"
    );
    assert_eq!(block_cache_bytes(), 60 * MIB);
}
