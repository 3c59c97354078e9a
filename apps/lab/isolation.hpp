// The fault experiment: what a crashing task does to a thread pool and to a process pool. Threads
// share one address space, so one task that writes through a null pointer kills the whole program
// (in Python the interpreter would raise; in C++ the OS kills the process). Worker processes are
// what the OS isolates: the process pool loses that one task and finishes the rest.
//
//   thread_pool row:   lab --fork--> child: thread_pool(n).map(task, 0..N)   task k: SIGSEGV
//                      lab <--waitpid-- child killed by SIGSEGV: every result dies with it
//   process_pool row:  lab: process_pool(n, respawn).submit(task, i) for each i
//                      worker running task k dies --> that future fails with broken_pool;
//                      a new worker replaces it; the other N - 1 futures complete
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Options of `tandem-lab isolation`.
struct isolation_options {
  /// Tasks to run; each counts the primes in its own isolation_numbers_per_task numbers.
  std::size_t tasks = 200;
  /// The task whose input makes it write through a null pointer (a real SIGSEGV). The middle, so
  /// that some tasks have finished and some have not when it runs.
  std::size_t crash_at = 100;
  /// Threads of the thread_pool and processes of the process_pool.
  std::size_t workers = 2;
};

/// Numbers each isolation task examines: ~0.1 ms of trial division, small enough that the whole
/// experiment takes well under a second, large enough that the tasks are real work.
inline constexpr std::uint64_t isolation_numbers_per_task = 2'000;

/// Task `i` of the isolation experiment: the number of primes in [i, i + 1) *
/// isolation_numbers_per_task, unless `i == crash_at`: then it turns off core dumps for its
/// process and writes through a null pointer, which the OS answers with SIGSEGV. A plain function
/// of plain numbers, so that the same task runs on a thread_pool and in a worker process.
[[nodiscard]] std::uint64_t isolation_task(std::uint64_t crash_at, std::uint64_t i);

/// What one method made of the isolation tasks.
struct isolation_outcome {
  std::string method;         ///< "thread_pool" or "process_pool"
  std::size_t workers = 0;    ///< threads or processes
  double wall_s = 0;          ///< wall-clock seconds, pool (and child process) start-up included
  double cpu_s = 0;           ///< CPU seconds of the lab and its reaped child processes meanwhile
  std::size_t tasks = 0;      ///< tasks submitted
  std::size_t completed = 0;  ///< results that came back (and were checked)
  std::size_t failed = 0;     ///< tasks whose future reported an error instead of a result
  std::size_t lost = 0;       ///< tasks the program never heard back from: no result, no error
  std::size_t wrong = 0;      ///< completed results that differ from the expected count
  /// The process that ran the pool (the program, here a child standing in for it) died.
  bool program_died = false;
  std::string death;  ///< how it died: "killed by SIGSEGV", "exited with status 1"; "" if alive
  int signal = 0;     ///< the signal that killed it, 0 if none
  /// Tasks that had finished inside the program when it died: computed, but their results died
  /// with it.
  std::size_t finished_before_death = 0;
  std::size_t replaced_workers = 0;  ///< worker processes the pool started to replace dead ones
  std::string error;                 ///< the first failed future's what(); "" if none failed
};

/// Runs the tasks the way a program using tandem::thread_pool would (`workers` threads, map over
/// 0 .. tasks - 1, task `crash_at` crashes), inside a forked child process standing in for that
/// program, so that the lab survives to report how it died. `expected[i]` is task i's right
/// answer.
/// Errors: std::system_error if the child cannot be started.
[[nodiscard]] isolation_outcome run_isolation_on_threads(const isolation_options& o,
                                                         std::span<const std::uint64_t> expected);

/// Runs the tasks on a tandem::process_pool of `workers` processes with `respawn`, one submit
/// per task, and collects every future: a result, or the error it failed with.
/// Precondition: tandem::process_init(argc, argv) ran first thing in main.
/// Errors: whatever the pool's constructor throws; task failures are counted, not thrown.
[[nodiscard]] isolation_outcome run_isolation_on_processes(const isolation_options& o,
                                                           std::span<const std::uint64_t> expected);

/// The row the reports show for `o`: metrics completed, failed, lost, program_died (0 or 1),
/// signal, finished_before_death, replaced_workers; speedup NaN (the rows are not timings of one
/// answer, so a ratio between them means nothing).
[[nodiscard]] row isolation_row(const isolation_outcome& o);

/// The outcome a row shows (what isolation_row put into it), without the error message.
[[nodiscard]] isolation_outcome isolation_outcome_of(const row& r);

/// The isolation experiment with `opts`; add_options() binds --tasks, --crash-at and --workers.
/// It runs itself (experiment::run_itself): its two methods differ in outcome by design, so
/// run_experiment's "every method computes the same answer" does not apply.
[[nodiscard]] std::unique_ptr<experiment> make_isolation_experiment(isolation_options opts = {});

}  // namespace tandem::lab
