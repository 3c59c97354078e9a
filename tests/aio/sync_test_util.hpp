// Helpers shared by the tests of aio's synchronisation primitives and queues.
#pragma once

#include <stdexcept>
#include <utility>

#include "tandem/aio.hpp"

namespace sync_test {

namespace aio = tandem::aio;

/// Yields to the loop until `pred()` holds. Tasks run in shuffled order under
/// TANDEM_AIO_DEBUG=1, so tests wait for states, never for a number of iterations.
template <class Pred>
aio::task<void> until(Pred pred) {
  for (int i = 0; !pred(); ++i) {
    if (i > 100000) throw std::runtime_error("until: the state never came");
    co_await aio::sleep(0);
  }
}

/// True if the current task's next suspension (a sleep(0)) raises cancelled_error: a cancel was
/// pending. Withdraws that cancel (uncancel) so the test goes on.
inline aio::task<bool> next_suspension_raises() {
  bool thrown = false;
  try {
    co_await aio::sleep(0);
  } catch (const tandem::cancelled_error&) {
    thrown = true;
  }
  if (thrown) aio::current_task()->uncancel();
  co_return thrown;
}

/// Yields to the loop `n` times (lets woken tasks run, under any shuffle, for bounded `n`).
inline aio::task<void> yield(int n = 10) {
  for (int i = 0; i < n; ++i) co_await aio::sleep(0);
}

/// Awaits `h` and reports whether it ended cancelled (any other exception propagates).
template <class T>
aio::task<bool> ended_cancelled(aio::task_handle<T> h) {
  try {
    co_await h;
  } catch (const tandem::cancelled_error&) {
    co_return true;
  }
  co_return false;
}

/// Counts the tasks inside a section and the most seen at once; RAII so that a task cancelled
/// inside still leaves.
struct occupancy {
  int inside = 0;
  int max_inside = 0;
  struct scope {
    occupancy& o;
    explicit scope(occupancy& x) : o(x) {
      if (++o.inside > o.max_inside) o.max_inside = o.inside;
    }
    ~scope() { --o.inside; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
  };
};

/// Marks the running task cancelled without suspending: its next cancellation point throws.
inline void cancel_self() { aio::current_task()->cancel(); }

}  // namespace sync_test
