// A sparse-dense product `A @ X` whose backward reuses a cached transpose.
//
// libtorch's own `mm(sparse, dense)` rebuilds `A^T` (a sort of the nonzeros)
// in every backward pass, and its COO forward kernel is several times slower
// than its CSR one. A graph's operator is built once and used for hundreds of
// steps, so this keeps a COO operator's CSR form and, per CSR structure, the
// structure of its transpose and the permutation of the values into it, and
// registers a custom autograd function: forward `A_csr @ X`, backward `dX =
// (A^T)_csr @ dY`. No gradient flows to `A` (callers only come here for a
// constant operator; a trainable one takes libtorch's path).
//
// Entries are keyed by a TensorImpl (the COO tensor; the CSR structure's
// crow_indices) and hold a weak reference to it, so an entry is rebuilt when
// its tensor has died (the address cannot be reused while the weak reference
// lives) and expired entries are dropped whenever a new one is added.

#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <unordered_map>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

namespace {

// The transpose of a CSR structure: `A^T` in CSR is `(crow_t, col_t,
// values[perm])` for any values on A's structure.
struct Transpose {
  c10::weak_intrusive_ptr<c10::TensorImpl> owner;  // what the entry was built for
  at::Tensor crow_t, col_t, perm;
};

// A COO operator's CSR form (its values never change once built).
struct Csr {
  c10::weak_intrusive_ptr<c10::TensorImpl> owner;
  at::Tensor csr;
};

std::mutex cache_mutex;
std::unordered_map<const c10::TensorImpl*, Transpose> transposes;  // keyed by crow_indices
std::unordered_map<const c10::TensorImpl*, Csr> csr_forms;         // keyed by the COO tensor

template <typename Map>
void prune(Map& map) {
  for (auto i = map.begin(); i != map.end();) {
    i = i->second.owner.expired() ? map.erase(i) : std::next(i);
  }
}

Transpose build_transpose(const at::Tensor& crow, const at::Tensor& col, int64_t cols) {
  at::NoGradGuard no_grad;
  int64_t rows = crow.numel() - 1;
  at::Tensor row = at::repeat_interleave(at::arange(rows, crow.options()), crow.diff());
  // Entries of A^T in row-major order: sort by (column, row) of A.
  at::Tensor key = col * rows + row;
  at::Tensor perm = std::get<1>(key.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  at::Tensor counts = at::bincount(col, {}, cols);
  at::Tensor crow_t = at::cat({at::zeros({1}, crow.options()), counts.cumsum(0)});
  return Transpose{c10::weak_intrusive_ptr<c10::TensorImpl>(crow.getIntrusivePtr()), crow_t,
                   row.index_select(0, perm), perm};
}

// `a` as CSR: itself, or a COO operator converted once.
at::Tensor csr_of(const at::Tensor& a) {
  if (a.layout() == at::kSparseCsr) return a;
  TORCH_CHECK(a.layout() == at::kSparse, "the operator must be sparse (COO or CSR), got layout ",
              a.layout());
  const c10::TensorImpl* key = a.unsafeGetTensorImpl();
  auto it = csr_forms.find(key);
  if (it != csr_forms.end() && !it->second.owner.expired()) return it->second.csr;
  prune(csr_forms);
  at::NoGradGuard no_grad;
  at::Tensor csr = a.coalesce().to_sparse_csr();
  csr_forms.insert_or_assign(key, Csr{c10::weak_intrusive_ptr<c10::TensorImpl>(a.getIntrusivePtr()), csr});
  return csr;
}

// The CSR forms of `a` and of its transpose; the transposed structure is
// built once per structure (the crow_indices tensor), the values gathered
// each call (they may change: dropout on sparse features).
std::pair<at::Tensor, at::Tensor> operators(const at::Tensor& a) {
  std::lock_guard<std::mutex> guard(cache_mutex);
  at::Tensor forward = csr_of(a);
  at::Tensor crow = forward.crow_indices();
  const c10::TensorImpl* key = crow.unsafeGetTensorImpl();
  auto it = transposes.find(key);
  if (it == transposes.end() || it->second.owner.expired()) {
    prune(transposes);
    it = transposes.insert_or_assign(key, build_transpose(crow, forward.col_indices(), forward.size(1)))
             .first;
  }
  const Transpose& t = it->second;
  at::Tensor values = forward.values().detach().index_select(0, t.perm);
  at::Tensor backward = at::sparse_csr_tensor(t.crow_t, t.col_t, values, {forward.size(1), forward.size(0)},
                                              values.options().layout(at::kSparseCsr));
  return {forward, backward};
}

struct CachedSparseMm : public torch::autograd::Function<CachedSparseMm> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& a, const at::Tensor& a_t) {
    ctx->saved_data["a_t"] = a_t;
    return at::mm(a, x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    at::Tensor a_t = ctx->saved_data["a_t"].toTensor();
    return {at::mm(a_t, grads[0].contiguous()), at::Tensor(), at::Tensor()};
  }
};

void write_error(char* err, size_t len, const char* msg) {
  if (err != nullptr && len > 0) {
    std::snprintf(err, len, "%s", msg);
  }
}

}  // namespace

extern "C" {

// `*out = A @ X` for a sparse (COO or CSR) `a` [n, m] and a dense 2-D `x`
// [m, k] of the same dtype and device. Returns 0, or 1 with a message in
// `err` (at most `err_len` bytes, NUL-terminated).
int seqgraph_cached_sparse_mm(const at::Tensor* a, const at::Tensor* x, at::Tensor** out, char* err,
                              size_t err_len) {
  try {
    auto ops = operators(*a);
    *out = new at::Tensor(CachedSparseMm::apply(*x, ops.first, ops.second));
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

// Number of cached entries (transposed structures and COO operators' CSR
// forms, live or not yet pruned).
size_t seqgraph_cached_sparse_mm_entries() {
  std::lock_guard<std::mutex> guard(cache_mutex);
  return transposes.size() + csr_forms.size();
}

// Drops every cached entry; returns how many there were.
size_t seqgraph_cached_sparse_mm_clear() {
  std::lock_guard<std::mutex> guard(cache_mutex);
  size_t n = transposes.size() + csr_forms.size();
  transposes.clear();
  csr_forms.clear();
  return n;
}
}
