#include "tandem/aio/lock.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;

namespace {

struct lock_state {
  aio::lock lock;
  std::vector<std::string> order;
  int started = 0;
};

aio::task<void> take(lock_state* s, std::string name) {
  ++s->started;
  auto held = co_await s->lock.acquire();
  s->order.push_back(name);
  co_await aio::sleep(0);  // hold it across a suspension
}

aio::task<void> fifo_order() {
  lock_state s;
  auto held = co_await s.lock.acquire();
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 4; ++i) {
    hs.push_back(aio::create_task(take(&s, std::to_string(i))));
    co_await until([&] { return s.started == i + 1; });  // queued in this order
  }
  held.unlock();
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.order, (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_FALSE(s.lock.locked());
}

aio::task<void> uncontended_is_not_a_cancellation_point() {
  aio::lock l;
  sync_test::cancel_self();
  {
    auto held = co_await l.acquire();  // does not wait: no cancellation point
    EXPECT_TRUE(l.locked());
  }
  EXPECT_FALSE(l.locked());
  EXPECT_TRUE(co_await sync_test::next_suspension_raises());
}

aio::task<void> release_goes_to_the_waiter_not_a_barging_acquire() {
  lock_state s;
  auto held = co_await s.lock.acquire();
  auto a = aio::create_task(take(&s, "waiter"));
  co_await until([&] { return s.started == 1; });
  held.unlock();
  EXPECT_FALSE(s.lock.locked());           // free, but promised to the waiter
  auto again = co_await s.lock.acquire();  // must queue behind it
  s.order.push_back("barger");
  again.unlock();
  co_await a;
  EXPECT_EQ(s.order, (std::vector<std::string>{"waiter", "barger"}));
}

aio::task<void> cancelled_waiter_leaves_the_queue() {
  lock_state s;
  auto held = co_await s.lock.acquire();
  auto a = aio::create_task(take(&s, "a"));
  auto b = aio::create_task(take(&s, "b"));
  co_await until([&] { return s.started == 2; });
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_TRUE(s.lock.locked());  // still ours
  held.unlock();
  co_await b;
  EXPECT_EQ(s.order, (std::vector<std::string>{"b"}));
  EXPECT_FALSE(s.lock.locked());
}

aio::task<void> waiter_cancelled_after_handover_passes_the_lock_on() {
  lock_state s;
  auto held = co_await s.lock.acquire();
  auto a = aio::create_task(take(&s, "a"));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(take(&s, "b"));
  co_await until([&] { return s.started == 2; });
  held.unlock();  // hands the lock to a (a is scheduled, has not run)
  a.cancel();     // too late to cancel the wait: a throws when it runs, passing the lock to b
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.order, (std::vector<std::string>{"b"}));
  EXPECT_FALSE(s.lock.locked());
  // And the lock still works.
  auto again = co_await s.lock.acquire();
  EXPECT_TRUE(s.lock.locked());
}

aio::task<void> last_waiter_cancelled_after_handover_leaves_it_free() {
  lock_state s;
  auto held = co_await s.lock.acquire();
  auto a = aio::create_task(take(&s, "a"));
  co_await until([&] { return s.started == 1; });
  held.unlock();
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_FALSE(s.lock.locked());
  auto again = co_await s.lock.acquire();  // uncontended again
  EXPECT_TRUE(again.owns_lock());
}

aio::task<void> guard_moves_and_releases() {
  aio::lock l;
  aio::guard<aio::lock> outer;
  {
    auto g = co_await l.acquire();
    outer = std::move(g);
    EXPECT_FALSE(g.owns_lock());
  }
  EXPECT_TRUE(l.locked());
  aio::lock* raw = outer.release();
  EXPECT_EQ(raw, &l);
  EXPECT_TRUE(l.locked());
  l.release();
  EXPECT_FALSE(l.locked());
  EXPECT_THROW(l.release(), tandem::invalid_state_error);
}

struct stress_state {
  aio::lock lock;
  sync_test::occupancy occ;
  long entries = 0;
};

aio::task<void> stress_worker(stress_state* s, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    auto held = co_await s->lock.acquire();
    sync_test::occupancy::scope in(s->occ);
    ++s->entries;
    if (i % 3 == 0) co_await aio::sleep(0);
  }
}

aio::task<void> stress_with_cancellations() {
  stress_state s;
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 40; ++i) hs.push_back(aio::create_task(stress_worker(&s, 200)));
  int cancelled = 0;
  for (int round = 0; round < 30; ++round) {
    co_await aio::sleep(0);
    hs[static_cast<std::size_t>(round)].cancel();
  }
  for (auto& h : hs)
    if (co_await ended_cancelled(h)) ++cancelled;
  EXPECT_EQ(s.occ.max_inside, 1);
  EXPECT_EQ(s.occ.inside, 0);
  EXPECT_FALSE(s.lock.locked());
  EXPECT_GE(s.entries, 10 * 200);
  EXPECT_GT(cancelled, 0);
}

}  // namespace

TEST(Lock, FifoOrder) { aio::run(fifo_order()); }
TEST(Lock, UncontendedAcquireIsNotACancellationPoint) {
  aio::run(uncontended_is_not_a_cancellation_point());
}
TEST(Lock, ReleaseGoesToTheWaiterNotABargingAcquire) {
  aio::run(release_goes_to_the_waiter_not_a_barging_acquire());
}
TEST(Lock, CancelledWaiterLeavesTheQueue) { aio::run(cancelled_waiter_leaves_the_queue()); }
TEST(Lock, WaiterCancelledAfterHandoverPassesTheLockOn) {
  aio::run(waiter_cancelled_after_handover_passes_the_lock_on());
}
TEST(Lock, LastWaiterCancelledAfterHandoverLeavesItFree) {
  aio::run(last_waiter_cancelled_after_handover_leaves_it_free());
}
TEST(Lock, GuardMovesAndReleases) { aio::run(guard_moves_and_releases()); }
TEST(Lock, StressWithCancellations) { aio::run(stress_with_cancellations()); }
