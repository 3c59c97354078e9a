// The coroutine form of a workload, for the event loop's method (make_aio): what docs/lab.md
// calls "an optional interface next to workload". A workload that can wait without a thread
// (io: a request over a socket) implements both; the aio method runs only such workloads.
#pragma once

#include <cstddef>
#include <memory>

#include "lab/experiment.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::lab {

/// Tasks of a workload run as coroutines on one event loop. Each of the method's concurrent
/// workers opens a session (its connection) and runs tasks through it one at a time.
///
/// Thread safety: called on the aio method's loop thread only.
class async_workload {
 public:
  virtual ~async_workload() = default;

  /// One worker's state: typically a connection, opened once and reused for its tasks.
  class session {
   public:
    virtual ~session() = default;
    /// Runs task `i` and returns what it produced (the same as workload::run_task(i)).
    /// Errors: an exception fails the whole run.
    [[nodiscard]] virtual aio::task<task_result> run_task(std::size_t i) = 0;
  };

  /// Opens a session on the running loop. Errors: whatever connecting throws.
  [[nodiscard]] virtual aio::task<std::unique_ptr<session>> open_session() const = 0;
};

}  // namespace tandem::lab
