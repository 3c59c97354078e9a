#include "tandem/aio/queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;

namespace {

struct q_state {
  explicit q_state(std::size_t maxsize) : q(maxsize) {}
  aio::queue<int> q;
  std::vector<int> got;
  int started = 0;
  int shut_down_errors = 0;
};

aio::task<void> getter(q_state* s) {
  ++s->started;
  try {
    s->got.push_back(co_await s->q.get());
  } catch (const aio::queue_shut_down&) {
    ++s->shut_down_errors;
  }
}

aio::task<void> putter(q_state* s, int v) {
  ++s->started;
  try {
    co_await s->q.put(v);
  } catch (const aio::queue_shut_down&) {
    ++s->shut_down_errors;
  }
}

aio::task<void> fifo_and_sizes() {
  aio::queue<int> q(3);
  EXPECT_EQ(q.maxsize(), 3u);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  co_await q.put(1);
  co_await q.put(2);
  q.put_nowait(3);
  EXPECT_EQ(q.qsize(), 3u);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(4), aio::queue_full);
  EXPECT_EQ(co_await q.get(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_EQ(co_await q.get(), 3);
  EXPECT_THROW(q.get_nowait(), aio::queue_empty);
  EXPECT_TRUE(q.empty());
}

aio::task<void> unbounded_grows() {
  aio::queue<std::string> q;  // maxsize 0: unbounded
  for (int i = 0; i < 10000; ++i) co_await q.put(std::to_string(i));
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 10000u);
  for (int i = 0; i < 10000; ++i) EXPECT_EQ(co_await q.get(), std::to_string(i));
}

aio::task<void> wraps_around() {
  aio::queue<int> q(5);
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int k = 0; k < 1 + round % 5; ++k) co_await q.put(next_in++);
    while (!q.empty()) EXPECT_EQ(co_await q.get(), next_out++);
  }
  EXPECT_EQ(next_in, next_out);
}

aio::task<void> priority_and_lifo_orders() {
  aio::priority_queue<std::pair<int, std::string>> pq;
  co_await pq.put({3, "c"});
  co_await pq.put({1, "a"});
  co_await pq.put({2, "b"});
  EXPECT_EQ((co_await pq.get()).second, "a");
  EXPECT_EQ((co_await pq.get()).second, "b");
  EXPECT_EQ((co_await pq.get()).second, "c");
  aio::priority_queue<int, std::greater<int>> largest_first;
  for (int v : {5, 9, 1}) largest_first.put_nowait(v);
  EXPECT_EQ(largest_first.get_nowait(), 9);
  aio::lifo_queue<int> lq(2);
  co_await lq.put(1);
  co_await lq.put(2);
  EXPECT_TRUE(lq.full());
  EXPECT_EQ(co_await lq.get(), 2);
  EXPECT_EQ(co_await lq.get(), 1);
}

aio::task<void> move_only_items() {
  aio::queue<std::unique_ptr<int>> q(2);
  co_await q.put(std::make_unique<int>(7));
  auto p = co_await q.get();
  EXPECT_EQ(*p, 7);
}

aio::task<void> put_waits_while_full_and_get_while_empty() {
  q_state s(1);
  co_await s.q.put(1);
  auto p = aio::create_task(putter(&s, 2));
  co_await until([&] { return s.started == 1; });
  co_await sync_test::yield();
  EXPECT_FALSE(p.done());
  EXPECT_EQ(co_await s.q.get(), 1);
  co_await p;
  EXPECT_EQ(co_await s.q.get(), 2);
  auto g = aio::create_task(getter(&s));
  co_await until([&] { return s.started == 2; });
  co_await sync_test::yield();
  EXPECT_FALSE(g.done());
  co_await s.q.put(3);
  co_await g;
  EXPECT_EQ(s.got, std::vector<int>{3});
}

aio::task<void> no_wait_is_no_cancellation_point() {
  aio::queue<int> q(1);
  sync_test::cancel_self();
  co_await q.put(1);               // room: does not wait, is not a cancellation point
  EXPECT_EQ(co_await q.get(), 1);  // an item: likewise
  bool thrown = false;
  try {
    co_await q.get();  // empty: must wait, so the pending cancel is delivered here
  } catch (const tandem::cancelled_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
  aio::current_task()->uncancel();
  EXPECT_TRUE(q.empty());
}

aio::task<void> getter_cancelled_after_item_signalled_does_not_lose_it() {
  q_state s(0);
  auto a = aio::create_task(getter(&s));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(getter(&s));
  co_await until([&] { return s.started == 2; });
  co_await s.q.put(42);  // wakes a
  a.cancel();            // a was already woken: it throws and wakes b instead
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.got, std::vector<int>{42});
}

aio::task<void> lone_getter_cancelled_after_signal_leaves_the_item() {
  q_state s(0);
  auto a = aio::create_task(getter(&s));
  co_await until([&] { return s.started == 1; });
  co_await s.q.put(42);
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_EQ(s.q.qsize(), 1u);
  EXPECT_EQ(s.q.get_nowait(), 42);
}

aio::task<void> putter_cancelled_after_slot_signalled_passes_it_on() {
  q_state s(1);
  co_await s.q.put(0);
  auto a = aio::create_task(putter(&s, 1));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(putter(&s, 2));
  co_await until([&] { return s.started == 2; });
  EXPECT_EQ(co_await s.q.get(), 0);  // frees the slot, wakes a
  a.cancel();                        // a throws (its item is not put) and wakes b
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.q.qsize(), 1u);
  EXPECT_EQ(s.q.get_nowait(), 2);
}

aio::task<void> cancelled_waiting_getter_leaves_no_trace() {
  q_state s(0);
  auto a = aio::create_task(getter(&s));
  co_await until([&] { return s.started == 1; });
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await s.q.put(5);
  EXPECT_EQ(s.q.get_nowait(), 5);
}

aio::task<void> woken_putter_can_be_overtaken_as_in_asyncio() {
  q_state s(1);
  co_await s.q.put(0);
  auto a = aio::create_task(putter(&s, 1));
  co_await until([&] { return s.started == 1; });
  EXPECT_EQ(s.q.get_nowait(), 0);  // wakes a, but a has not run yet
  s.q.put_nowait(9);               // so this needs no wait and takes the slot first
  EXPECT_EQ(co_await s.q.get(), 9);
  co_await a;  // a waited again, then put
  EXPECT_EQ(s.q.get_nowait(), 1);
}

aio::task<void> task_done_and_join() {
  aio::queue<int> q;
  co_await q.join();  // nothing unfinished: returns at once
  EXPECT_THROW(q.task_done(), tandem::invalid_state_error);
  for (int i = 0; i < 3; ++i) co_await q.put(i);
  bool joined = false;
  auto joiner = aio::create_task([](aio::queue<int>* qp, bool* flag) -> aio::task<void> {
    co_await qp->join();
    *flag = true;
  }(&q, &joined));
  for (int i = 0; i < 3; ++i) {
    (void)co_await q.get();
    co_await sync_test::yield();
    EXPECT_FALSE(joined);
    q.task_done();
  }
  co_await joiner;
  EXPECT_TRUE(joined);
  EXPECT_THROW(q.task_done(), tandem::invalid_state_error);
}

aio::task<void> shutdown_drains_then_refuses() {
  q_state s(0);
  co_await s.q.put(1);
  co_await s.q.put(2);
  s.q.shutdown();
  EXPECT_TRUE(s.q.is_shut_down());
  EXPECT_THROW(s.q.put_nowait(3), aio::queue_shut_down);
  bool put_threw = false;
  try {
    co_await s.q.put(3);
  } catch (const aio::queue_shut_down&) {
    put_threw = true;
  }
  EXPECT_TRUE(put_threw);
  EXPECT_EQ(co_await s.q.get(), 1);
  EXPECT_EQ(s.q.get_nowait(), 2);
  EXPECT_THROW(s.q.get_nowait(), aio::queue_shut_down);
  bool get_threw = false;
  try {
    (void)co_await s.q.get();
  } catch (const aio::queue_shut_down&) {
    get_threw = true;
  }
  EXPECT_TRUE(get_threw);
}

aio::task<void> shutdown_wakes_waiting_getters_and_putters() {
  q_state getters(0);
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(aio::create_task(getter(&getters)));
  q_state putters(1);
  co_await putters.q.put(0);
  for (int i = 0; i < 3; ++i) hs.push_back(aio::create_task(putter(&putters, i)));
  co_await until([&] { return getters.started == 3 && putters.started == 3; });
  getters.q.shutdown();
  putters.q.shutdown();
  for (auto& h : hs) co_await h;
  EXPECT_EQ(getters.shut_down_errors, 3);
  EXPECT_EQ(putters.shut_down_errors, 3);
  EXPECT_EQ(putters.q.get_nowait(), 0);  // a plain shutdown keeps the items
}

aio::task<void> immediate_shutdown_drops_items_and_releases_join() {
  aio::queue<int> q;
  for (int i = 0; i < 4; ++i) co_await q.put(i);
  (void)co_await q.get();  // one taken, not yet task_done
  bool joined = false;
  auto joiner = aio::create_task([](aio::queue<int>* qp, bool* flag) -> aio::task<void> {
    co_await qp->join();
    *flag = true;
  }(&q, &joined));
  co_await sync_test::yield();
  EXPECT_FALSE(joined);
  q.shutdown(true);
  EXPECT_TRUE(q.empty());
  EXPECT_THROW(q.get_nowait(), aio::queue_shut_down);
  co_await sync_test::yield();
  EXPECT_FALSE(joined);  // the item taken before is still unfinished
  q.task_done();
  co_await joiner;
  EXPECT_TRUE(joined);
}

// Producers and consumers, with consumers cancelled at random points: every item put is either
// received by a consumer or still in the queue; none is lost or duplicated.
struct stress_state {
  explicit stress_state(std::size_t n) : q(n) {}
  aio::queue<int> q;
  std::vector<int> received;
};

aio::task<void> stress_producer(stress_state* s, int first, int n) {
  for (int i = first; i < first + n; ++i) co_await s->q.put(i);
}

aio::task<void> stress_consumer(stress_state* s) {
  for (;;) {
    const int v = co_await s->q.get();
    if (v < 0) co_return;
    s->received.push_back(v);
    if (v % 5 == 0) co_await aio::sleep(0);
  }
}

aio::task<void> stress_with_cancelled_consumers() {
  stress_state s(8);
  constexpr int producers = 4, per = 2000, consumers = 6;
  std::vector<aio::task_handle<void>> ps, cs;
  for (int c = 0; c < consumers; ++c) cs.push_back(aio::create_task(stress_consumer(&s)));
  for (int p = 0; p < producers; ++p)
    ps.push_back(aio::create_task(stress_producer(&s, p * per, per)));
  for (int c = 0; c < consumers - 2; ++c) {
    co_await sync_test::yield(3 + c);
    cs[static_cast<std::size_t>(c)].cancel();
  }
  for (auto& p : ps) co_await p;
  for (int c = 0; c < consumers; ++c) co_await s.q.put(-1);  // one stop per consumer
  int stopped = 0;
  for (auto& c : cs)
    if (!co_await ended_cancelled(c)) ++stopped;
  std::vector<int> all = s.received;
  while (!s.q.empty()) {
    int v = s.q.get_nowait();
    if (v >= 0) all.push_back(v);
  }
  std::sort(all.begin(), all.end());
  std::vector<int> expected(static_cast<std::size_t>(producers * per));
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
  EXPECT_EQ(all, expected);
  EXPECT_GE(stopped, 2);
}

}  // namespace

TEST(Queue, FifoAndSizes) { aio::run(fifo_and_sizes()); }
TEST(Queue, UnboundedGrows) { aio::run(unbounded_grows()); }
TEST(Queue, WrapsAround) { aio::run(wraps_around()); }
TEST(Queue, PriorityAndLifoOrders) { aio::run(priority_and_lifo_orders()); }
TEST(Queue, MoveOnlyItems) { aio::run(move_only_items()); }
TEST(Queue, PutWaitsWhileFullAndGetWhileEmpty) {
  aio::run(put_waits_while_full_and_get_while_empty());
}
TEST(Queue, NoWaitIsNoCancellationPoint) { aio::run(no_wait_is_no_cancellation_point()); }
TEST(Queue, GetterCancelledAfterItemSignalledDoesNotLoseIt) {
  aio::run(getter_cancelled_after_item_signalled_does_not_lose_it());
}
TEST(Queue, LoneGetterCancelledAfterSignalLeavesTheItem) {
  aio::run(lone_getter_cancelled_after_signal_leaves_the_item());
}
TEST(Queue, PutterCancelledAfterSlotSignalledPassesItOn) {
  aio::run(putter_cancelled_after_slot_signalled_passes_it_on());
}
TEST(Queue, CancelledWaitingGetterLeavesNoTrace) {
  aio::run(cancelled_waiting_getter_leaves_no_trace());
}
TEST(Queue, WokenPutterCanBeOvertakenAsInAsyncio) {
  aio::run(woken_putter_can_be_overtaken_as_in_asyncio());
}
TEST(Queue, TaskDoneAndJoin) { aio::run(task_done_and_join()); }
TEST(Queue, ShutdownDrainsThenRefuses) { aio::run(shutdown_drains_then_refuses()); }
TEST(Queue, ShutdownWakesWaitingGettersAndPutters) {
  aio::run(shutdown_wakes_waiting_getters_and_putters());
}
TEST(Queue, ImmediateShutdownDropsItemsAndReleasesJoin) {
  aio::run(immediate_shutdown_drops_items_and_releases_join());
}
TEST(Queue, StressWithCancelledConsumers) { aio::run(stress_with_cancelled_consumers()); }
