// primes: CPU-bound work spread over every core with map() and an explicit chunksize.
//
// Python:  with multiprocessing.Pool() as pool:
//              factors = pool.map(smallest_factor, range(2, N), chunksize=4096)
// (a tandem::thread_pool runs C++ on all cores at once: there is no GIL to work around.)
#include <tandem/cpu_count.hpp>
#include <tandem/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ranges>

// The smallest divisor of n greater than 1 (n itself when n is prime), by trial division.
static std::uint32_t smallest_factor(std::uint32_t n) {
  for (std::uint32_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return d;
  return n;
}

int main() {
  constexpr std::uint32_t limit = 1'000'000;  // there are 78,498 primes below one million
  using clock = std::chrono::steady_clock;

  // One call per number is far too little work for a task of its own, so hand each worker 4,096
  // numbers at a time. (Leaving chunksize at 0 picks ceil(n / (4 x workers)), as Pool.map does.)
  tandem::thread_pool pool;  // tandem::cpu_count() workers
  auto t0 = clock::now();
  std::uint32_t n = 2, parallel_count = 0;
  for (std::uint32_t f :
       pool.map(smallest_factor, std::views::iota(2U, limit), {.chunksize = 4096})) {
    if (f == n) ++parallel_count;  // results arrive in input order, so f belongs to n
    ++n;
  }
  std::chrono::duration<double> parallel_time = clock::now() - t0;

  // The same on this thread alone, to check the answer and compare the time.
  t0 = clock::now();
  std::uint32_t serial_count = 0;
  for (std::uint32_t k = 2; k < limit; ++k)
    if (smallest_factor(k) == k) ++serial_count;
  std::chrono::duration<double> serial_time = clock::now() - t0;

  std::printf("%u primes below %u: %.3f s on %zu workers, %.3f s on one thread (cpu_count = %zu)\n",
              parallel_count, limit, parallel_time.count(), pool.max_workers(), serial_time.count(),
              tandem::cpu_count());
  return parallel_count == 78'498 && serial_count == 78'498 ? 0 : 1;
}
