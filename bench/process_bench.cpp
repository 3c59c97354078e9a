// The process-pool workloads (issue 4): W5, W5b and W6 of shared/bench/WORKLOADS.md on
// tandem::process_pool, plus the round-trip latency of one task and the pool's start-up time per
// start method. One workload per run, one run per process (as the event-loop programs and the
// Python peers: loop_peer.hpp says why), printing one JSON line that bench/run.sh records and
// bench/table.py reads beside shared/peers/python/w5_proc_map.py and w6_primes.py.
//
// Usage: tandem_process_bench <workload> [argument]
//   w5              pool.map(double_it, 1,000,000 ints), default chunking     -> items/s
//   w5b_submit      20,000 x pool.submit(double_it, i), then get() each       -> tasks/s
//   w5b_imap        pool.imap_unordered(double_it, 20,000 ints, chunksize 1)  -> tasks/s
//   latency         2,000 sequential pool.submit(double_it, i).get()          -> median, p90, p99
//   w6              primes below W6_LIMIT (env, default 5,000,000) in 64 ranges: sequential,
//                   process_pool(2).map and thread_pool(2).map, chunksize 1   -> walls, speedups
//   startup METHOD  construct a 2-process pool and finish one task, 10 times  -> median seconds;
//                   its shutdown() timed apart (METHOD: fork, forkserver or spawn)
// The optional argument of w5, w5b_*, latency is the item count (for trying things out; run.sh
// uses the defaults). Every workload uses 2 worker processes and the default start method
// (forkserver, since main calls process_init) unless it says otherwise.
//
// W5, W5b and latency create the pool and warm it (a 4-item map with chunksize 1, so both workers
// have run a task) before timing, as w5_proc_map.py does; startup_s reports that separately. W6
// creates its pools inside the timed region, as w6_primes.py and primes_bench.cpp do; its
// proc_startup_s, proc_map_s and proc_shutdown_s split the process-pool wall time (threads_map_s:
// the thread pool's start + map, before its threads are joined).
//
// CPU accounting: cores = (this process + its workers) CPU seconds / wall second; the workers'
// share comes from /proc/<pid>/stat, read before the pool shuts down; others_cpu is the machine's
// busy time minus both, per wall second (cpu_usage.hpp). Peak RSS: this process's VmHWM and the
// sum of the workers' VmHWM (kB), read the same way.
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <ranges>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cpu_usage.hpp"
#include "loop_peer.hpp"
#include "primes.hpp"
#include "tandem/process/process_pool.hpp"
#include "tandem/process/start.hpp"
#include "tandem/thread_pool.hpp"

namespace {

using tandem_bench::fail;
using tandem_bench::json_line;
using clock_type = std::chrono::steady_clock;

// WORKLOADS.md's sizes, the same as the Python peer's (w5_proc_map.py N5, N5B).
constexpr long w5_items = 1'000'000;
constexpr long w5b_tasks = 20'000;
constexpr long latency_trips = 2'000;  // sequential round trips; p99 = the 20th slowest
constexpr int startup_samples = 10;    // pools started per run; the median is reported
constexpr std::size_t workers = 2;     // WORKLOADS.md: 2 worker processes
constexpr std::uint64_t w6_default_limit = 5'000'000;
constexpr long long w6_primes_below_default = 348'513;  // pi(5,000,000)
constexpr std::uint64_t w6_parts = 64;                  // WORKLOADS.md W6: 64 equal ranges

/// The trivial function of W5 and W5b (x*2), a plain function as the issue asks.
long double_it(long x) { return x * 2; }

/// W6's task: one range counted by the shared trial-division loop (primes.hpp), the same machine
/// code for the sequential run, the process pool and the thread pool.
std::size_t count_range(tandem_bench::prime_range r) { return tandem_bench::count_primes(r); }

double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// ------------------------------------------------------------------ per-process figures

/// A field of /proc/<pid>/status in kB ("VmHWM"); -1 if it cannot be read.
long status_kb(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':')
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

/// utime + stime of `pid` in seconds from /proc/<pid>/stat; 0 if it cannot be read.
double process_cpu_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all;  // one line
  std::getline(in, all);
  // The command name (field 2) may hold spaces: fields after it are counted from its ')'.
  const std::size_t close = all.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(all.substr(close + 1));
  std::string skip;
  for (int i = 3; i <= 13; ++i) rest >> skip;  // state .. cmajflt
  unsigned long long utime = 0, stime = 0;
  rest >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// The CPU seconds the workers `pids` have used so far.
double workers_cpu(const std::vector<pid_t>& pids) {
  double s = 0;
  for (pid_t p : pids) s += process_cpu_of(p);
  return s;
}

/// The sum of the workers' peak RSS (kB), or -1 if any cannot be read.
long workers_peak_kb(const std::vector<pid_t>& pids) {
  long sum = 0;
  for (pid_t p : pids) {
    const long kb = status_kb(p, "VmHWM");
    if (kb < 0) return -1;
    sum += kb;
  }
  return sum;
}

/// CPU use over a timed region, this process and its workers apart from everyone else's.
/// Construct before the region (with the workers' CPU so far), call add_to() after it while the
/// workers still live.
class meter {
 public:
  explicit meter(double workers_cpu0 = 0)
      : t0_(tandem_bench::cpu_ticks::now()),
        ours0_(tandem_bench::process_cpu_seconds()),
        workers0_(workers_cpu0),
        wall0_(clock_type::now()) {}

  /// Adds `<prefix>cores` (ours + workers per wall second), `<prefix>workers_cores` and
  /// `<prefix>others_cpu` (cores other processes used) up to now.
  void add_to(json_line& out, double workers_cpu1, const std::string& prefix = "") const {
    const tandem_bench::cpu_ticks t1 = tandem_bench::cpu_ticks::now();
    const double span = since(wall0_);
    if (span <= 0) return;
    const double ours = tandem_bench::process_cpu_seconds() - ours0_;
    const double kids = workers_cpu1 - workers0_;
    const double others = (t1.busy - t0_.busy - ours - kids) / span;
    out.add((prefix + "cores").c_str(), (ours + kids) / span)
        .add((prefix + "workers_cores").c_str(), kids / span)
        .add((prefix + "others_cpu").c_str(), others > 0 ? others : 0.0);
  }

 private:
  tandem_bench::cpu_ticks t0_;
  double ours0_;
  double workers0_;
  clock_type::time_point wall0_;
};

// ------------------------------------------------------------------ the pool, started and warm

struct warm_pool {
  tandem::process_pool pool;
  double startup_s;
};

/// A 2-process pool with the default start method, warmed as w5_proc_map.py warms its pool: a
/// 4-item map with chunksize 1, so every worker exists and has run a task.
/// startup_s = construction + warm-up, seconds.
std::unique_ptr<warm_pool> make_warm_pool() {
  const auto t0 = clock_type::now();
  auto w =
      std::unique_ptr<warm_pool>(new warm_pool{tandem::process_pool({.processes = workers}), 0});
  long sum = 0;
  for (long v : w->pool.map(double_it, std::views::iota(0L, 4L), {.chunksize = 1})) sum += v;
  if (sum != 12) fail("warm-up map: sum " + std::to_string(sum) + ", expected 12");
  w->startup_s = since(t0);
  return w;
}

const char* method_name(tandem::start_method m) {
  switch (m) {
    case tandem::start_method::fork:
      return "fork";
    case tandem::start_method::forkserver:
      return "forkserver";
    case tandem::start_method::spawn:
      return "spawn";
  }
  return "?";
}

/// The fields every W5/W5b/latency line has, after the run; `pids` are the workers.
void finish_line(json_line& out, const warm_pool& w, const meter& m,
                 const std::vector<pid_t>& pids) {
  m.add_to(out, workers_cpu(pids));
  out.add("startup_s", w.startup_s)
      .add("start_method", method_name(w.pool.start_method()))
      .add("workers", static_cast<long>(w.pool.max_workers()))
      .add("peak_rss_kb", tandem_bench::proc_status_kb("VmHWM"))
      .add("workers_peak_rss_kb", workers_peak_kb(pids));
}

// ------------------------------------------------------------------ W5, W5b

/// Runs `body(pool)` on a warm pool, timed; it must return the sum of 2i over 0..n-1. Checks
/// the sum and prints the line. `chunksize`: 0 reports the pool's automatic one, -1 none.
template <class Body>
void run_summed(const char* label, const char* workload, const char* method, const char* unit,
                long n, long chunksize, Body body) {
  auto w = make_warm_pool();
  const std::vector<pid_t> pids = w->pool.pids();
  const meter m(workers_cpu(pids));
  const auto t0 = clock_type::now();
  const long long sum = body(w->pool);
  const double wall = since(t0);
  const long long want = static_cast<long long>(n) * (n - 1);
  if (sum != want)
    fail(std::string(label) + ": sum " + std::to_string(sum) + ", expected " +
         std::to_string(want));
  json_line out;
  out.add("workload", workload).add("method", method).add("n", n);
  if (chunksize == 0)
    chunksize = static_cast<long>(
        tandem::detail::auto_chunksize(static_cast<std::size_t>(n), w->pool.max_workers()));
  if (chunksize > 0) out.add("chunksize", chunksize);
  out.add("rate", static_cast<double>(n) / wall).add("unit", unit).add("wall_s", wall);
  finish_line(out, *w, m, pids);
  out.add("check", sum).print();
}

/// W5: pool.map(double_it, 0..n-1) with the default chunking, results summed in order.
void run_w5(long n) {
  run_summed("w5", "W5", "process_pool.map", "items/s", n, 0, [n](tandem::process_pool& pool) {
    long long sum = 0;
    for (long v : pool.map(double_it, std::views::iota(0L, n))) sum += v;
    return sum;
  });
}

/// W5b, submit form: n x submit(double_it, i), every future kept, then get() each and sum.
void run_w5b_submit(long n) {
  run_summed("w5b_submit", "W5b", "process_pool.submit", "tasks/s", n, -1,
             [n](tandem::process_pool& pool) {
               std::vector<tandem::future<long>> futs;
               futs.reserve(static_cast<std::size_t>(n));
               for (long i = 0; i < n; ++i) futs.push_back(pool.submit(double_it, i));
               long long sum = 0;
               for (const auto& f : futs) sum += f.get();
               return sum;
             });
}

/// W5b, imap form: imap_unordered(double_it, 0..n-1, chunksize 1): one message per item.
void run_w5b_imap(long n) {
  run_summed(
      "w5b_imap", "W5b", "process_pool.imap_unordered", "tasks/s", n, 1,
      [n](tandem::process_pool& pool) {
        long long sum = 0;
        for (long v : pool.imap_unordered(double_it, std::views::iota(0L, n), {.chunksize = 1}))
          sum += v;
        return sum;
      });
}

/// The q-quantile (0..1) of sorted `xs` by the nearest-rank method.
double quantile(const std::vector<double>& xs, double q) {
  if (xs.empty()) return 0;
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(xs.size()) + 0.999999);
  return xs[std::min(xs.size(), std::max<std::size_t>(rank, 1)) - 1];
}

/// Round-trip latency: n sequential submit(double_it, i).get(), each timed alone.
void run_latency(long n) {
  auto w = make_warm_pool();
  const std::vector<pid_t> pids = w->pool.pids();
  const meter m(workers_cpu(pids));
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  long long sum = 0;
  const auto t0 = clock_type::now();
  for (long i = 0; i < n; ++i) {
    const auto a = clock_type::now();
    sum += w->pool.submit(double_it, i).get();
    us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - a).count());
  }
  const double wall = since(t0);
  const long long want = static_cast<long long>(n) * (n - 1);
  if (sum != want)
    fail("latency: sum " + std::to_string(sum) + ", expected " + std::to_string(want));
  std::sort(us.begin(), us.end());
  json_line out;
  out.add("workload", "latency")
      .add("method", "process_pool.submit().get()")
      .add("n", n)
      .add("median_us", quantile(us, 0.5))
      .add("p90_us", quantile(us, 0.9))
      .add("p99_us", quantile(us, 0.99))
      .add("min_us", us.empty() ? 0.0 : us.front())
      .add("max_us", us.empty() ? 0.0 : us.back())
      .add("rate", static_cast<double>(n) / wall)
      .add("unit", "round trips/s")
      .add("wall_s", wall);
  finish_line(out, *w, m, pids);
  out.add("check", sum).print();
}

// ------------------------------------------------------------------ W6

/// The limit from the W6_LIMIT environment variable (run.sh passes the Python peer's), else 5M.
std::uint64_t w6_limit_from_env() {
  const char* s = std::getenv("W6_LIMIT");
  if (!s || !*s) return w6_default_limit;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (*end != '\0' || v < 2) {
    std::fprintf(stderr, "W6_LIMIT=%s: expected an integer >= 2\n", s);
    std::exit(2);
  }
  return v;
}

/// W6: sequential, then process_pool(2).map, then thread_pool(2).map, each over the 64 ranges
/// with chunksize 1 (w6_primes.py's Pool.map(count_range, ranges, chunksize=1)); each parallel
/// wall time includes creating and shutting down its pool, as in w6_primes.py.
void run_w6() {
  const std::uint64_t limit = w6_limit_from_env();
  const std::vector<tandem_bench::prime_range> ranges = tandem_bench::split_range(limit, w6_parts);
  const auto expected = static_cast<long long>(tandem_bench::sieve_count(limit));
  if (limit == w6_default_limit && expected != w6_primes_below_default)
    fail("W6 sieve: " + std::to_string(expected) + " primes below 5,000,000, expected 348,513");
  json_line out;
  out.add("workload", "W6")
      .add("method", "sequential|process_pool(2).map|thread_pool(2).map")
      .add("limit", static_cast<long long>(limit))
      .add("parts", static_cast<long long>(w6_parts))
      .add("primes", expected);

  // Sequential.
  const meter ms;
  auto t0 = clock_type::now();
  std::size_t seq = 0;
  for (const auto& r : ranges) seq += count_range(r);
  const double seq_s = since(t0);
  ms.add_to(out, 0, "seq_");

  // Process pool.
  const meter mp;
  t0 = clock_type::now();
  std::size_t par = 0;
  double startup = 0;
  double proc_s = 0;
  {
    tandem::process_pool pool({.processes = workers});
    startup = since(t0);
    for (std::size_t c : pool.map(count_range, ranges, {.chunksize = 1})) par += c;
    const double mapped = since(t0);
    // The workers' figures are read while they live, off the clock: the wall time is the map's
    // plus the shutdown's.
    const std::vector<pid_t> pids = pool.pids();
    const double kids = workers_cpu(pids);
    const long kb = workers_peak_kb(pids);
    const auto t1 = clock_type::now();
    pool.shutdown();
    const double down = since(t1);
    proc_s = mapped + down;
    mp.add_to(out, kids, "proc_");
    out.add("proc_start_method", method_name(pool.start_method()))
        .add("proc_map_s", mapped - startup)
        .add("proc_shutdown_s", down)
        .add("proc_workers_cpu_s", kids)
        .add("proc_workers_peak_rss_kb", kb);
  }

  // Thread pool.
  const meter mt;
  t0 = clock_type::now();
  std::size_t thr = 0;
  double thr_mapped = 0;
  {
    tandem::thread_pool pool({.max_workers = workers});
    for (std::size_t c : pool.map(count_range, ranges, {.chunksize = 1})) thr += c;
    thr_mapped = since(t0);
  }
  const double thr_s = since(t0);
  out.add("threads_map_s", thr_mapped);
  mt.add_to(out, 0, "threads_");

  const std::pair<const char*, std::size_t> counts[] = {
      {"sequential", seq}, {"process_pool", par}, {"thread_pool", thr}};
  for (const auto& [name, got] : counts)
    if (static_cast<long long>(got) != expected)
      fail(std::string("W6 ") + name + ": " + std::to_string(got) + " primes, expected " +
           std::to_string(expected));
  out.add("seq_s", seq_s)
      .add("proc_s", proc_s)
      .add("proc_startup_s", startup)
      .add("threads_s", thr_s)
      .add("speedup_proc2", seq_s / proc_s)
      .add("speedup_threads2", seq_s / thr_s)
      .add("proc_vs_threads_pct", (thr_s / proc_s - 1) * 100)
      .add("wall_s", seq_s + proc_s + thr_s)
      .add("peak_rss_kb", tandem_bench::proc_status_kb("VmHWM"))
      .print();
}

// ------------------------------------------------------------------ start-up per start method

std::optional<tandem::start_method> parse_method(std::string_view s) {
  if (s == "fork") return tandem::start_method::fork;
  if (s == "forkserver") return tandem::start_method::forkserver;
  if (s == "spawn") return tandem::start_method::spawn;
  return std::nullopt;
}

/// Time from constructing a 2-process pool with `method` to the result of its first task, median
/// of `startup_samples` pools made one after another. shutdown() (workers exit, reaped) is timed
/// apart and reported beside it.
void run_startup(tandem::start_method method) {
  std::vector<double> s, down;
  for (int i = 0; i < startup_samples; ++i) {
    const auto t0 = clock_type::now();
    tandem::process_pool pool({.processes = workers, .start_method = method});
    const long v = pool.submit(double_it, 21L).get();
    s.push_back(since(t0));
    if (v != 42) fail("startup: double_it(21) = " + std::to_string(v));
    const auto t1 = clock_type::now();
    pool.shutdown();
    down.push_back(since(t1));
  }
  std::sort(s.begin(), s.end());
  std::sort(down.begin(), down.end());
  json_line out;
  out.add("workload", "startup")
      .add("method", std::string("process_pool(2) ") + method_name(method))
      .add("start_method", method_name(method))
      .add("n", static_cast<long>(s.size()))
      .add("median_s", quantile(s, 0.5))
      .add("min_s", s.front())
      .add("max_s", s.back())
      .add("wall_s", quantile(s, 0.5))
      .add("shutdown_median_s", quantile(down, 0.5))
      .add("shutdown_max_s", down.back())
      .add("peak_rss_kb", tandem_bench::proc_status_kb("VmHWM"))
      .print();
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(
      stderr, "usage: %s w5|w5b_submit|w5b_imap|latency [n] | w6 | startup fork|forkserver|spawn\n",
      argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  tandem::process_init(argc, argv);
  if (argc < 2) usage(argv[0]);
  const std::string_view what = argv[1];
  if (what == "w5") {
    run_w5(tandem_bench::arg_long(argc, argv, 2, w5_items));
  } else if (what == "w5b_submit") {
    run_w5b_submit(tandem_bench::arg_long(argc, argv, 2, w5b_tasks));
  } else if (what == "w5b_imap") {
    run_w5b_imap(tandem_bench::arg_long(argc, argv, 2, w5b_tasks));
  } else if (what == "latency") {
    run_latency(tandem_bench::arg_long(argc, argv, 2, latency_trips));
  } else if (what == "w6") {
    run_w6();
  } else if (what == "startup") {
    const auto m = argc > 2 ? parse_method(argv[2]) : std::nullopt;
    if (!m) usage(argv[0]);
    run_startup(*m);
  } else {
    usage(argv[0]);
  }
  return 0;
}
