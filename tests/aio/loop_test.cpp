// The loop: ready queue, timers, cross-thread calls, fds, debug mode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tandem/aio.hpp"
#include "test_support.hpp"

namespace aio = tandem::aio;

namespace {
aio::loop_options no_shuffle() { return {.debug = false}; }

// Runs `l` until `done` or `max_iterations` pass (tests never loop without bound).
template <class Pred>
void run_until(aio::loop& l, Pred done, int max_iterations = 100000) {
  for (int i = 0; i < max_iterations && !done(); ++i) l.run_once(0.05);
}
}  // namespace

TEST(Loop, CallSoonRunsInFifoOrderOnALaterIteration) {
  aio::loop l(no_shuffle());
  std::vector<int> order;
  l.call_soon([&] { order.push_back(1); });
  l.call_soon([&] {
    order.push_back(2);
    l.call_soon([&] { order.push_back(4); });  // next iteration, after 3
  });
  l.call_soon([&] { order.push_back(3); });
  EXPECT_TRUE(order.empty());  // never inline
  l.run_once(0);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  l.run_once(0);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(Loop, TimersFireInDeadlineOrderAndCancelledOnesNever) {
  aio::loop l(no_shuffle());  // under load two deadlines can fall due in one iteration
  std::vector<int> order;
  double now = l.time();
  l.call_at(now + 0.03, [&] { order.push_back(3); });
  l.call_later(0.01, [&] { order.push_back(1); });
  auto h = l.call_later(0.02, [&] { order.push_back(99); });
  l.call_later(0.02, [&] { order.push_back(2); });
  EXPECT_NEAR(h.when(), now + 0.02, 0.01);
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  run_until(l, [&] { return order.size() == 3; });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Loop, TimerFiresNoEarlierThanItsDeadline) {
  aio::loop l;
  double start = l.time(), fired = 0;
  l.call_later(0.05, [&] { fired = l.time(); });
  run_until(l, [&] { return fired > 0; });
  EXPECT_GE(fired - start, 0.05);
  EXPECT_LT(fired - start, 0.05 + tandem::test::tolerance.count() / 1e3);
}

// 1,000,000 pending timers: adding and cancelling them all stays cheap (a heap with indexes,
// O(log n) each), and none of the cancelled ones fires.
TEST(Loop, AMillionTimersAddAndCancel) {
  aio::loop l;
  std::vector<aio::timer_handle> hs;
  hs.reserve(1000000);
  int fired = 0;
  double base = l.time() + 3600;
  for (int i = 0; i < 1000000; ++i)
    hs.push_back(l.call_at(base + (i % 1000) * 0.001, [&fired] { ++fired; }));
  for (std::size_t i = 0; i < hs.size(); i += 2) hs[i].cancel();
  for (std::size_t i = 1; i < hs.size(); i += 2) hs[i].cancel();
  l.run_once(0);
  EXPECT_EQ(fired, 0);
}

TEST(Loop, CallbackExceptionIsReportedAndTheLoopGoesOn) {
  tandem::test::unraisable_capture cap;
  aio::loop l;
  bool after = false;
  l.call_soon([] { throw std::runtime_error("bad callback"); });
  l.call_soon([&] { after = true; });
  l.run_once(0);
  EXPECT_TRUE(after);
  ASSERT_EQ(cap.messages().size(), 1u);
  EXPECT_NE(cap.messages()[0].find("bad callback"), std::string::npos);
}

TEST(Loop, CallSoonThreadsafeFromManyThreads) {
  aio::loop l;
  std::atomic<int> sent{0};
  int received = 0;
  constexpr int per_thread = 5000, threads = 4;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        l.call_soon_threadsafe([&received] { ++received; });
        sent.fetch_add(1, std::memory_order_relaxed);
      }
    });
  run_until(
      l, [&] { return received == per_thread * threads; }, 1000000);
  for (auto& t : ts) t.join();
  EXPECT_EQ(received, per_thread * threads);
}

TEST(Loop, StopFromAnotherThreadEndsRunForever) {
  aio::loop l;
  std::atomic<bool> running{false};
  l.call_soon([&] { running = true; });
  std::thread stopper([&] {
    while (!running.load()) std::this_thread::yield();
    l.stop();
  });
  l.run_forever();  // returns: the test would time out otherwise
  stopper.join();
  EXPECT_FALSE(l.is_running());
}

TEST(Loop, ClosedLoopRefusesThreadsafeCalls) {
  aio::loop l;
  l.close();
  EXPECT_TRUE(l.is_closed());
  EXPECT_THROW(l.call_soon_threadsafe([] {}), tandem::invalid_state_error);
  EXPECT_THROW(l.run_forever(), tandem::invalid_state_error);
}

TEST(Loop, AddReaderCallsBackWhileReadable) {
  aio::loop l;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  std::string got;
  l.add_reader(fds[0], [&] {
    char buf[16];
    auto n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  });
  ASSERT_EQ(::write(fds[1], "hi", 2), 2);
  run_until(l, [&] { return got == "hi"; });
  EXPECT_EQ(got, "hi");
  EXPECT_TRUE(l.remove_reader(fds[0]));
  EXPECT_FALSE(l.remove_reader(fds[0]));
  l.run_once(0);  // the deferred free of the watch
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Loop, GetRunningLoopOutsideALoopThrows) {
  EXPECT_THROW(aio::get_running_loop(), tandem::invalid_state_error);
}

TEST(LoopDebug, SlowCallbackIsReported) {
  aio::loop l({.debug = true, .shuffle_seed = 7, .slow_callback_duration = 0.01});
  testing::internal::CaptureStderr();
  l.call_soon([] { std::this_thread::sleep_for(std::chrono::milliseconds(30)); });
  l.run_once(0);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("took"), std::string::npos) << err;
}

TEST(LoopDebug, ShuffleIsSeededAndPrinted) {
  testing::internal::CaptureStderr();
  auto order_for = [](std::uint64_t seed) {
    aio::loop l({.debug = true, .shuffle_seed = seed});
    std::vector<int> order;
    for (int i = 0; i < 50; ++i) l.call_soon([&order, i] { order.push_back(i); });
    l.run_once(0);
    return order;
  };
  auto a = order_for(1), b = order_for(1), c = order_for(2);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(a, b);  // same seed, same order: a failing seed can be replayed
  EXPECT_NE(a, c);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(a, sorted);  // shuffled
  EXPECT_NE(err.find("TANDEM_AIO_SEED=1"), std::string::npos) << err;
}

namespace {
aio::task<int> forgotten() { co_return 1; }
aio::task<int> forgets() {
  { auto t = forgotten(); }  // created, never awaited
  co_return 0;
}
}  // namespace

TEST(LoopDebug, CoroutineNeverAwaitedIsReported) {
  testing::internal::CaptureStderr();
  aio::run(forgets(), {.debug = true, .shuffle_seed = 1});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("without ever being awaited"), std::string::npos) << err;
}
