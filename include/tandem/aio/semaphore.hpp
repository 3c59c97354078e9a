// aio::semaphore and aio::bounded_semaphore: a counter of permits for tasks (asyncio.Semaphore,
// asyncio.BoundedSemaphore).
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "tandem/aio/detail/waiter_list.hpp"
#include "tandem/aio/lock.hpp"

namespace tandem::aio {

/// A counter of permits: acquire() takes one (waiting while there are none), release() gives
/// one back. FIFO-fair: while tasks wait, a new acquire() waits behind them even if a permit is
/// free. Follows asyncio.Semaphore (3.13), including its fix that a waiter cancelled after it was
/// handed a permit gives the permit to the next waiter.
///
/// Thread safety: loop thread only (one loop).
/// Example:
///   aio::semaphore slots(10);                // at most 10 at once
///   auto slot = co_await slots.acquire();    // released at the end of the scope
class semaphore {
 public:
  class acquire_awaiter;

  /// Starts with `value` permits (asyncio's default is 1).
  explicit semaphore(std::size_t value = 1) noexcept : value_(value) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;
  /// Precondition: no task waits on the semaphore.
  ~semaphore() {
    TANDEM_ASSERT(waiters_.empty(), "aio::semaphore destroyed while tasks wait on it");
  }

  /// Takes a permit, waiting for one if needed; `co_await` returns a guard that releases it.
  /// Follows asyncio.Semaphore.acquire.
  /// Suspends: only if locked() (no permit, or tasks already waiting); then a cancellation
  /// point. Errors: cancelled_error (no permit is then held).
  [[nodiscard]] acquire_awaiter acquire() noexcept;

  /// Gives a permit back, waking the first waiter. Follows asyncio.Semaphore.release.
  /// Errors: for a bounded_semaphore, invalid_state_error when it would exceed the initial value
  /// (asyncio raises ValueError).
  void release();

  /// True if acquire() would wait: no permit is free, or tasks wait. Follows
  /// asyncio.Semaphore.locked.
  [[nodiscard]] bool locked() const noexcept { return value_ == 0 || !waiters_.empty(); }
  /// The free permits (asyncio's `_value`), not counting those handed to woken waiters.
  [[nodiscard]] std::size_t value() const noexcept { return value_; }

 protected:
  semaphore(std::size_t value, std::size_t bound) noexcept : value_(value), bound_(bound) {}

 private:
  // asyncio's _wake_up_next: hands a permit to the first waiter not yet woken. Woken waiters
  // stay linked until they run (so locked() sees them, as asyncio's deque does).
  bool wake_up_next() noexcept;

  detail::waiter_list waiters_;
  std::size_t value_;
  std::size_t bound_ = SIZE_MAX;  // bounded_semaphore: release() may not exceed it
};

/// A semaphore whose release() refuses to raise the count above its initial value (a release
/// without an acquire is a bug it catches). Follows asyncio.BoundedSemaphore.
/// Thread safety: loop thread only.
/// Errors: release() throws invalid_state_error when the count is already at the initial value.
class bounded_semaphore : public semaphore {
 public:
  explicit bounded_semaphore(std::size_t value = 1) noexcept : semaphore(value, value) {}
};

/// The awaiter of semaphore::acquire().
class semaphore::acquire_awaiter final : private detail::sync_waiter {
 public:
  explicit acquire_awaiter(semaphore& s) noexcept : s_(s) {}
  [[nodiscard]] bool await_ready() const noexcept { return !s_.locked(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return park(h, s_.waiters_); }
  guard<semaphore> await_resume() {
    if (!parked()) {
      --s_.value_;
      return guard<semaphore>(s_);
    }
    leave();
    const bool cancel = cancelling();
    // Handed a permit but not taking it: give it back (asyncio).
    if (cancel && woken()) ++s_.value_;
    // Tasks that arrived meanwhile waited for FIFO's sake: wake as many as there are permits.
    while (s_.value_ > 0 && s_.wake_up_next()) {
    }
    if (cancel) throw_cancelled();
    return guard<semaphore>(s_);
  }

 private:
  semaphore& s_;
};

inline semaphore::acquire_awaiter semaphore::acquire() noexcept { return acquire_awaiter(*this); }

}  // namespace tandem::aio
