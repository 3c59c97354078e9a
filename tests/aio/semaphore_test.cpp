#include "tandem/aio/semaphore.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;

namespace {

struct sem_state {
  explicit sem_state(std::size_t v) : sem(v) {}
  aio::semaphore sem;
  std::vector<int> order;
  int started = 0;
  sync_test::occupancy occ;
};

aio::task<void> take(sem_state* s, int id) {
  ++s->started;
  auto permit = co_await s->sem.acquire();
  s->order.push_back(id);
  sync_test::occupancy::scope in(s->occ);
  co_await aio::sleep(0);
}

aio::task<void> counts_permits() {
  aio::semaphore sem(2);
  EXPECT_EQ(sem.value(), 2u);
  EXPECT_FALSE(sem.locked());
  auto a = co_await sem.acquire();
  auto b = co_await sem.acquire();
  EXPECT_EQ(sem.value(), 0u);
  EXPECT_TRUE(sem.locked());
  a.unlock();
  EXPECT_EQ(sem.value(), 1u);
  sem.release();  // a plain semaphore may go above its initial value
  EXPECT_EQ(sem.value(), 2u);
  sem.release();
  EXPECT_EQ(sem.value(), 3u);
}

aio::task<void> limits_concurrency_in_fifo_order() {
  sem_state s(3);
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 12; ++i) hs.push_back(aio::create_task(take(&s, i)));
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.occ.max_inside, 3);
  EXPECT_EQ(s.order.size(), 12u);
  EXPECT_EQ(s.sem.value(), 3u);
}

aio::task<void> waiters_keep_fifo_even_when_a_permit_is_free() {
  sem_state s(0);
  auto a = aio::create_task(take(&s, 1));
  co_await until([&] { return s.started == 1; });
  s.sem.release();  // handed to a
  EXPECT_EQ(s.sem.value(), 0u);
  EXPECT_TRUE(s.sem.locked());  // a still in the queue: no barging
  s.sem.release();              // a second permit: free, but a waits ahead of us
  EXPECT_EQ(s.sem.value(), 1u);
  EXPECT_TRUE(s.sem.locked());
  auto mine = co_await s.sem.acquire();  // queues behind a, gets the free permit
  s.order.push_back(2);
  co_await a;
  EXPECT_EQ(s.order, (std::vector<int>{1, 2}));
}

aio::task<void> waiter_cancelled_after_handover_passes_the_permit_on() {
  sem_state s(0);
  auto a = aio::create_task(take(&s, 1));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(take(&s, 2));
  co_await until([&] { return s.started == 2; });
  s.sem.release();  // handed to a
  a.cancel();       // a throws when it runs and gives its permit to b
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.order, (std::vector<int>{2}));
  EXPECT_EQ(s.sem.value(), 1u);
}

aio::task<void> cancelled_waiter_takes_no_permit() {
  sem_state s(0);
  auto a = aio::create_task(take(&s, 1));
  co_await until([&] { return s.started == 1; });
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_FALSE(s.sem.locked() && s.sem.value() > 0);
  s.sem.release();
  EXPECT_EQ(s.sem.value(), 1u);
  EXPECT_FALSE(s.sem.locked());
}

aio::task<void> bounded_refuses_extra_release() {
  aio::bounded_semaphore sem(2);
  EXPECT_THROW(sem.release(), tandem::invalid_state_error);
  {
    auto p = co_await sem.acquire();
    EXPECT_EQ(sem.value(), 1u);
  }
  EXPECT_EQ(sem.value(), 2u);
  EXPECT_THROW(sem.release(), tandem::invalid_state_error);
  auto p = co_await sem.acquire();
  p.release();
  sem.release();
  EXPECT_THROW(sem.release(), tandem::invalid_state_error);
}

aio::task<void> stress_with_cancellations() {
  sem_state s(4);
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 300; ++i) hs.push_back(aio::create_task(take(&s, i)));
  for (int i = 0; i < 300; i += 7) {
    co_await aio::sleep(0);
    hs[static_cast<std::size_t>(i)].cancel();
  }
  for (auto& h : hs) (void)co_await ended_cancelled(h);
  EXPECT_LE(s.occ.max_inside, 4);
  EXPECT_EQ(s.occ.inside, 0);
  EXPECT_EQ(s.sem.value(), 4u);
  EXPECT_FALSE(s.sem.locked());
}

}  // namespace

TEST(Semaphore, CountsPermits) { aio::run(counts_permits()); }
TEST(Semaphore, LimitsConcurrencyInFifoOrder) { aio::run(limits_concurrency_in_fifo_order()); }
TEST(Semaphore, WaitersKeepFifoEvenWhenAPermitIsFree) {
  aio::run(waiters_keep_fifo_even_when_a_permit_is_free());
}
TEST(Semaphore, WaiterCancelledAfterHandoverPassesThePermitOn) {
  aio::run(waiter_cancelled_after_handover_passes_the_permit_on());
}
TEST(Semaphore, CancelledWaiterTakesNoPermit) { aio::run(cancelled_waiter_takes_no_permit()); }
TEST(BoundedSemaphore, RefusesExtraRelease) { aio::run(bounded_refuses_extra_release()); }
TEST(Semaphore, StressWithCancellations) { aio::run(stress_with_cancellations()); }
