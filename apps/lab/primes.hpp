// The CPU-bound experiment: count the primes below a limit by trial division, in equal ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Options of `tandem-lab primes`.
struct primes_options {
  /// Count the primes below this number. 5,000,000 takes about a second sequentially here.
  std::uint64_t limit = 5'000'000;
  /// thread_pool widths to measure; empty means 1, 2, ..., cpu_count().
  std::vector<std::size_t> workers;
  /// process_pool widths to measure; empty means default_process_widths(cpu_count()).
  std::vector<std::size_t> processes;
};

/// The process_pool widths primes and files measure by default: 2 (the smallest that can show
/// scaling) and cpu_count() (all the cores), once each, in increasing order: {2} on 2 cores,
/// {2, 8} on 8, {1, 2} on 1.
[[nodiscard]] std::vector<std::size_t> default_process_widths(std::size_t cores);

/// The largest --limit accepted: trial division squares divisors up to sqrt(limit), which must
/// not overflow 64 bits, and anything near this would run for days anyway.
inline constexpr std::uint64_t primes_max_limit = 1'000'000'000'000;

/// The number of equal ranges the limit is split into: enough for dynamic balancing on any
/// width the lab runs (the ranges further up cost more, because their divisors run longer).
inline constexpr std::size_t primes_ranges = 64;

/// True if `n` is prime, by trial division: n % 2, then odd divisors d with d * d <= n.
/// Precondition: n <= primes_max_limit.
[[nodiscard]] bool is_prime(std::uint64_t n) noexcept;

/// The number of primes p with lo <= p < hi, by is_prime on each number.
[[nodiscard]] std::uint64_t count_primes(std::uint64_t lo, std::uint64_t hi) noexcept;

/// The bounds of range `i` of `primes_ranges` equal ranges of [0, limit): [first, second).
[[nodiscard]] std::pair<std::uint64_t, std::uint64_t> primes_range(std::uint64_t limit,
                                                                   std::size_t i) noexcept;

/// Task `i` of the primes workload for `limit`: the primes in primes_range(limit, i), as
/// task_result::value. A plain function, so that it can be sent to a worker process with the
/// limit bound: tandem::bind(primes_task, limit).
[[nodiscard]] task_result primes_task(std::uint64_t limit, std::size_t i) noexcept;

/// The published number of primes below `limit`, for the limits the lab's checks know (powers of
/// ten up to 10^9, and 5,000,000); nothing for others.
[[nodiscard]] std::optional<std::uint64_t> known_prime_count(std::uint64_t limit) noexcept;

/// The primes experiment with `opts`; add_options() binds --limit and --workers to them.
[[nodiscard]] std::unique_ptr<experiment> make_primes_experiment(primes_options opts = {});

}  // namespace tandem::lab
