// aio::shield: protect an awaitable from the awaiting task's cancellation (asyncio.shield).
#pragma once

#include <utility>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {
namespace detail {
template <class T>
task<T> await_shielded(task_handle<T> inner) {
  co_await done_awaiter(inner.promise());
  inner.promise().mark_retrieved();
  if (inner.cancelled()) inner.promise().throw_cancelled();
  co_return take_result<T, true>(inner.promise());
}
}  // namespace detail

/// Awaits `aw` (scheduled at once if it is a coroutine) so that cancelling the awaiting task does
/// not cancel it: the await raises cancelled_error and `aw` runs on. Follows asyncio.shield.
/// Suspends: yes, a cancellation point for the awaiting task only.
/// Errors: what `aw` throws; cancelled_error if the awaiting task (or `aw`) was cancelled. An
/// exception `aw` raises after the awaiting task gave up is reported if nobody retrieves it.
template <task_like A>
task<task_result_t<A>> shield(A&& aw) {
  return detail::await_shielded(detail::ensure_task(std::forward<A>(aw)));
}

}  // namespace tandem::aio
