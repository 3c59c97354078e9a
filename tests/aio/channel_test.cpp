#include "tandem/aio/channel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;
using namespace std::chrono_literals;

namespace {

long long expected_sum(int n) { return static_cast<long long>(n) * (n - 1) / 2; }

}  // namespace

// ---------------------------------------------------------------- threads only

TEST(Channel, ThreadPushPopTryForms) {
  tandem::channel<int> ch(2);
  EXPECT_EQ(ch.capacity(), 2u);
  ch.push(1);
  EXPECT_TRUE(ch.try_push(2));
  int three = 3;
  EXPECT_FALSE(ch.try_push(three));
  EXPECT_FALSE(ch.push_for(three, tandem::seconds(0.01)));
  EXPECT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch.pop(), 1);
  EXPECT_EQ(ch.try_pop(), 2);
  EXPECT_EQ(ch.try_pop(), std::nullopt);
  EXPECT_EQ(ch.pop_for(tandem::seconds(0.01)), std::nullopt);
}

TEST(Channel, FailedTryPushLeavesTheItem) {
  tandem::channel<std::unique_ptr<int>> ch(1);
  ch.push(std::make_unique<int>(1));
  auto p = std::make_unique<int>(2);
  EXPECT_FALSE(ch.try_push(std::move(p)));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 2);
  EXPECT_FALSE(ch.push_for(std::move(p), tandem::seconds(0.001)));
  ASSERT_TRUE(p);
}

TEST(Channel, CloseFailsPushesAndDrainsPops) {
  tandem::channel<int> ch(4);
  ch.push(1);
  ch.push(2);
  ch.close();
  ch.close();  // idempotent
  EXPECT_TRUE(ch.is_closed());
  EXPECT_THROW(ch.push(3), aio::channel_closed);
  EXPECT_THROW(ch.try_push(3), aio::channel_closed);
  EXPECT_THROW(ch.push_for(3, tandem::seconds(0.01)), aio::channel_closed);
  EXPECT_EQ(ch.pop(), 1);
  EXPECT_EQ(ch.pop_for(tandem::seconds(1.0)), 2);
  EXPECT_EQ(ch.pop(), std::nullopt);
  EXPECT_EQ(ch.pop_for(tandem::seconds(1.0)), std::nullopt);
}

TEST(Channel, CloseWakesBlockedThreads) {
  tandem::channel<int> empty(1), full(1);
  full.push(0);
  std::atomic<int> done{0};
  std::thread popper([&] {
    EXPECT_EQ(empty.pop(), std::nullopt);
    ++done;
  });
  std::thread pusher([&] {
    EXPECT_THROW(full.push(1), aio::channel_closed);
    ++done;
  });
  std::this_thread::sleep_for(20ms);  // let them block (the outcome does not depend on it)
  empty.close();
  full.close();
  popper.join();
  pusher.join();
  EXPECT_EQ(done.load(), 2);
}

TEST(Channel, ThreadsMpmcStress) {
  tandem::channel<int> ch(16);
  constexpr int producers = 4, per = 20000, consumers = 4;
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> ts;
  for (int c = 0; c < consumers; ++c)
    ts.emplace_back([&] {
      while (auto v = ch.pop()) {
        sum += *v;
        ++count;
      }
    });
  std::vector<std::thread> ps;
  for (int p = 0; p < producers; ++p)
    ps.emplace_back([&ch, p] {
      for (int i = p * per; i < (p + 1) * per; ++i) {
        if (i % 2)
          ch.push(i);
        else
          while (!ch.push_for(i, tandem::seconds(0.001))) {
          }
      }
    });
  for (auto& t : ps) t.join();
  ch.close();
  for (auto& t : ts) t.join();
  EXPECT_EQ(count.load(), producers * per);
  EXPECT_EQ(sum.load(), expected_sum(producers * per));
}

// ---------------------------------------------------------------- tasks on one loop

namespace {

struct ch_state {
  explicit ch_state(std::size_t n) : ch(n) {}
  tandem::channel<int> ch;
  std::vector<int> got;
  int started = 0;
  int ended = 0;
  int closed_errors = 0;
};

aio::task<void> popper(ch_state* s) {
  ++s->started;
  if (auto v = co_await s->ch.async_pop())
    s->got.push_back(*v);
  else
    ++s->ended;
}

aio::task<void> pusher(ch_state* s, int v) {
  ++s->started;
  try {
    co_await s->ch.async_push(v);
  } catch (const aio::channel_closed&) {
    ++s->closed_errors;
  }
}

aio::task<void> async_basics() {
  ch_state s(1);
  co_await s.ch.async_push(1);
  auto p = aio::create_task(pusher(&s, 2));
  co_await until([&] { return s.started == 1; });
  co_await sync_test::yield();
  EXPECT_FALSE(p.done());
  EXPECT_EQ(co_await s.ch.async_pop(), 1);
  co_await p;
  EXPECT_EQ(co_await s.ch.async_pop(), 2);
  auto g = aio::create_task(popper(&s));
  co_await until([&] { return s.started == 2; });
  co_await sync_test::yield();
  EXPECT_FALSE(g.done());
  co_await s.ch.async_push(3);
  co_await g;
  EXPECT_EQ(s.got, std::vector<int>{3});
}

aio::task<void> async_close() {
  ch_state s(1);
  auto g = aio::create_task(popper(&s));
  co_await until([&] { return s.started == 1; });
  s.ch.close();
  co_await g;
  EXPECT_EQ(s.ended, 1);
  ch_state f(1);
  co_await f.ch.async_push(7);
  auto p = aio::create_task(pusher(&f, 8));
  co_await until([&] { return f.started == 1; });
  f.ch.close();
  co_await p;
  EXPECT_EQ(f.closed_errors, 1);
  EXPECT_EQ(co_await f.ch.async_pop(), 7);  // drains
  EXPECT_EQ(co_await f.ch.async_pop(), std::nullopt);
  bool threw = false;
  try {
    co_await f.ch.async_push(9);
  } catch (const aio::channel_closed&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
}

aio::task<void> no_wait_is_no_cancellation_point() {
  tandem::channel<int> ch(1);
  sync_test::cancel_self();
  co_await ch.async_push(1);
  EXPECT_EQ(co_await ch.async_pop(), 1);
  bool thrown = false;
  try {
    (void)co_await ch.async_pop();
  } catch (const tandem::cancelled_error&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
  aio::current_task()->uncancel();
  EXPECT_EQ(ch.size(), 0u);
}

aio::task<void> popper_cancelled_after_reservation_passes_the_item_on() {
  ch_state s(4);
  auto a = aio::create_task(popper(&s));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(popper(&s));
  co_await until([&] { return s.started == 2; });
  EXPECT_TRUE(s.ch.try_push(42));  // reserved for a
  a.cancel();                      // a throws when it runs; b gets the item
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.got, std::vector<int>{42});
}

aio::task<void> lone_popper_cancelled_after_reservation_leaves_the_item() {
  ch_state s(4);
  auto a = aio::create_task(popper(&s));
  co_await until([&] { return s.started == 1; });
  EXPECT_TRUE(s.ch.try_push(42));
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_EQ(s.ch.try_pop(), 42);
}

aio::task<void> pusher_cancelled_after_reservation_passes_the_slot_on() {
  ch_state s(1);
  co_await s.ch.async_push(0);
  auto a = aio::create_task(pusher(&s, 1));
  co_await until([&] { return s.started == 1; });
  auto b = aio::create_task(pusher(&s, 2));
  co_await until([&] { return s.started == 2; });
  EXPECT_EQ(s.ch.try_pop(), 0);  // a slot reserved for a
  a.cancel();                    // a pushes nothing; b gets the slot
  EXPECT_TRUE(co_await ended_cancelled(a));
  co_await b;
  EXPECT_EQ(s.ch.try_pop(), 2);
  EXPECT_EQ(s.ch.try_pop(), std::nullopt);
}

aio::task<void> cancelled_waiting_popper_takes_nothing() {
  ch_state s(1);
  auto a = aio::create_task(popper(&s));
  co_await until([&] { return s.started == 1; });
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_TRUE(s.ch.try_push(5));
  EXPECT_EQ(s.ch.try_pop(), 5);
}

}  // namespace

TEST(Channel, AsyncBasics) { aio::run(async_basics()); }
TEST(Channel, AsyncClose) { aio::run(async_close()); }
TEST(Channel, NoWaitIsNoCancellationPoint) { aio::run(no_wait_is_no_cancellation_point()); }
TEST(Channel, PopperCancelledAfterReservationPassesTheItemOn) {
  aio::run(popper_cancelled_after_reservation_passes_the_item_on());
}
TEST(Channel, LonePopperCancelledAfterReservationLeavesTheItem) {
  aio::run(lone_popper_cancelled_after_reservation_leaves_the_item());
}
TEST(Channel, PusherCancelledAfterReservationPassesTheSlotOn) {
  aio::run(pusher_cancelled_after_reservation_passes_the_slot_on());
}
TEST(Channel, CancelledWaitingPopperTakesNothing) {
  aio::run(cancelled_waiting_popper_takes_nothing());
}

// ---------------------------------------------------------------- threads <-> loops

namespace {

struct bridge_totals {
  long long sum = 0;
  int count = 0;
};

aio::task<void> async_consumer(tandem::channel<int>* ch, bridge_totals* t) {
  while (auto v = co_await ch->async_pop()) {
    t->sum += *v;
    ++t->count;
  }
}

aio::task<void> consume_on_loop(tandem::channel<int>* ch, bridge_totals* t, int consumers) {
  std::vector<aio::task_handle<void>> cs;
  for (int c = 0; c < consumers; ++c) cs.push_back(aio::create_task(async_consumer(ch, t)));
  for (auto& c : cs) co_await c;
}

aio::task<void> async_producer(tandem::channel<int>* ch, int first, int n) {
  for (int i = first; i < first + n; ++i) co_await ch->async_push(i);
}

aio::task<void> produce_on_loop(tandem::channel<int>* ch, int producers, int per) {
  std::vector<aio::task_handle<void>> ps;
  for (int p = 0; p < producers; ++p)
    ps.push_back(aio::create_task(async_producer(ch, p * per, per)));
  for (auto& p : ps) co_await p;
  ch->close();
}

}  // namespace

TEST(Channel, ThreadsFeedALoop) {
  tandem::channel<int> ch(8);
  constexpr int producers = 3, per = 20000;
  std::vector<std::thread> ps;
  for (int p = 0; p < producers; ++p)
    ps.emplace_back([&ch, p] {
      for (int i = p * per; i < (p + 1) * per; ++i) ch.push(i);
    });
  std::thread closer([&] {
    for (auto& t : ps) t.join();
    ch.close();
  });
  bridge_totals t;
  aio::run(consume_on_loop(&ch, &t, 4));
  closer.join();
  EXPECT_EQ(t.count, producers * per);
  EXPECT_EQ(t.sum, expected_sum(producers * per));
}

TEST(Channel, ALoopFeedsThreads) {
  tandem::channel<int> ch(8);
  constexpr int producers = 3, per = 20000;
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> cs;
  for (int c = 0; c < 3; ++c)
    cs.emplace_back([&, c] {
      for (;;) {
        auto v = c % 2 ? ch.pop() : ch.pop_for(tandem::seconds(0.001));
        if (!v) {
          if (ch.is_closed() && ch.size() == 0) return;
          continue;
        }
        sum += *v;
        ++count;
      }
    });
  aio::run(produce_on_loop(&ch, producers, per));
  for (auto& t : cs) t.join();
  EXPECT_EQ(count.load(), producers * per);
  EXPECT_EQ(sum.load(), expected_sum(producers * per));
}

// Two loops on two threads plus plain threads, all pushing and popping one channel, with tasks
// cancelled while they wait: every item pushed is popped exactly once.
namespace {

struct mixed_totals {
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
};

aio::task<void> counting_consumer(tandem::channel<int>* ch, mixed_totals* t) {
  while (auto v = co_await ch->async_pop()) {
    t->sum += *v;
    ++t->count;
  }
}

aio::task<void> loop_side(tandem::channel<int>* ch, mixed_totals* t, int first, int per,
                          std::latch* producers_done) {
  std::vector<aio::task_handle<void>> cs;
  for (int c = 0; c < 4; ++c) cs.push_back(aio::create_task(counting_consumer(ch, t)));
  auto p = aio::create_task(async_producer(ch, first, per));
  for (int i = 0; i < 2; ++i) {  // cancel two consumers while they run or wait
    co_await aio::sleep(0.001);
    cs[static_cast<std::size_t>(i)].cancel();
  }
  co_await p;
  producers_done->count_down();
  for (auto& c : cs) (void)co_await ended_cancelled(c);
}

}  // namespace

TEST(Channel, LoopsAndThreadsWithCancellations) {
  tandem::channel<int> ch(4);
  constexpr int per = 20000;
  mixed_totals t;
  std::latch producers_done(4);  // 2 loops + 2 threads
  std::vector<std::thread> ts;
  for (int l = 0; l < 2; ++l)
    ts.emplace_back([&, l] { aio::run(loop_side(&ch, &t, l * per, per, &producers_done)); });
  for (int p = 2; p < 4; ++p)
    ts.emplace_back([&, p] {
      for (int i = p * per; i < (p + 1) * per; ++i) ch.push(i);
      producers_done.count_down();
    });
  std::thread consumer([&] {
    while (auto v = ch.pop()) {
      t.sum += *v;
      ++t.count;
    }
  });
  producers_done.wait();
  ch.close();
  for (auto& th : ts) th.join();
  consumer.join();
  EXPECT_EQ(t.count.load(), 4 * per);
  EXPECT_EQ(t.sum.load(), expected_sum(4 * per));
}
