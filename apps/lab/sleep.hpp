// The latency-bound experiment: tasks that only wait, the stand-in for network and disk I/O
// until the event loop lands (the aio layer will add its own row: one thread, many waits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Options of `tandem-lab sleep`.
struct sleep_options {
  /// Number of tasks.
  std::size_t tasks = 400;
  /// How long each task blocks, in milliseconds (std::this_thread::sleep_for).
  std::uint32_t latency_ms = 20;
  /// thread_pool widths to measure; empty means 8, 32, 128.
  std::vector<std::size_t> workers;
};

/// The default widths: 8 (a modest pool), 32 (Python's ThreadPoolExecutor default cap), 128
/// (enough threads that 400 waits take 4 rounds).
inline constexpr std::size_t sleep_default_workers[] = {8, 32, 128};

/// A workload of `tasks` tasks; task i sleeps `latency_ms` ms and returns value i + 1, so the
/// answer's value, n (n + 1) / 2, shows every task ran exactly once.
[[nodiscard]] std::unique_ptr<workload> make_sleep_workload(std::size_t tasks,
                                                            std::uint32_t latency_ms);

/// The sleep experiment with `opts`; add_options() binds --tasks, --latency-ms and --workers.
/// The sequential row runs every task (400 x 20 ms = 8 s by default), no sampling.
[[nodiscard]] std::unique_ptr<experiment> make_sleep_experiment(sleep_options opts = {});

}  // namespace tandem::lab
