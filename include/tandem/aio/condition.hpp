// aio::condition: a condition variable for tasks (asyncio.Condition).
#pragma once

#include <coroutine>
#include <cstddef>
#include <type_traits>

#include "tandem/aio/detail/waiter_list.hpp"
#include "tandem/aio/lock.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

/// A condition variable: tasks holding its lock wait() until another task notifies them.
/// Follows asyncio.Condition (3.13), including its fix that a task cancelled after it was
/// notified passes the notification on (a spurious wake-up for another waiter, never a lost one).
///
/// Thread safety: loop thread only (one loop).
/// Example:
///   aio::condition cv;
///   {
///     auto held = co_await cv.acquire();
///     co_await cv.wait_for([&] { return !items.empty(); });
///     ...  // the lock is held again here
///   }
///   // elsewhere, holding the lock: items.push_back(x); cv.notify();
class condition {
 public:
  /// A condition with its own lock.
  condition() noexcept : lock_(&own_) {}
  /// A condition on `shared`, which must outlive it (several conditions may share one lock).
  explicit condition(aio::lock& shared) noexcept : lock_(&shared) {}
  condition(const condition&) = delete;
  condition& operator=(const condition&) = delete;
  /// Precondition: no task waits on the condition.
  ~condition() {
    TANDEM_ASSERT(waiters_.empty(), "aio::condition destroyed while tasks wait on it");
  }

  /// Acquires the underlying lock (asyncio's `async with cond:`); see lock::acquire.
  [[nodiscard]] lock::acquire_awaiter acquire() noexcept { return lock_->acquire(); }
  /// Releases the underlying lock; see lock::release.
  void release() { lock_->release(); }
  /// True while the underlying lock is held.
  [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }
  /// The underlying lock.
  [[nodiscard]] aio::lock& underlying_lock() const noexcept { return *lock_; }

  /// Releases the lock, waits until notified, and re-acquires the lock before returning (also
  /// when cancelled). May return spuriously: callers re-check their state (or use wait_for).
  /// Follows asyncio.Condition.wait (which returns True; here void).
  /// Suspends: yes; a cancellation point. Cancelled, it still re-acquires the lock first (waiting
  /// for it as long as needed, ignoring further cancels), then notifies one other waiter, then
  /// throws cancelled_error.
  /// Errors: invalid_state_error if the lock is not held; cancelled_error.
  /// Precondition: the calling task holds the lock.
  [[nodiscard]] task<void> wait();

  /// Waits until `pred()` is truthy, calling it first and after every wake-up with the lock
  /// held; returns its last result. Follows asyncio.Condition.wait_for.
  /// Suspends: only if `pred()` is false at first; each wait is a cancellation point.
  /// Errors: as wait(); what `pred` throws.
  template <class Predicate>
  [[nodiscard]] task<std::decay_t<std::invoke_result_t<Predicate&>>> wait_for(Predicate pred) {
    auto result = pred();
    while (!result) {
      co_await wait();
      result = pred();
    }
    co_return result;
  }

  /// Wakes up to `n` waiting tasks (each then re-acquires the lock). Follows
  /// asyncio.Condition.notify.
  /// Errors: invalid_state_error if the lock is not held.
  void notify(std::size_t n = 1);
  /// Wakes every waiting task. Follows asyncio.Condition.notify_all.
  /// Errors: invalid_state_error if the lock is not held.
  void notify_all();

 private:
  class wait_awaiter;
  void notify_unchecked(std::size_t n) noexcept;

  aio::lock own_;
  aio::lock* lock_;
  detail::waiter_list waiters_;
};

}  // namespace tandem::aio
