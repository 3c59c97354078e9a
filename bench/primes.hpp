// W6 cpu-primes: the one counting function every variant runs (sequential, tandem, oneTBB), so the
// comparison measures scheduling and nothing else. It is the Python peer's count_range
// (/work/shared/peers/python/w6_primes.py), statement for statement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem_bench {

/// A half-open range [lo, hi) of candidates.
struct prime_range {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

/// Counts primes in [r.lo, r.hi) by trial division: the n % 2 check, then odd divisors d with
/// d * d <= n. Exactly w6_primes.py's count_range.
/// noinline: every variant calls the same machine code; inlined copies could be optimised
/// differently per call site and the speedups would then compare different loops.
[[gnu::noinline]] inline std::size_t count_primes(prime_range r) noexcept {
  std::size_t c = 0;
  for (std::uint64_t n = r.lo; n < r.hi; ++n) {
    if (n < 2) continue;
    if (n % 2 == 0) {
      if (n == 2) ++c;
      continue;
    }
    bool prime = true;
    for (std::uint64_t d = 3; d * d <= n; d += 2) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) ++c;
  }
  return c;
}

/// Splits [0, limit) into `parts` ranges of ceil(limit / parts) candidates (the last one shorter),
/// as w6_primes.py's ranges() does.
inline std::vector<prime_range> split_range(std::uint64_t limit, std::uint64_t parts) {
  const std::uint64_t step = (limit + parts - 1) / parts;
  std::vector<prime_range> out;
  for (std::uint64_t i = 0; i < parts; ++i) {
    const std::uint64_t lo = i * step;
    const std::uint64_t hi = (i + 1) * step < limit ? (i + 1) * step : limit;
    out.push_back({lo < limit ? lo : limit, hi});
  }
  return out;
}

/// The number of primes below `limit` by the sieve of Eratosthenes: a second, independent
/// algorithm, so a wrong count_primes (or a lost range) cannot check itself.
inline std::size_t sieve_count(std::uint64_t limit) {
  if (limit < 3) return 0;
  std::vector<bool> composite(static_cast<std::size_t>(limit), false);
  std::size_t c = 0;
  for (std::uint64_t n = 2; n < limit; ++n) {
    if (composite[static_cast<std::size_t>(n)]) continue;
    ++c;
    for (std::uint64_t m = n * n; m < limit; m += n) composite[static_cast<std::size_t>(m)] = true;
  }
  return c;
}

}  // namespace tandem_bench
