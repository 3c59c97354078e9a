// aio::wait and aio::as_completed: wait on a set of scheduled tasks (asyncio.wait,
// asyncio.as_completed).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/aio/timeout.hpp"
#include "tandem/wait.hpp"

namespace tandem::aio {

/// The two sets aio::wait returns, in the order the tasks were given.
template <class T>
struct wait_result {
  std::vector<task_handle<T>> done;
  std::vector<task_handle<T>> pending;
};

/// Waits until `when` holds for `tasks` or `timeout` seconds pass (nullopt: no limit), and
/// returns the done and pending tasks. Nothing is cancelled and no exception is raised for the
/// tasks: inspect them. Follows asyncio.wait (3.11+: tasks only, not coroutines).
/// `return_when::first_exception` counts a cancelled task as done but not as an exception, as
/// asyncio does.
/// Suspends: yes, a cancellation point; cancelling the waiting task leaves the tasks running.
/// Errors: cancelled_error if the waiting task is cancelled.
template <class T>
task<wait_result<T>> wait(std::vector<task_handle<T>> tasks,
                          return_when when = return_when::all_completed,
                          std::optional<double> timeout = std::nullopt) {
  using until = detail::join::until;
  // first_exception waits for the first failure that is not a cancellation (join counts
  // cancellations as failures; re-arm past them below), or for all.
  std::vector<detail::task_base*> bases;  // declared first: the join borrows it
  bases.reserve(tasks.size());
  for (auto& t : tasks) bases.push_back(&t.promise());
  detail::join j(when == return_when::first_completed ? until::first_done : until::all_done,
                 /*forward_cancel=*/false);
  if (when == return_when::first_exception) j.poke_on_each();
  j.watch(bases);
  detail::timer_guard guard;
  if (timeout) {
    auto* self = &j;
    guard.timer = get_running_loop().call_later(*timeout, [self] { self->force(); });
  }
  auto exception_seen = [&] {
    for (auto& t : tasks)
      if (t.done() && !t.cancelled() && t.promise().error()) return true;
    return false;
  };
  while (!j.satisfied() && !(when == return_when::first_exception && exception_seen()))
    co_await j.wait();
  wait_result<T> out;
  for (auto& t : tasks) (t.done() ? out.done : out.pending).push_back(t);
  co_return out;
}

/// Yields tasks as they finish: `auto it = as_completed(tasks); while (it.remaining())
/// { auto t = co_await it.next(); ... }`. Follows asyncio.as_completed (3.13 iterator form).
/// Thread safety: loop thread only; the object must outlive every next() it hands out.
template <class T>
class as_completed {
 public:
  /// `timeout`: seconds for the whole iteration (nullopt: none).
  explicit as_completed(std::vector<task_handle<T>> tasks,
                        std::optional<double> timeout = std::nullopt)
      : tasks_(std::move(tasks)),
        nodes_(tasks_.size()),
        waker_(),
        deadline_(timeout ? std::optional<double>(get_running_loop().time() + *timeout)
                          : std::nullopt) {
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      nodes_[i].owner = this;
      nodes_[i].index = i;
      if (tasks_[i].done()) {
        finished_.push_back(i);
      } else {
        nodes_[i].linked = true;
        tasks_[i].promise().add_done_node(&nodes_[i]);
      }
    }
  }
  as_completed(const as_completed&) = delete;
  as_completed& operator=(const as_completed&) = delete;
  ~as_completed() {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].linked) tasks_[i].promise().remove_done_node(&nodes_[i]);
  }

  /// Tasks not yet handed out by next().
  [[nodiscard]] std::size_t remaining() const noexcept { return tasks_.size() - handed_out_; }

  /// The next task to finish (done, result not retrieved).
  /// Suspends: yes, a cancellation point. Errors: timeout_error when the deadline passes;
  /// invalid_state_error when remaining() is 0.
  task<task_handle<T>> next() {
    if (remaining() == 0) throw invalid_state_error("as_completed: no tasks left");
    if (finished_.empty()) {
      detail::timer_guard guard;
      if (deadline_) {
        auto* self = this;
        guard.timer = get_running_loop().call_at(*deadline_, [self] {
          self->timed_out_ = true;
          self->waker_.notify();
        });
      }
      while (finished_.empty() && !timed_out_) co_await waker_.wait();
      if (finished_.empty()) throw timeout_error("as_completed: timed out");
    }
    std::size_t i = finished_.front();
    finished_.pop_front();
    ++handed_out_;
    co_return tasks_[i];
  }

 private:
  struct node final : detail::done_node {
    node() noexcept : done_node(&node::fire) {}
    as_completed* owner = nullptr;
    std::size_t index = 0;
    bool linked = false;
    static void fire(done_node* n, detail::task_base*) noexcept {
      auto& self = static_cast<node&>(*n);
      self.linked = false;
      self.owner->finished_.push_back(self.index);
      self.owner->waker_.notify();
    }
  };
  std::vector<task_handle<T>> tasks_;
  std::vector<node> nodes_;
  detail::waker waker_;
  std::deque<std::size_t> finished_;
  std::size_t handed_out_ = 0;
  std::optional<double> deadline_;
  bool timed_out_ = false;
};

}  // namespace tandem::aio
