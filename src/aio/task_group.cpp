#include "tandem/aio/task_group.hpp"

#include <algorithm>

namespace tandem::aio {
namespace {

bool is_cancellation(const std::exception_ptr& e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const cancelled_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string group_message(const std::vector<std::exception_ptr>& errors) {
  std::string m = "unhandled errors in a TaskGroup (" + std::to_string(errors.size()) +
                  (errors.size() == 1 ? " sub-exception)" : " sub-exceptions)");
  if (!errors.empty()) m += ": " + describe(errors.front());
  return m;
}

task<void> empty_body() { co_return; }

}  // namespace

exception_group::exception_group(std::vector<std::exception_ptr> errors)
    : error(group_message(errors)), errors_(std::move(errors)) {}

// A task of the group: the group's reference to it and its done callback.
struct task_group::member final : detail::done_node {
  member(task_group* g, detail::task_base& t) noexcept
      : done_node(&member::fire), group(g), task(&t) {}
  task_group* group;
  detail::task_base* task;
  std::size_t index = 0;  // in group->tasks_
  static void fire(done_node* n, detail::task_base* t) noexcept {
    auto& m = static_cast<member&>(*n);
    m.group->on_task_done(&m, *t);
  }
};

task_group::~task_group() {
  // Only when the run() frame was destroyed before it finished (its task was torn down): let the
  // tasks go on without us.
  for (member* m : tasks_) {
    m->task->remove_done_node(m);
    m->task->release();
    delete m;
  }
}

void task_group::check_can_create() const {
  if (!entered_) throw invalid_state_error("task_group has not been entered (call run())");
  if (finished_ || (exiting_ && tasks_.empty()))
    throw invalid_state_error("task_group is finished");
  if (aborting_) throw invalid_state_error("task_group is shutting down");
}

void task_group::adopt(detail::task_base& t) {
  auto* m = new member(this, t);
  try {
    tasks_.push_back(m);
  } catch (...) {
    delete m;
    t.cancel();
    throw;
  }
  m->index = tasks_.size() - 1;
  t.add_ref();
  t.add_done_node(m);
}

void task_group::on_task_done(member* m, detail::task_base& t) noexcept {
  member* last = tasks_.back();
  tasks_[m->index] = last;
  last->index = m->index;
  tasks_.pop_back();
  delete m;
  if (tasks_.empty()) waker_.notify();

  t.mark_retrieved();  // its failure goes into the group's exception_group
  bool cancelled = t.cancelled();
  std::exception_ptr e = t.error();
  t.release();  // the loop still holds the task while its done callbacks run
  if (cancelled || !e) return;
  try {
    errors_.push_back(e);
  } catch (...) {
    report_unraisable(e, "task_group (out of memory recording a failure)");
  }
  if (parent_->done()) {  // asyncio: "not sure if this case is possible"; never lose it
    report_unraisable(e, "a task_group task after its parent finished");
    return;
  }
  if (!aborting_ && !parent_cancel_requested_) {
    // Cancel the body too, and remember to withdraw that cancel at exit (asyncio's
    // _parent_cancel_requested + uncancel), so the body's caller sees exception_group.
    abort();
    parent_cancel_requested_ = true;
    parent_->cancel();
  }
}

void task_group::abort() noexcept {
  aborting_ = true;
  std::vector<member*> now = tasks_;
  for (member* m : now)
    if (!m->task->done()) m->task->cancel();
}

void task_group::cancel() noexcept {
  if (!entered_ || finished_) return;
  if (!aborting_) abort();
  if (!parent_cancel_requested_ && !parent_->done()) {
    parent_cancel_requested_ = true;
    parent_->cancel();
  }
}

void task_group::enter() {
  TANDEM_ASSERT(!entered_, "task_group::run called twice");
  parent_ = detail::task_base::current();
  TANDEM_ASSERT(parent_, "task_group::run outside a task");
  entered_ = true;
}

bool task_group::begin_exit(const std::exception_ptr& error) {
  exiting_ = true;
  bool propagate = is_cancellation(error);
  if (propagate) cancel_error_ = error;
  if (error && !aborting_) abort();
  return propagate;
}

bool task_group::on_exit_cancelled() noexcept {
  // Cancelled while waiting for the tasks. If we were not aborting, the cancel came from outside:
  // it propagates, and the tasks are cancelled. If we were, it is ours (or a duplicate).
  if (aborting_) return static_cast<bool>(cancel_error_);
  cancel_error_ = std::make_exception_ptr(cancelled_error(parent_->cancel_message()));
  abort();
  return true;
}

void task_group::finish_exit(const std::exception_ptr& error, bool cancel_propagates) {
  finished_ = true;
  // After the wait, as asyncio 3.13 does (gh-116720): a task failing during the wait also set
  // parent_cancel_requested_.
  if (parent_cancel_requested_ && parent_->uncancel() == 0) cancel_propagates = false;
  if (cancel_propagates && errors_.empty()) std::rethrow_exception(cancel_error_);
  if (error && !is_cancellation(error)) errors_.push_back(error);
  if (!errors_.empty()) throw exception_group(std::move(errors_));
}

task<void> task_group::run() { co_await run(empty_body()); }

}  // namespace tandem::aio
