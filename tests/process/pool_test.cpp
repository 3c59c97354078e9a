// process_pool: what crosses the boundary, start methods, options (initializer,
// max_tasks_per_child, max_memory_per_child, idle_timeout), apply/map variants, shutdown and
// terminate. Faults are in faults_test.cpp; the executor contract in contract_test.cpp.
#include "tandem/process/process_pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "process/start_methods.hpp"
#include "tandem/process/shared_array.hpp"
#include "tandem/wait.hpp"
#include "test_support.hpp"

namespace {

using tandem::process_pool;
using tandem::start_method;
using namespace std::chrono_literals;

long worker_pid() { return ::getpid(); }
long twice(long x) { return 2 * x; }
double scale(double by, double x) { return by * x; }
long sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
std::map<std::string, std::vector<int>> invert(const std::map<int, std::string>& m) {
  std::map<std::string, std::vector<int>> out;
  for (auto& [k, v] : m) out[v].push_back(k);
  return out;
}
long throw_out_of_range(long) { throw std::out_of_range("index 7 past the end"); }

struct parse_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
long throw_custom(long) { throw parse_error("bad token at 3"); }

// The descriptors a worker has open, by number.
std::set<int> open_fds() {
  std::set<int> out;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    out.insert(std::stoi(e.path().filename().string()));
  return out;
}

class ProcessPoolStart : public tandem::test::start_method_test {};

TEST_P(ProcessPoolStart, RunsInAnotherProcess) {
  process_pool pool(with({.processes = 2}));
  EXPECT_EQ(pool.start_method(), GetParam());
  auto pid = pool.submit(worker_pid).get();
  EXPECT_NE(pid, ::getpid());
  auto pids = pool.pids();
  EXPECT_EQ(pids.size(), 2u);
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end());
}

TEST_P(ProcessPoolStart, WorkersInheritOnlyTheirOwnDescriptors) {
  // A descriptor of ours without O_CLOEXEC: a worker must not get it either.
  int leaky = ::dup(1);
  ASSERT_GE(leaky, 0);
  process_pool pool(with({.processes = 1}));
  auto fds = pool.submit(open_fds).get();
  ::close(leaky);
  // 0-2, the two pipe ends (3, 4), and the directory being listed.
  EXPECT_LE(fds.size(), 6u);
  for (int fd : fds) EXPECT_TRUE(fd <= 5) << "worker inherited fd " << fd;
}

TEST_P(ProcessPoolStart, MapAndSubmitAgree) {
  process_pool pool(with({.processes = 2}));
  std::vector<long> in(10000);
  std::iota(in.begin(), in.end(), 0L);
  long sum = 0;
  for (long r : pool.map(twice, in)) sum += r;
  EXPECT_EQ(sum, 10000L * 9999L);
  EXPECT_EQ(pool.submit(twice, 21L).get(), 42);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolStart, tandem::test::all_start_methods(),
                         tandem::test::start_name);

TEST(ProcessPool, DefaultStartMethodIsForkserverAfterProcessInit) {
  EXPECT_EQ(tandem::default_start_method(), start_method::forkserver);
  process_pool pool({.processes = 1});
  EXPECT_EQ(pool.start_method(), start_method::forkserver);
  EXPECT_EQ(pool.max_workers(), 1u);
}

TEST(ProcessPool, CapturelessLambdasAndBoundData) {
  process_pool pool({.processes = 2});
  EXPECT_EQ(pool.submit([](int x) { return x + 1; }, 41).get(), 42);
  std::vector<double> xs = {1, 2, 3};
  std::vector<double> out;
  for (double r : pool.map(tandem::bind(scale, 2.5), xs)) out.push_back(r);
  EXPECT_EQ(out, (std::vector<double>{2.5, 5.0, 7.5}));
  auto b = tandem::bind(scale, 10.0);
  EXPECT_EQ(b(4.0), 40.0);  // bound callables are callable here too
  EXPECT_EQ(pool.submit(b, 4.0).get(), 40.0);
}

TEST(ProcessPool, ContainersCrossBothWays) {
  process_pool pool({.processes = 1});
  std::map<int, std::string> m = {{1, "a"}, {2, "b"}, {3, "a"}};
  auto r = pool.submit(invert, m).get();
  EXPECT_EQ(r["a"], (std::vector<int>{1, 3}));
  EXPECT_EQ(r["b"], (std::vector<int>{2}));
  // Bigger than the 1 MiB pipe both ways.
  std::vector<long> big(3'000'000);
  std::iota(big.begin(), big.end(), 0L);
  auto back = pool.submit(
                      [](std::vector<long> v) {
                        for (auto& x : v) x = -x;
                        return v;
                      },
                      big)
                  .get();
  ASSERT_EQ(back.size(), big.size());
  EXPECT_EQ(back[2'999'999], -2'999'999);
}

TEST(ProcessPool, StdExceptionsComeBackAsThemselves) {
  process_pool pool({.processes = 1});
  auto f = pool.submit(throw_out_of_range, 1L);
  EXPECT_THROW(f.get(), std::out_of_range);
  EXPECT_EQ(tandem::describe(f.exception()), "index 7 past the end");
}

TEST(ProcessPool, OtherExceptionsComeBackAsRemoteError) {
  process_pool pool({.processes = 1});
  auto pids = pool.pids();
  auto f = pool.submit(throw_custom, 1L);
  try {
    f.get();
    FAIL() << "no exception";
  } catch (const tandem::remote_error& e) {
    EXPECT_NE(e.type_name().find("parse_error"), std::string::npos) << e.type_name();
    EXPECT_EQ(e.message(), "bad token at 3");
    EXPECT_EQ(e.pid(), pids.at(0));
    EXPECT_NE(std::string(e.what()).find("worker pid " + std::to_string(pids[0])),
              std::string::npos);
  }
  EXPECT_EQ(pool.pids(), pids);  // a task that throws costs no worker
}

int initialized_with = 0;
void init_worker(int v) { initialized_with = v; }
int read_init() { return initialized_with; }
void init_fails(int) { throw std::runtime_error("no database"); }

TEST(ProcessPool, InitializerRunsInEveryWorker) {
  process_pool pool({.processes = 2, .initializer = tandem::initializer(init_worker, 17)});
  std::vector<tandem::future<int>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(read_init));
  for (auto& f : fs) EXPECT_EQ(f.get(), 17);
  EXPECT_EQ(initialized_with, 0);  // not here
}

TEST(ProcessPool, InitializerThatThrowsBreaksThePool) {
  process_pool pool({.processes = 1, .initializer = tandem::initializer(init_fails, 1)});
  // The worker may fail before or after this submit: then submit() itself or the future throws.
  // `f` outlives the handler: were it a temporary, its state (and with it the exception's
  // owner) would go during unwinding, and the exception would then be kept alive only by
  // libstdc++'s uninstrumented count, which ThreadSanitizer cannot see (a false report).
  std::string what;
  tandem::future<int> f;
  try {
    f = pool.submit(read_init);
    f.get();
    FAIL() << "no exception";
  } catch (const tandem::broken_pool& e) {
    what = e.what();
  }
  EXPECT_NE(what.find("initializer"), std::string::npos) << what;
  EXPECT_NE(what.find("no database"), std::string::npos) << what;
  EXPECT_THROW(pool.submit(read_init), tandem::broken_pool);
}

TEST(ProcessPool, MaxTasksPerChildReplacesWorkers) {
  process_pool pool({.processes = 1, .max_tasks_per_child = 3});
  std::set<long> pids;
  std::vector<tandem::future<long>> fs;
  for (int i = 0; i < 12; ++i) fs.push_back(pool.submit(worker_pid));
  std::vector<long> order;
  for (auto& f : fs) order.push_back(f.get());
  pids.insert(order.begin(), order.end());
  EXPECT_EQ(pids.size(), 4u);
  for (std::size_t i = 0; i < order.size(); ++i)  // every 3 tasks, a new worker
    EXPECT_EQ(order[i], order[i / 3 * 3]);
}

std::vector<std::vector<char>> leaked;  // in the worker: kept, so the memory stays resident
long leak_mib(long mib) {
  leaked.emplace_back(static_cast<std::size_t>(mib) << 20, 'x');
  return ::getpid();
}

TEST(ProcessPool, MaxMemoryPerChildRecyclesAGrownWorker) {
  process_pool pool({.processes = 1, .max_memory_per_child = 32u << 20});
  // 1 MiB: under the limit even with ThreadSanitizer's shadow memory (several bytes per byte).
  long first = pool.submit(leak_mib, 1L).get();
  EXPECT_EQ(pool.submit(worker_pid).get(), first);
  std::this_thread::sleep_for(2ms);  // checks are at most one a millisecond
  long grown = pool.submit(leak_mib, 64L).get();
  EXPECT_EQ(grown, first);
  EXPECT_NE(pool.submit(worker_pid).get(), first);  // replaced after growing past 32 MiB
}

TEST(ProcessPool, IdleWorkersExitAndComeBackOnDemand) {
  process_pool pool({.processes = 2, .idle_timeout = tandem::seconds{0.1}});
  long first = pool.submit(worker_pid).get();
  for (int i = 0; i < 300 && !pool.pids().empty(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(pool.pids().empty());
  long again = pool.submit(worker_pid).get();
  EXPECT_NE(again, first);
}

long fill_slice(tandem::shared_array<double> a, long lo, long hi) {
  for (long i = lo; i < hi; ++i) a[static_cast<std::size_t>(i)] = static_cast<double>(i) * 0.5;
  return ::getpid();
}

TEST(ProcessPool, SharedArrayTravelsByHandleAndWorkersWriteInPlace) {
  process_pool pool({.processes = 2});
  tandem::shared_array<double> a(1'000'000);  // 8 MB: sent as a 48-byte handle, not copied
  std::vector<tandem::future<long>> fs;
  for (long lo = 0; lo < 1'000'000; lo += 125'000)
    fs.push_back(pool.submit(fill_slice, a, lo, lo + 125'000));
  std::set<long> pids;
  for (auto& f : fs) pids.insert(f.get());
  EXPECT_EQ(pids.count(::getpid()), 0u);
  for (std::size_t i = 0; i < a.size(); i += 9973) EXPECT_EQ(a[i], static_cast<double>(i) * 0.5);
}

TEST(ProcessPool, StarmapAndStarmapAsync) {
  process_pool pool({.processes = 2});
  std::vector<std::tuple<double, double>> in = {{2, 3}, {4, 5}};
  std::vector<double> out;
  for (double r : pool.starmap(scale, in)) out.push_back(r);
  EXPECT_EQ(out, (std::vector<double>{6, 20}));
  std::atomic<std::size_t> seen{0};
  auto f = pool.starmap_async(scale, in, 1, [&](const std::vector<double>& v) { seen = v.size(); });
  EXPECT_EQ(f.get(), (std::vector<double>{6, 20}));
  EXPECT_EQ(seen.load(), 2u);
}

TEST(ProcessPool, TerminateWithTenThousandQueuedReturnsFast) {
  process_pool pool({.processes = 2});
  std::vector<tandem::future<long>> fs;
  for (int i = 0; i < 10000; ++i) fs.push_back(pool.submit(sleep_ms, 100L));
  auto t0 = std::chrono::steady_clock::now();
  pool.terminate();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  std::size_t cancelled = 0, broken = 0;
  for (auto& f : fs) {
    ASSERT_TRUE(f.done());
    try {
      f.get();
    } catch (const tandem::cancelled_error&) {
      ++cancelled;
    } catch (const tandem::broken_pool&) {
      ++broken;
    }
  }
  EXPECT_GE(cancelled, 9990u);
  EXPECT_LE(broken, 2u);  // at most the two running
  EXPECT_TRUE(pool.pids().empty());
  EXPECT_THROW(pool.submit(worker_pid), tandem::invalid_state_error);
}

TEST(ProcessPool, ShutdownCancelFuturesIsPrompt) {
  process_pool pool({.processes = 2});
  std::vector<tandem::future<long>> fs;
  for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit(sleep_ms, 20L));
  auto t0 = std::chrono::steady_clock::now();
  pool.shutdown(true, true);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  std::size_t cancelled = 0, done = 0;
  for (auto& f : fs) {
    ASSERT_TRUE(f.done());
    if (f.cancelled())
      ++cancelled;
    else
      done += f.get() == 20;
  }
  EXPECT_EQ(cancelled + done, 1000u);
  EXPECT_GE(cancelled, 900u);
}

TEST(ProcessPool, SubmitBlocksAtMaxQueued) {
  process_pool pool({.processes = 1, .max_queued = 3});
  std::vector<tandem::future<long>> fs;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) fs.push_back(pool.submit(sleep_ms, 100L));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 50ms);  // room for three
  fs.push_back(pool.submit(sleep_ms, 1L));                 // waits for the first to finish
  EXPECT_GT(std::chrono::steady_clock::now() - t0, 100ms - tandem::test::tolerance);
  for (auto& f : fs) f.get();
}

TEST(ProcessPool, ShutdownWakesASubmitWaitingForRoom) {
  process_pool pool({.processes = 1, .max_queued = 1});
  auto running = pool.submit(sleep_ms, 300L);
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    pool.shutdown(false);
  });
  EXPECT_THROW(pool.submit(sleep_ms, 1L), tandem::invalid_state_error);
  stopper.join();
  EXPECT_EQ(running.get(), 300);
}

TEST(ProcessPool, CancelledQueuedFutureNeverRuns) {
  process_pool pool({.processes = 1});
  auto slow = pool.submit(sleep_ms, 200L);
  auto queued = pool.submit(sleep_ms, 1L);
  EXPECT_TRUE(queued.cancel());
  EXPECT_EQ(slow.get(), 200);
  EXPECT_TRUE(queued.cancelled());
}

}  // namespace
