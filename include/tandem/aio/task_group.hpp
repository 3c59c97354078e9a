// aio::task_group: structured concurrency (asyncio.TaskGroup, 3.11+, with cancel() from 3.15).
//
//     aio::task_group tg;
//     co_await tg.run(body(&tg));     // body: tg.create_task(a()); tg.create_task(b()); ...
//
// run() is `async with`: it runs the body, then waits for every task of the group. The first
// task that fails cancels the others and the body; run() then raises an exception_group of every
// failure.
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/error.hpp"

namespace tandem::aio {

/// The failures of a task group, in the order they happened. Follows Python's ExceptionGroup
/// ("unhandled errors in a TaskGroup"). what() names the count and the first failure.
class exception_group : public error {
 public:
  explicit exception_group(std::vector<std::exception_ptr> errors);
  /// Every failure (never empty).
  [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept {
    return errors_;
  }

 private:
  std::vector<std::exception_ptr> errors_;
};

/// A scope that owns the tasks it creates. Follows asyncio.TaskGroup (3.12) and its cancel()
/// (3.15).
/// Thread safety: loop thread only. A group runs once.
class task_group {
 public:
  task_group() = default;
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;
  ~task_group();

  /// Schedules `t` as a task of the group.
  /// Errors: invalid_state_error if the group has not been entered (run() not started), has
  /// finished, or is shutting down after a failure or cancel(), as asyncio raises RuntimeError.
  template <class T>
  task_handle<T> create_task(task<T> t) {
    check_can_create();
    task_handle<T> h = aio::create_task(std::move(t));
    adopt(h.promise());
    return h;
  }

  /// Cancels every task of the group and the body; run() then returns normally (unless a task
  /// failed). Follows asyncio.TaskGroup.cancel (3.15). No effect once run() returned.
  void cancel() noexcept;

  /// Runs `body` in the current task, then waits for every task of the group (the `async with`
  /// block). Returns the body's result.
  /// Suspends: yes, a cancellation point; cancelling the running task cancels the group's tasks
  /// and run() raises cancelled_error after they finished.
  /// Errors: exception_group of every task failure (and of the body's own exception, if any);
  /// cancelled_error if cancelled from outside.
  template <task_like A>
  task<task_result_t<A>> run(A body) {
    enter();
    std::exception_ptr error;
    std::optional<detail::gathered_slot<task_result_t<A>>> result;
    try {
      if constexpr (std::is_void_v<task_result_t<A>>) {
        co_await std::move(body);
        result.emplace();
      } else {
        result.emplace(co_await std::move(body));
      }
    } catch (...) {
      error = std::current_exception();
    }
    bool cancel_propagates = begin_exit(error);
    while (!tasks_.empty()) {
      bool cancelled = false;
      try {
        co_await waker_.wait();
      } catch (const cancelled_error&) {
        cancelled = true;
      }
      if (cancelled) cancel_propagates = on_exit_cancelled();
    }
    finish_exit(error, cancel_propagates);  // throws when the group failed or was cancelled
    if constexpr (!std::is_void_v<task_result_t<A>>) co_return std::move(result->value);
  }

  /// Waits for the group's tasks with no body of its own: `co_await tg.run()`.
  task<void> run();

  /// Number of tasks of the group not yet done.
  [[nodiscard]] std::size_t size() const noexcept { return tasks_.size(); }

 private:
  struct member;
  void check_can_create() const;
  void adopt(detail::task_base& t);
  void on_task_done(member* m, detail::task_base& t) noexcept;
  void abort() noexcept;
  void enter();
  bool begin_exit(const std::exception_ptr& error);
  bool on_exit_cancelled() noexcept;
  void finish_exit(const std::exception_ptr& error, bool cancel_propagates);

  std::vector<member*> tasks_;  // not yet done; each member owns a reference
  std::vector<std::exception_ptr> errors_;
  detail::task_base* parent_ = nullptr;
  detail::waker waker_;
  std::exception_ptr cancel_error_;  // the cancellation to re-raise, if it propagates
  bool entered_ = false;
  bool exiting_ = false;
  bool finished_ = false;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
};

}  // namespace tandem::aio
