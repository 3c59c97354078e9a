// aio::lock: a mutual-exclusion lock for tasks (asyncio.Lock), and aio::guard, the RAII holder
// that every acquire() in the layer returns.
#pragma once

#include <coroutine>
#include <utility>

#include "tandem/aio/detail/waiter_list.hpp"

namespace tandem::aio {

/// Holds an acquired lock or semaphore and releases it when destroyed: the C++ shape of
/// Python's `async with lock:`. Movable, not copyable; the moved-from guard holds nothing.
/// `L` is a type with `release()` (lock, semaphore, bounded_semaphore).
///
/// Thread safety: loop thread only, like the primitive it holds.
/// Errors: the destructor calls `L::release()`; releasing by hand as well (`lock.release()` while
/// a guard still holds it) is a caller bug that terminates: use `unlock()` or `release()` here.
/// Example:
///   auto held = co_await lock.acquire();   // released at the end of the scope
///   held.unlock();                          // ...or earlier
template <class L>
class [[nodiscard]] guard {
 public:
  guard() noexcept = default;
  /// Adopts `l`, which the caller holds.
  explicit guard(L& l) noexcept : l_(&l) {}
  guard(guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
  guard& operator=(guard&& o) noexcept {
    if (this != &o) {
      if (l_) l_->release();
      l_ = std::exchange(o.l_, nullptr);
    }
    return *this;
  }
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;
  ~guard() {
    if (l_) l_->release();
  }

  /// Releases now; afterwards the guard holds nothing. No effect if it holds nothing.
  void unlock() {
    if (L* l = std::exchange(l_, nullptr)) l->release();
  }
  /// Gives up ownership without releasing (std::unique_lock::release): the caller now calls
  /// `release()` on the primitive itself. Returns the primitive, or null.
  L* release() noexcept { return std::exchange(l_, nullptr); }
  /// True while the guard holds its primitive.
  [[nodiscard]] bool owns_lock() const noexcept { return l_ != nullptr; }
  explicit operator bool() const noexcept { return owns_lock(); }

 private:
  L* l_ = nullptr;
};

/// A lock for tasks of one loop: not owned by a task, FIFO-fair. Follows asyncio.Lock (3.13):
/// a released lock goes to the first waiter even if another task calls acquire() before that
/// waiter runs, and a waiter cancelled after it was handed the lock passes it on to the next one.
///
/// Thread safety: loop thread only (one loop); to share between threads use tandem::channel or a
/// std::mutex.
/// Example:
///   aio::lock lock;
///   {
///     auto held = co_await lock.acquire();
///     ...  // one task at a time
///   }
class lock {
 public:
  class acquire_awaiter;

  lock() noexcept = default;
  lock(const lock&) = delete;
  lock& operator=(const lock&) = delete;
  /// Precondition: no task waits on the lock.
  ~lock() { TANDEM_ASSERT(waiters_.empty(), "aio::lock destroyed while tasks wait on it"); }

  /// Waits until the lock is free and takes it; `co_await` returns a guard<lock> that releases
  /// it. Follows asyncio.Lock.acquire.
  /// Suspends: only if the lock is held or other tasks wait for it (FIFO); then a cancellation
  /// point. An uncontended acquire never suspends and is not a cancellation point.
  /// Errors: cancelled_error (the lock is then not held; if it had been handed to this task, it
  /// goes to the next waiter).
  [[nodiscard]] acquire_awaiter acquire() noexcept;

  /// Releases the lock; the first waiter (if any) gets it next. Follows asyncio.Lock.release.
  /// Completion: the woken waiter resumes on a later loop iteration.
  /// Errors: invalid_state_error if the lock is not held.
  void release();

  /// True while some task holds the lock. Follows asyncio.Lock.locked.
  [[nodiscard]] bool locked() const noexcept { return locked_; }

 private:
  // asyncio's _wake_up_first: hands the lock to the first waiter unless it already has it.
  // Invariant: a woken waiter stays first in waiters_ until it runs, so that acquire() cannot
  // barge in front of it.
  void wake_up_first() noexcept {
    if (waiters_.empty()) return;
    detail::sync_waiter& w = detail::as_waiter(waiters_.front());
    if (!w.woken()) w.wake_up();
  }

  detail::waiter_list waiters_;
  bool locked_ = false;
};

/// The awaiter of lock::acquire().
class lock::acquire_awaiter final : private detail::sync_waiter {
 public:
  explicit acquire_awaiter(lock& l) noexcept : l_(l) {}
  [[nodiscard]] bool await_ready() const noexcept { return !l_.locked_ && l_.waiters_.empty(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return park(h, l_.waiters_); }
  guard<lock> await_resume() {
    if (parked()) {
      leave();
      if (cancelling()) {
        // Not taking the lock: if it is free, make sure the next waiter gets it (asyncio).
        if (!l_.locked_) l_.wake_up_first();
        throw_cancelled();
      }
    }
    l_.locked_ = true;
    return guard<lock>(l_);
  }

 private:
  lock& l_;
};

inline lock::acquire_awaiter lock::acquire() noexcept { return acquire_awaiter(*this); }

}  // namespace tandem::aio
