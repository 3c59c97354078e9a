// The loop every experiment goes through: prepare, run each method, time it, check it, report it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lab/experiment.hpp"
#include "lab/report.hpp"

namespace tandem::lab {

/// One timed run of a method.
struct measurement {
  double wall_s = 0;  ///< wall-clock seconds of method::run
  double cpu_s = 0;  ///< user + system CPU seconds of the process and its reaped children meanwhile
  std::vector<task_result> results;  ///< what method::run returned
  /// Peak resident set of the whole process during the run (bytes): VmHWM, reset before the run
  /// through /proc/self/clear_refs; 0 where the kernel offers neither.
  std::uint64_t peak_rss_bytes = 0;
};

/// User + system CPU seconds this process has used (every thread, exited ones included) plus
/// those of its child processes that have exited and been reaped (getrusage RUSAGE_SELF +
/// RUSAGE_CHILDREN). Differences of two readings are what `cpu s` reports.
/// Errors: std::system_error if getrusage fails.
[[nodiscard]] double process_cpu_seconds();

/// Runs `m` on `w` once, timing the whole call (pool start-up and shutdown included).
/// CPU time comes from getrusage(RUSAGE_SELF), which counts every thread of the process, including
/// pool threads that have already exited, plus getrusage(RUSAGE_CHILDREN): child processes that
/// exited and were reaped during the run (a process_pool's workers, reaped by its shutdown).
/// Errors: whatever method::run throws.
[[nodiscard]] measurement measure(const method& m, const workload& w);

/// Runs `e.run_itself(cores, out, repeats)` if the experiment runs itself; otherwise prepares `e`,
/// runs each of its methods `repeats` times (0: e.default_repeats()) and keeps the
/// run with the median wall time, checks every run's answer (against the workload's
/// own check and against the first method's answer), and reports header, rows, answer and
/// verdict to `out`. Returns the rows.
/// Errors: `usage_error` from prepare; `check_error` when an answer is wrong or disagrees (the
/// offending row has been reported first, so the user sees it); whatever a method throws.
std::vector<row> run_experiment(experiment& e, std::size_t cores, reporter& out,
                                std::size_t repeats = 0);

}  // namespace tandem::lab
