// wait, as_completed, shield, race, map.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "aio/aio_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using tandem::cancelled_error;
using tandem::timeout_error;

namespace {

using aio_test::fail_after;
using aio_test::value_after;

aio::task<int> record_cancel(double delay, int* cancelled) {
  try {
    co_await aio::sleep(delay);
  } catch (const cancelled_error&) {
    ++*cancelled;
    throw;
  }
  co_return 0;
}

aio::task<std::string> wait_first_completed() {
  std::vector<aio::task_handle<int>> ts{aio::create_task(value_after(1, 0.05)),
                                        aio::create_task(value_after(2, 0.001))};
  auto r = co_await aio::wait(ts, tandem::return_when::first_completed);
  std::string out = std::to_string(r.done.size()) + "/" + std::to_string(r.pending.size()) + ":" +
                    std::to_string(r.done[0].result());
  for (auto& t : r.pending) t.cancel();
  co_return out;
}

aio::task<std::string> wait_first_exception() {
  std::vector<aio::task_handle<int>> ts{aio::create_task(value_after(1, 5)),
                                        aio::create_task(fail_after(0.01))};
  auto r = co_await aio::wait(ts, tandem::return_when::first_exception);
  std::string out = std::to_string(r.done.size()) + "/" + std::to_string(r.pending.size());
  EXPECT_THROW(r.done[0].result(), std::runtime_error);
  for (auto& t : r.pending) t.cancel();
  co_return out;
}

aio::task<std::size_t> wait_timeout() {
  std::vector<aio::task_handle<int>> ts{aio::create_task(value_after(1, 5))};
  auto r = co_await aio::wait(ts, tandem::return_when::all_completed, 0.01);
  std::size_t pending = r.pending.size();
  ts[0].cancel();
  co_return pending;
}

aio::task<std::vector<int>> completion_order() {
  // Far apart, so that even a slow (sanitizer) build finishes them in different iterations.
  std::vector<aio::task_handle<int>> ts{aio::create_task(value_after(3, 0.25)),
                                        aio::create_task(value_after(1, 0.01)),
                                        aio::create_task(value_after(2, 0.13))};
  aio::as_completed it(ts);
  std::vector<int> order;
  while (it.remaining() > 0) order.push_back((co_await it.next()).result());
  co_return order;
}

aio::task<std::string> as_completed_timeout() {
  std::vector<aio::task_handle<int>> ts{aio::create_task(value_after(3, 5))};
  aio::as_completed it(ts, 0.01);
  try {
    co_await it.next();
  } catch (const timeout_error&) {
    ts[0].cancel();
    co_return "timeout";
  }
  co_return "no timeout";
}

aio::task<int> shielded(aio::task_handle<int> inner) { co_return co_await aio::shield(inner); }

aio::task<std::string> shield_keeps_inner_running() {
  auto inner = aio::create_task(value_after(7, 0.03));
  auto outer = aio::create_task(shielded(inner));
  co_await aio::sleep(0.01);
  outer.cancel();
  std::string out;
  try {
    co_await outer;
  } catch (const cancelled_error&) {
    out = "outer cancelled";
  }
  out += ", inner " + std::to_string(co_await inner);
  co_return out;
}

aio::task<std::string> race_first_wins() {
  int cancelled = 0;
  int v = co_await aio::race(value_after(1, 0.01), record_cancel(5, &cancelled),
                             record_cancel(5, &cancelled));
  co_return std::to_string(v) + " losers cancelled " + std::to_string(cancelled);
}

aio::task<int> slow_square(int x, int* in_flight, int* peak) {
  ++*in_flight;
  *peak = std::max(*peak, *in_flight);
  co_await aio::sleep(0.001 * (x % 3));
  --*in_flight;
  co_return x* x;
}

struct squarer {
  int* in_flight;
  int* peak;
  aio::task<int> operator()(int x) const { return slow_square(x, in_flight, peak); }
};

aio::task<std::string> bounded_map() {
  int in_flight = 0, peak = 0;
  std::vector<int> xs;
  for (int i = 0; i < 40; ++i) xs.push_back(i);
  auto out = co_await aio::map(squarer{&in_flight, &peak}, xs, {.limit = 4});
  bool ordered = true;
  for (int i = 0; i < 40; ++i) ordered = ordered && out[static_cast<std::size_t>(i)] == i * i;
  co_return std::string(ordered ? "ordered" : "unordered") + " peak " + std::to_string(peak);
}

aio::task<int> fails_on_5(int x) {
  co_await aio::sleep(0.001);
  if (x == 5) throw std::runtime_error("five");
  co_return x;
}

aio::task<std::string> map_failure() {
  std::vector<int> xs{1, 2, 3, 4, 5, 6, 7, 8};
  try {
    co_await aio::map(fails_on_5, xs, {.limit = 3});
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no error";
}

}  // namespace

TEST(Wait, FirstCompleted) { EXPECT_EQ(aio::run(wait_first_completed()), "1/1:2"); }
TEST(Wait, FirstException) { EXPECT_EQ(aio::run(wait_first_exception()), "1/1"); }
TEST(Wait, TimeoutLeavesTasksPending) { EXPECT_EQ(aio::run(wait_timeout()), 1u); }

TEST(AsCompleted, YieldsInCompletionOrder) {
  EXPECT_EQ(aio::run(completion_order()), (std::vector<int>{1, 2, 3}));
}
TEST(AsCompleted, Timeout) { EXPECT_EQ(aio::run(as_completed_timeout()), "timeout"); }

TEST(Shield, CancellingTheOuterLeavesTheInnerRunning) {
  EXPECT_EQ(aio::run(shield_keeps_inner_running()), "outer cancelled, inner 7");
}

TEST(Race, FirstResultWinsAndLosersAreCancelledBeforeReturn) {
  EXPECT_EQ(aio::run(race_first_wins()), "1 losers cancelled 2");
}

TEST(Map, NeverMoreThanLimitInFlightAndResultsInOrder) {
  EXPECT_EQ(aio::run(bounded_map()), "ordered peak 4");
}
TEST(Map, FirstFailureIsRaised) { EXPECT_EQ(aio::run(map_failure()), "five"); }
