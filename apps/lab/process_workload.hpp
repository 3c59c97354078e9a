// The process-pool form of a workload, for make_process_pool: what docs/lab.md calls "an optional
// interface next to workload". A worker process cannot call workload::run_task (a virtual call on
// an object that lives in this process), so a workload that can run in worker processes says how:
// a plain function of the task's input, with the workload's parameters bound by tandem::bind.
#pragma once

#include <vector>

#include "lab/experiment.hpp"

namespace tandem {
class process_pool;
}

namespace tandem::lab {

/// Tasks of a workload sent to worker processes.
///
/// Thread safety: called from one thread, the process_pool method's.
class process_workload {
 public:
  virtual ~process_workload() = default;

  /// Runs every task on `pool` through `pool.map` with workload::chunksize() and returns the
  /// results in task order (the same as workload::run_task(i) for each i). What crosses to the
  /// workers is a plain function with encodable data: the parameters once per chunk, each task's
  /// own input (an index, a path) once.
  /// Errors: whatever map throws (a task's exception, broken_pool if a worker died).
  [[nodiscard]] virtual std::vector<task_result> map_on(tandem::process_pool& pool) const = 0;
};

}  // namespace tandem::lab
