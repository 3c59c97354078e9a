// aio::event: a flag tasks can wait for (asyncio.Event).
#pragma once

#include <coroutine>

#include "tandem/aio/detail/waiter_list.hpp"

namespace tandem::aio {

/// A flag, initially false, that tasks wait to become true. Follows asyncio.Event (3.13).
///
/// Thread safety: loop thread only (one loop). From another thread, set it through
/// `loop.call_soon_threadsafe([&ev] { ev.set(); })`.
/// Example:
///   aio::event ready;
///   ... co_await ready.wait();   // in one task
///   ... ready.set();             // in another: every waiter resumes
class event {
 public:
  class wait_awaiter;

  event() noexcept = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  /// Precondition: no task waits on the event.
  ~event() { TANDEM_ASSERT(waiters_.empty(), "aio::event destroyed while tasks wait on it"); }

  /// Waits until the flag is true. Follows asyncio.Event.wait (which returns True; here void).
  /// Suspends: only if the flag is false; then a cancellation point. A wait on a set event
  /// returns at once and is not a cancellation point.
  /// Errors: cancelled_error.
  [[nodiscard]] wait_awaiter wait() noexcept;

  /// Sets the flag and wakes every waiter. Follows asyncio.Event.set.
  /// Completion: the waiters resume on a later loop iteration, in the order they waited; a
  /// clear() before they run does not stop them.
  void set() noexcept {
    if (value_) return;
    value_ = true;
    while (!waiters_.empty()) detail::as_waiter(waiters_.pop_front()).wake_up();
  }
  /// Resets the flag: later wait() calls block until the next set(). Follows asyncio.Event.clear.
  void clear() noexcept { value_ = false; }
  /// The flag. Follows asyncio.Event.is_set.
  [[nodiscard]] bool is_set() const noexcept { return value_; }

 private:
  detail::waiter_list waiters_;
  bool value_ = false;
};

/// The awaiter of event::wait().
class event::wait_awaiter final : private detail::sync_waiter {
 public:
  explicit wait_awaiter(event& e) noexcept : e_(e) {}
  [[nodiscard]] bool await_ready() const noexcept { return e_.value_; }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return park(h, e_.waiters_); }
  void await_resume() {
    if (parked() && cancelling()) throw_cancelled();
  }

 private:
  event& e_;
};

inline event::wait_awaiter event::wait() noexcept { return wait_awaiter(*this); }

}  // namespace tandem::aio
