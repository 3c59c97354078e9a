// Who else used the CPU during a benchmark run. This machine is shared, and a 2-thread run that got
// 1 core looks the same in our own CPU time whether another process took the core or one of our
// threads sat idle; /proc/stat tells the two apart (cpu_usage.hpp). Used by the Google Benchmark
// suites in bench/.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>

#include "cpu_usage.hpp"

namespace tandem_bench {

/// Created before a benchmark's timed loop, report() after it: sets two counters on `state`,
/// in cores (CPU seconds per wall second) averaged over the run:
///   others_cpu: used by other processes (the machine's busy time minus ours);
///   idle_cpu:   used by nobody.
/// /proc/stat counts in ticks of 10 ms, so on runs much shorter than a second these are coarse;
/// the benchmarks create the probe around all of a repetition's iterations, not one.
class load_probe {
 public:
  load_probe() : t0_(cpu_ticks::now()), ours0_(process_cpu_seconds()), wall0_(clock::now()) {}

  /// Sets state.counters["others_cpu"] and ["idle_cpu"].
  void report(benchmark::State& state) const {
    const cpu_ticks t1 = cpu_ticks::now();
    const double wall = std::chrono::duration<double>(clock::now() - wall0_).count();
    if (wall <= 0) return;
    const double ours = process_cpu_seconds() - ours0_;
    const double others = (t1.busy - t0_.busy - ours) / wall;
    state.counters["others_cpu"] = others > 0 ? others : 0.0;
    state.counters["idle_cpu"] = (t1.idle - t0_.idle) / wall;
  }

 private:
  using clock = std::chrono::steady_clock;
  cpu_ticks t0_;
  double ours0_;
  clock::time_point wall0_;
};

}  // namespace tandem_bench
