#include "tandem/detail/state_alloc.hpp"

#include <array>
#include <new>

namespace tandem::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool caching = false;
#else
constexpr bool caching = true;
#endif

constexpr std::size_t granule = 16;            // size classes of 16 bytes: 16, 32, ... 256
constexpr std::size_t max_block = 256;         // a typical task state is 80-160 bytes
constexpr std::size_t max_cached = 32u << 20;  // per thread: W1's 200,000 live states fit

struct free_block {
  free_block* next;
};

// One thread's cache: a free list per size class. Blocks are whole operator-new allocations,
// so any of them can go back to operator delete on its own.
struct cache {
  std::array<free_block*, max_block / granule> lists{};
  std::size_t bytes = 0;
  cache() = default;
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;
  ~cache() {
    for (std::size_t c = 0; c < lists.size(); ++c)
      while (free_block* b = lists[c]) {
        lists[c] = b->next;
        ::operator delete(b, (c + 1) * granule);
      }
  }
};

thread_local cache local;

constexpr std::size_t size_class(std::size_t bytes) noexcept {
  return (bytes + granule - 1) / granule - 1;
}

}  // namespace

void* state_alloc(std::size_t bytes) {
  if (!caching || bytes > max_block) return ::operator new(bytes);
  std::size_t c = size_class(bytes);
  if (free_block* b = local.lists[c]) {
    local.lists[c] = b->next;
    local.bytes -= (c + 1) * granule;
    return b;
  }
  return ::operator new((c + 1) * granule);
}

void state_free(void* p, std::size_t bytes) noexcept {
  if (!caching || bytes > max_block) {
    ::operator delete(p, bytes);
    return;
  }
  std::size_t c = size_class(bytes);
  std::size_t block = (c + 1) * granule;
  if (local.bytes + block > max_cached) {
    ::operator delete(p, block);
    return;
  }
  auto* b = static_cast<free_block*>(p);
  b->next = local.lists[c];
  local.lists[c] = b;
  local.bytes += block;
}

}  // namespace tandem::detail
