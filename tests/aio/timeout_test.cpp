// Timeouts and wait_for, following CPython's test_timeouts.py and test_waitfor.py.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using tandem::cancelled_error;
using tandem::timeout_error;

namespace {

struct log {
  std::vector<std::string> lines;
};

aio::task<int> sleepy(double delay, log* l) {
  try {
    co_await aio::sleep(delay);
  } catch (const cancelled_error&) {
    if (l) l->lines.push_back("cleanup");
    throw;
  }
  co_return 1;
}

aio::task<std::string> times_out() {
  log l;
  try {
    co_await aio::timeout(0.02, sleepy(10, &l));
  } catch (const timeout_error&) {
    co_return l.lines.empty() ? "no cleanup" : l.lines[0];
  }
  co_return "no timeout";
}

aio::task<int> in_time() { co_return co_await aio::timeout(5.0, sleepy(0.001, nullptr)); }

// Nested scopes with the same deadline: the inner one re-raises the cancellation, only the
// outermost raises timeout_error (test_timeouts.test_nested_timeouts_concurrent).
aio::task<std::string> inner_scope(double when, log* l) {
  auto inner = aio::timeout_at(when);
  try {
    co_await inner.run(sleepy(10, l));
  } catch (const timeout_error&) {
    co_return "inner timeout";
  } catch (const cancelled_error&) {
    l->lines.push_back("inner saw cancelled");
    throw;
  }
  co_return "inner finished";
}

aio::task<std::string> nested_same_deadline() {
  log l;
  double when = aio::get_running_loop().time() + 0.02;
  auto outer = aio::timeout_at(when);
  try {
    co_return co_await outer.run(inner_scope(when, &l));
  } catch (const timeout_error&) {
    co_return "outer timeout; " + l.lines.back();
  }
}

// An external cancel inside a live timeout stays a cancellation
// (test_timeouts.test_cancel_in_timeout_after_cancellation / test_outer_task_is_not_cancelled).
aio::task<void> sleeps_in_scope(double limit) { co_await aio::timeout(limit, sleepy(10, nullptr)); }

aio::task<std::string> external_cancel() {
  auto t = aio::create_task(sleeps_in_scope(5.0));
  co_await aio::sleep(0.01);
  t.cancel();
  try {
    co_await t;
  } catch (const cancelled_error&) {
    co_return "cancelled";
  } catch (const timeout_error&) {
    co_return "timeout";
  }
  co_return "finished";
}

aio::task<bool> never_started(bool* started) {
  *started = true;
  co_return true;
}

aio::task<std::string> wait_for_zero() {
  bool started = false;
  try {
    co_await aio::wait_for(never_started(&started), 0);
  } catch (const timeout_error&) {
    co_return started ? "started" : "not started";
  }
  co_return "no timeout";
}

aio::task<int> slow_cleanup(log* l) {
  bool cancelled = false;
  try {
    co_await aio::sleep(10);
  } catch (const cancelled_error&) {
    cancelled = true;
  }
  if (cancelled) {
    co_await aio::sleep(0.02);  // cleanup that itself suspends
    l->lines.push_back("cleanup done");
    throw cancelled_error();
  }
  co_return 0;
}

// wait_for returns only after the inner task's cleanup ran (test_waitfor.test_wait_for_*).
aio::task<std::string> wait_for_waits_for_cleanup() {
  log l;
  auto t = aio::create_task(slow_cleanup(&l));
  try {
    co_await aio::wait_for(t, 0.01);
  } catch (const timeout_error&) {
    co_return l.lines.empty() ? "returned before cleanup" : l.lines[0];
  }
  co_return "no timeout";
}

aio::task<int> reschedule_extends() {
  auto scope = aio::timeout(0.01);
  scope.reschedule(aio::get_running_loop().time() + 5);
  co_return co_await scope.run(sleepy(0.03, nullptr));
}

aio::task<int> quick() { co_return 5; }

// A cancel that arrives just after the awaited task completed is not lost
// (test_waitfor.test_cancel_wait_for / gh-86296): the waiter raises cancelled_error.
aio::task<int> waits(aio::task_handle<int> inner) { co_return co_await aio::wait_for(inner, 10); }

aio::task<std::string> cancel_after_completion() {
  auto inner = aio::create_task(quick());
  auto outer = aio::create_task(waits(inner));
  struct canceller final : aio::detail::done_node {
    explicit canceller(aio::task_handle<int> o) : done_node(&fire), target(std::move(o)) {}
    aio::task_handle<int> target;
    static void fire(done_node* n, aio::detail::task_base*) noexcept {
      static_cast<canceller&>(*n).target.cancel();
    }
  } c(outer);
  inner.promise().add_done_node(&c);
  try {
    co_await outer;
  } catch (const cancelled_error&) {
    co_return "cancelled";
  }
  co_return "result kept, cancel lost";
}

}  // namespace

TEST(Timeout, RaisesTimeoutErrorAfterTheBodyCleanedUp) {
  EXPECT_EQ(aio::run(times_out()), "cleanup");
}

TEST(Timeout, BodyFinishingInTimeReturnsItsResult) { EXPECT_EQ(aio::run(in_time()), 1); }

TEST(Timeout, NestedSameDeadlineRaisesOnlyAtTheOutermost) {
  EXPECT_EQ(aio::run(nested_same_deadline()), "outer timeout; inner saw cancelled");
}

TEST(Timeout, ExternalCancelStaysACancellation) {
  EXPECT_EQ(aio::run(external_cancel()), "cancelled");
}

TEST(Timeout, RescheduleMovesTheDeadline) { EXPECT_EQ(aio::run(reschedule_extends()), 1); }

TEST(WaitFor, ZeroTimeoutNeverStartsTheCoroutine) {
  EXPECT_EQ(aio::run(wait_for_zero()), "not started");
}

TEST(WaitFor, ReturnsOnlyAfterTheInnerCleanupRan) {
  EXPECT_EQ(aio::run(wait_for_waits_for_cleanup()), "cleanup done");
}

TEST(WaitFor, CancelJustAfterCompletionIsNotLost) {
  EXPECT_EQ(aio::run(cancel_after_completion()), "cancelled");
}

namespace {
aio::task<std::string> chrono_forms() {
  using namespace std::chrono_literals;
  int v = co_await aio::timeout(2s, sleepy(0.001, nullptr));
  try {
    co_await aio::wait_for(sleepy(10, nullptr), 20ms);
  } catch (const timeout_error&) {
    co_return "ok " + std::to_string(v);
  }
  co_return "no timeout";
}
}  // namespace

TEST(Timeout, AcceptsChronoDurations) { EXPECT_EQ(aio::run(chrono_forms()), "ok 1"); }
