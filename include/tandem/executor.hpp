// What every tandem executor offers (thread_pool, process_pool): options and the concept.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>

#include "tandem/error.hpp"
#include "tandem/future.hpp"

namespace tandem {

/// Options of `map`, `imap_unordered` and `starmap`. Follows Executor.map (3.14) and Pool.imap.
struct map_options {
  /// Items per task. 0 picks one: for a sized input, ceil(n / (4 x workers)) as
  /// multiprocessing.Pool.map does, capped at 8,192 items; 1 for an input of unknown length.
  std::size_t chunksize = 0;
  /// Seconds from the call to map() until iteration gives up with `timeout_error`; none: no limit.
  std::optional<seconds> timeout = std::nullopt;
  /// Chunks submitted ahead of the consumer (Python 3.14's buffersize). 0 picks 4 x workers, and
  /// for a process pool workers x max(4, 512 / chunksize), so small chunks hide the round trip.
  /// Bounded read-ahead is what makes map() safe on an infinite input.
  std::size_t buffersize = 0;
};

/// An executor runs callables and returns tandem::future for each: `submit(f)` plus
/// `max_workers()`.
template <class E>
concept executor = requires(E& e) {
  {
    e.submit([] { return 1; })
    } -> std::same_as<future<int>>;
  { e.max_workers() } -> std::convertible_to<std::size_t>;
};

}  // namespace tandem
