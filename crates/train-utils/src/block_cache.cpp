// A CPU allocator for libtorch that keeps freed large blocks for reuse.
//
// libtorch's default CPU allocator hands every block to malloc. glibc serves
// blocks from its mmap threshold up (32 MiB here, train_utils::memory) with
// fresh mappings and unmaps them when freed, so a training step that
// allocates and frees the same large activations at every time step pays the
// kernel for zeroing every page again: on a 10,000-node GConvGRU step that
// was half of the time (`perf`: clear_page_erms). Keeping such blocks on the
// heap instead fragments it (the peak doubled). This allocator keeps each
// freed large block in a list of its exact (2 MiB-rounded) size and hands it
// out again for the next request of that size: a training loop's shapes
// repeat, so the lists stay short and nothing is zeroed twice.
//
// The cache never holds more than the live blocks left free below their own
// high-water mark: when a request misses and the live blocks plus the cached
// ones would pass the most the live blocks ever took, cached blocks go back to
// the system first. So the resident memory of large blocks stays at the peak
// the program itself needed; sizes that stop repeating are evicted by the
// next misses instead of piling up.

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <sys/mman.h>

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kRound = size_t{2} << 20;  // a transparent huge page

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // size -> blocks
  std::unordered_map<void*, size_t> sizes;  // every block this cache owns
  size_t cached_bytes = 0;
  size_t live_bytes = 0;       // handed out by the cache, not yet freed
  size_t peak_live_bytes = 0;  // the most live_bytes has been
  size_t min_bytes = 0;
  size_t max_cached_bytes = 0;
};

// Never destroyed: tensors may be freed during static destruction.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

c10::DeleterFnPtr base_delete = nullptr;  // the replaced allocator's raw deleter

// Returns cached blocks to the system until `room` more bytes fit under
// the live blocks' high-water mark (or the cache is empty). Holds c.mu.
void evict_for(Cache& c, size_t room) {
  for (auto it = c.free_blocks.begin(); it != c.free_blocks.end() && c.cached_bytes > 0;) {
    if (c.live_bytes + c.cached_bytes + room <= c.peak_live_bytes) return;
    auto& blocks = it->second;
    while (!blocks.empty() && c.live_bytes + c.cached_bytes + room > c.peak_live_bytes) {
      void* p = blocks.back();
      blocks.pop_back();
      c.sizes.erase(p);
      std::free(p);
      c.cached_bytes -= it->first;
    }
    it = blocks.empty() ? c.free_blocks.erase(it) : std::next(it);
  }
}

// Every block this allocator hands out has this deleter (c10's raw
// interface, which oneDNN's scratch buffers use, requires one deleter).
// Cached blocks are 2 MiB-aligned; others go back to the base allocator.
void give_back(void* p) {
  Cache& c = cache();
  if (reinterpret_cast<std::uintptr_t>(p) % kRound != 0) {
    base_delete(p);
    return;
  }
  std::unique_lock<std::mutex> lock(c.mu);
  auto found = c.sizes.find(p);
  if (found == c.sizes.end()) {
    lock.unlock();
    base_delete(p);
    return;
  }
  size_t size = found->second;
  c.live_bytes -= size;
  if (c.cached_bytes + size > c.max_cached_bytes) {
    // Sizes that never repeat (a sampler's varying batches) must not pile up.
    c.sizes.erase(p);
    std::free(p);
    return;
  }
  c.free_blocks[size].push_back(p);
  c.cached_bytes += size;
}

struct BlockCacheAllocator final : c10::Allocator {
  c10::Allocator* base = nullptr;

  c10::DataPtr allocate(size_t n) override {
    Cache& c = cache();
    if (n < c.min_bytes) {
      void* p = base->raw_allocate(n);
      return {p, p, &give_back, c10::Device(c10::DeviceType::CPU)};
    }
    size_t size = (n + kRound - 1) / kRound * kRound;
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.free_blocks.find(size);
      if (it != c.free_blocks.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        c.cached_bytes -= size;
        c.live_bytes += size;
      } else {
        c.peak_live_bytes = std::max(c.peak_live_bytes, c.live_bytes + size);
        evict_for(c, size);
      }
    }
    if (p == nullptr) {
      if (posix_memalign(&p, kRound, size) != 0) {
        // Let the default allocator raise libtorch's out-of-memory error.
        void* q = base->raw_allocate(n);
        return {q, q, &give_back, c10::Device(c10::DeviceType::CPU)};
      }
      // Huge pages where the system allows them on request: fewer faults.
      madvise(p, size, MADV_HUGEPAGE);
      std::lock_guard<std::mutex> lock(c.mu);
      c.sizes[p] = size;
      c.live_bytes += size;
    }
    return {p, p, &give_back, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override {
    return &give_back;
  }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

BlockCacheAllocator* allocator() {
  static BlockCacheAllocator* a = new BlockCacheAllocator();
  return a;
}

}  // namespace

// Makes the block cache libtorch's CPU allocator for blocks of at least
// `min_bytes` (smaller ones go to the allocator it replaces), keeping at most
// `max_cached_bytes` of freed blocks. Idempotent; a second call only changes
// the two limits.
extern "C" void seqgraph_block_cache_install(size_t min_bytes, size_t max_cached_bytes) {
  static std::once_flag once;
  {
    std::lock_guard<std::mutex> lock(cache().mu);
    cache().min_bytes = min_bytes;
    cache().max_cached_bytes = max_cached_bytes;
  }
  std::call_once(once, [] {
    c10::Allocator* base = c10::GetCPUAllocator();
    base_delete = base->raw_deleter();
    if (base_delete == nullptr) {
      return;  // no raw interface to build on: keep libtorch's allocator
    }
    BlockCacheAllocator* a = allocator();
    a->base = base;
    c10::SetCPUAllocator(a, /*priority=*/1);
  });
}

// Bytes held in freed blocks, ready for reuse.
extern "C" size_t seqgraph_block_cache_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached_bytes;
}

// Returns every freed block to the system; returns the bytes released.
extern "C" size_t seqgraph_block_cache_empty() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  size_t released = 0;
  for (auto& entry : c.free_blocks) {
    for (void* p : entry.second) {
      c.sizes.erase(p);
      std::free(p);
      released += entry.first;
    }
    entry.second.clear();
  }
  c.cached_bytes = 0;
  return released;
}
