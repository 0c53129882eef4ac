// Inner products of row pairs, `out[e] = z[src[e]] . z[dst[e]]`, as one
// custom autograd function (the inner-product decoder of link prediction).
//
// Written with libtorch's ops it is two `index_select`s, a product and a sum;
// each `index_select`'s backward is an `index_add` that sorts its indices
// (libtorch's scatter path) and fills an [N, d] zero block. On a GAE step on
// Cora those four backward passes cost more than the encoder's sparse
// products. Here the forward is one pass over the pairs and the backward one
// more: `dz[src[e]] += g[e] z[dst[e]]`, `dz[dst[e]] += g[e] z[src[e]]`.
// The gradient flows to `z` only (ids are integers); it is not itself
// differentiable (no double backward).


#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "shim.h"

namespace {

void check_ids(const int64_t* ids, int64_t p, int64_t n, const char* what) {
  for (int64_t e = 0; e < p; ++e) {
    TORCH_CHECK(ids[e] >= 0 && ids[e] < n, "pair_dot: ", what, " holds node id ", ids[e],
                ", outside 0..", n);
  }
}

template <typename T>
void forward_pairs(const T* z, int64_t d, const int64_t* src, const int64_t* dst, int64_t p, T* out) {
  at::parallel_for(0, p, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const T* a = z + src[e] * d;
      const T* b = z + dst[e] * d;
      T s = 0;
      for (int64_t k = 0; k < d; ++k) s += a[k] * b[k];
      out[e] = s;
    }
  });
}

// One thread: pairs share rows, so a parallel scatter would race.
template <typename T>
void backward_pairs(const T* z, int64_t d, const int64_t* src, const int64_t* dst, int64_t p,
                    const T* g, T* dz) {
  for (int64_t e = 0; e < p; ++e) {
    const T* a = z + src[e] * d;
    const T* b = z + dst[e] * d;
    T* da = dz + src[e] * d;
    T* db = dz + dst[e] * d;
    const T ge = g[e];
    for (int64_t k = 0; k < d; ++k) {
      da[k] += ge * b[k];
      db[k] += ge * a[k];
    }
  }
}

struct PairDot : public torch::autograd::Function<PairDot> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& z_in,
                            const at::Tensor& src_in, const at::Tensor& dst_in) {
    at::Tensor z = z_in.contiguous(), src = src_in.contiguous(), dst = dst_in.contiguous();
    int64_t n = z.size(0), d = z.size(1), p = src.numel();
    check_ids(src.data_ptr<int64_t>(), p, n, "src");
    check_ids(dst.data_ptr<int64_t>(), p, n, "dst");
    at::Tensor out = at::empty({p}, z.options());
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "pair_dot", [&] {
      forward_pairs(z.data_ptr<scalar_t>(), d, src.data_ptr<int64_t>(), dst.data_ptr<int64_t>(), p,
                    out.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({z, src, dst});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor z = saved[0], src = saved[1], dst = saved[2];
    at::Tensor g = grads[0].contiguous();
    at::Tensor dz = at::zeros_like(z);
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "pair_dot_backward", [&] {
      backward_pairs(z.data_ptr<scalar_t>(), z.size(1), src.data_ptr<int64_t>(),
                     dst.data_ptr<int64_t>(), src.numel(), g.data_ptr<scalar_t>(),
                     dz.data_ptr<scalar_t>());
    });
    return {dz, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

// `*out = (z[src] * z[dst]).sum(1)` for a CPU float or double `z` [n, d] and
// int64 `src`, `dst` [p] (shapes, kinds and device checked by the caller; ids
// checked here). Returns 0, or 1 with a message in `err` (at most `err_len`
// bytes, NUL-terminated).
int seqgraph_pair_dot(const at::Tensor* z, const at::Tensor* src, const at::Tensor* dst,
                      at::Tensor** out, char* err, size_t err_len) {
  return seqgraph::tensor_or_error([&] { return PairDot::apply(*z, *src, *dst); }, out, err, err_len);
}
}
