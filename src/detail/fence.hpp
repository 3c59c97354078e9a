// store_load_fence(): the full fence that Dekker-style handshakes need (a store, then a load of
// another location, on each side).
#pragma once

#include <atomic>

namespace tandem::detail {

/// Orders this thread's earlier stores before its later loads, against every other thread that
/// does the same. Normally a seq_cst fence. ThreadSanitizer neither models fences nor emits one
/// (g++'s -Wtsan says so), so under TSan this is a seq_cst read-modify-write on one shared word:
/// a real full barrier on x86, and a synchronisation TSan understands.
inline void store_load_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
  static std::atomic<unsigned> word{0};
  word.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace tandem::detail
