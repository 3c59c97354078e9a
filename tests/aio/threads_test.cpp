#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

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
