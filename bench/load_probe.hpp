// Who else used the CPU during a benchmark run. This machine is shared, and a 2-thread run that got
// 1 core looks the same in our own CPU time whether another process took the core or one of our
// threads sat idle; /proc/stat tells the two apart. Used by every benchmark in bench/.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <string>

namespace tandem_bench {

/// Reads the whole machine's CPU ticks from /proc/stat's first line.
struct cpu_ticks {
  double busy = 0;  // user + nice + system + irq + softirq + steal, in seconds of CPU
  double idle = 0;  // idle + iowait, in seconds of CPU

  /// The current totals (zeros if /proc/stat cannot be read: the counters are then meaningless).
  static cpu_ticks now() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    return {(user + nice + system + irq + softirq + steal) / hz, (idle + iowait) / hz};
  }
};

/// This process's CPU time so far, all threads, in seconds.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

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
