// Threads and the event loop: blocking or CPU-bound work must not run on the loop's thread (it
// would stop every other task), so it goes to threads, and the loop awaits the result.
//   - aio::to_thread: asyncio.to_thread, on the loop's default executor;
//   - co_await on a tandem::future from your own thread_pool (asyncio.wrap_future);
//   - tandem::channel: a bounded queue that pool threads push to (blocking) and a task pops
//     from (co_await), which asyncio has no single object for.
#include <cstdio>
#include <optional>

#include "tandem/aio/channel.hpp"
#include "tandem/aio/gather.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/threads.hpp"
#include "tandem/thread_pool.hpp"

namespace aio = tandem::aio;

namespace {

// CPU-bound, plain C++: it knows nothing of the loop.
long count_primes(long from, long to) {
  long n = 0;
  for (long k = from < 2 ? 2 : from; k < to; ++k) {
    bool prime = true;
    for (long d = 2; d * d <= k; ++d)
      if (k % d == 0) {
        prime = false;
        break;
      }
    n += prime ? 1 : 0;
  }
  return n;
}

// Runs on a pool thread: pushes one result per block and closes the channel when done. push()
// blocks while the channel is full, so the thread never runs more than 4 blocks ahead of the
// task that consumes them.
void produce(tandem::channel<long>* ch, int blocks) {
  for (int b = 0; b < blocks; ++b) ch->push(count_primes(b * 10000L, (b + 1) * 10000L));
  ch->close();  // the consumer's async_pop() returns nullopt once the rest is drained
}

// Proves the loop stays free while threads compute: it keeps ticking.
aio::task<int> ticker(int ticks) {
  for (int i = 0; i < ticks; ++i) co_await aio::sleep(0.01);
  co_return ticks;
}

aio::task<bool> demo(tandem::thread_pool* pool) {
  bool ok = true;

  // 1. to_thread: arguments are copied into the call; the task suspends until a thread of the
  //    loop's default executor has run it, and the ticker runs meanwhile.
  auto [primes, ticks] = co_await aio::gather(aio::to_thread(count_primes, 0L, 300000L), ticker(5));
  std::printf("to_thread: %ld primes below 300,000 (the loop ticked %d times meanwhile)\n", primes,
              ticks);
  ok = ok && primes == 25997 && ticks == 5;

  // 2. co_await a future from our own pool: it resumes on this loop, never on the pool thread.
  tandem::future<long> f = pool->submit(count_primes, 0L, 100000L);
  long below_100k = co_await f;
  std::printf("pool future: %ld primes below 100,000\n", below_100k);
  ok = ok && below_100k == 9592;

  // 3. channel: a pool thread produces, this task consumes, with back-pressure both ways.
  tandem::channel<long> ch(4);
  tandem::future<void> producer = pool->submit(produce, &ch, 10);
  long total = 0;
  while (std::optional<long> block = co_await ch.async_pop()) total += *block;
  co_await producer;  // the thread is done with `ch` before this frame (which owns it) ends
  std::printf("channel: %ld primes below 100,000, in 10 blocks\n", total);
  ok = ok && total == 9592;

  co_return ok;
}

}  // namespace

int main() {
  tandem::thread_pool pool({.max_workers = 2});
  bool ok = aio::run(demo(&pool));
  std::printf(ok ? "aio_to_thread example: ok\n" : "aio_to_thread example: FAILED\n");
  return ok ? 0 : 1;
}
