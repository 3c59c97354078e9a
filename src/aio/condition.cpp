#include "tandem/aio/condition.hpp"

#include <exception>

#include "tandem/error.hpp"

namespace tandem::aio {

// Parks until notify() pops it; throws cancelled_error if cancelled before or after that.
class condition::wait_awaiter final : private detail::sync_waiter {
 public:
  explicit wait_awaiter(detail::waiter_list& l) noexcept : list_(l) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return park(h, list_); }
  void await_resume() {
    if (cancelling()) throw_cancelled();
  }

 private:
  detail::waiter_list& list_;
};

task<void> condition::wait() {
  if (!locked()) throw invalid_state_error("cannot wait on un-acquired lock");
  lock_->release();
  std::exception_ptr err;
  try {
    co_await wait_awaiter(waiters_);
  } catch (const cancelled_error&) {
    err = std::current_exception();
  }
  // Re-acquire the lock even if cancelled; a cancel during the re-acquire is kept for later.
  for (;;) {
    try {
      guard<aio::lock> held = co_await lock_->acquire();
      held.release();  // the caller holds it again
      break;
    } catch (const cancelled_error&) {
      err = std::current_exception();
    }
  }
  if (err) {
    // We may have been notified before the cancel: pass the notification on (asyncio 3.13).
    notify_unchecked(1);
    std::rethrow_exception(err);
  }
}

void condition::notify(std::size_t n) {
  if (!locked()) throw invalid_state_error("cannot notify on un-acquired lock");
  notify_unchecked(n);
}

void condition::notify_all() {
  if (!locked()) throw invalid_state_error("cannot notify on un-acquired lock");
  notify_unchecked(SIZE_MAX);
}

void condition::notify_unchecked(std::size_t n) noexcept {
  for (std::size_t i = 0; i < n && !waiters_.empty(); ++i)
    detail::as_waiter(waiters_.pop_front()).wake_up();
}

}  // namespace tandem::aio
