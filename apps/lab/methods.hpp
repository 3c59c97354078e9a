// The methods tandem-lab compares. A later layer adds its own factory here (make_aio,
// make_process_pool, ...) and lists it in the experiments' plans.
#pragma once

#include <cstddef>
#include <memory>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Runs the tasks one after another on the calling thread: the baseline every speedup is
/// relative to. name() is "sequential", workers() is 1.
[[nodiscard]] std::unique_ptr<method> make_sequential();

/// Runs the tasks on a fresh `tandem::thread_pool` of `workers` threads through `pool.map`, with
/// the workload's chunksize. The pool is started and joined inside run(), so both are timed.
/// name() is "thread_pool".
/// Errors: std::invalid_argument if `workers` is 0 (the pool would pick cpu_count() silently).
[[nodiscard]] std::unique_ptr<method> make_thread_pool(std::size_t workers);

}  // namespace tandem::lab
