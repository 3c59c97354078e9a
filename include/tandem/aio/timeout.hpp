// Timeouts: timeout / timeout_at scopes (asyncio.timeout, 3.11+) and wait_for (asyncio.wait_for,
// 3.12, which is built on them).
//
// A scope runs a body inside the current task. When the deadline passes, the scope cancels the
// task; when the body then ends with cancelled_error, the scope turns it into timeout_error, but
// only if no other cancel is pending: the task's cancel count, compared with the one at entry,
// tells "my cancel" from "someone else's", which is how nested scopes with the same deadline
// raise only at the outermost one, and how an external cancel stays a cancellation.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/error.hpp"

namespace tandem::aio {

/// A deadline for a body run in the current task. Follows asyncio.Timeout (3.11+).
///
///     auto scope = aio::timeout(2.0);
///     int v = co_await scope.run(fetch());   // timeout_error after 2 s
///
/// Thread safety: loop thread only. A scope runs one body, once.
class timeout_scope {
 public:
  /// `when`: loop time (loop::time(), seconds) of the deadline; nullopt: none (yet).
  explicit timeout_scope(std::optional<double> when) noexcept : when_(when) {}
  timeout_scope(const timeout_scope&) = delete;
  timeout_scope& operator=(const timeout_scope&) = delete;
  ~timeout_scope() { timer_.cancel(); }

  /// The deadline (loop time, seconds), or nullopt.
  [[nodiscard]] std::optional<double> when() const noexcept { return when_; }
  /// Moves the deadline (loop time; nullopt: none). A deadline already passed cancels the body
  /// at its next suspension. Follows asyncio.Timeout.reschedule.
  /// Errors: invalid_state_error after the deadline fired or the body ended.
  void reschedule(std::optional<double> when);
  /// True once the deadline fired (asyncio.Timeout.expired).
  [[nodiscard]] bool expired() const noexcept {
    return state_ == state::expiring || state_ == state::expired;
  }

  /// Runs `body` (a coroutine or a scheduled task) under the deadline, in the current task.
  /// Suspends: as the body does.
  /// Errors: timeout_error if the deadline cancelled the body; cancelled_error if the task was
  /// cancelled by someone else (also when the deadline fired too); what the body threw.
  /// Precondition: called once per scope.
  template <task_like A>
  task<task_result_t<A>> run(A body) {
    enter();
    std::exception_ptr error;
    if constexpr (std::is_void_v<task_result_t<A>>) {
      try {
        co_await std::move(body);
      } catch (...) {
        error = std::current_exception();
      }
      exit(error);
    } else {
      std::optional<task_result_t<A>> result;
      try {
        result.emplace(co_await std::move(body));
      } catch (...) {
        error = std::current_exception();
      }
      exit(error);
      co_return std::move(*result);
    }
  }

 private:
  enum class state : std::uint8_t { created, entered, expiring, expired, exited };
  void enter();
  void exit(const std::exception_ptr& error);  // rethrows error or timeout_error
  void on_timeout() noexcept;
  void arm();

  std::optional<double> when_;
  timer_handle timer_;
  detail::task_base* task_ = nullptr;
  std::uint32_t cancelling_ = 0;
  state state_ = state::created;
};

/// A scope whose deadline is `delay` seconds from now (nullopt: none). Follows asyncio.timeout.
/// Errors: invalid_state_error if no loop runs.
[[nodiscard]] timeout_scope timeout(std::optional<double> delay);
/// A scope with an absolute deadline in loop time. Follows asyncio.timeout_at.
[[nodiscard]] inline timeout_scope timeout_at(std::optional<double> when) noexcept {
  return timeout_scope(when);
}

/// Runs `body` with a deadline of `delay` seconds: `co_await aio::timeout(1.0, f())`.
/// Suspends, errors: as timeout_scope::run.
template <task_like A>
task<task_result_t<A>> timeout(std::optional<double> delay, A body) {
  timeout_scope scope = timeout(delay);
  co_return co_await scope.run(std::move(body));
}

/// Waits for `aw` for at most `timeout` seconds (nullopt: forever), cancelling it on timeout.
/// Follows asyncio.wait_for (3.12): a coroutine runs inline in the awaiting task, so its
/// cleanup has finished when timeout_error is raised; a scheduled task is cancelled and
/// awaited. `timeout <= 0` never starts a coroutine, and returns a finished task's result.
/// Suspends: yes, a cancellation point.
/// Errors: timeout_error; what `aw` throws; cancelled_error if the awaiting task is cancelled.
template <class T>
task<T> wait_for(task<T> aw, std::optional<double> timeout) {
  if (timeout && *timeout <= 0) {
    aw.release().destroy();  // never started, as asyncio's wait_for(coro, 0)
    throw timeout_error("wait_for: timed out (timeout <= 0)");
  }
  co_return co_await aio::timeout(timeout, std::move(aw));
}

/// wait_for on a task already scheduled.
template <class T>
task<T> wait_for(task_handle<T> aw, std::optional<double> timeout) {
  if (timeout && *timeout <= 0 && !aw.done()) {
    // asyncio's _cancel_and_wait: cancel, then wait for the task to finish; cancelling us
    // meanwhile raises cancelled_error here without cancelling it again.
    aw.cancel();
    co_await detail::done_awaiter(aw.promise());
    if (aw.cancelled()) throw timeout_error("wait_for: timed out (timeout <= 0)");
  }
  if (aw.done()) co_return detail::take_result<T, false>(aw.promise());
  co_return co_await aio::timeout(timeout, std::move(aw));
}

// std::chrono forms of the above: `aio::timeout(250ms, f())`, `aio::wait_for(t, 2s)`.
template <class Rep, class Period>
[[nodiscard]] timeout_scope timeout(std::chrono::duration<Rep, Period> delay) {
  return timeout(std::optional<double>(std::chrono::duration<double>(delay).count()));
}
template <class Rep, class Period, task_like A>
task<task_result_t<A>> timeout(std::chrono::duration<Rep, Period> delay, A body) {
  return timeout(std::optional<double>(std::chrono::duration<double>(delay).count()),
                 std::move(body));
}
template <class T, class Rep, class Period>
task<T> wait_for(task<T> aw, std::chrono::duration<Rep, Period> timeout) {
  return wait_for(std::move(aw),
                  std::optional<double>(std::chrono::duration<double>(timeout).count()));
}
template <class T, class Rep, class Period>
task<T> wait_for(task_handle<T> aw, std::chrono::duration<Rep, Period> timeout) {
  return wait_for(std::move(aw),
                  std::optional<double>(std::chrono::duration<double>(timeout).count()));
}

}  // namespace tandem::aio
