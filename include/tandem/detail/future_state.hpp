// The shared state behind future<T> and promise<T>, and the work item executors run.
//
// One heap object per submitted task: the state carries the callable, the status, the result and
// the done callbacks, so submit() allocates once. The status lives in one 32-bit word so that the
// common path (run, finish, get) costs two atomic read-modify-writes and no lock, and so that
// blocked threads can futex-wait on it directly.
//
//   pending --set_running--> running --finish--> finished
//      |                        (claim by a promise: pending/running -> claimed -> finished)
//      +--cancel--> cancelled
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "tandem/detail/state_alloc.hpp"
#include "tandem/error.hpp"

namespace tandem::detail {

/// A done callback linked into a state. Intrusive, so that an awaiting coroutine (the aio layer)
/// can embed one in its frame and register without allocating.
/// Thread safety: `invoke` runs exactly once, on the thread that completed or cancelled the state,
/// or never if the node was removed first.
struct callback_node {
  virtual void invoke() noexcept = 0;
  callback_node* prev = nullptr;  // guarded by the owning state's callback mutex
  callback_node* next = nullptr;
  bool linked = false;

 protected:
  ~callback_node() = default;
};

/// Status values of the state word (bits 0..2); bit 3 says a thread is futex-waiting on the word,
/// bit 4 that the callback list is non-empty (so finishing without callbacks takes no lock).
enum : std::uint32_t {
  st_pending = 0,
  st_running = 1,
  st_claimed = 2,  // a promise is writing the result; not yet visible
  st_finished = 3,
  st_cancelled = 4,
  st_mask = 7,
  st_waiters = 8,
  st_callbacks = 16,
};

/// Type-independent part of the shared state: status, exception, callbacks, reference count.
class state_base {
 public:
  state_base(const state_base&) = delete;
  state_base& operator=(const state_base&) = delete;

  /// States live in per-thread block caches (state_alloc.hpp); `delete this` in release() passes
  /// the dynamic type's size through the virtual destructor.
  static void* operator new(std::size_t bytes) { return state_alloc(bytes); }
  static void operator delete(void* p, std::size_t bytes) noexcept { state_free(p, bytes); }

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Drops one reference; the last one deletes the state.
  /// Memory ordering: acq_rel, so the deleting thread sees every write of every other owner.
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  [[nodiscard]] std::uint32_t status() const noexcept {
    return word_.load(std::memory_order_acquire) & st_mask;
  }
  [[nodiscard]] bool done() const noexcept { return status() >= st_finished; }

  /// pending -> running. False if the state was cancelled: the executor must then drop the work.
  /// Follows concurrent.futures.Future.set_running_or_notify_cancel.
  bool set_running() noexcept;

  /// pending -> cancelled, waking waiters and running callbacks. True if the state is cancelled
  /// after the call (also when it already was); false if it is running or finished.
  bool cancel() noexcept;

  /// Blocks until done.
  void wait() const noexcept;
  /// Blocks until done or `timeout` passes; returns done().
  bool wait_for(seconds timeout) const noexcept;

  /// Links `node` to run when the state completes. Returns false, without linking, if the state
  /// is already done: the caller then runs the callback itself.
  bool add_callback(callback_node* node) noexcept;
  /// Unlinks `node` if it has not started to run. Returns true if it was unlinked (it will never
  /// run), false if it already ran or is running now.
  bool remove_callback(callback_node* node) noexcept;

  /// The stored exception; null when finished with a value. Precondition: status() == finished.
  [[nodiscard]] const std::exception_ptr& stored_exception() const noexcept { return error_; }

  /// Throws what get() must throw for a done state: cancelled_error, or the stored exception.
  void rethrow_if_failed() const;

  /// Runs the work the state carries (executors call this). A plain promise state has none.
  virtual void run() noexcept {}
  /// Drops the work without running it (the pool is shutting down or broken); the state is then
  /// failed with `why`, or left cancelled if it already was.
  virtual void discard(std::exception_ptr why) noexcept;

 protected:
  /// `refs` is the number of owners the creator hands out (a future and a queue, say).
  explicit state_base(std::uint32_t refs) noexcept : refs_(refs) {}
  virtual ~state_base() = default;

  /// pending|running -> claimed: the caller alone may now write the result, then call finish().
  /// False if the state is already claimed, finished or cancelled.
  bool try_claim() noexcept;
  /// claimed|running -> finished (the result or error_ must already be written); wakes waiters and
  /// runs callbacks on this thread.
  void finish() noexcept;
  /// Fails a claimed or running state with `e`.
  void finish_with(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    finish();
  }

 private:
  void complete(std::uint32_t old_word) noexcept;  // wake + callbacks after a final transition

  mutable std::atomic<std::uint32_t> word_{st_pending};
  std::atomic<std::uint32_t> refs_;
  std::exception_ptr error_;  // written before the transition to finished
  std::mutex callbacks_mu_;   // guards callbacks_ and the nodes' links
  callback_node* callbacks_ = nullptr;
};

/// Adds the typed result.
template <class T>
class future_state : public state_base {
 public:
  explicit future_state(std::uint32_t refs) noexcept : state_base(refs) {}

  /// Precondition: finished without an exception.
  T& value() noexcept { return *value_; }

  /// Claims, stores `args` as the result, finishes. False if already claimed or done.
  template <class... Args>
  bool try_set_value(Args&&... args) {
    if (!try_claim()) return false;
    try {
      value_.emplace(std::forward<Args>(args)...);
    } catch (...) {
      finish_with(std::current_exception());
      return true;
    }
    finish();
    return true;
  }
  /// Claims and fails with `e`. False if already claimed or done.
  bool try_set_exception(std::exception_ptr e) noexcept {
    if (!try_claim()) return false;
    finish_with(std::move(e));
    return true;
  }

 protected:
  /// For a running task: computes the result with `fn` and finishes; no claim needed because a
  /// running state has exactly one writer, the worker that set it running.
  template <class Fn>
  void run_and_finish(Fn&& fn) noexcept {
    try {
      value_.emplace(std::forward<Fn>(fn)());
    } catch (...) {
      before_finish();
      finish_with(std::current_exception());
      return;
    }
    before_finish();
    finish();
  }
  /// Hook for tasks to drop their callable before the result becomes visible.
  virtual void before_finish() noexcept {}

 private:
  std::optional<T> value_;
};

template <>
class future_state<void> : public state_base {
 public:
  explicit future_state(std::uint32_t refs) noexcept : state_base(refs) {}
  bool try_set_value() {
    if (!try_claim()) return false;
    finish();
    return true;
  }
  bool try_set_exception(std::exception_ptr e) noexcept {
    if (!try_claim()) return false;
    finish_with(std::move(e));
    return true;
  }

 protected:
  template <class Fn>
  void run_and_finish(Fn&& fn) noexcept {
    try {
      std::forward<Fn>(fn)();
    } catch (...) {
      before_finish();
      finish_with(std::current_exception());
      return;
    }
    before_finish();
    finish();
  }
  virtual void before_finish() noexcept {}
};

/// A submitted callable and its future's state in one allocation.
/// The callable is destroyed as soon as it has run or been dropped, before the result is visible,
/// so objects it captured never outlive the work (Python's executor deletes its work item
/// likewise).
template <class R, class F>
class task_state final : public future_state<R> {
 public:
  /// Created with two references: the caller's future and the executor's queue.
  explicit task_state(F fn) : future_state<R>(2), fn_(std::move(fn)) {}

  void run() noexcept override {
    if (!this->set_running()) {  // cancelled while queued
      fn_.reset();
      return;
    }
    this->run_and_finish([this]() -> R { return std::invoke(*fn_); });
  }
  void discard(std::exception_ptr why) noexcept override {
    fn_.reset();
    state_base::discard(std::move(why));
  }

 private:
  void before_finish() noexcept override { fn_.reset(); }
  std::optional<F> fn_;
};

/// Intrusive owning pointer to a state.
template <class S>
class state_ptr {
 public:
  state_ptr() noexcept = default;
  /// Adopts one reference the caller already owns.
  explicit state_ptr(S* s) noexcept : s_(s) {}
  state_ptr(const state_ptr& o) noexcept : s_(o.s_) {
    if (s_) s_->add_ref();
  }
  state_ptr(state_ptr&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  state_ptr& operator=(state_ptr o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~state_ptr() {
    if (s_) s_->release();
  }
  S* get() const noexcept { return s_; }
  S* operator->() const noexcept { return s_; }
  explicit operator bool() const noexcept { return s_ != nullptr; }
  /// Gives up ownership of the reference without releasing it.
  S* detach() noexcept { return std::exchange(s_, nullptr); }

 private:
  S* s_ = nullptr;
};

}  // namespace tandem::detail
