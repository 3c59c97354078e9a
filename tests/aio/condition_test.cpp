#include "tandem/aio/condition.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;

namespace {

struct cv_state {
  aio::condition cv;
  int started = 0;
  int woke = 0;
  bool held_when_cancelled = false;
};

aio::task<void> waiter(cv_state* s) {
  auto held = co_await s->cv.acquire();
  ++s->started;
  try {
    co_await s->cv.wait();
  } catch (const tandem::cancelled_error&) {
    s->held_when_cancelled = s->cv.locked();
    throw;
  }
  EXPECT_TRUE(s->cv.locked());
  ++s->woke;
}

aio::task<void> requires_the_lock() {
  aio::condition cv;
  bool threw = false;
  try {
    co_await cv.wait();
  } catch (const tandem::invalid_state_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  EXPECT_THROW(cv.notify(), tandem::invalid_state_error);
  EXPECT_THROW(cv.notify_all(), tandem::invalid_state_error);
  auto held = co_await cv.acquire();
  cv.notify();  // nobody waits: no effect
  EXPECT_TRUE(cv.locked());
}

aio::task<void> notify_wakes_n_and_notify_all_the_rest() {
  cv_state s;
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(aio::create_task(waiter(&s)));
  co_await until([&] { return s.started == 5; });
  {
    auto held = co_await s.cv.acquire();
    s.cv.notify();
  }
  co_await until([&] { return s.woke == 1; });
  {
    auto held = co_await s.cv.acquire();
    s.cv.notify(2);
  }
  co_await until([&] { return s.woke == 3; });
  co_await sync_test::yield();
  EXPECT_EQ(s.woke, 3);
  {
    auto held = co_await s.cv.acquire();
    s.cv.notify_all();
  }
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.woke, 5);
}

struct pc_state {
  aio::condition cv;
  std::deque<int> items;
  std::vector<int> got;
};

aio::task<void> consumer(pc_state* s, int n) {
  for (int i = 0; i < n; ++i) {
    auto held = co_await s->cv.acquire();
    bool ok = co_await s->cv.wait_for([s] { return !s->items.empty(); });
    EXPECT_TRUE(ok);
    s->got.push_back(s->items.front());
    s->items.pop_front();
  }
}

aio::task<void> wait_for_a_predicate() {
  pc_state s;
  auto c1 = aio::create_task(consumer(&s, 50));
  auto c2 = aio::create_task(consumer(&s, 50));
  for (int i = 0; i < 100; ++i) {
    auto held = co_await s.cv.acquire();
    s.items.push_back(i);
    s.cv.notify();
    held.unlock();
    if (i % 3 == 0) co_await aio::sleep(0);
  }
  co_await c1;
  co_await c2;
  std::sort(s.got.begin(), s.got.end());
  EXPECT_EQ(s.got.size(), 100u);
  EXPECT_EQ(s.got.front(), 0);
  EXPECT_EQ(s.got.back(), 99);
}

aio::task<void> cancelled_waiter_reacquires_the_lock_first() {
  cv_state s;
  auto a = aio::create_task(waiter(&s));
  co_await until([&] { return s.started == 1; });
  auto held = co_await s.cv.acquire();  // a must wait for this before it can throw
  a.cancel();
  co_await sync_test::yield();
  EXPECT_FALSE(a.done());
  held.unlock();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_TRUE(s.held_when_cancelled);
  EXPECT_FALSE(s.cv.locked());
}

aio::task<void> waiter_cancelled_after_notify_passes_it_on() {
  cv_state s;
  auto a = aio::create_task(waiter(&s));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(waiter(&s));
  co_await until([&] { return s.started == 2; });
  {
    auto held = co_await s.cv.acquire();
    s.cv.notify(1);  // a is notified...
    a.cancel();      // ...and cancelled before it runs: b gets the notification instead
  }
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.woke, 1);
}

aio::task<void> conditions_can_share_a_lock() {
  aio::lock l;
  aio::condition c1(l), c2(l);
  EXPECT_EQ(&c1.underlying_lock(), &l);
  auto held = co_await c1.acquire();
  EXPECT_TRUE(c2.locked());
  c2.notify();
}

}  // namespace

TEST(Condition, RequiresTheLock) { aio::run(requires_the_lock()); }
TEST(Condition, NotifyWakesNAndNotifyAllTheRest) {
  aio::run(notify_wakes_n_and_notify_all_the_rest());
}
TEST(Condition, WaitForAPredicate) { aio::run(wait_for_a_predicate()); }
TEST(Condition, CancelledWaiterReacquiresTheLockFirst) {
  aio::run(cancelled_waiter_reacquires_the_lock_first());
}
TEST(Condition, WaiterCancelledAfterNotifyPassesItOn) {
  aio::run(waiter_cancelled_after_notify_passes_it_on());
}
TEST(Condition, ConditionsCanShareALock) { aio::run(conditions_can_share_a_lock()); }
