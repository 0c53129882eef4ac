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
//! - **Across thread counts (CPU).** Measured on libtorch 2.13.0 (CPU build,
//!   x86-64) by `tests/determinism.rs`, 1 against 2 intra-op threads: the
//!   full reductions `sum()` and `mean()` over a whole tensor split the work
//!   per thread and add the partial sums in another order, so they agree to
//!   rounding (1.8e-7 and 1.0e-7 relative in f32), not bit for bit. Everything
//!   else measured there was bit-identical: reductions along a dimension,
//!   `norm`, `mm`/`bmm`, `index_add_`, `scatter_add`, `scatter_reduce` (the
//!   message-passing aggregation), the backward of `index_select` and
//!   `embedding`, COO and CSR sparse `mm`, cross-entropy and MSE with their
//!   backward, `layer_norm`, `cumsum`, `conv1d` and the fused LSTM with their
//!   backward. A training loss is such a full reduction, so a whole run at
//!   another thread count drifts by rounding (measured after training: GCN on
//!   Cora 20 epochs, LSTM on JapaneseVowels 5 epochs: parameters differ by at
//!   most a few 1e-7; `crates/seqgraph/tests/determinism.rs`). Pin the count
//!   with [`set_threads`] to compare runs; matmul blocking may differ on other
//!   CPUs or BLAS builds, so treat the bit-identical list as this build's.
//! - **On CUDA.** Ops built on atomic adds are not deterministic even with a
//!   fixed seed: `index_add_`, `scatter_add_`/`scatter_reduce` (message-passing
//!   aggregation), `index_put_(accumulate=True)`, the backward of
//!   `index_select`/`gather`/`embedding`, cuSPARSE `spmm`, and cuDNN
//!   convolution/RNN algorithms chosen by benchmarking (PyTorch's documentation
//!   of `use_deterministic_algorithms`; not measured here, no GPU). tch 0.26
//!   exposes no `use_deterministic_algorithms` switch; [`disable_cudnn_benchmark`]
//!   turns off cuDNN's autotuning, which removes one source. Bit-exact resume
//!   is therefore promised on the CPU only.

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
