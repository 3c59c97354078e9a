// cancellation: a queued task can be cancelled, a running one cannot, and
// shutdown(wait, cancel_futures) cancels whatever is still queued. get() on a cancelled future
// throws tandem::cancelled_error, which is deliberately not a std::exception
// (docs/cancellation.md).
#include <tandem/error.hpp>
#include <tandem/thread_pool.hpp>

#include <cstdio>
#include <exception>
#include <latch>
#include <string>

int main() {
  tandem::thread_pool pool({.max_workers = 1});
  std::latch started(1), release(1);

  // Keep the only worker busy until `release`; the next task has to wait in the queue.
  auto running = pool.submit([&] {
    started.count_down();
    release.wait();
    return 1;
  });
  auto queued = pool.submit([] { return 2; });
  started.wait();  // from here on `running` is running and `queued` is queued

  const bool cancelled_queued = queued.cancel();    // true: it had not started and never will
  const bool cancelled_running = running.cancel();  // false: running work is never interrupted

  std::string outcome;
  try {
    try {
      (void)queued.get();
    } catch (const std::exception&) {  // does not catch cancellation...
      outcome = "caught as std::exception";
    }
  } catch (const tandem::cancelled_error& e) {  // ...this does
    outcome = e.what();
  }

  // Stop the pool without waiting (wait = false) and cancel what is queued (cancel_futures = true).
  auto never_runs = pool.submit([] { return 3; });
  pool.shutdown(false, true);
  const bool cancelled_at_shutdown = never_runs.cancelled();

  release.count_down();  // the running task still finishes normally
  const int first = running.get();

  std::printf("queued: %s, running: %s, get(): %s, at shutdown: %s, running task returned %d\n",
              cancelled_queued ? "cancelled" : "not cancelled",
              cancelled_running ? "cancelled" : "not cancelled", outcome.c_str(),
              cancelled_at_shutdown ? "cancelled" : "not cancelled", first);
  return cancelled_queued && !cancelled_running && outcome == "cancelled" &&
                 cancelled_at_shutdown && first == 1
             ? 0
             : 1;
}  // ~thread_pool joins the worker
