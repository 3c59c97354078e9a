// The scheduling half of every task: what asyncio keeps in a Task object. It lives inside the
// coroutine promise (task.hpp), so a task is one allocation: its coroutine frame.
//
// A task is a chain of coroutines resumed by the loop: the root (the coroutine given to
// create_task) and the coroutines it awaits directly, which run inline by symmetric transfer.
// Only the innermost one is ever suspended, on an awaiter that registered itself as the task's
// `waiting_on`; cancel() reaches the task through that awaiter.
//
//   created --create_task--> scheduled --run--> running --suspend--> waiting --wake--> scheduled
//                                                  +--return/throw--> done (value|error|cancelled)
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "tandem/aio/loop.hpp"
#include "tandem/detail/assert.hpp"
#include "tandem/error.hpp"

namespace tandem::aio::detail {

class task_base;

/// What a suspended task waits on (a timer, a lock's waiter list, another task...).
struct wait_target {
  /// Cancels the wait for the task (asyncio: `Task.cancel` cancelling `_fut_waiter`). True if the
  /// cancellation was delivered: the wait ends (now or later) and its awaiter decides the outcome,
  /// usually cancelled_error. False if it cannot be delivered (the wake-up is already under way):
  /// the task then throws at its next suspension.
  virtual bool cancel_wait() noexcept = 0;

 protected:
  ~wait_target() = default;
};

/// A completion callback linked into a task (awaiting tasks, gather, user callbacks).
/// Intrusive and singly linked: most tasks have zero or one.
struct done_node {
  using fn_t = void (*)(done_node*, task_base*) noexcept;
  explicit done_node(fn_t f) noexcept : fn(f) {}
  fn_t fn;
  done_node* next = nullptr;
};

/// Where a task is in its life (the diagram above).
enum class task_status : std::uint8_t { created, scheduled, running, waiting, done };

/// The scheduling state every task<T> promise carries; 64 bytes (a sleeping task is counted in
/// bytes, WORKLOADS.md W3). Loop thread only, except where a member says otherwise.
class task_base : private ready_node {
 public:
  task_base() noexcept : ready_node(&task_base::run_step) {}
  task_base(const task_base&) = delete;
  task_base& operator=(const task_base&) = delete;

  // ---- state, loop thread only ----
  [[nodiscard]] bool done() const noexcept { return status_ == task_status::done; }
  [[nodiscard]] bool cancelled() const noexcept { return done() && cancelled_; }
  [[nodiscard]] task_status status() const noexcept { return status_; }
  /// The loop running the task: the running loop of this thread (a task never changes loop, and
  /// one loop runs per thread, so the task need not store it).
  /// Precondition: called on the loop's thread while it runs.
  [[nodiscard]] loop* owner() const noexcept {
    loop* l = loop::current();
    TANDEM_ASSERT(l, "a task's loop is used outside the loop (is the loop running?)");
    return l;
  }
  [[nodiscard]] std::uint32_t cancelling() const noexcept { return cancel_requests_; }
  [[nodiscard]] const std::exception_ptr& error() const noexcept { return error_; }

  /// Requests cancellation; see task_handle::cancel. Follows asyncio.Task.cancel (3.11+).
  bool cancel(std::string msg = {}) noexcept;
  /// Follows asyncio.Task.uncancel (3.13: clears the pending cancel when the count reaches 0).
  std::uint32_t uncancel() noexcept;

  /// The name given by set_name, or "Task-<n>" (n counts tasks created on this thread).
  [[nodiscard]] std::string name() const;
  void set_name(std::string name);

  /// The message of the pending or delivered cancellation (empty: none given).
  [[nodiscard]] std::string cancel_message() const;

  // ---- for awaiters ----

  /// Call from an awaiter's await_suspend before registering anywhere: false means a cancel is
  /// pending, so do not suspend (return false) and let await_resume throw via checkpoint().
  [[nodiscard]] bool may_suspend() const noexcept { return !must_cancel_; }
  /// Records that the task is now suspended in `h`, waiting on `w` (null: not cancellable).
  void suspend(std::coroutine_handle<> h, wait_target* w) noexcept {
    resume_point_ = h;
    waiting_on_ = w;
    status_ = task_status::waiting;
  }
  /// Schedules a waiting task to resume (its wait ended). Loop thread only.
  void wake() noexcept {
    waiting_on_ = nullptr;
    status_ = task_status::scheduled;
    owner()->schedule(this);
  }
  /// Undoes suspend() when an awaiter decides not to suspend after all.
  void unsuspend() noexcept {
    waiting_on_ = nullptr;
    status_ = task_status::running;
  }
  /// For a nested coroutine: the coroutine awaiting it (see resume_point_).
  void set_continuation(std::coroutine_handle<> caller) noexcept { resume_point_ = caller; }
  /// The coroutine a nested coroutine returns to, or null for a root task.
  [[nodiscard]] std::coroutine_handle<> continuation() const noexcept {
    return status_ == task_status::created ? resume_point_ : std::coroutine_handle<>();
  }

  /// Throws cancelled_error if a cancel is pending (clearing it). Every aio awaiter calls this
  /// first in await_resume: a task woken normally but cancelled before it ran must still see the
  /// cancellation at that suspension point, as asyncio's `_must_cancel` does.
  void checkpoint() {
    if (must_cancel_) [[unlikely]]
      throw_pending_cancel();
  }
  /// Throws the cancelled_error a done, cancelled task holds (or one with its message).
  [[noreturn]] void throw_cancelled() const;
  /// Throws cancelled_error(cancel message): what an awaiter whose wait was cancelled throws.
  [[noreturn]] void throw_cancelled_wait() const;

  /// Links `n` to run when the task is done. Precondition: !done().
  void add_done_node(done_node* n) noexcept {
    n->next = done_list_;
    done_list_ = n;
  }
  /// Unlinks `n` if still linked; true if it was.
  bool remove_done_node(done_node* n) noexcept;
  /// Links a node shared by many tasks (a join watching them all) at the tail of the list, where
  /// its `next` stays null in every list it is in. False, linking nothing, if the task already
  /// has a shared node (two could not both be the tail): the caller then links a node of its own.
  /// Precondition: !done().
  bool add_shared_done_node(done_node* n) noexcept;
  /// Unlinks a shared node added by add_shared_done_node, if still linked.
  void remove_shared_done_node(done_node* n) noexcept;

  // ---- ownership: the loop holds one reference while the task runs, each handle one ----
  void add_ref() noexcept { ++refs_; }
  /// Drops a reference; the last one destroys the coroutine frame (and reports an exception
  /// nobody retrieved).
  void release() noexcept;
  void mark_retrieved() noexcept { retrieved_ = true; }

  /// The task running on this thread now, or null. Follows asyncio.current_task.
  static task_base* current() noexcept;

  /// Starts the task on `l` (create_task): registers it, takes the loop's and the caller's
  /// references, schedules the first step, or with `eager` runs it now, inside this call, as
  /// asyncio 3.12's eager_task_factory does (gather uses it).
  void start(loop& l, std::coroutine_handle<> root, bool eager = false);

 protected:
  ~task_base();

  /// The root coroutine `root` ended (with error_ set if it threw). Records the outcome, runs the
  /// done nodes, drops the loop's reference. Called from the root's final_suspend.
  void finish(std::coroutine_handle<> root) noexcept;

 private:
  static void run_step(ready_node* n) noexcept;
  [[noreturn]] void throw_pending_cancel();

 public:
  struct extra;  // name and cancel message: rare, so in a side table (task.cpp)

 private:
  extra& ext();

  // A root task: the innermost suspended coroutine, and the root itself once done (release()
  // destroys it). A nested coroutine (awaited inline, never started as a task): the awaiting
  // coroutine to return to. One field serves both because a coroutine is one or the other.
  std::coroutine_handle<> resume_point_;
  wait_target* waiting_on_ = nullptr;
  done_node* done_list_ = nullptr;

 protected:
  std::exception_ptr error_;  // what the coroutine threw (cancelled_error when cancelled)

 private:
  // Packed: a sleeping task is counted in bytes (W3), and this is in every frame.
  std::uint32_t refs_ = 0;
  std::uint32_t registry_index_ = 0;
  std::uint32_t id_ = 0;               // the n of "Task-<n>"
  std::uint16_t cancel_requests_ = 0;  // saturates at 65,535
  task_status status_ = task_status::created;
  bool must_cancel_ : 1 = false;
  bool cancelled_ : 1 = false;
  bool retrieved_ : 1 = false;
  bool stepped_ : 1 = false;      // the first step ran
  bool has_extra_ : 1 = false;    // a name or cancel message is in the thread's side table
  bool awaited_ : 1 = false;      // started or awaited (debug mode's never-awaited check)
  bool shared_tail_ : 1 = false;  // the last done node is shared with other tasks

 protected:
  void set_awaited() noexcept { awaited_ = true; }
  [[nodiscard]] bool awaited() const noexcept { return awaited_; }

  friend class registry_access;
};

/// True when debug mode is on for tasks created on this thread (the running loop's flag, or env
/// TANDEM_AIO_DEBUG when no loop runs yet).
bool debug_enabled() noexcept;
/// Debug mode: reports a coroutine destroyed without ever being awaited or started.
void warn_never_awaited() noexcept;

}  // namespace tandem::aio::detail
