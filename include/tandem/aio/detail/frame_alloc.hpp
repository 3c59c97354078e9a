// Memory for coroutine frames: per-thread free lists over large slabs.
#pragma once

#include <cstddef>

namespace tandem::aio::detail {

/// Allocates a coroutine frame of `bytes`. Frames up to 1 KiB come from the calling thread's
/// free lists, refilled from 256 KiB slabs; larger ones from operator new.
/// Why: a sleeping task is counted in bytes (WORKLOADS.md W3) and a spawned one in nanoseconds
/// (W3b); a slab block has no malloc header and a recycled one costs a pointer pop.
/// Sanitizer builds use operator new for every frame, so AddressSanitizer sees real lifetimes.
/// Errors: std::bad_alloc.
void* frame_alloc(std::size_t bytes);

/// Returns a frame from frame_alloc(bytes) to the calling thread's free list (any thread may
/// free any frame). Slabs are never returned to the system while the process runs; a thread
/// that exits hands its free blocks to the next thread that needs some.
void frame_free(void* p, std::size_t bytes) noexcept;

}  // namespace tandem::aio::detail
