// Stress tests for the scheduler's lock-free queues: every item is taken exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "detail/injection_queue.hpp"
#include "detail/work_stealing_deque.hpp"

namespace {
#if defined(__SANITIZE_THREAD__)
constexpr int items = 50000;
#else
constexpr int items = 1000000;
#endif
// Items are pointers; encode ints as non-null fake addresses and never dereference them.
int* as_item(int i) { return reinterpret_cast<int*>(static_cast<std::uintptr_t>(i + 1) * 8); }
int from_item(int* p) { return static_cast<int>(reinterpret_cast<std::uintptr_t>(p) / 8) - 1; }
}  // namespace

TEST(WorkStealingDeque, OwnerAndThievesTakeEachItemOnce) {
  tandem::detail::work_stealing_deque<int*> dq(1024);
  std::vector<std::atomic<int>> taken(items);
  std::atomic<bool> done{false};
  std::latch start(4);
  auto take = [&](int* p) { taken[static_cast<std::size_t>(from_item(p))].fetch_add(1); };
  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t)
    thieves.emplace_back([&] {
      start.arrive_and_wait();
      while (!done.load(std::memory_order_acquire) || !dq.empty())
        if (int* p = dq.steal()) take(p);
    });
  start.arrive_and_wait();
  for (int i = 0; i < items; ++i) {
    while (!dq.push(as_item(i)))
      if (int* p = dq.pop()) take(p);  // full: the owner drains a little
    if (i % 3 == 0)
      if (int* p = dq.pop()) take(p);
  }
  while (int* p = dq.pop()) take(p);
  done.store(true, std::memory_order_release);
  for (auto& t : thieves) t.join();
  for (int i = 0; i < items; ++i) ASSERT_EQ(taken[static_cast<std::size_t>(i)].load(), 1) << i;
}

TEST(WorkStealingDeque, PushFailsWhenFull) {
  tandem::detail::work_stealing_deque<int*> dq(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(dq.push(as_item(i)));
  EXPECT_FALSE(dq.push(as_item(4)));
  EXPECT_EQ(from_item(dq.steal()), 0);  // thieves take the oldest
  EXPECT_EQ(from_item(dq.pop()), 3);    // the owner takes the newest
}

TEST(InjectionQueue, ProducersAndConsumersMoveEachItemOnce) {
  tandem::detail::injection_queue<int*> q(256);
  constexpr int producers = 4, consumers = 4;
  const int per = items / producers;
  std::vector<std::atomic<int>> taken(static_cast<std::size_t>(per * producers));
  std::atomic<int> consumed{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p)
    ts.emplace_back([&, p] {
      for (int i = 0; i < per; ++i)
        while (q.try_push(as_item(p * per + i)) != decltype(q)::push_result::ok)
          std::this_thread::yield();
    });
  for (int c = 0; c < consumers; ++c)
    ts.emplace_back([&] {
      while (consumed.load() < per * producers) {
        if (int* x = q.try_pop()) {
          taken[static_cast<std::size_t>(from_item(x))].fetch_add(1);
          consumed.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  for (auto& t : ts) t.join();
  for (auto& t : taken) ASSERT_EQ(t.load(), 1);
}

TEST(InjectionQueue, CloseRefusesLaterPushesAndDrainTakesTheRest) {
  tandem::detail::injection_queue<int*> q(8);
  using r = decltype(q)::push_result;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q.try_push(as_item(i)), r::ok);
  EXPECT_EQ(q.try_push(as_item(8)), r::full);
  q.close();
  EXPECT_EQ(q.try_push(as_item(9)), r::closed);
  std::vector<int> got;
  q.drain([&](int* p) { got.push_back(from_item(p)); });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(InjectionQueue, CloseRacingPushesLosesNothing) {
  for (int round = 0; round < 200; ++round) {
    tandem::detail::injection_queue<int*> q(1 << 12);
    std::atomic<int> accepted{0};
    std::latch go(3);
    std::vector<std::thread> ts;
    for (int p = 0; p < 2; ++p)
      ts.emplace_back([&] {
        go.arrive_and_wait();
        for (int i = 0; i < 1000; ++i)
          if (q.try_push(as_item(i)) == decltype(q)::push_result::ok) accepted.fetch_add(1);
      });
    go.arrive_and_wait();
    q.close();
    for (auto& t : ts) t.join();
    int drained = 0;
    q.drain([&](int*) { ++drained; });
    EXPECT_EQ(drained, accepted.load());
  }
}
