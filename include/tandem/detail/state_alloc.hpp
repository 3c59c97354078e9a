// Memory for future states: per-thread caches of fixed-size blocks.
#pragma once

#include <cstddef>

namespace tandem::detail {

/// Allocates `bytes` for a future state. Blocks up to 256 bytes come from the calling thread's
/// cache (filled by state_free on this thread), larger ones from operator new.
/// Why: a pool that runs millions of tiny tasks otherwise spends a third of its submit path in
/// malloc, and glibc trims and re-faults the heap after every burst.
/// Errors: std::bad_alloc.
void* state_alloc(std::size_t bytes);

/// Returns a block from state_alloc(bytes), to the calling thread's cache while that cache holds
/// under 32 MiB, else to operator delete. A thread's cache is freed when the thread exits.
/// Sanitizer builds bypass the caches, so AddressSanitizer sees every block's real lifetime.
void state_free(void* p, std::size_t bytes) noexcept;

}  // namespace tandem::detail
