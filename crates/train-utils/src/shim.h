// What every seqgraph C++ entry point shares: run a body that makes a tensor,
// hand it to Rust as a new heap at::Tensor, or turn any C++ exception into a
// message for Rust's error type (an exception must not cross into Rust).
#pragma once

#include <cstdio>
#include <exception>

#include <ATen/ATen.h>

// The hand-written kernels (small_linear, sparse_mm): x86-64 versions per
// instruction set, chosen at run time; inner loops forced inline so each
// version is compiled with its own instruction set.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SEQGRAPH_X86 1
#define SEQGRAPH_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define SEQGRAPH_AVX2 __attribute__((target("avx2,fma")))
#endif
#define SEQGRAPH_INLINE inline __attribute__((always_inline))

namespace seqgraph {

inline void write_error(char* err, size_t len, const char* msg) {
  if (err != nullptr && len > 0) {
    std::snprintf(err, len, "%s", msg);
  }
}

// `*out = new at::Tensor(make())`; returns 0, or 1 with the exception's
// message in `err` (at most `err_len` bytes, NUL-terminated).
template <typename Make>
int tensor_or_error(Make make, at::Tensor** out, char* err, size_t err_len) {
  try {
    *out = new at::Tensor(make());
    return 0;
  } catch (const c10::Error& e) {
    write_error(err, err_len, e.what_without_backtrace());
  } catch (const std::exception& e) {
    write_error(err, err_len, e.what());
  } catch (...) {
    write_error(err, err_len, "unknown C++ exception");
  }
  return 1;
}

// The vector units the hand-written kernels may use on this CPU, found
// once: their 256-bit versions need AVX2 and FMA, the 512-bit ones
// AVX-512F and VL.
#ifdef SEQGRAPH_X86
inline bool cpu_has_avx2_fma() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}
inline bool cpu_has_avx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
  }();
  return yes;
}
#endif

}  // namespace seqgraph
