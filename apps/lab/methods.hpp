// The methods tandem-lab compares. A later layer adds its own factory here (make_process_pool,
// ...) and lists it in the experiments' plans; io's http::session method lives in io.cpp.
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

/// Runs the tasks on a fresh `tandem::process_pool` of `workers` processes through `pool.map`,
/// with the workload's chunksize (process_workload::map_on). The pool is started and shut down
/// inside run(), so starting the processes, sending the tasks and collecting the results are all
/// timed, as Python's `with ProcessPoolExecutor(n) as ex:` would be. name() is "process_pool".
/// Precondition: the program called tandem::process_init(argc, argv) first thing in main (the
/// pool then starts its workers from the forkserver).
/// Errors: std::invalid_argument if `workers` is 0; run() throws std::invalid_argument for a
/// workload without the process form (lab/process_workload.hpp).
[[nodiscard]] std::unique_ptr<method> make_process_pool(std::size_t workers);

/// `inner`, run on the first `tasks` tasks only (method::sample()); the harness scales its
/// times to the whole workload. name() and workers() are inner's.
[[nodiscard]] std::unique_ptr<method> make_sampled(std::unique_ptr<method> inner,
                                                   std::size_t tasks);

}  // namespace tandem::lab
