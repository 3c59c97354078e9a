#include "tandem/aio/event.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;

namespace {

struct event_state {
  aio::event ev;
  int started = 0;
  int passed = 0;
};

aio::task<void> waiter(event_state* s) {
  ++s->started;
  co_await s->ev.wait();
  ++s->passed;
}

aio::task<void> set_wakes_every_waiter() {
  event_state s;
  EXPECT_FALSE(s.ev.is_set());
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(aio::create_task(waiter(&s)));
  co_await until([&] { return s.started == 5; });
  co_await sync_test::yield();
  EXPECT_EQ(s.passed, 0);
  s.ev.set();
  EXPECT_TRUE(s.ev.is_set());
  s.ev.clear();  // waiters already woken still pass
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.passed, 5);
}

aio::task<void> wait_on_a_set_event_returns_at_once() {
  aio::event ev;
  ev.set();
  ev.set();  // idempotent
  sync_test::cancel_self();
  co_await ev.wait();  // no suspension, so no cancellation point
  EXPECT_TRUE(co_await sync_test::next_suspension_raises());
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

aio::task<void> clear_makes_later_waits_block() {
  event_state s;
  s.ev.set();
  s.ev.clear();
  auto h = aio::create_task(waiter(&s));
  co_await until([&] { return s.started == 1; });
  co_await sync_test::yield();
  EXPECT_EQ(s.passed, 0);
  s.ev.set();
  co_await h;
  EXPECT_EQ(s.passed, 1);
}

aio::task<void> cancelled_waiter() {
  event_state s;
  auto a = aio::create_task(waiter(&s));
  auto b = aio::create_task(waiter(&s));
  co_await until([&] { return s.started == 2; });
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  s.ev.set();
  co_await b;
  EXPECT_EQ(s.passed, 1);
}

aio::task<void> waiter_cancelled_after_set_is_cancelled() {
  event_state s;
  auto a = aio::create_task(waiter(&s));
  co_await until([&] { return s.started == 1; });
  s.ev.set();
  a.cancel();  // after the wake-up, before a ran: asyncio delivers the cancel at the wait
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_EQ(s.passed, 0);
  EXPECT_TRUE(s.ev.is_set());
}

}  // namespace

TEST(Event, SetWakesEveryWaiter) { aio::run(set_wakes_every_waiter()); }
TEST(Event, WaitOnASetEventReturnsAtOnce) { aio::run(wait_on_a_set_event_returns_at_once()); }
TEST(Event, ClearMakesLaterWaitsBlock) { aio::run(clear_makes_later_waits_block()); }
TEST(Event, CancelledWaiter) { aio::run(cancelled_waiter()); }
TEST(Event, WaiterCancelledAfterSetIsCancelled) {
  aio::run(waiter_cancelled_after_set_is_cancelled());
}
