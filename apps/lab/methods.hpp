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

/// Runs the tasks as coroutines on one tandem::aio event loop, `concurrency` at a time: that
/// many workers, each with its own session (async_workload::open_session), take task indices in
/// order until none are left. The loop is created and closed inside run() (aio::run), so both
/// are timed. name() is "aio", workers() is the concurrency.
/// Errors: std::invalid_argument if `concurrency` is 0; run() throws std::invalid_argument for
/// a workload without the coroutine form (lab/async_workload.hpp).
[[nodiscard]] std::unique_ptr<method> make_aio(std::size_t concurrency);

/// `inner`, run on the first `tasks` tasks only (method::sample()); the harness scales its
/// times to the whole workload. name() and workers() are inner's.
[[nodiscard]] std::unique_ptr<method> make_sampled(std::unique_ptr<method> inner,
                                                   std::size_t tasks);

}  // namespace tandem::lab
