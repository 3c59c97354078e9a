// What the combinators share: turning awaitables into task handles, and a waiter that sleeps
// until its owner says "enough" (a count reached, a first failure, a first completion).
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/detail/assert.hpp"

namespace tandem::aio {

/// What the combinators accept: a coroutine (task<T>, scheduled by the combinator, as asyncio's
/// ensure_future does) or an already scheduled task (task_handle<T>).
template <class A>
concept task_like = requires {
  typename std::remove_cvref_t<A>::value_type;
}
&&(std::is_same_v<std::remove_cvref_t<A>, task<typename std::remove_cvref_t<A>::value_type>> ||
   std::is_same_v<std::remove_cvref_t<A>,
                  task_handle<typename std::remove_cvref_t<A>::value_type>>);

/// The result type of awaiting a task_like.
template <task_like A>
using task_result_t = typename std::remove_cvref_t<A>::value_type;

/// Tag: gather returns each outcome (value or exception) instead of raising the first exception.
/// Follows asyncio.gather(return_exceptions=True).
struct return_exceptions_t {
  explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

/// One outcome of gather(return_exceptions, ...): the value (std::monostate for void) or the
/// exception (including cancelled_error) the task ended with.
template <class T>
using outcome =
    std::variant<std::conditional_t<std::is_void_v<T>, std::monostate, T>, std::exception_ptr>;

namespace detail {

/// Schedules a coroutine, or passes a handle through.
template <class T>
task_handle<T> ensure_task(task<T>&& t) {
  return create_task(std::move(t));
}
template <class T>
task_handle<T> ensure_task(task_handle<T> h) noexcept {
  return h;
}

/// True if a finished task counts as a failure for gather/wait(FIRST_EXCEPTION): it raised,
/// including cancelled_error.
inline bool failed(const task_base& t) noexcept { return t.error() != nullptr; }

/// Suspends the current task until notify() (from done nodes, timers) or a cancellation.
/// `on_cancel` decides what a cancellation does: return true to end the wait now with
/// cancelled_error; false to keep waiting (the owner forwarded the cancel to its children and
/// will notify() when they are done; `cancel_requested()` then tells it to raise).
class waker final : public wait_target {
 public:
  using cancel_fn = bool (*)(void* ctx) noexcept;
  waker() noexcept = default;
  waker(cancel_fn on_cancel, void* ctx) noexcept : on_cancel_(on_cancel), ctx_(ctx) {}
  // Not copyable: awaiters are handed out by pointer (g++ 12 copies an awaited lvalue returned
  // by reference, so co_await must see a small value object, not the waker itself).
  waker(const waker&) = delete;
  waker& operator=(const waker&) = delete;

  struct awaiter {
    waker* w;
    bool await_ready() const noexcept { return w->await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return w->await_suspend(h); }
    void await_resume() { w->await_resume(); }
  };
  /// Awaitable: resumes after notify(). Errors: as await_resume.
  awaiter wait() noexcept { return awaiter{this}; }

  /// Ends the wait (loop thread). Idempotent until the next co_await.
  void notify() noexcept {
    notified_ = true;
    if (suspended_) {
      suspended_ = false;
      task_->wake();
    }
  }
  [[nodiscard]] bool cancel_requested() const noexcept { return cancel_requested_; }
  [[nodiscard]] task_base* waiting_task() const noexcept { return task_; }

  bool await_ready() const noexcept { return notified_; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    task_ = task_base::current();
    TANDEM_ASSERT(task_, "an aio combinator awaited outside a task");
    if (!task_->may_suspend()) return false;
    suspended_ = true;
    task_->suspend(h, this);
    return true;
  }
  /// Errors: cancelled_error if the task was cancelled and on_cancel ended the wait, or a
  /// cancel arrived after the wake-up.
  void await_resume() {
    notified_ = false;
    if (!task_) return;
    if (aborted_) {
      aborted_ = false;
      task_->throw_cancelled_wait();
    }
    task_->checkpoint();
  }

 private:
  bool cancel_wait() noexcept override {
    cancel_requested_ = true;
    if (on_cancel_ && !on_cancel_(ctx_)) return true;  // delivered to the children; keep waiting
    aborted_ = true;
    suspended_ = false;
    task_->wake();
    return true;
  }

  cancel_fn on_cancel_ = nullptr;
  void* ctx_ = nullptr;
  task_base* task_ = nullptr;
  bool notified_ = false;
  bool suspended_ = false;
  bool aborted_ = false;
  bool cancel_requested_ = false;
};

/// Holds a body's result, or nothing for void (task_group::run).
template <class T>
struct gathered_slot {
  T value;
};
template <>
struct gathered_slot<void> {};

/// Cancels a loop timer when the waiting frame unwinds (normally or by cancellation), so a
/// timer never calls into a dead frame.
struct timer_guard {
  std::optional<timer_handle> timer;
  timer_guard() = default;
  timer_guard(const timer_guard&) = delete;
  timer_guard& operator=(const timer_guard&) = delete;
  ~timer_guard() {
    if (timer) timer->cancel();
  }
};

/// Waits until `target` is done, without retrieving its result and without forwarding a
/// cancellation to it (shield, wait_for(task, 0)): cancelling the waiting task ends the wait at
/// once with cancelled_error and leaves `target` running.
class done_awaiter final : public done_node, public wait_target {
 public:
  explicit done_awaiter(task_base& target) noexcept
      : done_node(&done_awaiter::on_done), target_(target) {}
  bool await_ready() const noexcept { return target_.done(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    waiter_ = task_base::current();
    TANDEM_ASSERT(waiter_, "an aio combinator awaited outside a task");
    if (!waiter_->may_suspend()) return false;
    target_.add_done_node(this);
    waiter_->suspend(h, this);
    return true;
  }
  void await_resume() {
    if (!waiter_) return;
    if (aborted_) waiter_->throw_cancelled_wait();
    waiter_->checkpoint();
  }

 private:
  static void on_done(done_node* n, task_base*) noexcept {
    static_cast<done_awaiter&>(*n).waiter_->wake();
  }
  bool cancel_wait() noexcept override {
    target_.remove_done_node(this);
    aborted_ = true;
    waiter_->wake();
    return true;
  }
  task_base& target_;
  task_base* waiter_ = nullptr;
  bool aborted_ = false;
};

/// Waits for a set of tasks: all done, the first failure, or the first completion.
/// Lives in the waiting coroutine's frame. It links one shared done node into every task (at the
/// tail of the task's list, see task_base::add_shared_done_node), so watching a million tasks
/// costs no memory per task beyond the caller's array; a task that already carries another
/// shared node gets a node of its own. Every node is unlinked on destruction, so tasks that
/// outlive the wait (gather raising early) never call into a dead frame.
class join {
 public:
  enum class until : std::uint8_t { all_done, first_failure, first_done };

  /// `forward_cancel`: cancelling the waiting task cancels every task still running and keeps
  /// waiting (gather); otherwise the wait ends at once with cancelled_error (wait, as_completed).
  join(until u, bool forward_cancel) noexcept
      : shared_(this), waker_(&join::on_cancel, this), until_(u), forward_cancel_(forward_cancel) {}
  join(const join&) = delete;
  join& operator=(const join&) = delete;
  ~join() {
    if (pending_ == 0) return;  // every node fired, so none is linked (and no pass over frames)
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      if (!tasks_[i] || tasks_[i]->done()) continue;
      if (own_ && own_[i].linked)
        tasks_[i]->remove_done_node(&own_[i]);
      else if (!own_ || !own_[i].used)
        tasks_[i]->remove_shared_done_node(&shared_);
    }
  }

  /// Watches `tasks`, which the caller keeps alive and unchanged until the join is destroyed.
  void watch(std::span<task_base* const> tasks) {
    begin(tasks);
    for (std::size_t i = 0; i < tasks.size(); ++i) add(i);
    end();
  }

  /// watch() in steps, for a caller that creates the tasks as it goes (one pass over them):
  /// begin() with the array (entries may still be null), add(i) once entry i is set, end().
  void begin(std::span<task_base* const> tasks) noexcept { tasks_ = tasks; }
  void add(std::size_t i) {
    task_base& t = *tasks_[i];
    if (t.done()) {
      on_child_done(t);
      return;
    }
    ++pending_;
    if (t.add_shared_done_node(&shared_)) return;
    if (!own_) own_ = std::make_unique<own_node[]>(tasks_.size());
    own_[i].owner = this;
    own_[i].used = own_[i].linked = true;
    t.add_done_node(&own_[i]);
  }
  void end() noexcept {
    if (satisfied()) waker_.notify();
  }

  /// Awaitable: resumes once the `until` condition holds (or cancelled_error, see above).
  waker::awaiter wait() noexcept { return waker_.wait(); }
  [[nodiscard]] task_base* waiting_task() const noexcept { return waker_.waiting_task(); }
  [[nodiscard]] bool satisfied() const noexcept {
    return forced_ || pending_ == 0 || (until_ != until::all_done && first_ != npos);
  }
  /// Ends the wait now (a timeout): satisfied() becomes true.
  void force() noexcept {
    forced_ = true;
    waker_.notify();
  }
  /// Wake the waiter on every completion (it checks a condition of its own).
  void poke_on_each() noexcept { poke_each_ = true; }
  /// Index of the first task that failed (first_failure) or finished (first_done), else npos.
  [[nodiscard]] std::size_t first() const noexcept { return first_; }
  [[nodiscard]] std::size_t pending() const noexcept { return pending_; }
  /// True if the waiting task was cancelled while waiting (forward_cancel mode).
  [[nodiscard]] bool cancel_requested() const noexcept { return waker_.cancel_requested(); }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  struct shared_node final : done_node {
    explicit shared_node(join* o) noexcept : done_node(&shared_node::fire), owner(o) {}
    join* owner;
    static void fire(done_node* n, task_base* t) noexcept {
      auto& j = *static_cast<shared_node&>(*n).owner;
      --j.pending_;
      j.on_child_done(*t);
    }
  };
  struct own_node final : done_node {
    own_node() noexcept : done_node(&own_node::fire) {}
    join* owner = nullptr;
    bool used = false;    // this task has its own node instead of the shared one
    bool linked = false;  // still in the task's list
    static void fire(done_node* n, task_base* t) noexcept {
      auto& self = static_cast<own_node&>(*n);
      self.linked = false;
      --self.owner->pending_;
      self.owner->on_child_done(*t);
    }
  };

  void on_child_done(const task_base& t) noexcept {
    if (first_ == npos &&
        (until_ == until::first_done || (until_ == until::first_failure && failed(t)))) {
      // Found by a scan, once per wait: cheaper than an index in every node.
      for (std::size_t i = 0; i < tasks_.size(); ++i)
        if (tasks_[i] == &t) {
          first_ = i;
          break;
        }
    }
    if (satisfied() || poke_each_) waker_.notify();
  }
  static bool on_cancel(void* self) noexcept {
    auto& j = *static_cast<join*>(self);
    if (!j.forward_cancel_) return true;
    std::string msg = j.waker_.waiting_task()->cancel_message();
    for (task_base* t : j.tasks_)
      if (!t->done()) t->cancel(msg);
    return false;
  }

  shared_node shared_;
  std::unique_ptr<own_node[]> own_;  // only if some task already carried a shared node
  std::span<task_base* const> tasks_;
  detail::waker waker_;
  std::size_t pending_ = 0;
  std::size_t first_ = npos;
  until until_;
  bool forward_cancel_;
  bool forced_ = false;
  bool poke_each_ = false;
};

}  // namespace detail
}  // namespace tandem::aio
