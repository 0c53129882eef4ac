// The GRU's state update `h' = (1 - z) * tanh(p) + z * h` as one custom
// autograd function: forward one pass over `p`, `h`, `z` writing `h'` and
// `n = tanh(p)` (kept for the backward pass), backward one pass writing
// `dp = g (1 - z) (1 - n^2)`, `dz = g (h - n)`, `dh = g z`.
//
// Composed from libtorch's operators the update is a tanh, a lerp and, in
// the backward pass, five elementwise products and sums plus tanh's
// backward: about twice the memory traffic, and libtorch's float tanh (MKL's
// high-accuracy one) took 8 % of a 10,000-node GConvGRU step on its own.
// Float tensors on an x86-64 CPU with AVX2 and FMA take the vector loop
// below (tanh to within 2 ulp of the exact value); everything else takes a scalar
// loop over std::tanh.

#include <cmath>
#include <cstdint>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#ifdef __x86_64__
#include <immintrin.h>
#endif

#include "shim.h"

namespace {

constexpr int64_t kGrain = 32768;  // elements per parallel task

template <typename T>
void forward_scalar(const T* p, const T* h, const T* z, T* n, T* out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const T t = std::tanh(p[i]);
    n[i] = t;
    out[i] = t + z[i] * (h[i] - t);
  }
}

template <typename T>
void backward_scalar(const T* g, const T* h, const T* z, const T* n, T* dp, T* dh, T* dz, int64_t begin,
                     int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const T gi = g[i], zi = z[i], ni = n[i];
    dp[i] = gi * (T(1) - zi) * (T(1) - ni * ni);
    dz[i] = gi * (h[i] - ni);
    dh[i] = gi * zi;
  }
}

#ifdef SEQGRAPH_X86
// e^y for y in [0, 88] (Cephes' expf: y = n ln 2 + r, |r| <= ln 2 / 2, a
// degree-6 polynomial in r, then 2^n in the exponent bits).
SEQGRAPH_AVX2 SEQGRAPH_INLINE __m256 exp_avx2(__m256 y) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), y);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 q = _mm256_set1_ps(1.9875691500e-4f);
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.3981999507e-3f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(8.3334519073e-3f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(4.1665795894e-2f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.6666665459e-1f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(5.0000001201e-1f));
  q = _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(q, _mm256_castsi256_ps(bits));
}

// tanh(x): Cephes' tanhf, an odd polynomial below |x| = 0.625 and
// 1 - 2 / (e^(2|x|) + 1) with x's sign above; NaN stays NaN.
SEQGRAPH_AVX2 SEQGRAPH_INLINE __m256 tanh_avx2(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 a = _mm256_andnot_ps(sign, x);
  const __m256 s = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, s), x, x);
  // e^(2|x|) overflows float past 88: tanh is 1 there to float precision.
  const __m256 e = exp_avx2(_mm256_min_ps(_mm256_add_ps(a, a), _mm256_set1_ps(88.0f)));
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  large = _mm256_or_ps(large, _mm256_and_ps(sign, x));
  __m256 t = _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
  return _mm256_blendv_ps(t, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

SEQGRAPH_AVX2 void forward_avx2(const float* p, const float* h, const float* z, float* n, float* out,
                                int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 t = tanh_avx2(_mm256_loadu_ps(p + i));
    const __m256 hv = _mm256_loadu_ps(h + i), zv = _mm256_loadu_ps(z + i);
    _mm256_storeu_ps(n + i, t);
    _mm256_storeu_ps(out + i, _mm256_fmadd_ps(zv, _mm256_sub_ps(hv, t), t));
  }
  if (i < end) {
    // The tail through the same vector tanh, so every element agrees.
    alignas(32) float buf[2][8] = {};
    const int64_t rest = end - i;
    for (int64_t j = 0; j < rest; ++j) buf[0][j] = p[i + j];
    _mm256_store_ps(buf[1], tanh_avx2(_mm256_load_ps(buf[0])));
    for (int64_t j = 0; j < rest; ++j) {
      const float t = buf[1][j];
      n[i + j] = t;
      out[i + j] = t + z[i + j] * (h[i + j] - t);
    }
  }
}

SEQGRAPH_AVX2 void backward_avx2(const float* g, const float* h, const float* z, const float* n, float* dp,
                                 float* dh, float* dz, int64_t begin, int64_t end) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 gv = _mm256_loadu_ps(g + i), zv = _mm256_loadu_ps(z + i), nv = _mm256_loadu_ps(n + i);
    const __m256 hv = _mm256_loadu_ps(h + i);
    const __m256 dtanh = _mm256_fnmadd_ps(nv, nv, one);
    _mm256_storeu_ps(dp + i, _mm256_mul_ps(_mm256_mul_ps(gv, _mm256_sub_ps(one, zv)), dtanh));
    _mm256_storeu_ps(dz + i, _mm256_mul_ps(gv, _mm256_sub_ps(hv, nv)));
    _mm256_storeu_ps(dh + i, _mm256_mul_ps(gv, zv));
  }
  backward_scalar<float>(g, h, z, n, dp, dh, dz, i, end);
}
#endif

// Elements [begin, end) of each pass: the vector loop for float where the
// CPU has it, the scalar loop otherwise.
void forward_range(const float* p, const float* h, const float* z, float* n, float* out, int64_t begin,
                   int64_t end) {
#ifdef SEQGRAPH_X86
  if (seqgraph::cpu_has_avx2_fma()) return forward_avx2(p, h, z, n, out, begin, end);
#endif
  forward_scalar<float>(p, h, z, n, out, begin, end);
}
void forward_range(const double* p, const double* h, const double* z, double* n, double* out, int64_t begin,
                   int64_t end) {
  forward_scalar<double>(p, h, z, n, out, begin, end);
}
void backward_range(const float* g, const float* h, const float* z, const float* n, float* dp, float* dh,
                    float* dz, int64_t begin, int64_t end) {
#ifdef SEQGRAPH_X86
  if (seqgraph::cpu_has_avx2_fma()) return backward_avx2(g, h, z, n, dp, dh, dz, begin, end);
#endif
  backward_scalar<float>(g, h, z, n, dp, dh, dz, begin, end);
}
void backward_range(const double* g, const double* h, const double* z, const double* n, double* dp, double* dh,
                    double* dz, int64_t begin, int64_t end) {
  backward_scalar<double>(g, h, z, n, dp, dh, dz, begin, end);
}

std::pair<at::Tensor, at::Tensor> forward_kernel(const at::Tensor& p, const at::Tensor& h, const at::Tensor& z) {
  at::Tensor n = at::empty_like(p), out = at::empty_like(p);
  const int64_t count = p.numel();
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "gru_update", [&] {
    const scalar_t *pp = p.data_ptr<scalar_t>(), *hp = h.data_ptr<scalar_t>(), *zp = z.data_ptr<scalar_t>();
    scalar_t *np = n.data_ptr<scalar_t>(), *op = out.data_ptr<scalar_t>();
    at::parallel_for(0, count, kGrain,
                     [&](int64_t begin, int64_t end) { forward_range(pp, hp, zp, np, op, begin, end); });
  });
  return {n, out};
}

struct GruUpdate : public torch::autograd::Function<GruUpdate> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& p_in, const at::Tensor& h_in,
                            const at::Tensor& z_in) {
    at::Tensor p = p_in.contiguous(), h = h_in.contiguous(), z = z_in.contiguous();
    auto [n, out] = forward_kernel(p, h, z);
    ctx->save_for_backward({h, z, n});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor h = saved[0], z = saved[1], n = saved[2];
    at::Tensor g = grads[0].contiguous();
    at::Tensor dp = at::empty_like(n), dh = at::empty_like(n), dz = at::empty_like(n);
    const int64_t count = n.numel();
    AT_DISPATCH_FLOATING_TYPES(n.scalar_type(), "gru_update_backward", [&] {
      const scalar_t *gp = g.data_ptr<scalar_t>(), *hp = h.data_ptr<scalar_t>(), *zp = z.data_ptr<scalar_t>();
      const scalar_t* np = n.data_ptr<scalar_t>();
      scalar_t *dpp = dp.data_ptr<scalar_t>(), *dhp = dh.data_ptr<scalar_t>(), *dzp = dz.data_ptr<scalar_t>();
      at::parallel_for(0, count, kGrain, [&](int64_t begin, int64_t end) {
        backward_range(gp, hp, zp, np, dpp, dhp, dzp, begin, end);
      });
    });
    return {dp, dh, dz};
  }
};

}  // namespace

extern "C" {

// `*out = (1 - z) * tanh(p) + z * h` for CPU float or double tensors of one
// shape (checked by the caller), with gradients to all three. Returns 0, or 1
// with a message in `err` (at most `err_len` bytes, NUL-terminated).
int seqgraph_gru_update(const at::Tensor* p, const at::Tensor* h, const at::Tensor* z, at::Tensor** out, char* err,
                        size_t err_len) {
  return seqgraph::tensor_or_error([&] { return GruUpdate::apply(*p, *h, *z); }, out, err, err_len);
}

// The tanh the update uses, without autograd (for the tests): `*out = tanh(x)`.
int seqgraph_gru_update_tanh(const at::Tensor* x, at::Tensor** out, char* err, size_t err_len) {
  return seqgraph::tensor_or_error(
      [&] {
        at::Tensor zero = at::zeros_like(*x);
        return forward_kernel(x->contiguous(), zero, zero).first;
      },
      out, err, err_len);
}
}
