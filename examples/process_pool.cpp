// process_pool: CPU-bound work in worker processes, and a crash that costs one task, not the
// program. Run: ./example_process_pool
#include <tandem/process.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

// Counts primes in [lo, hi) by trial division: the classic CPU-bound task.
long count_primes(long lo, long hi) {
  long n = 0;
  for (long x = std::max(lo, 2L); x < hi; ++x) {
    bool prime = x == 2 || x % 2 != 0;
    for (long d = 3; prime && d * d <= x; d += 2) prime = x % d != 0;
    n += prime;
  }
  return n;
}

// A task that crashes its process on one input: a thread pool would lose the whole program.
long fragile(long x) {
  // At x == 7, a store through address 0 (computed, so the compiler cannot see it coming).
  auto* p = reinterpret_cast<volatile long*>(static_cast<std::uintptr_t>(x != 7) *
                                             reinterpret_cast<std::uintptr_t>(&x));
  *p = x;
  return x * x;
}

int main(int argc, char** argv) {
  tandem::process_init(argc, argv);  // first line: starts the forkserver; spawned workers stop here

  tandem::process_pool pool({.processes = 2, .respawn = true});

  // map over ranges, with the range width bound to the function.
  std::vector<long> starts(16);
  std::iota(starts.begin(), starts.end(), 0L);
  long total = 0;
  for (long n :
       pool.map([](long i) { return count_primes(i * 100'000, (i + 1) * 100'000); }, starts))
    total += n;
  std::printf("primes below 1,600,000: %ld\n", total);
  if (total != 121'127) return 1;

  // bind: data along with a function.
  long below_1000 = pool.submit(tandem::bind(count_primes, 0L), 1000L).get();
  std::printf("primes below 1,000: %ld\n", below_1000);
  if (below_1000 != 168) return 1;

  // One task segfaults: its future fails, naming the worker and the signal; the rest complete.
  std::vector<tandem::future<long>> fs;
  for (long x = 0; x < 10; ++x) fs.push_back(pool.submit(fragile, x));
  int ok = 0, failed = 0;
  for (auto& f : fs) {
    try {
      f.get();
      ++ok;
    } catch (const tandem::broken_pool& e) {
      std::printf("one task failed: %s\n", e.what());
      ++failed;
    }
  }
  std::printf("%d completed, %d failed\n", ok, failed);
  return ok == 9 && failed == 1 ? 0 : 1;
}
