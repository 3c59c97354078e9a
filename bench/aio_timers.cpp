// W3 timers and W3b spawn (shared/bench/WORKLOADS.md) on tandem::aio: tandem's side of the rows
// whose peers are bench/asio_peers.cpp and the Python asyncio/uvloop peers.
//
//   tandem_aio_timers w3 [n] [gather|create_task]       n tasks (default 100,000) sleep 1.0 s
//   tandem_aio_timers w3b [ret|sleep0] [gather|create_task]   1,000,000 tasks that return at once
//
// How the tasks are started and collected (the last argument; default gather once it exists):
//   gather:      n coroutines in a std::vector<aio::task<int>>, then co_await aio::gather(vector),
//                which starts them all and returns their std::vector<int>;
//   create_task: aio::create_task() each (all scheduled before any runs, as the Python peer's
//                list of create_task), then co_await each handle in order and sum.
// gather is probed with __has_include("tandem/aio/gather.hpp") (the room rule's header name); if
// the aio layer puts it elsewhere, change TANDEM_BENCH_HAVE_GATHER below.
// Everything runs inside aio::run on the main thread. The clock starts inside the main task,
// before the first task is created, and stops when the sum is known, as in the Python peers;
// W3's baseline RSS is read at the same point (VmRSS), its peak after run() returns (VmHWM).
// Prints one JSON line (loop_peer.hpp); a wrong sum exits non-zero.
//
// Built outside the default build (EXCLUDE_FROM_ALL in bench/CMakeLists.txt) while aio's API is
// moving; bench/run.sh builds it and leaves the tandem cells empty if it does not build.
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loop_peer.hpp"
#include "tandem/aio.hpp"

#if __has_include("tandem/aio/gather.hpp")
#include "tandem/aio/gather.hpp"
#define TANDEM_BENCH_HAVE_GATHER 1
#else
#define TANDEM_BENCH_HAVE_GATHER 0
#endif

namespace {

namespace tb = tandem_bench;
namespace aio = tandem::aio;

/// What the main task measured.
struct timings {
  long base_kb = 0;    // VmRSS before the first task was created
  double spawn_s = 0;  // until every task was created (gather: built, not yet started)
  double wall_s = 0;   // until the sum was known
  long long sum = 0;
};

aio::task<int> w3_sleeper() {
  co_await aio::sleep(tb::w3_sleep_s);
  co_return 1;
}

aio::task<int> w3b_ret() { co_return 1; }

aio::task<int> w3b_sleep0() {
  co_await aio::sleep(0.0);
  co_return 1;
}

using task_fn = aio::task<int> (*)();

/// Creates n tasks of `fn` with create_task, then awaits each handle in order.
aio::task<int> run_create_task(task_fn fn, long n, timings* t) {
  t->base_kb = tb::proc_status_kb("VmRSS");
  const tb::run_meter meter;
  std::vector<aio::task_handle<int>> handles;
  handles.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) handles.push_back(aio::create_task(fn()));
  t->spawn_s = meter.elapsed();
  long long sum = 0;
  for (auto& h : handles) sum += co_await std::move(h);
  t->wall_s = meter.elapsed();
  t->sum = sum;
  co_return 0;
}

#if TANDEM_BENCH_HAVE_GATHER
/// Builds n coroutines of `fn` in a vector, then gathers them.
aio::task<int> run_gather(task_fn fn, long n, timings* t) {
  t->base_kb = tb::proc_status_kb("VmRSS");
  const tb::run_meter meter;
  std::vector<aio::task<int>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) tasks.push_back(fn());
  t->spawn_s = meter.elapsed();
  const std::vector<int> results = co_await aio::gather(std::move(tasks));
  long long sum = 0;
  for (const int r : results) sum += r;
  t->wall_s = meter.elapsed();
  t->sum = sum;
  co_return 0;
}
#endif

/// Runs `fn` n times the `how` way in a fresh aio::run; the record's common fields.
tb::json_line run(const char* workload, const std::string& method, std::string_view how, task_fn fn,
                  long n, timings& t) {
  const tb::run_meter meter;
  if (how == "create_task") {
    aio::run(run_create_task(fn, n, &t));
  } else {
#if TANDEM_BENCH_HAVE_GATHER
    aio::run(run_gather(fn, n, &t));
#else
    tb::fail("this tree has no tandem/aio/gather.hpp: use create_task");
#endif
  }
  if (t.sum != n)
    tb::fail(std::string(workload) + "/" + method + ": sum " + std::to_string(t.sum) +
             ", expected " + std::to_string(n));
  tb::json_line out;
  out.add("workload", workload).add("method", method).add("n", n);
  meter.add_to(out, t.wall_s);
  out.add("spawn_s", t.spawn_s);
  return out;
}

std::string_view default_how() { return TANDEM_BENCH_HAVE_GATHER ? "gather" : "create_task"; }

bool valid_how(std::string_view how) {
  return how == "create_task" || (how == "gather" && TANDEM_BENCH_HAVE_GATHER);
}

int w3(long n, std::string_view how) {
  if (!valid_how(how)) tb::fail("w3: expected gather (once it exists) or create_task");
  timings t;
  auto out = run("W3", "aio/" + std::string(how), how, w3_sleeper, n, t);
  const long peak_kb = tb::proc_status_kb("VmHWM");
  out.add("inproc_baseline_rss_kb", t.base_kb).add("inproc_peak_rss_kb", peak_kb);
  if (n > 0)
    out.add("inproc_rss_per_task_bytes",
            static_cast<double>(peak_kb - t.base_kb) * 1024.0 / static_cast<double>(n));
  out.add("check", t.sum).print();
  return 0;
}

int w3b(std::string_view variant, std::string_view how) {
  if (variant != "ret" && variant != "sleep0") tb::fail("w3b: variant must be ret or sleep0");
  if (!valid_how(how)) tb::fail("w3b: expected gather (once it exists) or create_task");
  timings t;
  auto out = run("W3b", "aio/" + std::string(variant) + "/" + std::string(how), how,
                 variant == "ret" ? w3b_ret : w3b_sleep0, tb::w3b_tasks, t);
  out.add("rate", static_cast<double>(tb::w3b_tasks) / t.wall_s)
      .add("unit", "tasks/s")
      .add("check", t.sum)
      .print();
  return 0;
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s w3 [n] [gather|create_task] | w3b [ret|sleep0] [gather|create_task]\n"
               "  (shared/bench/WORKLOADS.md W3 and W3b on tandem::aio; gather %s)\n",
               argv0, TANDEM_BENCH_HAVE_GATHER ? "available" : "not in this tree yet");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(argv[0]);
  const std::string_view what = argv[1];
  if (what == "w3")
    return w3(tb::arg_long(argc, argv, 2, tb::w3_tasks), argc > 3 ? argv[3] : default_how());
  if (what == "w3b") return w3b(argc > 2 ? argv[2] : "ret", argc > 3 ? argv[3] : default_how());
  return usage(argv[0]);
}
