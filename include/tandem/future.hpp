// tandem::future<T> and tandem::promise<T>: the one result type every executor returns.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "tandem/detail/assert.hpp"
#include "tandem/detail/future_state.hpp"
#include "tandem/error.hpp"

namespace tandem {

template <class T>
class promise;

/// The eventual result of work running elsewhere: a value of type T (or nothing, for void), an
/// exception, or cancellation. Follows concurrent.futures.Future.
///
/// A future is a shared handle: copies refer to the same result, as Python references do.
/// Thread safety: every member may be called from any thread, on the same or on different copies.
/// Memory ordering: everything the producer wrote before completing happens-before whatever a
/// thread does after it sees done() == true, get() return, or a done callback run.
/// Coroutines: the aio layer makes a future awaitable (`co_await f`) through state(); nothing here
/// changes for thread users.
template <class T>
class future {
 public:
  using value_type = T;

  /// An empty future with no state; valid() is false and every other call is a caller bug.
  future() noexcept = default;

  /// True if this future refers to a state.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(s_); }

  /// Blocks until done and returns the result, or rethrows the stored exception.
  /// Errors: `cancelled_error` if cancelled; the task's own exception unchanged.
  /// The rvalue overload moves the result out (for move-only T): `std::move(f).get()`.
  decltype(auto) get() const& {
    wait();
    return value_ref();
  }
  decltype(auto) get() && {
    wait();
    if constexpr (std::is_void_v<T>) {
      s_->rethrow_if_failed();
    } else {
      s_->rethrow_if_failed();
      return T(std::move(s_->value()));
    }
  }
  /// Like get(), but gives up after `timeout`.
  /// Errors: `timeout_error` if not done after `timeout` (the work goes on); as get() otherwise.
  decltype(auto) get(seconds timeout) const& {
    if (!wait_for(timeout)) throw timeout_error("future not done within the timeout");
    return value_ref();
  }
  /// Like get(timeout), but moves the result out; safe on a temporary future.
  decltype(auto) get(seconds timeout) && {
    if (!wait_for(timeout)) throw timeout_error("future not done within the timeout");
    return std::move(*this).get();
  }

  /// Blocks until done (finished or cancelled). Never throws.
  void wait() const noexcept { checked()->wait(); }
  /// Blocks until done or `timeout` passes. Returns done().
  bool wait_for(seconds timeout) const noexcept { return checked()->wait_for(timeout); }

  /// True if finished (with a value or exception) or cancelled. Never blocks.
  [[nodiscard]] bool done() const noexcept { return checked()->done(); }
  /// True while the work is executing.
  [[nodiscard]] bool running() const noexcept {
    auto s = checked()->status();
    return s == detail::st_running || s == detail::st_claimed;
  }
  /// True if cancelled.
  [[nodiscard]] bool cancelled() const noexcept {
    return checked()->status() == detail::st_cancelled;
  }

  /// Cancels the work if it has not started. Returns true if the future is cancelled after the
  /// call (also if it already was), false if it is running or finished. Never blocks.
  /// Completion: waiters wake and done callbacks run on the calling thread before cancel returns.
  bool cancel() const noexcept { return checked()->cancel(); }

  /// Blocks until done and returns the stored exception, or null if finished with a value.
  /// Errors: `cancelled_error` if cancelled. Follows Future.exception().
  std::exception_ptr exception() const {
    wait();
    return stored_exception();
  }
  /// Like exception(), but gives up after `timeout`. Errors: `timeout_error`; `cancelled_error`.
  std::exception_ptr exception(seconds timeout) const {
    if (!wait_for(timeout)) throw timeout_error("future not done within the timeout");
    return stored_exception();
  }

  /// Calls `fn(future)` once the future is done (finished or cancelled).
  /// Completion: if the future is already done, `fn` runs at once on the calling thread; otherwise
  /// it runs on the thread that completes the future (a pool's worker thread, or the thread that
  /// calls cancel() or promise::set_result). Callbacks run in the order they were added.
  /// Errors: an exception thrown by `fn` is passed to tandem::report_unraisable, never lost and
  /// never propagated to the completing thread. Follows Future.add_done_callback.
  template <class F>
  requires std::is_invocable_v<F&, const future&>
  void add_done_callback(F fn) const {
    auto* node = new callback<F>(*this, std::move(fn));
    if (!checked()->add_callback(node)) node->invoke();
  }

  /// The shared state, for executors and the event loop. Not for application code.
  [[nodiscard]] detail::state_base* state() const noexcept { return s_.get(); }

  /// Adopts a state reference the caller owns (executors create futures this way).
  explicit future(detail::future_state<T>* s) noexcept : s_(s) {}

  /// True if both handles refer to the same state (the same submitted work).
  friend bool operator==(const future& a, const future& b) noexcept {
    return a.s_.get() == b.s_.get();
  }

 private:
  template <class F>
  struct callback final : detail::callback_node {
    callback(future f, F g) : self(std::move(f)), fn(std::move(g)) {}
    void invoke() noexcept override {
      try {
        fn(self);
      } catch (...) {
        report_unraisable(std::current_exception(), "future done callback");
      }
      delete this;
    }
    future self;
    F fn;
  };

  detail::future_state<T>* checked() const noexcept {
    TANDEM_ASSERT(s_, "operation on an empty tandem::future (default-constructed or moved-from)");
    return s_.get();
  }
  decltype(auto) value_ref() const {
    s_->rethrow_if_failed();
    if constexpr (!std::is_void_v<T>) return static_cast<const T&>(s_->value());
  }
  std::exception_ptr stored_exception() const {
    if (s_->status() == detail::st_cancelled) throw cancelled_error();
    return s_->stored_exception();
  }

  detail::state_ptr<detail::future_state<T>> s_;
};

/// The producing side of a future: whoever holds it sets the result once.
/// Follows the executor-facing half of concurrent.futures.Future (set_result, set_exception,
/// set_running_or_notify_cancel).
///
/// Thread safety: setters may race with each other and with future::cancel(); exactly one wins.
/// If the promise is destroyed without a result, its future fails with `broken_promise`.
template <class T>
class promise {
 public:
  /// Creates a pending state.
  promise() : s_(new detail::future_state<T>(1)) {}
  promise(promise&&) noexcept = default;
  promise& operator=(promise&& o) noexcept {
    abandon();
    s_ = std::move(o.s_);
    return *this;
  }
  ~promise() { abandon(); }

  /// A future for this promise's result; may be called any number of times.
  [[nodiscard]] future<T> get_future() const {
    s_->add_ref();
    return future<T>(s_.get());
  }

  /// Marks the work as running, so cancel() no longer succeeds. Returns false if the future was
  /// cancelled first: the work must then not run.
  bool set_running_or_notify_cancel() noexcept { return s_->set_running(); }

  /// Stores the result and completes the future.
  /// Completion: waiters wake and done callbacks run on this thread before set_result returns.
  /// Errors: `invalid_state_error` if the future already has a result or was cancelled.
  template <class... Args>
  void set_result(Args&&... args) {
    if (!s_->try_set_value(std::forward<Args>(args)...))
      throw invalid_state_error("future already done (set twice, or cancelled)");
  }
  /// Stores an exception that get() will rethrow. Errors: as set_result.
  void set_exception(std::exception_ptr e) {
    TANDEM_ASSERT(e, "promise::set_exception with a null exception_ptr");
    if (!s_->try_set_exception(std::move(e)))
      throw invalid_state_error("future already done (set twice, or cancelled)");
  }

 private:
  void abandon() noexcept {
    if (s_ && !s_->done())
      s_->try_set_exception(
          std::make_exception_ptr(broken_promise("promise destroyed before it set a result")));
  }
  detail::state_ptr<detail::future_state<T>> s_;
};

}  // namespace tandem
