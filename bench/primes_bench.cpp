// W6 cpu-primes (shared/bench/WORKLOADS.md): count primes below W6_LIMIT (default 5,000,000) by
// trial division in 64 equal ranges; sequential, then 2 workers on tandem and on oneTBB.
//
// One repetition = one full count (Iterations(1)), wall clock, as the Python peer's one run. CPU
// time is the whole process's (CPU / wall: about 1 sequential, about 2 with 2 workers), and
// load_probe records how much CPU other processes took meanwhile: this machine is shared.
// The parallel variants create and join their pool / arena inside the timed region, as the Python
// peer does (its parallel wall times include the `with` block's pool); that is tens of
// microseconds against a run of about a second.
// Every variant's count is checked against a sieve of Eratosthenes (and, at the default limit,
// against the known 348,513); a wrong count aborts the run.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/version.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "check.hpp"
#include "load_probe.hpp"
#include "primes.hpp"
#include "tandem/thread_pool.hpp"

namespace {

using tandem_bench::check_equal;
using tandem_bench::count_primes;
using tandem_bench::load_probe;
using tandem_bench::prime_range;

constexpr std::uint64_t default_limit = 5'000'000;   // WORKLOADS.md W6
constexpr long long primes_below_default = 348'513;  // pi(5,000,000)
constexpr std::uint64_t parts = 64;                  // WORKLOADS.md W6: 64 equal ranges
constexpr std::size_t workers = 2;

// Set once in main() before any benchmark runs; read-only afterwards.
std::vector<prime_range> ranges;
long long expected = 0;

/// W6 sequential: the 64 ranges one after another on the calling thread.
void w6_sequential(benchmark::State& state) {
  const load_probe probe;
  for (auto _ : state) {
    std::size_t c = 0;
    for (const prime_range& r : ranges) c += count_primes(r);
    check_equal("W6/sequential", static_cast<long long>(c), expected);
  }
  probe.report(state);
}

/// W6 on tandem: pool.map over the 64 ranges with chunksize 1 (one range per task), as the Python
/// peer's Pool.map(count_range, ranges, chunksize=1).
void w6_tandem_map(benchmark::State& state) {
  const load_probe probe;
  for (auto _ : state) {
    tandem::thread_pool pool({.max_workers = workers});
    std::size_t c = 0;
    for (std::size_t n :
         pool.map([](prime_range r) { return count_primes(r); }, ranges, {.chunksize = 1}))
      c += n;
    check_equal("W6/tandem_map", static_cast<long long>(c), expected);
  }
  probe.report(state);
}

/// W6 on tandem, the other way a user would write it: one submit() per range, then get() each.
void w6_tandem_submit(benchmark::State& state) {
  const load_probe probe;
  for (auto _ : state) {
    tandem::thread_pool pool({.max_workers = workers});
    std::vector<tandem::future<std::size_t>> futs;
    futs.reserve(ranges.size());
    for (const prime_range& r : ranges)
      futs.push_back(pool.submit([r] { return count_primes(r); }));
    std::size_t c = 0;
    for (const auto& f : futs) c += f.get();
    check_equal("W6/tandem_submit", static_cast<long long>(c), expected);
  }
  probe.report(state);
}

/// W6 on oneTBB: parallel_for over the 64 ranges, grainsize 1 with simple_partitioner (exactly one
/// range per task, like chunksize 1), in an arena of 2 (the calling thread + 1 TBB worker).
void w6_tbb_parallel_for(benchmark::State& state) {
  const load_probe probe;
  for (auto _ : state) {
    tbb::task_arena arena(static_cast<int>(workers));
    std::vector<std::size_t> counts(ranges.size());
    arena.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, ranges.size(), 1),
          [&counts](const tbb::blocked_range<std::size_t>& b) {
            for (std::size_t i = b.begin(); i != b.end(); ++i) counts[i] = count_primes(ranges[i]);
          },
          tbb::simple_partitioner());
    });
    std::size_t c = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
    check_equal("W6/tbb_parallel_for", static_cast<long long>(c), expected);
  }
  probe.report(state);
}

// Names are what table.py looks up: keep them in step with bench/table.py.
BENCHMARK(w6_sequential)
    ->Name("W6/sequential")
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(w6_tandem_map)
    ->Name("W6/tandem_map")
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(w6_tandem_submit)
    ->Name("W6/tandem_submit")
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(w6_tbb_parallel_for)
    ->Name("W6/tbb_parallel_for")
    ->Iterations(1)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kSecond);

/// The limit from the W6_LIMIT environment variable (run.sh passes the Python peer's), else 5M.
std::uint64_t limit_from_env() {
  const char* s = std::getenv("W6_LIMIT");
  if (!s || !*s) return default_limit;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0' || v < 2) {
    std::fprintf(stderr, "W6_LIMIT=%s: expected an integer >= 2\n", s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t limit = limit_from_env();
  ranges = tandem_bench::split_range(limit, parts);
  expected = static_cast<long long>(tandem_bench::sieve_count(limit));
  if (limit == default_limit) check_equal("W6 sieve", expected, primes_below_default);
  benchmark::AddCustomContext("w6_limit", std::to_string(limit));
  benchmark::AddCustomContext("w6_parts", std::to_string(parts));
  benchmark::AddCustomContext("w6_expected_primes", std::to_string(expected));
  benchmark::AddCustomContext("tbb_version", TBB_VERSION_STRING);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
