#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "tandem/aio.hpp"
#include "tandem/thread_pool.hpp"

namespace aio = tandem::aio;

namespace {

int twice(int x) { return 2 * x; }

aio::task<int> await_pool(tandem::thread_pool& pool) {
  int a = co_await pool.submit(twice, 21);
  auto f = pool.submit(twice, 1);
  int b = co_await f;
  co_return a + b;
}

aio::task<int> via_to_thread() { co_return co_await aio::to_thread(twice, 5); }

aio::task<int> via_run_in_executor(tandem::thread_pool& pool) {
  co_return co_await aio::run_in_executor(pool, twice, 7);
}

aio::task<int> slow_answer() {
  co_await aio::sleep(0.01);
  co_return 9;
}

}  // namespace

TEST(Threads, AwaitAFutureFromAPool) {
  tandem::thread_pool pool({.max_workers = 2});
  EXPECT_EQ(aio::run(await_pool(pool)), 44);
}

TEST(Threads, ToThreadAndRunInExecutor) {
  EXPECT_EQ(aio::run(via_to_thread()), 10);
  tandem::thread_pool pool({.max_workers = 1});
  EXPECT_EQ(aio::run(via_run_in_executor(pool)), 14);
}

TEST(Threads, RunCoroutineThreadsafe) {
  aio::loop l;
  std::thread t([&] { l.run_forever(); });
  auto f = aio::run_coroutine_threadsafe(slow_answer(), l);
  EXPECT_EQ(f.get(tandem::seconds(10)), 9);
  l.call_soon_threadsafe([&] { l.stop(); });
  t.join();
  l.close();
}

namespace {

int blocks_until(std::atomic<bool>* release) {
  while (!release->load()) std::this_thread::yield();
  return 1;
}

// Cancelling a task that awaits a future: the task resumes with cancelled_error at once, and a
// future whose work has not started is cancelled too (asyncio.wrap_future).
aio::task<std::string> cancel_while_awaiting(tandem::thread_pool* pool,
                                             std::atomic<bool>* release) {
  auto busy = pool->submit(blocks_until, release);  // occupies the only worker
  auto queued = pool->submit(twice, 4);             // still queued
  auto waiter = aio::create_task(
      [](tandem::future<int> f) -> aio::task<int> { co_return co_await f; }(queued));
  co_await aio::sleep(0.01);
  waiter.cancel();
  std::string out;
  try {
    co_await waiter;
  } catch (const tandem::cancelled_error&) {
    out = "task cancelled";
  }
  out += queued.cancelled() ? ", future cancelled" : ", future not cancelled";
  release->store(true);
  co_await busy;
  co_return out;
}

aio::task<long> sum_of_many(tandem::thread_pool* pool, int n) {
  std::vector<aio::task<int>> ts;
  for (int i = 0; i < n; ++i)
    ts.push_back([](tandem::thread_pool* p, int x) -> aio::task<int> {
      co_return co_await p->submit(twice, x);
    }(pool, i));
  auto rs = co_await aio::gather(std::move(ts));
  long s = 0;
  for (int r : rs) s += r;
  co_return s;
}

aio::task<int> never_finishes(std::atomic<bool>* started, bool* cleaned) {
  started->store(true);
  try {
    co_await aio::sleep(60);
  } catch (const tandem::cancelled_error&) {
    *cleaned = true;
    throw;
  }
  co_return 0;
}

}  // namespace

TEST(Threads, CancellingTheAwaitingTaskCancelsAQueuedFuture) {
  tandem::thread_pool pool({.max_workers = 1});
  std::atomic<bool> release{false};
  EXPECT_EQ(aio::run(cancel_while_awaiting(&pool, &release)), "task cancelled, future cancelled");
}

// Many futures completing on pool threads while the loop runs: each wake-up crosses threads
// through the loop's remote queue (a TSan stress of the bridge).
TEST(Threads, ManyFuturesFromPoolThreadsResumeTheirTasks) {
  tandem::thread_pool pool({.max_workers = 4});
  constexpr int n = 20000;
  EXPECT_EQ(aio::run(sum_of_many(&pool, n)), static_cast<long>(n) * (n - 1));
}

TEST(Threads, CancellingARunCoroutineThreadsafeFutureCancelsTheTask) {
  aio::loop l;
  std::thread t([&] { l.run_forever(); });
  bool cleaned = false;  // written and read on the loop's thread only
  std::atomic<bool> started{false};
  auto f = aio::run_coroutine_threadsafe(never_finishes(&started, &cleaned), l);
  while (!started.load()) std::this_thread::yield();  // its body runs: the cancel reaches it
  EXPECT_TRUE(f.cancel());
  // The cancel reaches the task on the loop's thread; its cleanup runs there.
  std::atomic<bool> seen{false};
  for (int i = 0; i < 500 && !seen.load(); ++i) {
    l.call_soon_threadsafe([&] { seen = cleaned; });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(seen.load());
  l.call_soon_threadsafe([&] { l.stop(); });
  t.join();
  l.close();
}
