// A sparse-dense product `acc + A @ X` whose backward reuses a cached
// transpose.
//
// libtorch's own `mm(sparse, dense)` rebuilds `A^T` (a sort of the nonzeros)
// in every backward pass, and its COO forward kernel is several times slower
// than its CSR one. A graph's operator is built once and used for hundreds of
// steps, so this keeps a COO operator's CSR form and, per CSR structure, the
// structure of its transpose and the permutation of the values into it, and
// registers a custom autograd function: forward `acc + A_csr @ X`, backward
// `dX = (A^T)_csr @ dY`, `d acc = dY`. The accumulator lets a graph filter add
// its other terms while the product's rows are in registers, instead of in a
// pass of its own. No gradient flows to `A` (callers only come here for a
// constant operator; a trainable one takes libtorch's path).
//
// Entries are keyed by the COO tensor's TensorImpl or by the storage of a
// CSR structure's crow_indices, and hold a weak reference to it, so an entry is rebuilt when
// its tensor has died (the address cannot be reused while the weak reference
// lives) and expired entries are dropped whenever a new one is added.

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include "shim.h"

namespace {

// The transpose of a CSR structure: `A^T` in CSR is `(crow_t, col_t,
// values[perm])` for any values on A's structure.
struct Transpose {
  c10::weak_intrusive_ptr<c10::StorageImpl> owner;  // crow_indices' storage
  int64_t offset;
  at::Tensor crow_t, col_t, perm;
};

// A COO operator's CSR form and its transpose's (its values never change
// once built).
struct Coo {
  c10::weak_intrusive_ptr<c10::TensorImpl> owner;
  at::Tensor forward, backward;
};

std::mutex cache_mutex;
// Keyed by the storage of a CSR structure's crow_indices: `crow_indices()`
// returns a fresh alias each call, but the storage is the structure's own.
std::unordered_map<const c10::StorageImpl*, Transpose> transposes;
std::unordered_map<const c10::TensorImpl*, Coo> coo_forms;  // keyed by the COO tensor

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
  return Transpose{crow.storage().getWeakStorageImpl(), crow.storage_offset(), crow_t,
                   row.index_select(0, perm), perm};
}

const Transpose& transpose_of(const at::Tensor& csr) {
  at::Tensor crow = csr.crow_indices();
  const c10::StorageImpl* key = crow.storage().unsafeGetStorageImpl();
  auto it = transposes.find(key);
  if (it == transposes.end() || it->second.owner.expired() ||
      it->second.offset != crow.storage_offset()) {
    prune(transposes);
    it = transposes.insert_or_assign(key, build_transpose(crow, csr.col_indices(), csr.size(1))).first;
  }
  return it->second;
}

// `A^T` as CSR from `A` (CSR) and its transpose's structure.
at::Tensor transposed(const at::Tensor& csr, const at::Tensor& crow_t, const at::Tensor& col_t,
                      const at::Tensor& perm) {
  at::NoGradGuard no_grad;
  at::Tensor values = csr.values().index_select(0, perm);
  return at::_sparse_csr_tensor_unsafe(crow_t, col_t, values, {csr.size(1), csr.size(0)},
                                       values.options().layout(at::kSparseCsr));
}

// Columns [k, k + NV * L) of output row `i` of `acc + A @ X`: NV vectors of
// L lanes, started from the accumulator's row `a` (zero when null), held in
// registers while the row's nonzeros `[p0, p1)` are added in, then stored
// once.
template <typename V, typename T, typename I, int NV>
SEQGRAPH_INLINE void csr_block(const I* col, const T* val, const T* x, int64_t w, const T* a, T* o,
                               int64_t p0, int64_t p1, int64_t k) {
  constexpr int L = sizeof(V) / sizeof(T);
  V acc[NV] = {};
  if (a != nullptr) {
    for (int j = 0; j < NV; ++j) acc[j] = *reinterpret_cast<const V*>(a + k + j * L);
  }
  for (int64_t p = p0; p < p1; ++p) {
    const T v = val[p];
    const T* xr = x + static_cast<int64_t>(col[p]) * w + k;
    for (int j = 0; j < NV; ++j) acc[j] += v * *reinterpret_cast<const V*>(xr + j * L);
  }
  for (int j = 0; j < NV; ++j) *reinterpret_cast<V*>(o + k + j * L) = acc[j];
}

// Output rows [begin, end) of `acc + A @ X` for a CSR `A`, a row-major `X`
// of width `w` and a row-major `acc` of the output's shape (or null), each
// written once (a row with no nonzeros is its `acc` row, or zero): blocks of
// 8 vectors of `B` bytes, then single vectors (a 16-wide hidden layer), then
// the last columns one at a time.
template <typename T, typename I, int B>
SEQGRAPH_INLINE void csr_rows_blocked(const I* crow, const I* col, const T* val, const T* x, int64_t w,
                                      const T* acc, T* out, int64_t begin, int64_t end) {
  typedef T V __attribute__((vector_size(B), aligned(sizeof(T)), may_alias));
  constexpr int L = B / sizeof(T);
  constexpr int NV = 8;  // 8 accumulators: half the registers of AVX2
  for (int64_t i = begin; i < end; ++i) {
    T* o = out + i * w;
    const T* a = acc != nullptr ? acc + i * w : nullptr;
    const int64_t p0 = crow[i], p1 = crow[i + 1];
    int64_t k = 0;
    for (; k + NV * L <= w; k += NV * L) csr_block<V, T, I, NV>(col, val, x, w, a, o, p0, p1, k);
    for (; k + L <= w; k += L) csr_block<V, T, I, 1>(col, val, x, w, a, o, p0, p1, k);
    for (; k < w; ++k) {
      T sum = a != nullptr ? a[k] : T(0);
      for (int64_t p = p0; p < p1; ++p) sum += val[p] * x[static_cast<int64_t>(col[p]) * w + k];
      o[k] = sum;
    }
  }
}

#ifdef SEQGRAPH_X86
template <typename T, typename I>
SEQGRAPH_AVX2 void csr_rows_avx2(const I* crow, const I* col, const T* val, const T* x, int64_t w,
                                 const T* acc, T* out, int64_t begin, int64_t end) {
  csr_rows_blocked<T, I, 32>(crow, col, val, x, w, acc, out, begin, end);
}
#endif

template <typename T, typename I>
void csr_rows(const I* crow, const I* col, const T* val, const T* x, int64_t w, const T* acc, T* out,
              int64_t begin, int64_t end) {
#ifdef SEQGRAPH_X86
  if (seqgraph::cpu_has_avx2_fma()) return csr_rows_avx2<T, I>(crow, col, val, x, w, acc, out, begin, end);
#endif
  csr_rows_blocked<T, I, 16>(crow, col, val, x, w, acc, out, begin, end);
}

// `acc + A @ X` for a CSR `A` [n, m], a dense `X` [m, w] and an `acc`
// [n, w] (undefined: `A @ X`). libtorch's `mm(sparse, dense)` first fills a
// zero tensor and copies it into its result before MKL's product (three
// passes over the output; on a 10,000-node GConvGRU step the fill and the
// copy took longer than the product). This writes each output row once.
// Other dtypes and devices take `mm`.
at::Tensor csr_times(const at::Tensor& a, const at::Tensor& x_in, const at::Tensor& acc_in) {
  if (a.dim() != 2 || x_in.dim() != 2 || a.scalar_type() != x_in.scalar_type() ||
      (x_in.scalar_type() != at::kFloat && x_in.scalar_type() != at::kDouble) || !x_in.device().is_cpu()) {
    return acc_in.defined() ? at::add(acc_in, at::mm(a, x_in)) : at::mm(a, x_in);
  }
  TORCH_CHECK(a.size(1) == x_in.size(0), "mat1 and mat2 shapes cannot be multiplied (", a.size(0), "x",
              a.size(1), " and ", x_in.size(0), "x", x_in.size(1), ")");
  TORCH_CHECK(!acc_in.defined() || (acc_in.dim() == 2 && acc_in.size(0) == a.size(0) &&
                                    acc_in.size(1) == x_in.size(1) && acc_in.scalar_type() == x_in.scalar_type()),
              "the accumulator must be [", a.size(0), ", ", x_in.size(1), "] of the product's dtype, got ",
              acc_in.sizes());
  at::Tensor x = x_in.contiguous();
  at::Tensor acc = acc_in.defined() ? acc_in.contiguous() : at::Tensor();
  at::Tensor crow = a.crow_indices().contiguous(), col = a.col_indices().contiguous();
  at::Tensor values = a.values().contiguous();
  const int64_t n = a.size(0), w = x.size(1);
  at::Tensor out = at::empty({n, w}, x.options());
  if (n == 0 || w == 0) return out;
  // Rows per task: about 16 Ki output elements.
  const int64_t grain = std::max<int64_t>(1, (int64_t{16} << 10) / std::max<int64_t>(w, 1));
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "csr_times", [&] {
    AT_DISPATCH_INDEX_TYPES(crow.scalar_type(), "csr_times_index", [&] {
      const index_t* cp = crow.data_ptr<index_t>();
      const index_t* colp = col.data_ptr<index_t>();
      const scalar_t* vp = values.data_ptr<scalar_t>();
      const scalar_t* xp = x.data_ptr<scalar_t>();
      const scalar_t* ap = acc.defined() ? acc.data_ptr<scalar_t>() : nullptr;
      scalar_t* op = out.data_ptr<scalar_t>();
      at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
        csr_rows<scalar_t, index_t>(cp, colp, vp, xp, w, ap, op, begin, end);
      });
    });
  });
  return out;
}

// What a product needs: `A` as CSR, and either `A^T` (COO operators, built
// once) or the transpose's structure (CSR inputs, values gathered in the
// backward pass only).
struct Plan {
  at::Tensor forward, backward, crow_t, col_t, perm;
};

Plan plan_for(const at::Tensor& a) {
  std::lock_guard<std::mutex> guard(cache_mutex);
  if (a.layout() == at::kSparseCsr) {
    const Transpose& t = transpose_of(a);
    return Plan{a, at::Tensor(), t.crow_t, t.col_t, t.perm};
  }
  TORCH_CHECK(a.layout() == at::kSparse, "the operator must be sparse (COO or CSR), got layout ",
              a.layout());
  const c10::TensorImpl* key = a.unsafeGetTensorImpl();
  auto it = coo_forms.find(key);
  if (it == coo_forms.end() || it->second.owner.expired()) {
    prune(coo_forms);
    at::NoGradGuard no_grad;
    at::Tensor forward = a.coalesce().to_sparse_csr();
    const Transpose& t = transpose_of(forward);
    at::Tensor backward = transposed(forward, t.crow_t, t.col_t, t.perm);
    it = coo_forms
             .insert_or_assign(key, Coo{c10::weak_intrusive_ptr<c10::TensorImpl>(a.getIntrusivePtr()),
                                        forward, backward})
             .first;
  }
  return Plan{it->second.forward, it->second.backward, at::Tensor(), at::Tensor(), at::Tensor()};
}

struct CachedSparseMm : public torch::autograd::Function<CachedSparseMm> {
  // The plan is not an autograd input (no gradient flows to the operator):
  // its tensors travel by value and are saved for the backward pass. An
  // absent accumulator comes as an empty tensor (autograd functions take
  // defined tensors only).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& acc,
                            const Plan& plan) {
    ctx->saved_data["acc"] = acc.numel() > 0;
    ctx->saved_data["a"] = plan.forward;
    ctx->saved_data["a_t"] = plan.backward;
    ctx->saved_data["crow_t"] = plan.crow_t;
    ctx->saved_data["col_t"] = plan.col_t;
    ctx->saved_data["perm"] = plan.perm;
    return csr_times(plan.forward, x, acc.numel() > 0 ? acc : at::Tensor());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    at::Tensor a_t = ctx->saved_data["a_t"].toTensor();
    if (!a_t.defined()) {
      a_t = transposed(ctx->saved_data["a"].toTensor(), ctx->saved_data["crow_t"].toTensor(),
                       ctx->saved_data["col_t"].toTensor(), ctx->saved_data["perm"].toTensor());
    }
    at::Tensor none;
    at::Tensor dx = ctx->needs_input_grad(0) ? csr_times(a_t, grads[0], none) : none;
    return {dx, ctx->saved_data["acc"].toBool() ? grads[0] : none, none};
  }
};

// libtorch prints "Sparse CSR tensor support is in beta state" the first time
// a process makes a CSR tensor. seqgraph makes them on purpose (this product,
// sparse features); the message is nothing a user can act on, so it is
// dropped. Every other warning goes to the handler that was in place.
class QuietCsrBeta : public c10::WarningHandler {
 public:
  explicit QuietCsrBeta(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::Warning& warning) override {
    if (warning.msg().find("Sparse CSR tensor support is in beta state") == std::string::npos) {
      next_->process(warning);
    }
  }

 private:
  c10::WarningHandler* next_;
};

// The warning is a TORCH_WARN_ONCE: once emitted, on any thread, it never
// comes again. So when the program loads (libtorch's own initialisation has
// run by then: it is a shared library) one CSR tensor is made here with the
// filter in place on this thread, and the message is used up unseen.
const bool csr_beta_warning_used_up = [] {
  try {
    QuietCsrBeta handler(c10::WarningUtils::get_warning_handler());
    c10::WarningUtils::WarningHandlerGuard guard(&handler);
    at::zeros({1, 1}).to_sparse_csr();
  } catch (...) {
  }
  return true;
}();

}  // namespace

extern "C" {

// `*out = acc + A @ X` for a sparse (COO or CSR) `a` [n, m], a dense 2-D `x`
// [m, k] and `acc` [n, k] (null: `A @ X`), all of one dtype and device.
// Returns 0, or 1 with a message in `err` (at most `err_len` bytes,
// NUL-terminated).
int seqgraph_cached_sparse_mm(const at::Tensor* acc, const at::Tensor* a, const at::Tensor* x, at::Tensor** out,
                              char* err, size_t err_len) {
  return seqgraph::tensor_or_error(
      [&] {
        // An absent accumulator is an empty tensor (and gets no gradient).
        at::Tensor none = at::empty({0}, x->options());
        return CachedSparseMm::apply(*x, acc != nullptr ? *acc : none, plan_for(*a));
      },
      out, err, err_len);
}

// Whether `t` has a sparse layout (COO, CSR, CSC, BSR, BSC). tch has no
// layout query, and probing with `crow_indices` throws on a dense tensor
// (5 ms per call: c10::Error records a backtrace).
bool seqgraph_tensor_is_sparse(const at::Tensor* t) {
  return t->defined() && t->layout() != at::kStrided && t->layout() != at::kMkldnn &&
         t->layout() != at::kJagged;
}

// Number of cached entries (transposed structures and COO operators' CSR
// forms, live or not yet pruned).
size_t seqgraph_cached_sparse_mm_entries() {
  std::lock_guard<std::mutex> guard(cache_mutex);
  return transposes.size() + coo_forms.size();
}

// Drops every cached entry; returns how many there were.
size_t seqgraph_cached_sparse_mm_clear() {
  std::lock_guard<std::mutex> guard(cache_mutex);
  size_t n = transposes.size() + coo_forms.size();
  transposes.clear();
  coo_forms.clear();
  return n;
}
}
