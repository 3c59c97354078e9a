// W1 pool-submit and W2 pool-map (shared/bench/WORKLOADS.md): tandem::thread_pool beside oneTBB.
//
// Both systems use exactly 2 threads for the work:
//   tandem: thread_pool with 2 workers; the calling thread only submits, then blocks in get().
//   oneTBB: task_arena(2) = the calling thread plus 1 TBB worker; the caller helps run tasks while
//           it waits (TBB's model). On this 2-core machine TBB's global pool has 1 worker anyway.
// Timing: wall clock (UseRealTime), because the work runs on other threads. The CPU column is the
// whole process's CPU time (MeasureProcessCPUTime), so CPU / wall = cores kept busy, spinning
// included; load_probe records what other processes took meanwhile (this machine is shared).
// The pool or arena is built before the timed loop and torn down after it: W1/W2 measure the work,
// not thread start-up (the Python peer also starts its clock after creating its executor).
// Repetitions come from the command line (run.sh passes --benchmark_repetitions), so a quick run
// can ask for fewer; the table takes the median of the repetitions.
#include <benchmark/benchmark.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/version.h>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <ranges>
#include <vector>

#include "check.hpp"
#include "load_probe.hpp"
#include "tandem/thread_pool.hpp"

namespace {

using tandem_bench::check_equal;
using tandem_bench::load_probe;

constexpr int w1_tasks = 200'000;    // WORKLOADS.md W1
constexpr int w2_items = 1'000'000;  // WORKLOADS.md W2
constexpr long long w1_sum = static_cast<long long>(w1_tasks) * (w1_tasks - 1) / 2;
constexpr long long w2_sum = static_cast<long long>(w2_items) * (w2_items - 1);

/// The same width for every system: WORKLOADS.md's "2 workers".
constexpr std::size_t workers = 2;

/// W1, tandem: submit 200,000 tasks one by one, keep every future, then get() and sum.
/// The futures vector lives inside the timed loop, so freeing 200,000 task states is measured too
/// (TBB frees its tasks inside wait() as well).
void w1_tandem_submit(benchmark::State& state) {
  tandem::thread_pool pool({.max_workers = workers});
  const load_probe probe;
  for (auto _ : state) {
    std::vector<tandem::future<int>> v;
    v.reserve(w1_tasks);
    for (int i = 0; i < w1_tasks; ++i) v.push_back(pool.submit([i] { return i; }));
    long long sum = 0;
    for (const auto& f : v) sum += f.get();
    check_equal("W1/tandem_submit", sum, w1_sum);
    benchmark::DoNotOptimize(sum);
  }
  probe.report(state);
  state.SetItemsProcessed(state.iterations() * w1_tasks);
}

/// W1, oneTBB: task_group::run() 200,000 times, wait(), sum. TBB returns no futures, so each task
/// writes its result into a slot of an array allocated once, before the timed loop; the array is
/// zeroed (timer paused) before every iteration so a task that did not run fails the check.
void w1_tbb_task_group(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(workers));
  std::vector<int> out(w1_tasks);
  const load_probe probe;
  for (auto _ : state) {
    state.PauseTiming();
    std::fill(out.begin(), out.end(), 0);
    state.ResumeTiming();
    arena.execute([&] {
      tbb::task_group tg;
      for (int i = 0; i < w1_tasks; ++i)
        tg.run([&out, i] { out[static_cast<std::size_t>(i)] = i; });
      tg.wait();
    });
    long long sum = std::accumulate(out.begin(), out.end(), 0LL);
    check_equal("W1/tbb_task_group", sum, w1_sum);
    benchmark::DoNotOptimize(sum);
  }
  probe.report(state);
  state.SetItemsProcessed(state.iterations() * w1_tasks);
}

/// W2, tandem: map(x * 2) over iota(0, 1,000,000) with default map_options (the library's own
/// chunking), consuming every result as the range yields it.
void w2_tandem_map(benchmark::State& state) {
  tandem::thread_pool pool({.max_workers = workers});
  const load_probe probe;
  for (auto _ : state) {
    long long sum = 0;
    for (long r :
         pool.map([](int x) { return static_cast<long>(x) * 2; }, std::views::iota(0, w2_items)))
      sum += r;
    check_equal("W2/tandem_map", sum, w2_sum);
    benchmark::DoNotOptimize(sum);
  }
  probe.report(state);
  state.SetItemsProcessed(state.iterations() * w2_items);
}

/// W2, oneTBB: parallel_for over blocked_range (default auto_partitioner: TBB's own chunking)
/// writing x * 2 into a vector, then summing the vector on the calling thread (results consumed).
/// The vector is allocated once before the timed loop (TBB's idiom; tandem's map allocates its
/// chunk results inside the timed region, so this choice favours TBB, never tandem).
void w2_tbb_parallel_for(benchmark::State& state) {
  tbb::task_arena arena(static_cast<int>(workers));
  std::vector<long> out(w2_items);
  const load_probe probe;
  for (auto _ : state) {
    state.PauseTiming();
    std::fill(out.begin(), out.end(), 0L);
    state.ResumeTiming();
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<int>(0, w2_items),
                        [&out](const tbb::blocked_range<int>& r) {
                          for (int i = r.begin(); i != r.end(); ++i)
                            out[static_cast<std::size_t>(i)] = static_cast<long>(i) * 2;
                        });
    });
    long long sum = std::accumulate(out.begin(), out.end(), 0LL);
    check_equal("W2/tbb_parallel_for", sum, w2_sum);
    benchmark::DoNotOptimize(sum);
  }
  probe.report(state);
  state.SetItemsProcessed(state.iterations() * w2_items);
}

/// W2 reference, one thread, no pool: the same map-and-sum as a plain loop. Not a peer; it shows
/// how much of W2 is scheduling overhead (the work itself is about a nanosecond an item).
void w2_sequential_loop(benchmark::State& state) {
  std::vector<long> out(w2_items);
  const load_probe probe;
  for (auto _ : state) {
    for (int i = 0; i < w2_items; ++i) out[static_cast<std::size_t>(i)] = static_cast<long>(i) * 2;
    benchmark::ClobberMemory();
    long long sum = std::accumulate(out.begin(), out.end(), 0LL);
    check_equal("W2/sequential_loop", sum, w2_sum);
    benchmark::DoNotOptimize(sum);
  }
  probe.report(state);
  state.SetItemsProcessed(state.iterations() * w2_items);
}

// Names are what table.py looks up: keep them in step with bench/table.py.
BENCHMARK(w1_tandem_submit)
    ->Name("W1/tandem_submit")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w1_tbb_task_group)
    ->Name("W1/tbb_task_group")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w2_tandem_map)
    ->Name("W2/tandem_map")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w2_tbb_parallel_for)
    ->Name("W2/tbb_parallel_for")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(w2_sequential_loop)
    ->Name("W2/sequential_loop")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("tbb_version", TBB_VERSION_STRING);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
