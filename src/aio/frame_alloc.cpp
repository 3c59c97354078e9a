#include "tandem/aio/detail/frame_alloc.hpp"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace tandem::aio::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool pooling = false;
#else
constexpr bool pooling = true;
#endif

constexpr std::size_t granule = 16;      // frames are 16-byte aligned
constexpr std::size_t max_block = 1024;  // larger frames are rare: operator new
constexpr std::size_t classes = max_block / granule;
constexpr std::size_t slab_bytes = 256u << 10;  // 1,000+ typical frames per slab

struct free_block {
  free_block* next;
};

constexpr std::size_t class_of(std::size_t bytes) noexcept {
  return (bytes + granule - 1) / granule - 1;
}

// Free lists of exited threads, adopted whole by threads that run dry. Slabs are kept for the
// life of the process (frames migrate between threads, so no thread can know a slab is unused).
struct orphanage {
  std::mutex mu;
  std::array<std::vector<free_block*>, classes> lists;
};

orphanage& orphans() {
  static orphanage* o = new orphanage();  // never destroyed: threads may exit after main
  return *o;
}

char* new_slab() {
  void* p = ::mmap(nullptr, slab_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

struct cache {
  std::array<free_block*, classes> lists{};
  char* bump = nullptr;
  char* bump_end = nullptr;
  cache() = default;
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;
  ~cache() {
    orphanage& o = orphans();
    std::lock_guard lk(o.mu);
    for (std::size_t c = 0; c < classes; ++c)
      if (lists[c]) o.lists[c].push_back(lists[c]);
  }

  void* refill(std::size_t c) {
    std::size_t block = (c + 1) * granule;
    if (static_cast<std::size_t>(bump_end - bump) < block) {
      // Out of slab: adopt an exited thread's free list before taking new memory. Checked only
      // here, so the common bump path takes no lock.
      {
        orphanage& o = orphans();
        std::lock_guard lk(o.mu);
        if (!o.lists[c].empty()) {
          free_block* b = o.lists[c].back();
          o.lists[c].pop_back();
          lists[c] = b->next;
          return b;
        }
      }
      bump = new_slab();  // the tail of the old slab (< 1 KiB) is left unused
      bump_end = bump + slab_bytes;
    }
    void* p = bump;
    bump += block;
    return p;
  }
};

thread_local cache local;

}  // namespace

void* frame_alloc(std::size_t bytes) {
  if (!pooling || bytes > max_block) return ::operator new(bytes);
  std::size_t c = class_of(bytes);
  if (free_block* b = local.lists[c]) {
    local.lists[c] = b->next;
    return b;
  }
  return local.refill(c);
}

void frame_free(void* p, std::size_t bytes) noexcept {
  if (!pooling || bytes > max_block) {
    ::operator delete(p, bytes);
    return;
  }
  std::size_t c = class_of(bytes);
  auto* b = static_cast<free_block*>(p);
  b->next = local.lists[c];
  local.lists[c] = b;
}

}  // namespace tandem::aio::detail
