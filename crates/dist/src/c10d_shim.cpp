// A thin C API over libtorch's c10d: a TCPStore for rendezvous and a Gloo
// process group over it, with in-place all-reduce and broadcast of at::Tensor
// handles (tch's C_tensor is an at::Tensor*).
//
// The pip build of libtorch installs the c10d headers but not Gloo's, and
// ProcessGroupGloo.hpp includes <gloo/...>: it cannot be compiled against.
// libtorch_cpu.so does export ProcessGroupGloo's constructor and
// Options::create_default, and once built a Gloo group is used through the
// abstract c10d::Backend (Backend.hpp needs no Gloo header). So this file
// declares those two functions by their exported (Itanium-mangled) names and
// constructs the group in memory of the class's size, which is not in any
// header either: 488 bytes in libtorch 2.13.0 (the `operator new(0x1e8)`
// before the constructor call in ProcessGroupGloo::split). Both are specific
// to the libtorch version; build.rs checks the version.

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>

namespace {

using OptionsPtr = c10::intrusive_ptr<c10d::Backend::Options>;

// c10d::ProcessGroupGloo::Options::create_default(std::chrono::milliseconds):
// Gloo options whose device is the interfaces in GLOO_SOCKET_IFNAME, else
// the host name's address, else loopback. Options derives from
// Backend::Options alone, so the returned pointer is one to the base too.
OptionsPtr gloo_options_create_default(std::chrono::milliseconds timeout) __asm__(
    "_ZN4c10d16ProcessGroupGloo7Options14create_defaultENSt6chrono8durationIlSt5ratioILl1ELl1000EEEE");

// c10d::ProcessGroupGloo::ProcessGroupGloo(const intrusive_ptr<Store>&, int
// rank, int size, intrusive_ptr<Options>) (complete-object constructor;
// `this` is the first argument in the Itanium ABI).
void gloo_construct(void* self, const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                    OptionsPtr options) __asm__(
    "_ZN4c10d16ProcessGroupGlooC1ERKN3c1013intrusive_ptrINS_5StoreENS1_6detail34intrusive_"
    "target_default_null_typeIS3_EEEEiiNS2_INS0_7OptionsENS5_ISA_EEEE");

constexpr std::size_t kProcessGroupGlooSize = 488;

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

char* copy_message(const char* what) {
  char* out = static_cast<char*>(std::malloc(std::strlen(what) + 1));
  if (out != nullptr) std::strcpy(out, what);
  return out;
}

template <typename F>
int guarded(char** err, F&& f) {
  try {
    f();
    return 0;
  } catch (const c10::Error& e) {
    // Without the C++ backtrace c10 appends to what(): the message is for people.
    *err = copy_message(e.what_without_backtrace());
  } catch (const std::exception& e) {
    *err = copy_message(e.what());
  } catch (...) {
    *err = copy_message("unknown C++ exception");
  }
  return 1;
}

std::vector<at::Tensor> tensors_of(at::Tensor** ts, std::size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(*ts[i]);  // shares storage
  return out;
}

}  // namespace

extern "C" {

// Rank 0 serves the store on host:port; every rank then joins a Gloo group of
// `world` ranks. Returns null and sets *err on failure.
void* seqgraph_pg_new(const char* host, std::uint16_t port, int rank, int world, std::int64_t timeout_ms,
                      char** err) {
  Group* group = nullptr;
  guarded(err, [&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions opts;
    opts.port = port;
    opts.isServer = rank == 0;
    opts.numWorkers = static_cast<std::size_t>(world);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(host), opts);
    // Every rank states its world size and compares it with rank 0's, so a
    // rank started with another size is named at once instead of leaving
    // Gloo to wait for a rank that will never come.
    auto as_bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
    auto as_string = [](const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); };
    store->set("seqgraph/world/" + std::to_string(rank), as_bytes(std::to_string(world)));
    for (int other = 0; other < (rank == 0 ? world : 1); ++other) {
      if (other == rank) continue;
      auto theirs = as_string(store->get("seqgraph/world/" + std::to_string(other)));
      if (theirs != std::to_string(world)) {
        throw std::runtime_error("world size mismatch: rank " + std::to_string(other) +
                                 " was started with a world size of " + theirs + ", rank " +
                                 std::to_string(rank) + " with " + std::to_string(world));
      }
    }
    auto options = gloo_options_create_default(timeout);
    void* memory = ::operator new(kProcessGroupGlooSize);
    try {
      gloo_construct(memory, c10::intrusive_ptr<c10d::Store>(store), rank, world, options);
    } catch (...) {
      ::operator delete(memory);
      throw;
    }
    auto backend = c10::intrusive_ptr<c10d::Backend>::unsafe_steal_from_new(static_cast<c10d::Backend*>(memory));
    group = new Group{store, backend};
  });
  return group;
}

int seqgraph_pg_rank(void* g) { return static_cast<Group*>(g)->backend->getRank(); }

int seqgraph_pg_size(void* g) { return static_cast<Group*>(g)->backend->getSize(); }

// Sums `n` tensors over all ranks, in place, and waits for the result.
int seqgraph_pg_allreduce_sum(void* g, at::Tensor** ts, std::size_t n, char** err) {
  return guarded(err, [&] {
    auto tensors = tensors_of(ts, n);
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    // Gloo's list form is one tensor per device (all the same shape): one
    // collective per tensor here (the Rust side buckets same-kind tensors).
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      static_cast<Group*>(g)->backend->allreduce(one, opts)->wait();
    }
  });
}

// Copies `root`'s tensors into every rank's, in place, and waits.
int seqgraph_pg_broadcast(void* g, at::Tensor** ts, std::size_t n, int root, char** err) {
  return guarded(err, [&] {
    auto tensors = tensors_of(ts, n);
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    // One collective per tensor, as in allreduce.
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      static_cast<Group*>(g)->backend->broadcast(one, opts)->wait();
    }
  });
}

void seqgraph_pg_free(void* g) { delete static_cast<Group*>(g); }

void seqgraph_free_message(char* m) { std::free(m); }

}  // extern "C"
