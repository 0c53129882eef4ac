// A linear map with a small weight over many rows: `out = acc + x W^T + b`
// for `x` [M, K] with M large and `W` [N, K] small (N a multiple of one
// 64-byte vector, at most four of them), as one custom autograd function.
//
// A graph-recurrent step multiplies (nodes * batch) rows of H = 32 features
// by 32 x 32 gate weights. libtorch's GEMM (MKL) runs these skinny products
// at about half its large-matrix rate (60 against 120 GFLOP/s on the
// development machine, one thread), while a kernel that keeps a block of
// output rows in vector registers runs them faster than the large-matrix
// rate. The kernels are written with GCC/Clang vector extensions and built for
// AVX-512, AVX2 and baseline x86-64, chosen at load time (target_clones).
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SEQGRAPH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SEQGRAPH_CLONES
#endif

namespace {

template <typename T>
struct Vec {
  static constexpr int lanes = 64 / sizeof(T);
  // Unaligned, and allowed to alias T: rows are read and written in place.
  typedef T type __attribute__((vector_size(64), aligned(sizeof(T)), may_alias));
};

// Loads and stores through vector pointers (not memcpy), so that the
// accumulators stay in registers.
template <typename T>
inline typename Vec<T>::type load(const T* p) {
  return *reinterpret_cast<const typename Vec<T>::type*>(p);
}
template <typename T>
inline void store(T* p, typename Vec<T>::type v) {
  *reinterpret_cast<typename Vec<T>::type*>(p) = v;
}

constexpr int kRows = 4;  // output rows kept in registers at once

// out[i, :] = (acc ? acc[i, :] : 0) + (bias ? bias : 0) + sum_k x[i, k] bt[k, :]
// for rows [begin, end); `bt` is W^T [K, NV * lanes], contiguous.
template <typename T, int NV>
SEQGRAPH_CLONES void rows_times_small(const T* x, int64_t k_in, const T* bt, const T* acc, const T* bias,
                                      T* out, int64_t begin, int64_t end) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  constexpr int N = NV * L;
  V b0[NV];
  for (int v = 0; v < NV; ++v) b0[v] = bias != nullptr ? load(bias + v * L) : V{};
  int64_t i = begin;
  for (; i + kRows <= end; i += kRows) {
    V c[kRows][NV];
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < NV; ++v) {
        c[r][v] = acc != nullptr ? b0[v] + load(acc + (i + r) * N + v * L) : b0[v];
      }
    }
    for (int64_t k = 0; k < k_in; ++k) {
      V bk[NV];
      for (int v = 0; v < NV; ++v) bk[v] = load(bt + k * N + v * L);
      for (int r = 0; r < kRows; ++r) {
        const T a = x[(i + r) * k_in + k];
        for (int v = 0; v < NV; ++v) c[r][v] += a * bk[v];
      }
    }
    for (int r = 0; r < kRows; ++r) {
      for (int v = 0; v < NV; ++v) store(out + (i + r) * N + v * L, c[r][v]);
    }
  }
  for (; i < end; ++i) {
    V c[NV];
    for (int v = 0; v < NV; ++v) c[v] = acc != nullptr ? b0[v] + load(acc + i * N + v * L) : b0[v];
    for (int64_t k = 0; k < k_in; ++k) {
      const T a = x[i * k_in + k];
      for (int v = 0; v < NV; ++v) c[v] += a * load(bt + k * N + v * L);
    }
    for (int v = 0; v < NV; ++v) store(out + i * N + v * L, c[v]);
  }
}

// wt[k, :] += sum_i x[i, k] g[i, :] and gsum += sum_i g[i, :] over rows
// [begin, end); `wt` is [K, NV * lanes]. Rows go in chunks that stay in L1;
// within a chunk, kBlock rows of wt are accumulated in registers.
constexpr int64_t kChunk = 128;
constexpr int kBlock = 4;

template <typename T, int NV>
SEQGRAPH_CLONES void weight_grad_rows(const T* x, int64_t k_in, const T* g, T* wt, T* gsum, int64_t begin,
                                      int64_t end) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  constexpr int N = NV * L;
  V s[NV];
  for (int v = 0; v < NV; ++v) s[v] = load(gsum + v * L);
  for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
    const int64_t c1 = c0 + kChunk < end ? c0 + kChunk : end;
    for (int64_t i = c0; i < c1; ++i) {
      for (int v = 0; v < NV; ++v) s[v] += load(g + i * N + v * L);
    }
    int64_t k = 0;
    for (; k + kBlock <= k_in; k += kBlock) {
      V w[kBlock][NV];
      for (int b = 0; b < kBlock; ++b) {
        for (int v = 0; v < NV; ++v) w[b][v] = load(wt + (k + b) * N + v * L);
      }
      for (int64_t i = c0; i < c1; ++i) {
        V gi[NV];
        for (int v = 0; v < NV; ++v) gi[v] = load(g + i * N + v * L);
        for (int b = 0; b < kBlock; ++b) {
          const T a = x[i * k_in + k + b];
          for (int v = 0; v < NV; ++v) w[b][v] += a * gi[v];
        }
      }
      for (int b = 0; b < kBlock; ++b) {
        for (int v = 0; v < NV; ++v) store(wt + (k + b) * N + v * L, w[b][v]);
      }
    }
    for (; k < k_in; ++k) {
      V w[NV];
      for (int v = 0; v < NV; ++v) w[v] = load(wt + k * N + v * L);
      for (int64_t i = c0; i < c1; ++i) {
        const T a = x[i * k_in + k];
        for (int v = 0; v < NV; ++v) w[v] += a * load(g + i * N + v * L);
      }
      for (int v = 0; v < NV; ++v) store(wt + k * N + v * L, w[v]);
    }
  }
  for (int v = 0; v < NV; ++v) store(gsum + v * L, s[v]);
}

constexpr int64_t kGrain = 4096;  // rows per parallel task

template <typename T>
int lanes_of() {
  return Vec<T>::lanes;
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
      switch (n / Vec<scalar_t>::lanes) {
        case 1: rows_times_small<scalar_t, 1>(xp, k, bp, ap, bias_p, op, begin, end); break;
        case 2: rows_times_small<scalar_t, 2>(xp, k, bp, ap, bias_p, op, begin, end); break;
        case 3: rows_times_small<scalar_t, 3>(xp, k, bp, ap, bias_p, op, begin, end); break;
        default: rows_times_small<scalar_t, 4>(xp, k, bp, ap, bias_p, op, begin, end); break;
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
      switch (n / Vec<scalar_t>::lanes) {
        case 1: weight_grad_rows<scalar_t, 1>(xp, k, gp, wp, sp, begin, end); break;
        case 2: weight_grad_rows<scalar_t, 2>(xp, k, gp, wp, sp, begin, end); break;
        case 3: weight_grad_rows<scalar_t, 3>(xp, k, gp, wp, sp, begin, end); break;
        default: weight_grad_rows<scalar_t, 4>(xp, k, gp, wp, sp, begin, end); break;
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

// Output width `n` the kernels take for `kind` (0 float, 1 double): a whole
// number of 64-byte vectors, at most four (float: 16, 32, 48, 64).
bool seqgraph_small_linear_fits(int64_t n, int kind) {
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
