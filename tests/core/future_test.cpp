// future<T> / promise<T>: the concurrent.futures.Future contract.
#include "tandem/future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace std::chrono_literals;
using tandem::future;
using tandem::promise;

TEST(Future, GetReturnsTheValue) {
  promise<int> p;
  auto f = p.get_future();
  EXPECT_FALSE(f.done());
  p.set_result(42);
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.get(), 42);
  EXPECT_EQ(f.get(), 42);  // shared handle: get() can be called again
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, GetRethrowsTheStoredException) {
  promise<std::string> p;
  auto f = p.get_future();
  p.set_exception(std::make_exception_ptr(std::out_of_range("boom")));
  EXPECT_THROW(f.get(), std::out_of_range);
  EXPECT_NE(f.exception(), nullptr);
  EXPECT_EQ(tandem::describe(f.exception()), "boom");
}

TEST(Future, VoidFutures) {
  promise<void> p;
  auto f = p.get_future();
  std::thread t([&] { p.set_result(); });
  f.get();
  EXPECT_TRUE(f.done());
  t.join();
}

TEST(Future, MoveOnlyResultMovesOut) {
  promise<std::unique_ptr<int>> p;
  auto f = p.get_future();
  p.set_result(std::make_unique<int>(7));
  std::unique_ptr<int> v = std::move(f).get();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 7);
}

TEST(Future, GetWithTimeoutThrowsTimeoutError) {
  promise<int> p;
  auto f = p.get_future();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(f.get(50ms), tandem::timeout_error);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 50ms + tandem::test::tolerance);
  EXPECT_THROW(f.exception(tandem::seconds{0.01}), tandem::timeout_error);
  p.set_result(1);
  EXPECT_EQ(f.get(1s), 1);
}

TEST(Future, GetWithTimeoutOnATemporaryMovesTheResultOut) {
  promise<std::unique_ptr<int>> p;
  p.set_result(std::make_unique<int>(3));
  std::unique_ptr<int> v = p.get_future().get(1s);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 3);
}

TEST(Future, WaitForReportsDone) {
  promise<int> p;
  auto f = p.get_future();
  EXPECT_FALSE(f.wait_for(10ms));
  std::thread t([&] { p.set_result(3); });
  EXPECT_TRUE(f.wait_for(10s));
  t.join();
}

TEST(Future, CancelSucceedsOnlyWhilePending) {
  promise<int> pending;
  auto a = pending.get_future();
  EXPECT_TRUE(a.cancel());
  EXPECT_TRUE(a.cancel());  // already cancelled: still true, as Python
  EXPECT_TRUE(a.cancelled());
  EXPECT_TRUE(a.done());
  EXPECT_THROW(a.get(), tandem::cancelled_error);
  EXPECT_THROW(a.exception(), tandem::cancelled_error);
  EXPECT_FALSE(pending.set_running_or_notify_cancel());
  EXPECT_THROW(pending.set_result(1), tandem::invalid_state_error);

  promise<int> running;
  auto b = running.get_future();
  EXPECT_TRUE(running.set_running_or_notify_cancel());
  EXPECT_TRUE(b.running());
  EXPECT_FALSE(b.cancel());
  EXPECT_FALSE(b.cancelled());
  running.set_result(5);
  EXPECT_FALSE(b.running());
  EXPECT_FALSE(b.cancel());
  EXPECT_EQ(b.get(), 5);
}

TEST(Future, SettingTwiceIsAnInvalidState) {
  promise<int> p;
  p.set_result(1);
  EXPECT_THROW(p.set_result(2), tandem::invalid_state_error);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
               tandem::invalid_state_error);
  EXPECT_EQ(p.get_future().get(), 1);
}

TEST(Future, DroppedPromiseBreaksItsFuture) {
  future<int> f;
  {
    promise<int> p;
    f = p.get_future();
  }
  EXPECT_THROW(f.get(), tandem::broken_promise);
}

TEST(Future, CallbackRunsAtOnceWhenAlreadyDone) {
  promise<int> p;
  auto f = p.get_future();
  p.set_result(9);
  std::thread::id ran_on;
  int seen = 0;
  f.add_done_callback([&](const future<int>& g) {
    ran_on = std::this_thread::get_id();
    seen = g.get();
  });
  EXPECT_EQ(seen, 9);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(Future, CallbacksRunInOrderOnTheCompletingThread) {
  promise<int> p;
  auto f = p.get_future();
  std::vector<int> order;
  std::thread::id ran_on;
  for (int i = 0; i < 5; ++i)
    f.add_done_callback([&, i](const future<int>&) {
      order.push_back(i);
      ran_on = std::this_thread::get_id();
    });
  EXPECT_TRUE(order.empty());
  std::thread::id setter;
  std::thread t([&] {
    setter = std::this_thread::get_id();
    p.set_result(1);
  });
  t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ran_on, setter);
}

TEST(Future, CallbacksRunOnCancel) {
  promise<int> p;
  auto f = p.get_future();
  bool saw_cancelled = false;
  f.add_done_callback([&](const future<int>& g) { saw_cancelled = g.cancelled(); });
  f.cancel();
  EXPECT_TRUE(saw_cancelled);
}

TEST(Future, ThrowingCallbackIsReportedNotLost) {
  tandem::test::unraisable_capture capture;
  promise<int> p;
  auto f = p.get_future();
  f.add_done_callback([](const future<int>&) { throw std::runtime_error("callback failed"); });
  bool second_ran = false;
  f.add_done_callback([&](const future<int>&) { second_ran = true; });
  p.set_result(1);
  EXPECT_TRUE(second_ran);
  auto reports = capture.messages();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], "future done callback: callback failed");
  EXPECT_EQ(f.get(), 1);
}

TEST(Future, ManyWaitersAllWake) {
  for (int round = 0; round < 50; ++round) {
    promise<int> p;
    auto f = p.get_future();
    std::atomic<int> woke{0};
    std::latch started(8);
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i)
      ts.emplace_back([&, f] {
        started.count_down();
        if (f.get() == round) woke.fetch_add(1);
      });
    started.wait();
    p.set_result(round);
    for (auto& t : ts) t.join();
    EXPECT_EQ(woke.load(), 8);
  }
}

TEST(Future, CancelRacingSetResultHasExactlyOneWinner) {
  for (int round = 0; round < 2000; ++round) {
    promise<int> p;
    auto f = p.get_future();
    std::latch go(2);
    bool set_ok = false;
    bool cancel_ok = false;
    std::thread a([&] {
      go.arrive_and_wait();
      try {
        p.set_result(1);
        set_ok = true;
      } catch (const tandem::invalid_state_error&) {
      }
    });
    std::thread b([&] {
      go.arrive_and_wait();
      cancel_ok = f.cancel();
    });
    a.join();
    b.join();
    EXPECT_NE(set_ok, cancel_ok);
    EXPECT_EQ(f.cancelled(), cancel_ok);
  }
}

TEST(Future, CallbackAddedWhileCompletingRunsExactlyOnce) {
  for (int round = 0; round < 2000; ++round) {
    promise<int> p;
    auto f = p.get_future();
    std::atomic<int> runs{0};
    std::latch go(2);
    std::thread a([&] {
      go.arrive_and_wait();
      p.set_result(1);
    });
    std::thread b([&] {
      go.arrive_and_wait();
      f.add_done_callback([&](const future<int>&) { runs.fetch_add(1); });
    });
    a.join();
    b.join();
    EXPECT_EQ(runs.load(), 1);
  }
}

TEST(FutureDeathTest, EmptyFutureIsACallerBug) {
  future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_DEATH((void)f.done(), "empty tandem::future");
}
