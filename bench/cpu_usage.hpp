// CPU accounting shared by every benchmark in bench/: the whole machine's busy ticks (/proc/stat)
// and this process's own CPU time, so that a run can tell how much CPU other processes took while
// it ran. This machine is shared. Used by load_probe.hpp (Google Benchmark suites) and
// loop_peer.hpp (the standalone event-loop programs).
#pragma once

#include <unistd.h>

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

}  // namespace tandem_bench
