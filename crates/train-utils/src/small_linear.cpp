// A linear map with a small weight over many rows: `out = acc + x W^T + b`
// for `x` [M, K] with M large and `W` [N, K] small (N a multiple of one
// 64-byte vector, at most four of them), as one custom autograd function.
//
// A graph-recurrent step multiplies (nodes * batch) rows of H = 32 features
// by 32 x 32 gate weights. libtorch's GEMM (MKL) runs these skinny products
// at about half its large-matrix rate (60 against 120 GFLOP/s on the
// development machine, one thread), while a kernel that keeps a block of
// output rows in vector registers runs them faster than the large-matrix
// rate. The kernels are written once with GCC/Clang vector extensions and
// instantiated for AVX-512 (64-byte vectors, 32 registers) and AVX2 + FMA
// (32-byte vectors, 16 registers: fewer rows per block so the accumulators
// stay in registers), the one the CPU has chosen at run time. A CPU with
// neither (or another architecture) gets libtorch's `addmm`: the generic
// build of these loops is slower than MKL there.
//
// Backward: dx = g W (the same kernel, when K is a multiple of a vector;
// libtorch's mm otherwise), dW = g^T x and db = sum of g's rows (one pass
// over the rows), d acc = g. The partial sums of dW are combined in a fixed
// order, so a run is reproducible for a given thread count. Not twice
// differentiable.

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "shim.h"

namespace {

// The instruction set the kernels run with on this CPU.
enum class Isa { kNone, kAvx2, kAvx512 };

Isa isa() {
  static const Isa chosen = [] {
#ifdef SEQGRAPH_X86
    if (seqgraph::cpu_has_avx512()) return Isa::kAvx512;
    if (seqgraph::cpu_has_avx2_fma()) return Isa::kAvx2;
#endif
    return Isa::kNone;
  }();
  return chosen;
}

// A vector of `B` bytes of T.
template <typename T, int B>
struct Vec {
  static constexpr int lanes = B / sizeof(T);
  // Unaligned, and allowed to alias T: rows are read and written in place.
  typedef T type __attribute__((vector_size(B), aligned(sizeof(T)), may_alias));
};

// Loads and stores through vector pointers (not memcpy), so that the
// accumulators stay in registers.
template <typename V, typename T>
SEQGRAPH_INLINE V load(const T* p) {
  return *reinterpret_cast<const V*>(p);
}
template <typename V, typename T>
SEQGRAPH_INLINE void store(T* p, V v) {
  *reinterpret_cast<V*>(p) = v;
}

// out[i, :] = (acc ? acc[i, :] : 0) + (bias ? bias : 0) + sum_k x[i, k] bt[k, :]
// for rows [begin, end); `bt` is W^T [K, NV * lanes], contiguous. R output
// rows of NV vectors of B bytes are kept in registers at once.
template <typename T, int B, int NV, int R>
SEQGRAPH_INLINE void rows_times_small(const T* x, int64_t k_in, const T* bt, const T* acc, const T* bias,
                                      T* out, int64_t begin, int64_t end) {
  using V = typename Vec<T, B>::type;
  constexpr int L = Vec<T, B>::lanes;
  constexpr int N = NV * L;
  V b0[NV];
  for (int v = 0; v < NV; ++v) b0[v] = bias != nullptr ? load<V>(bias + v * L) : V{};
  int64_t i = begin;
  for (; i + R <= end; i += R) {
    V c[R][NV];
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < NV; ++v) {
        c[r][v] = acc != nullptr ? b0[v] + load<V>(acc + (i + r) * N + v * L) : b0[v];
      }
    }
    for (int64_t k = 0; k < k_in; ++k) {
      V bk[NV];
      for (int v = 0; v < NV; ++v) bk[v] = load<V>(bt + k * N + v * L);
      for (int r = 0; r < R; ++r) {
        const T a = x[(i + r) * k_in + k];
        for (int v = 0; v < NV; ++v) c[r][v] += a * bk[v];
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int v = 0; v < NV; ++v) store<V>(out + (i + r) * N + v * L, c[r][v]);
    }
  }
  for (; i < end; ++i) {
    V c[NV];
    for (int v = 0; v < NV; ++v) c[v] = acc != nullptr ? b0[v] + load<V>(acc + i * N + v * L) : b0[v];
    for (int64_t k = 0; k < k_in; ++k) {
      const T a = x[i * k_in + k];
      for (int v = 0; v < NV; ++v) c[v] += a * load<V>(bt + k * N + v * L);
    }
    for (int v = 0; v < NV; ++v) store<V>(out + i * N + v * L, c[v]);
  }
}

// wt[k, :] += sum_i x[i, k] g[i, :] and gsum += sum_i g[i, :] over rows
// [begin, end); `wt` is [K, NV * lanes]. Rows go in chunks that stay in L1;
// within a chunk, R rows of wt are accumulated in registers.
constexpr int64_t kChunk = 128;

template <typename T, int B, int NV, int R>
SEQGRAPH_INLINE void weight_grad_rows(const T* x, int64_t k_in, const T* g, T* wt, T* gsum, int64_t begin,
                                      int64_t end) {
  using V = typename Vec<T, B>::type;
  constexpr int L = Vec<T, B>::lanes;
  constexpr int N = NV * L;
  V s[NV];
  for (int v = 0; v < NV; ++v) s[v] = load<V>(gsum + v * L);
  for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
    const int64_t c1 = c0 + kChunk < end ? c0 + kChunk : end;
    for (int64_t i = c0; i < c1; ++i) {
      for (int v = 0; v < NV; ++v) s[v] += load<V>(g + i * N + v * L);
    }
    int64_t k = 0;
    for (; k + R <= k_in; k += R) {
      V w[R][NV];
      for (int b = 0; b < R; ++b) {
        for (int v = 0; v < NV; ++v) w[b][v] = load<V>(wt + (k + b) * N + v * L);
      }
      for (int64_t i = c0; i < c1; ++i) {
        V gi[NV];
        for (int v = 0; v < NV; ++v) gi[v] = load<V>(g + i * N + v * L);
        for (int b = 0; b < R; ++b) {
          const T a = x[i * k_in + k + b];
          for (int v = 0; v < NV; ++v) w[b][v] += a * gi[v];
        }
      }
      for (int b = 0; b < R; ++b) {
        for (int v = 0; v < NV; ++v) store<V>(wt + (k + b) * N + v * L, w[b][v]);
      }
    }
    for (; k < k_in; ++k) {
      V w[NV];
      for (int v = 0; v < NV; ++v) w[v] = load<V>(wt + k * N + v * L);
      for (int64_t i = c0; i < c1; ++i) {
        const T a = x[i * k_in + k];
        for (int v = 0; v < NV; ++v) w[v] += a * load<V>(g + i * N + v * L);
      }
      for (int v = 0; v < NV; ++v) store<V>(wt + k * N + v * L, w[v]);
    }
  }
  for (int v = 0; v < NV; ++v) store<V>(gsum + v * L, s[v]);
}

// Rows per register block: AVX-512 has 32 vector registers, 4 rows of up to
// 4 vectors fit; AVX2 has 16, so about 12 accumulators (N64 64-byte vectors
// are 2 * N64 32-byte ones).
constexpr int avx2_rows(int n64) { return n64 >= 4 ? 1 : 6 / n64; }

#ifdef SEQGRAPH_X86
template <typename T, int N64>
SEQGRAPH_AVX512 void rows_avx512(const T* x, int64_t k, const T* bt, const T* acc, const T* bias, T* out,
                                 int64_t begin, int64_t end) {
  rows_times_small<T, 64, N64, 4>(x, k, bt, acc, bias, out, begin, end);
}
template <typename T, int N64>
SEQGRAPH_AVX2 void rows_avx2(const T* x, int64_t k, const T* bt, const T* acc, const T* bias, T* out,
                             int64_t begin, int64_t end) {
  rows_times_small<T, 32, 2 * N64, avx2_rows(N64)>(x, k, bt, acc, bias, out, begin, end);
}
template <typename T, int N64>
SEQGRAPH_AVX512 void grads_avx512(const T* x, int64_t k, const T* g, T* wt, T* gsum, int64_t begin,
                                  int64_t end) {
  weight_grad_rows<T, 64, N64, 4>(x, k, g, wt, gsum, begin, end);
}
template <typename T, int N64>
SEQGRAPH_AVX2 void grads_avx2(const T* x, int64_t k, const T* g, T* wt, T* gsum, int64_t begin, int64_t end) {
  weight_grad_rows<T, 32, 2 * N64, avx2_rows(N64)>(x, k, g, wt, gsum, begin, end);
}
#endif

// Output rows [begin, end) of the product, N = N64 64-byte vectors wide.
template <typename T, int N64>
void rows(const T* x, int64_t k, const T* bt, const T* acc, const T* bias, T* out, int64_t begin, int64_t end) {
#ifdef SEQGRAPH_X86
  if (isa() == Isa::kAvx512) return rows_avx512<T, N64>(x, k, bt, acc, bias, out, begin, end);
  if (isa() == Isa::kAvx2) return rows_avx2<T, N64>(x, k, bt, acc, bias, out, begin, end);
#endif
  // Unreachable: seqgraph_small_linear_fits refuses without a vector unit.
  rows_times_small<T, 64, N64, 1>(x, k, bt, acc, bias, out, begin, end);
}

// The weight gradient's rows [begin, end).
template <typename T, int N64>
void grads(const T* x, int64_t k, const T* g, T* wt, T* gsum, int64_t begin, int64_t end) {
#ifdef SEQGRAPH_X86
  if (isa() == Isa::kAvx512) return grads_avx512<T, N64>(x, k, g, wt, gsum, begin, end);
  if (isa() == Isa::kAvx2) return grads_avx2<T, N64>(x, k, g, wt, gsum, begin, end);
#endif
  weight_grad_rows<T, 64, N64, 1>(x, k, g, wt, gsum, begin, end);
}

constexpr int64_t kGrain = 4096;  // rows per parallel task

// Lanes of a 64-byte vector: the output width comes in these.
template <typename T>
int lanes_of() {
  return Vec<T, 64>::lanes;
}

int vectors_in(int64_t n, at::ScalarType t) {
  int lanes = t == at::kFloat ? lanes_of<float>() : lanes_of<double>();
  return n % lanes == 0 ? static_cast<int>(n / lanes) : 0;
}

// `x [M, K] @ bt [K, N] (+ acc) (+ bias)`; N = NV * lanes with NV in 1..=4.
at::Tensor product(const at::Tensor& x, const at::Tensor& bt, const at::Tensor& acc, const at::Tensor& bias) {
  int64_t m = x.size(0), k = x.size(1), n = bt.size(1);
  at::Tensor out = at::empty({m, n}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "small_linear", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* bp = bt.data_ptr<scalar_t>();
    const scalar_t* ap = acc.defined() ? acc.data_ptr<scalar_t>() : nullptr;
    const scalar_t* bias_p = bias.defined() ? bias.data_ptr<scalar_t>() : nullptr;
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, m, kGrain, [&](int64_t begin, int64_t end) {
      switch (n / lanes_of<scalar_t>()) {
        case 1: rows<scalar_t, 1>(xp, k, bp, ap, bias_p, op, begin, end); break;
        case 2: rows<scalar_t, 2>(xp, k, bp, ap, bias_p, op, begin, end); break;
        case 3: rows<scalar_t, 3>(xp, k, bp, ap, bias_p, op, begin, end); break;
        default: rows<scalar_t, 4>(xp, k, bp, ap, bias_p, op, begin, end); break;
      }
    });
  });
  return out;
}

// (x^T g [K, N], sum of g's rows [N]), partial sums added in row order.
std::pair<at::Tensor, at::Tensor> weight_grads(const at::Tensor& x, const at::Tensor& g) {
  int64_t m = x.size(0), k = x.size(1), n = g.size(1);
  std::vector<std::pair<int64_t, std::pair<at::Tensor, at::Tensor>>> parts;
  std::mutex parts_mutex;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "small_linear_backward", [&] {
    const scalar_t* xp = x.data_ptr<scalar_t>();
    const scalar_t* gp = g.data_ptr<scalar_t>();
    at::parallel_for(0, m, kGrain, [&](int64_t begin, int64_t end) {
      at::Tensor wt = at::zeros({k, n}, x.options());
      at::Tensor gs = at::zeros({n}, x.options());
      scalar_t* wp = wt.data_ptr<scalar_t>();
      scalar_t* sp = gs.data_ptr<scalar_t>();
      switch (n / lanes_of<scalar_t>()) {
        case 1: grads<scalar_t, 1>(xp, k, gp, wp, sp, begin, end); break;
        case 2: grads<scalar_t, 2>(xp, k, gp, wp, sp, begin, end); break;
        case 3: grads<scalar_t, 3>(xp, k, gp, wp, sp, begin, end); break;
        default: grads<scalar_t, 4>(xp, k, gp, wp, sp, begin, end); break;
      }
      std::lock_guard<std::mutex> guard(parts_mutex);
      parts.emplace_back(begin, std::make_pair(wt, gs));
    });
  });
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  at::Tensor wt = parts[0].second.first, gs = parts[0].second.second;
  for (size_t p = 1; p < parts.size(); ++p) {
    wt.add_(parts[p].second.first);
    gs.add_(parts[p].second.second);
  }
  return {wt, gs};
}

struct SmallLinear : public torch::autograd::Function<SmallLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& acc,
                            const at::Tensor& x_in, const at::Tensor& w, const at::Tensor& bias) {
    at::Tensor x = x_in.contiguous();
    at::Tensor bt = w.t().contiguous();
    // Empty: absent (see seqgraph_small_linear).
    at::Tensor a = acc.numel() > 0 ? acc.contiguous() : at::Tensor();
    at::Tensor b = bias.numel() > 0 ? bias.contiguous() : at::Tensor();
    ctx->save_for_backward({x, w});
    ctx->saved_data["acc"] = a.defined();
    ctx->saved_data["bias"] = b.defined();
    return product(x, bt, a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor x = saved[0], w = saved[1];
    at::Tensor g = grads[0].contiguous();
    at::Tensor none, dx, dw, db;
    if (ctx->needs_input_grad(1)) {
      // dx = g W: g [M, N] times W [N, K]; the kernel needs K in whole vectors.
      dx = vectors_in(w.size(1), w.scalar_type()) >= 1 && vectors_in(w.size(1), w.scalar_type()) <= 4
               ? product(g, w.contiguous(), none, none)
               : at::mm(g, w);
    }
    if (ctx->needs_input_grad(2) || ctx->needs_input_grad(3)) {
      auto [wt, gs] = weight_grads(x, g);
      dw = wt.t().contiguous();
      db = gs;
    }
    return {ctx->saved_data["acc"].toBool() ? g : none, dx, ctx->needs_input_grad(2) ? dw : none,
            ctx->saved_data["bias"].toBool() ? db : none};
  }
};

}  // namespace

extern "C" {

// The instruction set the kernels run with: 0 none (addmm), 1 AVX2 + FMA, 2 AVX-512.
int seqgraph_small_linear_isa() { return static_cast<int>(isa()); }

// Output width `n` the kernels take for `kind` (0 float, 1 double): a whole
// number of 64-byte vectors, at most four (float: 16, 32, 48, 64), on a CPU
// with AVX2 + FMA or AVX-512.
bool seqgraph_small_linear_fits(int64_t n, int kind) {
  if (isa() == Isa::kNone) return false;
  int v = vectors_in(n, kind == 0 ? at::kFloat : at::kDouble);
  return v >= 1 && v <= 4;
}

// `*out = acc + x @ w^T + bias` (acc and bias may be null) for CPU float or
// double tensors: x [M, K], w [N, K] with seqgraph_small_linear_fits(N),
// acc [M, N], bias [N] (checked by the caller). Returns 0, or 1 with a message.
int seqgraph_small_linear(const at::Tensor* acc, const at::Tensor* x, const at::Tensor* w,
                          const at::Tensor* bias, at::Tensor** out, char* err, size_t err_len) {
  return seqgraph::tensor_or_error(
      [&] {
        // Autograd functions take defined tensors only: an absent acc or
        // bias is an empty one (and gets no gradient).
        at::Tensor none = at::empty({0}, x->options());
        return SmallLinear::apply(acc != nullptr ? *acc : none, *x, *w, bias != nullptr ? *bias : none);
      },
      out, err, err_len);
}
}
