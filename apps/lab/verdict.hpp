// The one-line verdicts under each table: which method won, by how much, and why, in plain
// words computed from the measured rows (never written in advance).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "lab/experiment.hpp"
#include "lab/isolation.hpp"

namespace tandem::lab {

/// The verdict for CPU-bound work (primes): how the thread_pool row with the most workers not
/// above `cores` compares with sequential, as a share of the ideal, and whether more threads than
/// cores helped (by more than 5%: "helped further"; less: "made no clear difference"; not at
/// all: "did not help"). Only what the rows show is said, never a guessed cause.
/// `rows[0]` is the sequential baseline.
/// Example: "CPU-bound: 2 workers ran 1.93x faster than sequential (97% of ideal on 2 cores);
/// more threads than cores did not help (4 workers: 1.90x)."
/// If the rows include process_pool rows, a clause follows on the one with the most workers not
/// above `cores`, against the thread_pool row of the same width: within 3% is "as fast as";
/// slower says by how much and how many seconds the processes paid for starting and for sending
/// tasks and results; "both scaled" is said only when both rows reached 70% of the ideal.
/// Example: "...; process_pool with 2 processes ran 1.88x, 4% slower than thread_pool with 2
/// workers (1.95x): threads and processes both scaled, as C++ threads have no GIL to share, and
/// the processes paid 0.014 s more for starting and for sending tasks and results."
[[nodiscard]] std::string cpu_bound_verdict(std::span<const row> rows, std::size_t cores);

/// The verdict for latency-bound work (sleep): the best thread_pool row against one wait at a
/// time, as a share of the ideal min(workers, tasks), whether the win kept growing with threads,
/// and the CPU time that shows waiting costs none. `tasks` is the number of waits.
/// Example: "Latency-bound: 128 threads finished 400 waits 96x faster than one at a time (75% of
/// the ideal 128x); the win grows with threads because waiting costs no CPU (0.03 CPU-s in 0.08
/// s)."
[[nodiscard]] std::string latency_bound_verdict(std::span<const row> rows, std::size_t tasks);

/// The verdict for the file-hashing pass: whether threads helped, and whether the work was
/// CPU-limited (the sequential pass kept a core >= 70% busy: hashing and copying from the page
/// cache) or I/O-limited (it mostly waited for the disk), which decides whether threads beyond
/// the core count can help. A gain beyond the cores must exceed 10% to count: this pass varies
/// more from run to run than pure computation. process_pool rows add the clause that
/// cpu_bound_verdict adds.
[[nodiscard]] std::string files_verdict(std::span<const row> rows, std::size_t cores);

/// The verdict for the fault experiment (isolation): what the crashing task `crash_at` did to the
/// thread_pool program (`threads`) and to the process_pool (`processes`), in counts: results
/// lost, tasks finished before the program died, tasks completed and failed, workers replaced,
/// and the failed future's error when known.
/// Example: "Isolation: task 100 of 200 wrote through a null pointer. On thread_pool it took the
/// whole program down (killed by SIGSEGV): all 200 results were lost, though 101 tasks had
/// finished. On process_pool only the worker running it died: that task's future failed
/// (process_pool: worker pid 4242 was killed by ...), 1 new worker took its place, and the other
/// 199 tasks completed. Threads share one address space, so one bad write ends them all; a
/// worker process is what the OS can end alone."
[[nodiscard]] std::string isolation_verdict(const isolation_outcome& threads,
                                            const isolation_outcome& processes,
                                            std::size_t crash_at);

/// The io verdict: which row answered `requests` requests fastest, its rate against the best
/// thread_pool row, the best http::session row and sequential; with `latency_ms` (the lab's
/// server) what sequential must take at least (requests x latency); and the measured reason: the
/// CPU time the rows used (waiting costs none, so threads and coroutines both overlap it and the
/// requests in flight set the pace) and the peak memory of the best pool and session rows. For a
/// URL list (no `latency_ms`) it adds the most non-2xx answers a row got, if any.
/// Example: "I/O-bound (2,000 requests, 20 ms each at the server): http::session with 1,000 in
/// flight won at 9,000 requests/s, 1.8x the best thread_pool (128 workers) and 180x sequential,
/// which waits out each request in turn (2,000 x 20 ms = 40 s at least); threads and coroutines
/// both overlap the waiting, which used little CPU (at most 0.40 CPU-s a row), so the rate
/// follows the requests in flight: one loop thread kept 1,000 in flight (peak 40 MB), 128
/// threads 128 (peak 30 MB)."
[[nodiscard]] std::string http_io_verdict(std::span<const row> rows, std::size_t requests,
                                          std::optional<std::uint32_t> latency_ms);

}  // namespace tandem::lab
