// The parking lot shared by aio's synchronisation primitives (lock, event, condition, semaphore,
// queue): an intrusive FIFO of waiting tasks. Each waiter lives in its awaiter, so in the waiting
// coroutine's frame: waiting never allocates, and a cancelled waiter unlinks itself in O(1).
//
//   await_suspend: park() --> waiter_list (FIFO) --wake_up()--> task scheduled --> await_resume
//                               ^                                  (the primitive decides
//   task.cancel() --cancel_wait()--+ unlinks, aborted = true        whether to unlink)
//
// Loop thread only: a primitive and its waiters belong to one loop.
#pragma once

#include <coroutine>

#include "tandem/aio/detail/task_base.hpp"
#include "tandem/detail/assert.hpp"

namespace tandem::aio::detail {

/// Links of a waiter in a waiter_list. Invariant: `linked` is true iff the hook is in a list.
struct waiter_hook {
  waiter_hook* prev = nullptr;
  waiter_hook* next = nullptr;
  bool linked = false;
};

/// A FIFO of waiter_hooks, doubly linked so that erase is O(1).
class waiter_list {
 public:
  waiter_list() noexcept = default;
  waiter_list(const waiter_list&) = delete;
  waiter_list& operator=(const waiter_list&) = delete;

  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] waiter_hook* front() const noexcept { return head_; }

  void push_back(waiter_hook* w) noexcept {
    w->prev = tail_;
    w->next = nullptr;
    if (tail_)
      tail_->next = w;
    else
      head_ = w;
    tail_ = w;
    w->linked = true;
  }
  void erase(waiter_hook* w) noexcept {
    if (w->prev)
      w->prev->next = w->next;
    else
      head_ = w->next;
    if (w->next)
      w->next->prev = w->prev;
    else
      tail_ = w->prev;
    w->prev = w->next = nullptr;
    w->linked = false;
  }
  /// Unlinks and returns the first waiter. Precondition: !empty().
  waiter_hook* pop_front() noexcept {
    waiter_hook* w = head_;
    erase(w);
    return w;
  }

 private:
  waiter_hook* head_ = nullptr;
  waiter_hook* tail_ = nullptr;
};

/// A task parked on a primitive: the common half of every synchronisation awaiter. Follows the
/// awaiter protocol of sleep_awaiter (sleep.hpp).
class sync_waiter : public waiter_hook, public wait_target {
 public:
  /// await_suspend's body: false (do not suspend) if a cancel is pending; otherwise joins `list`
  /// and suspends the current task in `h`.
  bool park(std::coroutine_handle<> h, waiter_list& list) noexcept {
    task_ = task_base::current();
    TANDEM_ASSERT(task_, "an aio synchronisation primitive awaited outside a task");
    if (!task_->may_suspend()) return false;
    list_ = &list;
    list.push_back(this);
    task_->suspend(h, this);
    return true;
  }
  /// Ends the wait with a wake-up that carries something (the lock, an item, a notification).
  /// The caller decides whether the waiter stays linked. Loop thread only.
  void wake_up() noexcept {
    woken_ = true;
    task_->wake();
  }
  /// True if await_suspend ran (the slow path): the task is known.
  [[nodiscard]] bool parked() const noexcept { return task_ != nullptr; }
  /// True if the wait ended in wake_up() (as opposed to a cancellation).
  [[nodiscard]] bool woken() const noexcept { return woken_; }
  /// True if the task must throw cancelled_error at this suspension point: the wait was
  /// cancelled, or a cancel arrived after the wake-up (or before the wait began).
  [[nodiscard]] bool cancelling() const noexcept { return aborted_ || !task_->may_suspend(); }
  /// Throws the cancelled_error that cancelling() announced.
  [[noreturn]] void throw_cancelled() const {
    task_->checkpoint();
    task_->throw_cancelled_wait();
  }
  /// Unlinks from the list if still linked (the wait ended in a way that left it there).
  void leave() noexcept {
    if (linked) list_->erase(this);
  }

  bool cancel_wait() noexcept override {
    if (woken_) return false;  // the wake-up is under way: the task throws at await_resume
    list_->erase(this);
    aborted_ = true;
    task_->wake();
    return true;
  }

 protected:
  ~sync_waiter() = default;

 private:
  task_base* task_ = nullptr;
  waiter_list* list_ = nullptr;
  bool woken_ = false;
  bool aborted_ = false;
};

/// The sync_waiter of a waiter_hook taken from a list of sync_waiters.
inline sync_waiter& as_waiter(waiter_hook* h) noexcept { return static_cast<sync_waiter&>(*h); }

}  // namespace tandem::aio::detail
