// Producers and consumers on one loop with aio::queue (asyncio.Queue): a bounded queue for
// back-pressure, task_done()/join() to know when every item was handled, and shutdown() (3.13)
// to send the consumers home.
#include <cstdio>
#include <vector>

#include "tandem/aio/errors.hpp"
#include "tandem/aio/gather.hpp"
#include "tandem/aio/queue.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"

namespace aio = tandem::aio;

namespace {

struct totals {
  long sum = 0;
  int handled = 0;
};

// put() waits while the queue is full, so a producer can never run far ahead of the consumers:
// memory stays bounded by the queue's maxsize.
aio::task<void> producer(aio::queue<int>* q, int first, int count) {
  for (int i = first; i < first + count; ++i) co_await q->put(i);
}

// Takes items until the queue is shut down and empty; get() then throws queue_shut_down, the
// end-of-work signal (no sentinel values needed).
aio::task<void> consumer(aio::queue<int>* q, totals* t) {
  for (;;) {
    int item = 0;
    try {
      item = co_await q->get();
    } catch (const aio::queue_shut_down&) {
      co_return;
    }
    co_await aio::sleep(0);  // "handle" the item: here, just let the other tasks run
    t->sum += item;
    ++t->handled;
    q->task_done();  // join() counts these: one per item taken
  }
}

aio::task<bool> demo() {
  aio::queue<int> q(8);  // at most 8 items waiting
  totals t;

  // Consumers run as tasks of their own; the handles keep them so we can await them at the end.
  std::vector<aio::task_handle<void>> consumers;
  for (int i = 0; i < 3; ++i) consumers.push_back(aio::create_task(consumer(&q, &t)));

  // Two producers of 100 items each; gather returns once both have put everything.
  co_await aio::gather(producer(&q, 0, 100), producer(&q, 100, 100));

  // Every item is in the queue or being handled: join() waits until each got its task_done().
  co_await q.join();
  std::printf("joined: %d items handled, sum %ld, %zu left in the queue\n", t.handled, t.sum,
              q.qsize());

  // Nothing more will come: shutdown() makes the consumers' get() throw queue_shut_down once the
  // queue is empty (shutdown(true) would also drop items still queued). Then await them, so no
  // task outlives this function, which owns the queue they use.
  q.shutdown();
  co_await aio::gather(std::move(consumers));

  co_return t.handled == 200 && t.sum == 199 * 200 / 2;
}

}  // namespace

int main() {
  bool ok = aio::run(demo());
  std::printf(ok ? "aio_queue example: ok\n" : "aio_queue example: FAILED\n");
  return ok ? 0 : 1;
}
