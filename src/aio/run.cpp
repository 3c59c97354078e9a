#include "tandem/aio/run.hpp"

#include <vector>

#include "aio/detail/loop_impl.hpp"

namespace tandem::aio::detail {

void run_until_done(loop& l, const task_base& t) {
  while (!t.done()) l.run_once();
}

void finish_run(loop& l) noexcept {
  try {
    // Tasks still alive get one cancel each, then run until they finish: their cleanup runs,
    // as asyncio.run's _cancel_all_tasks does. A task that ignores cancellation keeps the loop
    // running, as in asyncio.
    // Cancelled from a loop callback: cancelling touches the loop (timers, ready queue) through
    // the running loop of the thread.
    l.call_soon([&l] {
      std::vector<task_base*> left = l.internals().tasks;
      for (task_base* t : left)
        if (t) t->cancel();
    });
    l.run_once(0);
    while (l.internals().live_tasks() > 0) l.run_once();
  } catch (...) {
    report_unraisable(std::current_exception(), "aio::run while cancelling the remaining tasks");
  }
  try {
    l.close();
  } catch (...) {
    report_unraisable(std::current_exception(), "aio::run closing the loop");
  }
}

}  // namespace tandem::aio::detail
