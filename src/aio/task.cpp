#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "aio/detail/loop_impl.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {
namespace detail {
namespace {
thread_local task_base* running_task = nullptr;
thread_local std::uint32_t tasks_created = 0;
}  // namespace

struct task_base::extra {
  std::string name;
  std::string cancel_message;
};

namespace {
// Names and cancel messages, rare, live here rather than in every task (a sleeping task is
// counted in bytes: WORKLOADS.md W3). Tasks belong to their loop's thread, so a thread-local
// table needs no lock.
thread_local std::unordered_map<const task_base*, task_base::extra> side_table;
}  // namespace

task_base::extra& task_base::ext() {
  has_extra_ = true;
  return side_table[this];
}

task_base* task_base::current() noexcept { return running_task; }

// The loop's tasks (all_tasks): a vector with each task's index stored in the task, so adding
// and removing are O(1) and a task costs one pointer there.
class registry_access {
 public:
  static void add(loop& l, task_base* t) {
    loop::impl& m = l.internals();
    m.tasks.push_back(t);
    t->registry_index_ = m.base + static_cast<std::uint32_t>(m.tasks.size() - 1);
  }
  static void remove(task_base* t) noexcept {
    loop::impl& m = t->owner()->internals();
    std::size_t pos = static_cast<std::uint32_t>(t->registry_index_ - m.base);
    m.tasks[pos] = nullptr;
    ++m.dead_tasks;
    while (m.front < m.tasks.size()) {
      if (!m.tasks[m.front]) {
        --m.dead_tasks;
      } else if (m.front + 1 < m.tasks.size() && !m.tasks[m.front + 1] &&
                 m.tasks.size() < m.tasks.capacity()) {  // noexcept: only into spare capacity
        // A long-lived task (main, a server) at the front with finished ones behind it: move it
        // to the back (one write into it) so the trimming can go on.
        task_base* live = m.tasks[m.front];
        m.tasks[m.front] = nullptr;
        m.tasks.push_back(live);  // capacity is reused after the prefix is dropped
        live->registry_index_ = m.base + static_cast<std::uint32_t>(m.tasks.size() - 1);
      } else {
        break;
      }
      ++m.front;
    }
    if (m.front == m.tasks.size()) {  // all done: start over
      m.base += static_cast<std::uint32_t>(m.tasks.size());
      m.tasks.clear();
      m.front = 0;
    } else if (m.front >= 4096 && m.front * 2 >= m.tasks.size()) {  // drop the null prefix
      m.tasks.erase(m.tasks.begin(), m.tasks.begin() + static_cast<std::ptrdiff_t>(m.front));
      m.base += static_cast<std::uint32_t>(m.front);
      m.front = 0;
    }
    if (m.dead_tasks >= 64 && m.dead_tasks > 2 * m.live_tasks()) compact(m);
  }

 private:
  static void compact(loop::impl& m) noexcept {
    std::size_t j = 0;
    for (std::size_t i = m.front; i < m.tasks.size(); ++i)
      if (task_base* live = m.tasks[i]) {
        live->registry_index_ = m.base + static_cast<std::uint32_t>(j);
        m.tasks[j++] = live;
      }
    m.tasks.resize(j);
    m.front = 0;
    m.dead_tasks = 0;
  }
};

void task_base::start(loop& l, std::coroutine_handle<> root, bool eager) {
  TANDEM_ASSERT(status_ == task_status::created, "create_task: the coroutine already ran");
  registry_access::add(l, this);  // may throw bad_alloc: nothing changed yet
  id_ = ++tasks_created;
  awaited_ = true;
  refs_ = 2;  // the loop's, until done; the handle's
  resume_point_ = root;
  status_ = task_status::scheduled;
  if (eager)
    run_step(this);  // may finish the task; the caller's reference keeps it
  else
    l.schedule(this);
}

void task_base::run_step(ready_node* n) noexcept {
  auto* t = &static_cast<task_base&>(*n);
  if (t->must_cancel_ && t->resume_point_ && t->status_ == task_status::scheduled && !t->stepped_) {
    // Cancelled before its first step: the body never runs (asyncio throws CancelledError into
    // the coroutine before its first line).
    t->must_cancel_ = false;
    t->error_ = std::make_exception_ptr(cancelled_error(t->cancel_message()));
    t->finish(t->resume_point_);
    return;
  }
  t->stepped_ = true;
  task_base* previous = running_task;
  running_task = t;
  t->status_ = task_status::running;
  t->resume_point_.resume();  // may finish and destroy the task: t is dead after this
  running_task = previous;
}

bool task_base::cancel(std::string msg) noexcept {
  if (done()) return false;
  if (cancel_requests_ < UINT16_MAX) ++cancel_requests_;
  if (!msg.empty()) {
    try {
      ext().cancel_message = std::move(msg);
    } catch (...) {  // out of memory: cancel without the message
    }
  }
  if (status_ == task_status::waiting && waiting_on_ && waiting_on_->cancel_wait()) return true;
  must_cancel_ = true;
  return true;
}

std::uint32_t task_base::uncancel() noexcept {
  if (cancel_requests_ > 0) --cancel_requests_;
  if (cancel_requests_ == 0) must_cancel_ = false;
  return cancel_requests_;
}

std::string task_base::name() const {
  if (has_extra_) {
    auto it = side_table.find(this);
    if (it != side_table.end() && !it->second.name.empty()) return it->second.name;
  }
  return "Task-" + std::to_string(id_);
}

void task_base::set_name(std::string name) { ext().name = std::move(name); }

std::string task_base::cancel_message() const {
  if (!has_extra_) return {};
  auto it = side_table.find(this);
  return it == side_table.end() ? std::string() : it->second.cancel_message;
}

void task_base::throw_pending_cancel() {
  must_cancel_ = false;
  throw cancelled_error(cancel_message());
}

void task_base::throw_cancelled() const {
  if (error_) std::rethrow_exception(error_);
  throw cancelled_error(cancel_message());
}

void task_base::throw_cancelled_wait() const { throw cancelled_error(cancel_message()); }

bool task_base::remove_done_node(done_node* n) noexcept {
  for (done_node** p = &done_list_; *p; p = &(*p)->next) {
    if (*p == n) {
      *p = n->next;
      n->next = nullptr;
      return true;
    }
  }
  return false;
}

bool task_base::add_shared_done_node(done_node* n) noexcept {
  if (shared_tail_) return false;
  done_node** p = &done_list_;
  while (*p) p = &(*p)->next;
  n->next = nullptr;
  *p = n;
  shared_tail_ = true;
  return true;
}

void task_base::remove_shared_done_node(done_node* n) noexcept {
  for (done_node** p = &done_list_; *p; p = &(*p)->next) {
    if (*p == n) {
      *p = nullptr;  // it is the tail; its own `next` is shared and stays null
      shared_tail_ = false;
      return;
    }
  }
}

void task_base::finish(std::coroutine_handle<> root) noexcept {
  resume_point_ = root;  // release() destroys the frame through it
  if (error_) {
    try {
      std::rethrow_exception(error_);
    } catch (const cancelled_error&) {
      cancelled_ = true;
    } catch (...) {
    }
  } else if (must_cancel_) {
    // Cancelled right before the coroutine returned: asyncio reports the task cancelled.
    must_cancel_ = false;
    cancelled_ = true;
    error_ = std::make_exception_ptr(cancelled_error(cancel_message()));
  }
  status_ = task_status::done;
  waiting_on_ = nullptr;
  registry_access::remove(this);
  done_node* n = done_list_;
  done_list_ = nullptr;
  while (n) {
    done_node* next = n->next;
    n->next = nullptr;
    n->fn(n, this);
    n = next;
  }
  release();
}

task_base::~task_base() {
  if (has_extra_) side_table.erase(this);
}

void task_base::release() noexcept {
  if (--refs_ != 0) return;
  if (error_ && !cancelled_ && !retrieved_) {
    std::string where;
    try {
      where = "task " + name() + " (its exception was never retrieved)";
    } catch (...) {
    }
    report_unraisable(error_, where);
  }
  resume_point_.destroy();
}

bool debug_enabled() noexcept {
  if (loop* l = loop::current()) return l->get_debug();
  static const bool env = [] {
    const char* v = std::getenv("TANDEM_AIO_DEBUG");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return env;
}

void warn_never_awaited() noexcept {
  std::fprintf(stderr, "tandem.aio: a coroutine was destroyed without ever being awaited\n");
}

}  // namespace detail

std::vector<any_task> all_tasks() {
  std::vector<any_task> out;
  for (detail::task_base* t : get_running_loop().internals().tasks)
    if (t && !t->done()) out.emplace_back(t);
  return out;
}

}  // namespace tandem::aio
