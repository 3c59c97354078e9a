// task<T>: the coroutine type users write; task_handle<T>: a scheduled task (asyncio.Task).
#pragma once

#include <concepts>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/frame_alloc.hpp"
#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/detail/assert.hpp"
#include "tandem/error.hpp"

namespace tandem::aio {

template <class T = void>
class task;
template <class T = void>
class task_handle;

namespace detail {
/// Tag: create_task runs the task's first step at once (gather, outside debug mode).
struct eager_t {
  explicit eager_t() = default;
};
}  // namespace detail

namespace detail {

// The result slot of a promise: T, or nothing for void. Written once, by return_value.
template <class T>
class result_slot {
 public:
  template <class U>
  void set(U&& v) {
    value_.emplace(std::forward<U>(v));
  }
  T& get() noexcept { return *value_; }

 private:
  std::optional<T> value_;
};
template <>
class result_slot<void> {};

class promise_base : public task_base {
 public:
  // Frames come from the per-thread frame cache (one loop per thread: the per-loop recycling
  // allocator): a task spawned and finished a million times reuses the same few blocks.
  static void* operator new(std::size_t bytes) { return frame_alloc(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept { frame_free(p, bytes); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  // A nested coroutine returns to its caller by symmetric transfer (no stack growth however long
  // the await chain); a root finishes its task and returns to the loop.
  struct final_awaiter {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      promise_base& p = h.promise();
      if (auto caller = p.continuation()) return caller;
      p.finish(h);  // may destroy the frame: touch nothing after
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  void mark_awaited() noexcept { set_awaited(); }
  [[nodiscard]] bool was_awaited() const noexcept { return awaited(); }
};

template <class T>
class promise final : public promise_base {
 public:
  task<T> get_return_object() noexcept;
  template <class U = T>
  requires std::convertible_to<U&&, T>
  void return_value(U&& v) { result_.set(std::forward<U>(v)); }
  result_slot<T> result_;
};

template <>
class promise<void> final : public promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  result_slot<void> result_;
};

// Moves (rvalue) or refers to (lvalue) a finished promise's result; rethrows its error.
template <class T, bool Move>
decltype(auto) take_result(promise<T>& p) {
  if (p.error()) std::rethrow_exception(p.error());
  if constexpr (std::is_void_v<T>)
    return;
  else if constexpr (Move)
    return T(std::move(p.result_.get()));
  else
    return static_cast<T&>(p.result_.get());
}

}  // namespace detail

/// A coroutine returning `T`: `aio::task<int> f() { co_await aio::sleep(1); co_return 1; }`.
/// Follows Python's coroutine objects: lazily started (nothing runs until it is awaited or given
/// to create_task), and `co_await f()` runs it inline in the awaiting task, by symmetric transfer.
///
/// Thread safety: a task object belongs to one thread.
/// Errors: co_await rethrows what the body threw; cancelled_error if the task was cancelled.
/// Debug mode reports a task destroyed without ever being awaited.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;
  using value_type = T;

  task() noexcept = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~task() { reset(); }

  /// True if this object holds a coroutine.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }

  /// Awaits the coroutine inline (same task). Suspends: as the body does.
  auto operator co_await() && noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> h;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        h.promise().set_continuation(caller);
        h.promise().mark_awaited();
        return h;
      }
      decltype(auto) await_resume() { return detail::take_result<T, true>(h.promise()); }
    };
    return awaiter{h_};
  }

  /// Gives up the coroutine (create_task uses this). Postcondition: !valid().
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(h_, {}); }

 private:
  friend class detail::promise<T>;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  void reset() noexcept {
    if (!h_) return;
    if (!h_.promise().was_awaited() && detail::debug_enabled()) detail::warn_never_awaited();
    h_.destroy();
    h_ = {};
  }
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}

// Awaits another task's completion from a different task; wakes through the loop.
template <class T, bool Move>
class handle_awaiter final : public done_node, public wait_target {
 public:
  explicit handle_awaiter(promise<T>& target) noexcept
      : done_node(&handle_awaiter::on_done), target_(target) {}
  bool await_ready() const noexcept { return target_.done(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    waiter_ = task_base::current();
    if (!waiter_->may_suspend()) return false;
    target_.add_done_node(this);
    waiter_->suspend(h, this);
    return true;
  }
  decltype(auto) await_resume() {
    if (waiter_) waiter_->checkpoint();
    target_.mark_retrieved();
    if (target_.cancelled()) target_.throw_cancelled();
    return take_result<T, Move>(target_);
  }

 private:
  static void on_done(done_node* n, task_base*) noexcept {
    static_cast<handle_awaiter&>(*n).waiter_->wake();
  }
  // Follows asyncio: cancelling a task that awaits another task cancels that task too; the
  // awaiting task then resumes when the awaited one has finished.
  bool cancel_wait() noexcept override { return target_.cancel(waiter_->cancel_message()); }

  promise<T>& target_;
  task_base* waiter_ = nullptr;
};
}  // namespace detail

/// A task scheduled on a loop (asyncio.Task). Copies share the task; the loop also holds it while
/// it runs, so dropping every handle never loses a running task (asyncio holds tasks weakly).
///
/// Thread safety: loop thread only.
/// Errors: an exception the task ended with that nobody retrieved (result(), co_await,
/// exception()) is reported through the unraisable hook when the task is destroyed.
template <class T>
class task_handle {
 public:
  using value_type = T;
  task_handle() noexcept = default;
  task_handle(const task_handle& o) noexcept : h_(o.h_) {
    if (h_) h_.promise().add_ref();
  }
  task_handle(task_handle&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task_handle& operator=(task_handle o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~task_handle() {
    if (h_) h_.promise().release();
  }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }
  /// True once the task returned, threw or was cancelled.
  [[nodiscard]] bool done() const noexcept { return p().done(); }
  /// True if the task ended cancelled.
  [[nodiscard]] bool cancelled() const noexcept { return p().cancelled(); }

  /// Requests cancellation: the task's current suspension point (or its next one) throws
  /// cancelled_error(msg). False if the task is already done.
  /// Follows asyncio.Task.cancel (3.11+): counts requests (cancelling()), and if the task waits
  /// on another task, that task is cancelled too.
  bool cancel(std::string msg = {}) noexcept { return p().cancel(std::move(msg)); }
  /// Number of pending cancel requests (asyncio.Task.cancelling).
  [[nodiscard]] std::uint32_t cancelling() const noexcept { return p().cancelling(); }
  /// Decrements the cancel requests; at zero a not-yet-delivered cancel is withdrawn.
  /// Follows asyncio.Task.uncancel (3.13). Returns the new count.
  std::uint32_t uncancel() noexcept { return p().uncancel(); }

  /// The result. Errors: invalid_state_error if not done; cancelled_error if cancelled; the
  /// task's exception if it threw.
  decltype(auto) result() const {
    if (!done()) throw invalid_state_error("task result is not set");
    p().mark_retrieved();
    if (cancelled()) p().throw_cancelled();
    return detail::take_result<T, false>(p());
  }
  /// The exception the task ended with, or null. Errors: invalid_state_error if not done,
  /// cancelled_error if cancelled.
  [[nodiscard]] std::exception_ptr exception() const {
    if (!done()) throw invalid_state_error("task exception is not set");
    p().mark_retrieved();
    if (cancelled()) p().throw_cancelled();
    return p().error();
  }

  /// Calls `fn(handle)` on the loop (call_soon) once the task is done; at once-scheduled if it is.
  /// Follows asyncio.Future.add_done_callback.
  void add_done_callback(std::function<void(task_handle)> fn) {
    struct node final : detail::done_node {
      node(task_handle h, std::function<void(task_handle)> f)
          : done_node(&node::on_done), handle(std::move(h)), fn(std::move(f)) {}
      task_handle handle;
      std::function<void(task_handle)> fn;
      static void on_done(done_node* n, detail::task_base*) noexcept {
        auto* self = static_cast<node*>(n);
        try {
          self->handle.p().owner()->call_soon(
              [h = self->handle, f = std::move(self->fn)]() mutable { f(std::move(h)); });
        } catch (...) {
          report_unraisable(std::current_exception(), "add_done_callback");
        }
        delete self;
      }
    };
    if (done()) {
      p().owner()->call_soon([h = *this, f = std::move(fn)]() mutable { f(std::move(h)); });
      return;
    }
    p().add_done_node(new node(*this, std::move(fn)));
  }

  /// The task's name (asyncio.Task.get_name): "Task-<n>" unless set_name was called.
  [[nodiscard]] std::string get_name() const { return p().name(); }
  void set_name(std::string name) { p().set_name(std::move(name)); }

  /// Waits for the task from another task. Suspends: yes, a cancellation point (cancelling the
  /// awaiting task cancels this one too, as asyncio does). Returns T& (lvalue handle) or T
  /// (rvalue); rethrows the task's exception or cancelled_error.
  auto operator co_await() & noexcept { return detail::handle_awaiter<T, false>(p()); }
  auto operator co_await() && noexcept { return detail::handle_awaiter<T, true>(p()); }

  /// The scheduling state, for the layer's combinators.
  [[nodiscard]] detail::promise<T>& promise() const noexcept { return p(); }
  /// Gives up this handle's reference without dropping it (the caller now owns it and must
  /// call release() on the state). For the layer's combinators. Postcondition: !valid().
  [[nodiscard]] detail::promise<T>* detach() noexcept { return &std::exchange(h_, {}).promise(); }

  friend bool operator==(const task_handle& a, const task_handle& b) noexcept {
    return a.h_ == b.h_;
  }

 private:
  template <class U>
  friend task_handle<U> create_task(task<U> t, loop& l);
  template <class U>
  friend task_handle<U> create_task(task<U> t, loop& l, detail::eager_t);
  explicit task_handle(std::coroutine_handle<detail::promise<T>> h) noexcept : h_(h) {}
  detail::promise<T>& p() const noexcept { return h_.promise(); }
  std::coroutine_handle<detail::promise<T>> h_;
};

/// Schedules `t` on loop `l` and returns its handle. Follows asyncio.create_task.
/// Completion: the task's first step runs on a later loop iteration, never inside create_task.
/// Precondition: `t` holds a coroutine. Loop thread only.
template <class T>
task_handle<T> create_task(task<T> t, loop& l) {
  TANDEM_ASSERT(t.valid(), "create_task: the task holds no coroutine (moved from?)");
  auto h = t.release();
  h.promise().start(l, h);
  return task_handle<T>(h);
}

/// Starts `t` on `l` and runs its first step now, inside this call, up to its first suspension
/// (asyncio 3.12's eager_task_factory). For the layer's combinators.
template <class T>
task_handle<T> create_task(task<T> t, loop& l, detail::eager_t) {
  TANDEM_ASSERT(t.valid(), "create_task: the task holds no coroutine (moved from?)");
  auto h = t.release();
  h.promise().start(l, h, /*eager=*/true);  // the step may finish it; the handle's reference stays
  return task_handle<T>(h);
}

/// Schedules `t` on the running loop. Errors: invalid_state_error if no loop runs.
template <class T>
task_handle<T> create_task(task<T> t) {
  return create_task(std::move(t), get_running_loop());
}

/// A non-owning, type-erased view of a task, as current_task() and all_tasks() return it.
/// Valid while the task runs (a task is alive at least until it is done).
/// Thread safety: loop thread only.
class any_task {
 public:
  explicit any_task(detail::task_base* t) noexcept : t_(t) {}
  [[nodiscard]] bool done() const noexcept { return t_->done(); }
  /// See task_handle::cancel.
  bool cancel(std::string msg = {}) noexcept { return t_->cancel(std::move(msg)); }
  [[nodiscard]] std::uint32_t cancelling() const noexcept { return t_->cancelling(); }
  std::uint32_t uncancel() noexcept { return t_->uncancel(); }
  [[nodiscard]] std::string get_name() const { return t_->name(); }
  void set_name(std::string name) { t_->set_name(std::move(name)); }
  /// The scheduling state, for the layer's combinators.
  [[nodiscard]] detail::task_base* base() const noexcept { return t_; }
  friend bool operator==(const any_task& a, const any_task& b) noexcept { return a.t_ == b.t_; }

 private:
  detail::task_base* t_;
};

/// The task running on this thread (asyncio.current_task), or nullopt outside any task.
[[nodiscard]] inline std::optional<any_task> current_task() noexcept {
  if (auto* t = detail::task_base::current()) return any_task(t);
  return std::nullopt;
}

/// The tasks of the running loop that are not done (asyncio.all_tasks).
/// Errors: invalid_state_error if no loop runs.
std::vector<any_task> all_tasks();

}  // namespace tandem::aio
