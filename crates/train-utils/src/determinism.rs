//! Seeds, threads, and what libtorch does and does not repeat.
//!
//! On the CPU, with the same seed, the same thread count and the same
//! libtorch build, every op seqgraph's trainers use repeats bit for bit: the
//! [`crate::Trainer`] reseeds libtorch's generator at each epoch
//! ([`epoch_seed`]), so dropout masks and `randperm` shuffles depend only on
//! `(seed, epoch)`, also after `--resume`.
//!
//! What may differ:
//!
//! - **Across thread counts (CPU).** Reductions (`sum`, `mean`, `norm`),
//!   `matmul`/`mm` (oneDNN/MKL/OpenBLAS blocking), `index_add_` and
//!   `scatter_add_`/`scatter_reduce` split work per thread and add partial sums
//!   in a different order, so results agree to rounding (about 1e-7 relative
//!   in f32), not bit for bit. Pin the count with [`set_threads`] to compare runs.
//! - **Sparse ops (CPU).** `torch.sparse.mm` / CSR `matmul` parallelise over
//!   rows and are repeatable for a fixed thread count.
//! - **On CUDA.** Ops built on atomic adds are not deterministic even with a
//!   fixed seed: `index_add_`, `scatter_add_`/`scatter_reduce` (message-passing
//!   aggregation), `index_put_(accumulate=True)`, the backward of
//!   `index_select`/`gather`/`embedding`, cuSPARSE `spmm`, and cuDNN
//!   convolution/RNN algorithms chosen by benchmarking. tch 0.26 exposes no
//!   `use_deterministic_algorithms` switch; [`disable_cudnn_benchmark`] turns off
//!   cuDNN's autotuning, which removes one source. Bit-exact resume is therefore
//!   promised on the CPU only.

/// Seeds libtorch's generators (CPU and CUDA).
pub fn seed_everything(seed: u64) {
    tch::manual_seed(seed as i64);
}

/// The seed for epoch `epoch` (0-based) of a run seeded `seed`: a SplitMix64
/// mix of both, non-negative so libtorch accepts it.
pub fn epoch_seed(seed: u64, epoch: usize) -> i64 {
    let mut z = seed.wrapping_add((epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 1) as i64
}

/// Sets libtorch's intra-op thread count (results are bit-for-bit repeatable
/// for a fixed count; see the module docs).
pub fn set_threads(n: i32) {
    tch::set_num_threads(n);
}

/// libtorch's intra-op thread count.
pub fn threads() -> i32 {
    tch::get_num_threads()
}

/// Turns off cuDNN's benchmark mode (autotuned, run-dependent algorithm choice).
pub fn disable_cudnn_benchmark() {
    tch::Cuda::cudnn_set_benchmark(false);
}
