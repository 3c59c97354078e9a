// aio::sleep: suspend the current task for a while (asyncio.sleep).
#pragma once

#include <chrono>
#include <coroutine>

#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/detail/assert.hpp"

namespace tandem::aio {
namespace detail {

// The timer lives in the awaiter, so in the sleeping coroutine's frame: a sleep never allocates
// (beyond the timer heap's one pointer).
class sleep_awaiter final : public timer_node, public wait_target {
 public:
  // The deadline is taken when the awaiter is made, which is when `co_await sleep(d)` runs.
  explicit sleep_awaiter(double delay) noexcept : timer_node(&sleep_awaiter::fire) {
    deadline_ns = delay > 0 ? loop::now_ns() + to_ns(delay) : yield_once;
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    task_ = task_base::current();
    TANDEM_ASSERT(task_, "aio::sleep awaited outside a task (use aio::run or create_task)");
    if (!task_->may_suspend()) return false;
    if (deadline_ns == yield_once) {  // sleep(0): yield to the loop once, as asyncio.sleep(0) does
      task_->suspend(h, nullptr);
      task_->wake();
      return true;
    }
    task_->owner()->add_timer(this);
    task_->suspend(h, this);
    return true;
  }
  void await_resume() {
    task_->checkpoint();
    if (aborted_) task_->throw_cancelled_wait();
  }

 private:
  static void fire(timer_node* t) noexcept { static_cast<sleep_awaiter&>(*t).task_->wake(); }
  bool cancel_wait() noexcept override {
    task_->owner()->cancel_timer(this);
    aborted_ = true;
    task_->wake();
    return true;
  }

  task_base* task_ = nullptr;
  static constexpr std::int64_t yield_once = INT64_MIN;  // sleep(0) and negative delays
  bool aborted_ = false;
};

}  // namespace detail

/// Suspends the current task for `delay` seconds; `sleep(0)` yields to the loop once.
/// Follows asyncio.sleep.
/// Suspends: yes; a cancellation point.
/// Completion: resumes on a loop iteration after the deadline (timers have 1 ms resolution).
/// Errors: cancelled_error if the task is cancelled while sleeping.
/// Precondition: awaited inside a task (aio::run, create_task).
[[nodiscard]] inline detail::sleep_awaiter sleep(double delay) noexcept {
  return detail::sleep_awaiter(delay);
}
/// The same for a std::chrono duration.
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
  return detail::sleep_awaiter(std::chrono::duration<double>(delay).count());
}

}  // namespace tandem::aio
