#include "lab/verdict.hpp"

#include "lab/report.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace tandem::lab {
namespace {

// Measurements on a shared machine wobble by a few percent; differences inside these margins are
// reported as "no difference", not as a win.
constexpr double same_margin = 0.03;    // "as fast as": within 3%
constexpr double better_margin = 0.05;  // "helped further": at least 5% better
// Hashing files through the kernel varies more from run to run (about +-5% here) than counting
// primes, so a gain must be larger before it counts.
constexpr double files_better_margin = 0.10;
constexpr double grows_margin = 0.10;  // "the win grows": each step at least 10% better
// A sequential pass that keeps one core at least this busy is limited by the CPU, not by waiting.
constexpr double cpu_limited_share = 0.70;

std::vector<const row*> rows_of(std::span<const row> rows, const char* method) {
  std::vector<const row*> out;
  for (const row& r : rows)
    if (r.method == method) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(),
                   [](const row* a, const row* b) { return a->workers < b->workers; });
  return out;
}

std::vector<const row*> pool_rows(std::span<const row> rows) {
  return rows_of(rows, "thread_pool");
}

const row* best_of(const std::vector<const row*>& rs) {
  const row* best = nullptr;
  for (const row* r : rs)
    if (!best || r->speedup > best->speedup) best = r;
  return best;
}

// The row with the most workers not above `cores`; the best row if every row is above.
const row* at_cores(const std::vector<const row*>& rs, std::size_t cores) {
  const row* at = nullptr;
  for (const row* r : rs)
    if (r->workers <= cores) at = r;
  return at ? at : best_of(rs);
}

std::string plural(std::size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

// Big ratios read better without decimals: "98x", "1.93x".
std::string times(double s) {
  return s >= 10 ? fmt::format("{:.0f}x", s) : fmt::format("{:.2f}x", s);
}

std::string percent(double fraction) { return fmt::format("{:.0f}%", fraction * 100.0); }

// "1.93x faster than sequential (97% of ideal on 2 cores)"; a near tie names its ratio inside
// the parentheses: "as fast as sequential (0.99x, 99% of ideal on 2 cores)".
std::string compared_with_sequential(double s, double ideal, std::size_t cores) {
  std::string share = fmt::format("{} of ideal on {}", percent(s / ideal), plural(cores, "core"));
  if (std::abs(s - 1.0) <= same_margin)
    return fmt::format("as fast as sequential ({:.2f}x, {})", s, share);
  if (s > 1.0) return fmt::format("{} faster than sequential ({})", times(s), share);
  return fmt::format("{} slower than sequential ({})", times(1.0 / s), share);
}

double busy_share(const row& r) { return r.wall_s > 0 ? r.cpu_s / r.wall_s : 0.0; }

// "; more threads than cores did not help (4 workers: 1.90x)", or "" if none were measured.
// "; more threads than cores did not help (4 workers: 1.90x)", or "" if none were measured.
// No cause is claimed: the rows show that it happened, not why.
std::string beyond_cores(const std::vector<const row*>& rs, const row& at, std::size_t cores,
                         double margin) {
  std::vector<const row*> over;
  for (const row* r : rs)
    if (r->workers > cores) over.push_back(r);
  if (over.empty() || at.workers > cores) return "";
  const row& b = *best_of(over);
  const char* how = b.speedup > at.speedup * (1 + margin) ? "helped further"
                    : b.speedup > at.speedup              ? "made no clear difference"
                                                          : "did not help";
  return fmt::format("; more threads than cores {} ({}: {})", how, plural(b.workers, "worker"),
                     times(b.speedup));
}

// A share of the ideal speedup from which a method is said to have "scaled".
constexpr double scaled_share = 0.70;

// "; process_pool with 2 processes ran 1.88x, 4% slower than thread_pool with 2 workers (1.95x):
// ...", or "" without process_pool rows. The process row is the one with the most workers not
// above `cores`; it is compared with the thread_pool row of the same width, whose tasks run the
// same code: what differs is starting processes and sending tasks and results between them.
std::string processes_compared(std::span<const row> rows, std::size_t cores) {
  auto procs = rows_of(rows, "process_pool");
  if (procs.empty()) return "";
  const row& p = *at_cores(procs, cores);
  std::string who =
      p.workers == 1 ? std::string("1 process") : fmt::format("{} processes", p.workers);
  std::string out = fmt::format("; process_pool with {} ran {}", who, times(p.speedup));
  const row* t = nullptr;
  for (const row* r : pool_rows(rows))
    if (r->workers == p.workers) t = r;
  if (!t || p.wall_s <= 0 || t->wall_s <= 0) return out;
  double ideal = static_cast<double>(std::max<std::size_t>(1, std::min(p.workers, cores)));
  bool both_scaled = p.speedup >= scaled_share * ideal && t->speedup >= scaled_share * ideal;
  std::string scaled =
      both_scaled ? ": threads and processes both scaled, as C++ threads have no GIL to share, and"
                  : ";";
  double extra = p.wall_s - t->wall_s;
  double slower = p.wall_s / t->wall_s - 1;
  std::string against =
      fmt::format("thread_pool with {} ({})", plural(t->workers, "worker"), times(t->speedup));
  if (std::abs(slower) <= same_margin)
    return out + fmt::format(
                     ", as fast as {}{} starting the processes and sending tasks and results cost "
                     "little here ({:+.3f} s)",
                     against, scaled, extra);
  if (slower > 0)
    return out + fmt::format(
                     ", {} slower than {}{} the processes paid {:.3f} s more for starting and for "
                     "sending tasks and results",
                     percent(slower), against, scaled, extra);
  return out + fmt::format(", {} faster than {}", percent(-slower), against);
}

// `sentence` (ending in ".") with the process_pool clause before its final period.
std::string with_processes(std::string sentence, std::span<const row> rows, std::size_t cores) {
  std::string clause = processes_compared(rows, cores);
  if (clause.empty()) return sentence;
  if (!sentence.empty() && sentence.back() == '.') sentence.pop_back();
  return sentence + clause + ".";
}

std::string files_threads_verdict(std::span<const row> rows, std::size_t cores);

}  // namespace

std::string cpu_bound_verdict(std::span<const row> rows, std::size_t cores) {
  auto pool = pool_rows(rows);
  if (pool.empty())
    return "CPU-bound: only the sequential run was measured, so there is nothing to compare.";
  const row& at = *at_cores(pool, cores);
  double ideal = static_cast<double>(std::min(at.workers, cores));
  std::string out = fmt::format("CPU-bound: {} ran {}", plural(at.workers, "worker"),
                                compared_with_sequential(at.speedup, ideal, cores));
  out += beyond_cores(pool, at, cores, better_margin);
  if (at.workers < cores &&
      std::none_of(pool.begin(), pool.end(), [&](const row* r) { return r->workers > at.workers; }))
    out += fmt::format("; {} were available but at most {} measured", plural(cores, "core"),
                       plural(at.workers, "worker"));
  return with_processes(out + ".", rows, cores);
}

std::string latency_bound_verdict(std::span<const row> rows, std::size_t tasks) {
  auto pool = pool_rows(rows);
  if (pool.empty())
    return "Latency-bound: only the sequential run was measured, so there is nothing to compare.";
  const row& best = *best_of(pool);
  double ideal = static_cast<double>(std::max<std::size_t>(1, std::min(best.workers, tasks)));
  std::string out = fmt::format(
      "Latency-bound: {} threads finished {} waits {} than one at a time ({} of the ideal {})",
      best.workers, tasks,
      best.speedup >= 1 ? times(best.speedup) + " faster" : times(1 / best.speedup) + " slower",
      percent(best.speedup / ideal), times(ideal));
  std::string cpu = fmt::format("{:.2f} CPU-s in {:.2f} s", best.cpu_s, best.wall_s);
  // Compare each width with the next one that could do better in principle (more concurrent waits).
  const row* stalled = nullptr;
  for (std::size_t i = 0; i + 1 < pool.size() && !stalled; ++i) {
    const row& a = *pool[i];
    const row& b = *pool[i + 1];
    if (std::min(b.workers, tasks) <= std::min(a.workers, tasks)) {
      stalled = &a;
      break;
    }
    if (b.speedup < a.speedup * (1 + grows_margin)) stalled = &a;
  }
  if (pool.size() < 2) return out + fmt::format("; waiting costs no CPU ({}).", cpu);
  if (!stalled)
    return out +
           fmt::format("; the win grows with threads because waiting costs no CPU ({}).", cpu);
  if (stalled->workers >= tasks)
    return out + fmt::format(
                     "; the win stopped growing at {} threads because there are only {} waits to "
                     "overlap.",
                     stalled->workers, tasks);
  return out + fmt::format(
                   "; the win stopped growing past {} threads: starting and waking more threads "
                   "began to cost "
                   "as much as the waits they overlap ({}).",
                   stalled->workers, cpu);
}

std::string files_verdict(std::span<const row> rows, std::size_t cores) {
  return with_processes(files_threads_verdict(rows, cores), rows, cores);
}

namespace {

// files_verdict without the process_pool clause.
std::string files_threads_verdict(std::span<const row> rows, std::size_t cores) {
  if (rows.empty()) return "Files: nothing was measured.";
  const row& seq = rows.front();
  if (seq.result.items == 0)
    return "Files: there were no files to hash, so there is nothing to compare.";
  auto pool = pool_rows(rows);
  if (pool.empty())
    return "Files: only the sequential pass was measured, so there is nothing to compare.";
  const row& best = *best_of(pool);
  const row& at = *at_cores(pool, cores);
  double busy = busy_share(seq);
  bool cpu_limited = busy >= cpu_limited_share;
  if (best.speedup < 1 + grows_margin) {
    if (cpu_limited)
      return fmt::format(
          "Files: threads did not help (best {} with {}): the sequential pass kept one core {} "
          "busy, yet "
          "parallel passes did not scale, so a shared resource (e.g. file-system locks in the "
          "kernel, "
          "memory "
          "bandwidth) is the limit.",
          times(best.speedup), plural(best.workers, "worker"), percent(busy));
    return fmt::format(
        "Files: threads did not help (best {} with {}): the sequential pass kept a core only {} "
        "busy, waiting for the storage, and the storage was no faster when many threads asked at "
        "once.",
        times(best.speedup), plural(best.workers, "worker"), percent(busy));
  }
  if (cpu_limited) {
    double ideal = static_cast<double>(std::min(at.workers, cores));
    return fmt::format(
               "Files: CPU-limited (the sequential pass kept one core {} busy: the files came "
               "from the page cache, so the work is syscalls, copying and hashing); {} ran {}",
               percent(busy), plural(at.workers, "worker"),
               compared_with_sequential(at.speedup, ideal, cores)) +
           beyond_cores(pool, at, cores, files_better_margin) + ".";
  }
  return fmt::format(
      "Files: I/O-limited (the sequential pass kept a core only {} busy, waiting for reads); {} "
      "ran "
      "{} faster than sequential because a thread blocked in read() lets the others go on, so "
      "threads beyond the {} help.",
      percent(busy), plural(best.workers, "worker"), times(best.speedup), plural(cores, "core"));
}

}  // namespace

}  // namespace tandem::lab

namespace tandem::lab {

namespace {
// The client rows of io are named after the session ("http::session").
bool is_session(const row& r) { return r.method.find("session") != std::string::npos; }
}  // namespace

std::string http_io_verdict(std::span<const row> rows, std::size_t requests,
                            std::optional<std::uint32_t> latency_ms) {
  if (rows.empty()) return "I/O-bound: nothing was measured.";
  const row* winner = &rows.front();
  for (const row& r : rows)
    if (r.wall_s > 0 && (winner->wall_s <= 0 || r.wall_s < winner->wall_s)) winner = &r;
  if (winner->wall_s <= 0) return "I/O-bound: every run was too fast for the clock to compare.";
  auto best_where = [&](auto pred) -> const row* {
    const row* b = nullptr;
    for (const row& r : rows)
      if (pred(r) && r.wall_s > 0 && (!b || r.wall_s < b->wall_s)) b = &r;
    return b;
  };
  const row* pool = best_where([](const row& r) { return r.method == "thread_pool"; });
  const row* loop = best_where(is_session);
  const row* seq = best_where([](const row& r) { return r.method == "sequential"; });
  auto rate = [&](const row& r) {
    return group_digits(
        static_cast<std::uint64_t>(std::llround(static_cast<double>(requests) / r.wall_s)));
  };
  auto label = [](const row& r) {
    if (is_session(r))
      return fmt::format("{} with {} in flight", r.method, group_digits(r.workers));
    if (r.method == "thread_pool") return fmt::format("thread_pool ({} workers)", r.workers);
    return r.method;
  };
  std::string out = latency_ms ? fmt::format("I/O-bound ({} requests, {} ms each at the server)",
                                             group_digits(requests), *latency_ms)
                               : fmt::format("I/O-bound ({} requests to the listed URLs)",
                                             group_digits(requests));
  out += fmt::format(": {} won at {} requests/s", label(*winner), rate(*winner));
  std::vector<std::string> against;
  for (const row* b : {pool, loop, seq}) {
    if (!b || b == winner || b->method == winner->method) continue;
    double x = b->wall_s / winner->wall_s;
    std::string who = b == seq ? std::string("sequential") : "the best " + label(*b);
    against.push_back(x >= 1 + same_margin ? fmt::format("{} {}", times(x), who)
                                           : fmt::format("as fast as {}", who));
  }
  for (std::size_t i = 0; i < against.size(); ++i)
    out += (i == 0 ? ", " : i + 1 == against.size() ? " and " : ", ") + against[i];
  // sequential comes last in `against` when it is there at all.
  if (seq && seq != winner && latency_ms && *latency_ms > 0)
    out += fmt::format(", which waits out each request in turn ({} x {} ms = {:g} s at least)",
                       group_digits(requests), *latency_ms,
                       static_cast<double>(requests) * *latency_ms / 1000.0);
  // The measured reason: waiting costs (almost) no CPU, so the requests in flight set the pace.
  double max_cpu = 0;
  for (const row& r : rows) max_cpu = std::max(max_cpu, r.cpu_s);
  out += fmt::format(
      "; threads and coroutines both overlap the waiting, which used little CPU (at most {:.2f} "
      "CPU-s a row), so the rate follows the requests in flight",
      max_cpu);
  auto mb = [](const row& r) { return static_cast<double>(r.peak_rss_bytes) / 1e6; };
  if (pool && loop && pool->peak_rss_bytes > 0 && loop->peak_rss_bytes > 0)
    out += fmt::format(
        ": one loop thread kept {} in flight (peak {:.0f} MB), {} threads {} (peak {:.0f} MB)",
        group_digits(std::min(loop->workers, requests)), mb(*loop), pool->workers,
        std::min(pool->workers, requests), mb(*pool));
  out += ".";
  if (!latency_ms) {
    const row* most = nullptr;
    for (const row& r : rows)
      if (r.result.failures > 0 && (!most || r.result.failures > most->result.failures)) most = &r;
    if (most)
      out += fmt::format(" Not every answer was 2xx: {} got {} that were not.", label(*most),
                         group_digits(most->result.failures));
  }
  return out;
}

}  // namespace tandem::lab

namespace tandem::lab {

std::string isolation_verdict(const isolation_outcome& threads, const isolation_outcome& processes,
                              std::size_t crash_at) {
  std::size_t tasks = std::max(threads.tasks, processes.tasks);
  if (tasks == 0) return "Isolation: nothing was measured.";
  std::string out = fmt::format("Isolation: task {} of {} wrote through a null pointer.", crash_at,
                                group_digits(tasks));
  if (threads.tasks > 0) {
    if (threads.program_died) {
      out += fmt::format(
          " On thread_pool it took the whole program down ({}): all {} results were "
          "lost",
          threads.death, group_digits(threads.lost));
      if (threads.finished_before_death > 0)
        out +=
            fmt::format(", though {} had finished", plural(threads.finished_before_death, "task"));
      out += ".";
    } else {
      out += fmt::format(" On thread_pool the program survived, with {} of {} results.",
                         group_digits(threads.completed), group_digits(threads.tasks));
    }
  }
  if (processes.tasks > 0) {
    std::string error = processes.error.empty() ? "" : fmt::format(" ({})", processes.error);
    std::string replaced =
        processes.replaced_workers == 0
            ? std::string()
            : fmt::format("{} took its place, ",
                          processes.replaced_workers == 1
                              ? std::string("1 new worker")
                              : fmt::format("{} new workers", processes.replaced_workers));
    if (!processes.program_died && processes.failed == 1 && processes.lost == 0 &&
        processes.completed + 1 == processes.tasks)
      out += fmt::format(
          " On process_pool only the worker running it died: that task's future failed{}, {}and "
          "the other {} tasks completed.",
          error, replaced, group_digits(processes.completed));
    else
      out += fmt::format(" On process_pool {} completed, {} failed{} and {} were lost.",
                         plural(processes.completed, "task"), group_digits(processes.failed), error,
                         group_digits(processes.lost));
  }
  if (threads.program_died && !processes.program_died && processes.completed > 0)
    out +=
        " Threads share one address space, so one bad write ends them all; a worker process is "
        "what the OS can end alone.";
  return out;
}

}  // namespace tandem::lab
