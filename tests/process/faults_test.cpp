// process_pool faults, under each start method: workers killed mid-map, crashes with a payload
// larger than the pipe in flight, segfaults, per-task timeouts, undecodable results, and the
// parent's death. process_test_main.cpp checks after each test that no child, fd or /dev/shm
// segment is left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "process/start_methods.hpp"
#include "tandem/process/process_pool.hpp"
#include "test_support.hpp"

// A result type whose decoding always fails, to test the parent's side of a bad result.
struct undecodable {
  int v = 0;
};
template <>
struct tandem::codec<undecodable> {
  static void encode(tandem::encoder& e, const undecodable& u) { tandem::encode(e, u.v); }
  static undecodable decode(tandem::decoder&) {
    throw tandem::decode_error("undecodable: refuses on purpose");
  }
};

namespace {

using tandem::process_pool;
using tandem::start_method;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

long sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
long worker_pid() { return ::getpid(); }
long size_of(const std::vector<char>& v) { return static_cast<long>(v.size()); }
long segfault_on(long x) {
  // A real SIGSEGV at x == 3: a store through address 0, computed so the compiler cannot see it.
  auto* p = reinterpret_cast<volatile long*>(static_cast<std::uintptr_t>(x == 3 ? 0 : 1) *
                                             reinterpret_cast<std::uintptr_t>(&x));
  *p = x;
  return x;
}

undecodable make_undecodable(int v) { return {v}; }

class Faults : public tandem::test::start_method_test {
 protected:
  static void kill_now(long pid) { ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0); }
};

// Submits sleepers on 2 workers and returns once both workers are busy with one.
std::vector<tandem::future<long>> busy_pool(process_pool& pool, int n, long ms) {
  std::vector<tandem::future<long>> fs;
  for (int i = 0; i < n; ++i) fs.push_back(pool.submit(sleep_ms, ms));
  std::this_thread::sleep_for(50ms);  // both workers have started one (sleeps are long)
  return fs;
}

TEST_P(Faults, KilledWorkerBreaksThePoolNamingPidAndSignal) {
  process_pool pool(with({.processes = 2}));
  auto fs = busy_pool(pool, 20, 400);
  long victim = pool.pids().at(0);
  auto t0 = clock_type::now();
  kill_now(victim);
  std::size_t broken = 0, ok = 0;
  for (auto& f : fs) {
    try {
      f.get();
      ++ok;
    } catch (const tandem::broken_pool& e) {
      ++broken;
      std::string what = e.what();
      if (what.find("while running") != std::string::npos) {
        EXPECT_NE(what.find(std::to_string(victim)), std::string::npos) << what;
        EXPECT_NE(what.find("SIGKILL"), std::string::npos) << what;
        EXPECT_LT(clock_type::now() - t0, 1s);
      }
    }
  }
  EXPECT_GE(broken, 1u);
  EXPECT_LE(ok, 2u);  // at most what the other worker had started
  EXPECT_THROW(pool.submit(worker_pid), tandem::broken_pool);
}

TEST_P(Faults, WithRespawnOnlyTheRunningTaskFails) {
  process_pool pool(with({.processes = 2, .respawn = true}));
  auto fs = busy_pool(pool, 20, 100);
  auto before = pool.pids();
  long victim = before.at(0);
  kill_now(victim);
  std::size_t broken = 0, ok = 0;
  for (auto& f : fs) {
    try {
      EXPECT_EQ(f.get(), 100);
      ++ok;
    } catch (const tandem::broken_pool& e) {
      ++broken;
      EXPECT_NE(std::string(e.what()).find(std::to_string(victim)), std::string::npos);
    }
  }
  EXPECT_EQ(broken, 1u);
  EXPECT_EQ(ok, 19u);
  EXPECT_EQ(pool.submit(sleep_ms, 1L).get(), 1);  // still open
  auto after = pool.pids();
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(std::count(after.begin(), after.end(), victim), 0);
}

TEST_P(Faults, CrashWithAPayloadLargerThanThePipeInFlight) {
  process_pool pool(with({.processes = 1}));
  // Far longer than the test: the kill below must find it running, however slow the build
  // (ThreadSanitizer takes a while to encode 8 MiB).
  auto running = pool.submit(sleep_ms, 60'000L);
  std::this_thread::sleep_for(50ms);
  std::vector<char> big(8u << 20, 'x');  // 8 MiB: the 1 MiB pipe fills while the worker sleeps
  auto stuck = pool.submit(size_of, big);
  std::this_thread::sleep_for(50ms);
  kill_now(pool.pids().at(0));
  auto t0 = clock_type::now();
  EXPECT_THROW(running.get(), tandem::broken_pool);
  EXPECT_THROW(stuck.get(), tandem::broken_pool);
  EXPECT_LT(clock_type::now() - t0, 1s);
}

TEST_P(Faults, SegfaultFailsOnlyItsTaskWithRespawn) {
  process_pool pool(with({.processes = 2, .respawn = true}));
  std::vector<tandem::future<long>> fs;
  for (long i = 0; i < 8; ++i) fs.push_back(pool.submit(segfault_on, i));
  for (long i = 0; i < 8; ++i) {
    if (i == 3) {
      try {
        fs[3].get();
        ADD_FAILURE() << "no exception";
      } catch (const tandem::broken_pool& e) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        // The sanitizer catches the SEGV, reports it and exits with an error code.
        EXPECT_NE(std::string(e.what()).find("exited with code"), std::string::npos) << e.what();
#else
        EXPECT_NE(std::string(e.what()).find("SIGSEGV"), std::string::npos) << e.what();
#endif
      }
    } else {
      EXPECT_EQ(fs[static_cast<std::size_t>(i)].get(), i);
    }
  }
}

TEST_P(Faults, TaskTimeoutKillsOnlyThatWorker) {
  process_pool pool(with({.processes = 2}));
  auto quick = pool.submit(sleep_ms, 50L);
  auto t0 = clock_type::now();
  auto slow = pool.submit({.timeout = tandem::seconds{0.3}}, sleep_ms, 5000L);
  EXPECT_THROW(slow.get(), tandem::timeout_error);
  auto took = clock_type::now() - t0;
  EXPECT_GT(took, 300ms - tandem::test::tolerance);
  EXPECT_LT(took, 300ms + tandem::test::tolerance);
  EXPECT_EQ(quick.get(), 50);
  std::vector<tandem::future<long>> more;
  for (int i = 0; i < 10; ++i) more.push_back(pool.submit(sleep_ms, 1L));
  for (auto& f : more) EXPECT_EQ(f.get(), 1);  // the pool is not broken
  EXPECT_EQ(pool.pids().size(), 2u);
}

TEST_P(Faults, PoolWideTaskTimeout) {
  process_pool pool(with({.processes = 1, .task_timeout = tandem::seconds{0.2}}));
  EXPECT_THROW(pool.submit(sleep_ms, 3000L).get(), tandem::timeout_error);
  EXPECT_EQ(pool.submit(sleep_ms, 10L).get(), 10);
}

TEST_P(Faults, ResultThatCannotBeDecodedFailsOnlyItsFuture) {
  process_pool pool(with({.processes = 1}));
  auto pids = pool.pids();
  EXPECT_THROW(pool.submit(make_undecodable, 5).get(), tandem::decode_error);
  EXPECT_EQ(pool.submit(sleep_ms, 1L).get(), 1);
  EXPECT_EQ(pool.pids(), pids);
}

TEST_P(Faults, WorkersDieWithTheirParent) {
  // A child process makes a pool and reports its workers' pids; we kill the child and watch the
  // workers go. As a subreaper we inherit them, so we can reap them and leave nothing behind.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(p[0]);
    // forkserver belongs to the test process, not to this child: fork or spawn here.
    auto m = GetParam() == start_method::forkserver ? start_method::fork : GetParam();
    process_pool pool({.processes = 2, .start_method = m});
    pool.submit(worker_pid).get();
    auto pids = pool.pids();
    [[maybe_unused]] auto n = ::write(p[1], pids.data(), pids.size() * sizeof(pid_t));
    ::pause();
    ::_exit(0);
  }
  ::close(p[1]);
  pid_t workers[2] = {0, 0};
  ASSERT_EQ(::read(p[0], workers, sizeof workers), static_cast<ssize_t>(sizeof workers));
  ::close(p[0]);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  auto t0 = clock_type::now();
  std::set<pid_t> left(std::begin(workers), std::end(workers));
  while (!left.empty() && clock_type::now() - t0 < 2s) {
    for (auto it = left.begin(); it != left.end();) {
      if (::waitpid(*it, nullptr, WNOHANG) == *it)
        it = left.erase(it);
      else
        ++it;
    }
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(left.empty()) << "workers outlived their parent";
  EXPECT_LT(clock_type::now() - t0, 1s);
  for (pid_t w : left) {
    ::kill(w, SIGKILL);
    ::waitpid(w, nullptr, 0);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, Faults, tandem::test::all_start_methods(),
                         tandem::test::start_name);

}  // namespace
