// thread_pool beyond the shared executor contract: threads, shutdown, initializer, scheduling,
// memory bound, leaks. Several follow CPython's test_concurrent_futures.
#include "tandem/thread_pool.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace std::chrono_literals;
using tandem::future;
using tandem::thread_pool;

namespace {
/// A one-shot gate tasks can block on until the test opens it.
struct gate {
  std::latch open_{1};
  void wait() { open_.wait(); }
  void open() { open_.count_down(); }
  /// Submits a task that holds one worker until open(), and returns once it is running.
  void occupy(thread_pool& pool) {
    std::latch running(1);
    pool.submit([this, &running] {
      running.count_down();
      wait();
    });
    running.wait();
  }
};
std::string thread_name() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof buf);
  return buf;
}
#if defined(__SANITIZE_THREAD__)
constexpr int stress_scale = 10;  // ThreadSanitizer runs about 10x slower
#else
constexpr int stress_scale = 1;
#endif
}  // namespace

class ThreadPoolWidth : public ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Widths, ThreadPoolWidth, ::testing::Values(1, 2, 4, 8));

// test_concurrent_futures: test_saturation — 15 x max_workers blocking jobs use exactly
// max_workers threads.
TEST_P(ThreadPoolWidth, BlockingJobsRunOnExactlyMaxWorkersThreads) {
  const std::size_t w = GetParam();
  const int before = tandem::test::thread_count();
  std::mutex mu;
  std::set<std::thread::id> ids;
  {
    thread_pool pool({.max_workers = w});
    EXPECT_EQ(tandem::test::thread_count(), before + static_cast<int>(w));
    // Each job arrives at a latch of w and waits for it: the first w jobs can only all pass if w
    // distinct threads hold them at the same time.
    std::latch all_busy(static_cast<std::ptrdiff_t>(w));
    std::vector<future<void>> fs;
    for (std::size_t i = 0; i < 15 * w; ++i)
      fs.push_back(pool.submit([&] {
        {
          std::lock_guard lk(mu);
          ids.insert(std::this_thread::get_id());
        }
        if (!all_busy.try_wait()) all_busy.arrive_and_wait();
      }));
    for (auto& f : fs) f.get();
  }
  EXPECT_EQ(ids.size(), w);
  EXPECT_EQ(tandem::test::thread_count(), before);  // every thread joined
}

TEST_P(ThreadPoolWidth, ManyProducersWithNestedSubmits) {
  thread_pool pool({.max_workers = GetParam()});
  constexpr int producers = 4;
  const int per_producer = 20000 / stress_scale;
  std::atomic<long> total{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p)
    ts.emplace_back([&] {
      std::vector<future<long>> fs;
      for (int i = 0; i < per_producer; ++i) {
        if (i % 16 == 0) {
          // A task that submits a child from inside a worker and keeps its future.
          fs.push_back(pool.submit([&pool, &total] {
            auto child = pool.submit([] { return 1L; });
            child.add_done_callback([&total](const future<long>& c) { total += c.get(); });
            return 1L;
          }));
        } else {
          fs.push_back(pool.submit([] { return 1L; }));
        }
      }
      for (auto& f : fs) total += f.get();
    });
  for (auto& t : ts) t.join();
  pool.shutdown();
  const long children = producers * ((per_producer + 15) / 16);
  EXPECT_EQ(total.load(), producers * per_producer + children);
}

// test_concurrent_futures: test_cancel_futures — pending work is cancelled, running work completes.
TEST(ThreadPool, ShutdownWithCancelFuturesCancelsPendingAndCompletesRunning) {
  thread_pool pool({.max_workers = 2});
  gate g;
  std::latch running(2);
  auto a = pool.submit([&] {
    running.count_down();
    g.wait();
    return 1;
  });
  auto b = pool.submit([&] {
    running.count_down();
    g.wait();
    return 2;
  });
  running.wait();
  std::vector<future<int>> pending;
  for (int i = 0; i < 20; ++i) pending.push_back(pool.submit([] { return 3; }));
  pool.shutdown(false, true);
  for (auto& f : pending) EXPECT_TRUE(f.cancelled());
  g.open();
  EXPECT_EQ(a.get(), 1);
  EXPECT_EQ(b.get(), 2);
  pool.shutdown(true);
}

TEST(ThreadPool, ShutdownWithoutWaitReturnsAtOnce) {
  thread_pool pool({.max_workers = 1});
  gate g;
  auto f = pool.submit([&] {
    g.wait();
    return 5;
  });
  auto t0 = std::chrono::steady_clock::now();
  pool.shutdown(false);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, tandem::test::tolerance);
  EXPECT_THROW(pool.submit([] { return 0; }), tandem::invalid_state_error);
  g.open();
  EXPECT_EQ(f.get(), 5);
}

TEST(ThreadPool, DestructorRunsQueuedWorkAndJoins) {
  std::atomic<int> ran{0};
  const int before = tandem::test::thread_count();
  {
    thread_pool pool({.max_workers = 2});
    for (int i = 0; i < 100; ++i) pool.submit([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 100);
  EXPECT_EQ(tandem::test::thread_count(), before);
}

TEST(ThreadPool, FailingInitializerBreaksThePoolWithinASecond) {
  thread_pool pool(
      {.max_workers = 2, .initializer = [] { throw std::runtime_error("no database"); }});
  std::vector<future<int>> fs;
  for (int i = 0; i < 10; ++i) {
    try {
      fs.push_back(pool.submit([] { return 1; }));
    } catch (const tandem::broken_pool& e) {
      EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos);
    }
  }
  for (auto& f : fs) {
    ASSERT_TRUE(f.wait_for(1s)) << "a pending future did not fail within 1 s";
    try {
      f.get();
      ADD_FAILURE() << "a task ran on a broken pool";
    } catch (const tandem::broken_pool& e) {
      EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos);
    }
  }
  // Later submits throw at once.
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    try {
      auto f = pool.submit([] { return 1; });
      EXPECT_THROW(f.get(), tandem::broken_pool);
    } catch (const tandem::broken_pool&) {
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
}

TEST(ThreadPool, OneFailingInitializerAmongGoodOnesStillBreaksThePool) {
  std::atomic<int> calls{0};
  thread_pool pool({.max_workers = 4, .initializer = [&] {
                      if (calls.fetch_add(1) == 2) throw std::runtime_error("third worker");
                    }});
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    try {
      (void)pool.submit([] { return 1; });
    } catch (const tandem::broken_pool& e) {
      EXPECT_NE(std::string(e.what()).find("third worker"), std::string::npos);
      break;
    }
    ASSERT_LT(std::chrono::steady_clock::now() - t0, 1s);
    std::this_thread::yield();
  }
}

TEST(ThreadPool, InitializerRunsOncePerWorker) {
  std::atomic<int> calls{0};
  {
    thread_pool pool({.max_workers = 3, .initializer = [&] { calls.fetch_add(1); }});
    pool.submit([] {}).get();
  }
  EXPECT_EQ(calls.load(), 3);
}

TEST(ThreadPool, ThreadsCarryTheirNames) {
  {
    thread_pool pool({.max_workers = 1});
    EXPECT_EQ(pool.submit(thread_name).get(), "tandem-pool-0");
  }
  thread_pool pool({.max_workers = 2, .thread_name_prefix = "a-very-long-prefix"});
  EXPECT_EQ(pool.submit(thread_name).get().size(), 15u);  // Linux's limit
  EXPECT_EQ(pool.submit(thread_name).get().rfind("a-very-long-pre", 0), 0u);
}

TEST(ThreadPool, SubmitFromAWorkerGoesToItsOwnDequeNewestFirst) {
  thread_pool pool({.max_workers = 1});
  std::mutex mu;
  std::vector<int> order;
  pool.submit([&] {
        for (int i = 0; i < 4; ++i)
          pool.submit([&, i] {
            std::lock_guard lk(mu);
            order.push_back(i);
          });
      })
      .get();
  pool.shutdown();
  EXPECT_EQ(order, (std::vector<int>{3, 2, 1, 0}));  // LIFO: the worker's own deque
}

TEST(ThreadPool, ExternalSubmitsRunInOrderOnOneWorker) {
  thread_pool pool({.max_workers = 1});
  std::vector<int> order;
  for (int i = 0; i < 4; ++i) pool.submit([&, i] { order.push_back(i); });
  pool.shutdown();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));  // FIFO: the shared queue
}

TEST(ThreadPool, AWorkerOverflowingItsDequeRunsTasksInline) {
  thread_pool pool({.max_workers = 2});
  std::atomic<int> ran{0};
  constexpr int children = 20000;  // more than a worker's deque holds (8,192)
  pool.submit([&] {
        for (int i = 0; i < children; ++i) pool.submit([&] { ran.fetch_add(1); });
      })
      .get();
  pool.shutdown();
  EXPECT_EQ(ran.load(), children);
}

TEST(ThreadPool, AProducerThatOutrunsTheWorkersIsBounded) {
  thread_pool pool({.max_workers = 1, .max_queued = 16});
  gate g;
  g.occupy(pool);
  std::atomic<int> submitted{0};
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      pool.submit([] {});
      submitted.fetch_add(1);
    }
  });
  // Sleeping here checks for the absence of progress: the producer must be stuck at the bound.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(submitted.load(), 16);
  g.open();
  producer.join();
  EXPECT_EQ(submitted.load(), 1000);
}

TEST(ThreadPool, CapturedObjectsDieWhenTheTaskHasRun) {
  thread_pool pool({.max_workers = 2});
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  auto f = pool.submit([t = std::move(token)] { return *t; });
  EXPECT_EQ(f.get(), 1);
  EXPECT_TRUE(watch.expired());  // gone before the result became visible; the future lives on
}

TEST(ThreadPool, ResultsDieWithTheirLastFutureAfterShutdown) {
  // The worker drops its own reference just after publishing, so "after shutdown" is the promise.
  thread_pool pool({.max_workers = 2});
  std::weak_ptr<int> watch;
  {
    auto f = pool.submit([] { return std::make_shared<int>(2); });
    watch = f.get();
    EXPECT_FALSE(watch.expired());
  }
  pool.shutdown();
  EXPECT_TRUE(watch.expired());
}

TEST(ThreadPool, CancelledWorkReleasesItsCapturesAtShutdown) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  {
    thread_pool pool({.max_workers = 1});
    gate g;
    g.occupy(pool);
    auto queued = pool.submit([t = std::move(token)] { return *t; });
    pool.shutdown(false, true);
    EXPECT_TRUE(queued.cancelled());
    EXPECT_TRUE(watch.expired());
    g.open();
  }
}

TEST(ThreadPool, ACancelledQueuedTaskNeverRuns) {
  thread_pool pool({.max_workers = 1});
  gate g;
  g.occupy(pool);
  std::atomic<bool> ran{false};
  auto f = pool.submit([&] { ran = true; });
  EXPECT_TRUE(f.cancel());
  g.open();
  pool.shutdown();
  EXPECT_FALSE(ran.load());
  EXPECT_THROW(f.get(), tandem::cancelled_error);
}

TEST(ThreadPool, ThrowingCallbacksAreReported) {
  tandem::test::unraisable_capture capture;
  thread_pool pool({.max_workers = 2});
  auto f =
      pool.apply_async([] { return 3; }, {}, [](int) { throw std::runtime_error("bad callback"); });
  EXPECT_EQ(f.get(), 3);
  auto g =
      pool.apply_async([]() -> int { throw std::runtime_error("task"); }, {}, nullptr,
                       [](std::exception_ptr) { throw std::runtime_error("bad error callback"); });
  EXPECT_THROW(g.get(), std::runtime_error);
  auto got = capture.messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "thread_pool callback: bad callback");
  EXPECT_EQ(got[1], "thread_pool callback: bad error callback");
}

TEST(ThreadPool, DefaultWidthIsCpuCount) {
  thread_pool pool;
  EXPECT_EQ(pool.max_workers(), tandem::cpu_count());
}

TEST(ThreadPool, SubmitCopiesAndMovesArguments) {
  thread_pool pool({.max_workers = 2});
  auto ptr = std::make_unique<int>(41);
  auto f = pool.submit([](std::unique_ptr<int> p, int k) { return *p + k; }, std::move(ptr), 1);
  EXPECT_EQ(f.get(), 42);
  std::string s = "abc";
  auto g = pool.submit([](const std::string& x) { return x.size(); }, s);
  EXPECT_EQ(g.get(), 3u);
  EXPECT_EQ(s, "abc");
}

TEST(ThreadPoolDeathTest, DestroyingThePoolFromItsOwnTaskIsACallerBug) {
  EXPECT_DEATH(
      {
        auto* pool = new thread_pool({.max_workers = 1});
        pool->submit([pool] { delete pool; }).wait();
        std::this_thread::sleep_for(1s);
      },
      "destroyed by one of its own tasks");
}
