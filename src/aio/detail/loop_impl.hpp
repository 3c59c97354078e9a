// The loop's private state, shared by loop.cpp and the task registry in task.cpp.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "aio/detail/timer_heap.hpp"
#include "tandem/aio/loop.hpp"

namespace tandem {
class thread_pool;
}

namespace tandem::aio::detail {
class task_base;
}

namespace tandem::aio {

struct loop::impl {
  int epfd = -1;
  int wakefd = -1;  // eventfd: call_soon_threadsafe and stop() from other threads
  int sigfd = -1;   // signalfd, created by the first add_signal_handler

  // Ready queue, loop thread only. Invariant: tail is null iff head is null.
  detail::ready_node* head = nullptr;
  detail::ready_node* tail = nullptr;

  // Nodes from other threads. `woken` is true from the eventfd write until the loop drains: at
  // most one write per drain.
  std::mutex remote_mu;
  detail::ready_node* remote_head = nullptr;  // guarded by remote_mu
  detail::ready_node* remote_tail = nullptr;  // guarded by remote_mu
  std::atomic<bool> woken{false};

  detail::timer_heap timers;
  std::atomic<bool> stopping{false};
  std::atomic<int> running{0};  // nesting depth of run_forever/run_once on the owner thread

  struct fd_callbacks;
  std::unordered_map<int, std::unique_ptr<fd_callbacks>> fds;

  std::unordered_map<int, std::function<void()>> signal_handlers;
  sigset_t handled_signals{};  // blocked by us; restored on removal
  sigset_t previous_mask{};
  std::unique_ptr<detail::io_source_owned> signal_source;  // reads sigfd

  // Root tasks not yet done (all_tasks). Each task stores its absolute index (base + position,
  // modulo 2^32). A finished task leaves a null; nulls at the front are trimmed by moving `front`
  // (tasks mostly finish in the order they started, and trimming touches no task; a long-lived
  // task blocking the front is moved to the back, one write into it), and the rest
  // are compacted only when they outnumber the live tasks twice over (compaction must rewrite the
  // index stored in every live task, an expensive pass over their frames). Loop thread only.
  std::vector<detail::task_base*> tasks;
  std::size_t front = 0;       // tasks[0, front) are null
  std::size_t dead_tasks = 0;  // nulls in tasks[front, size)
  std::uint32_t base = 0;      // absolute index of tasks[0]
  [[nodiscard]] std::size_t live_tasks() const noexcept {
    return tasks.size() - front - dead_tasks;
  }

  // Debug mode.
  double slow_callback_duration = 0.1;
  std::mt19937_64 rng;
  std::vector<detail::ready_node*> shuffle_buf;

  // to_thread's default executor, created on first use, joined when the loop closes.
  std::unique_ptr<thread_pool> default_executor;

  void push(detail::ready_node* n) noexcept {
    n->next_ready = nullptr;
    if (tail)
      tail->next_ready = n;
    else
      head = n;
    tail = n;
  }
};

}  // namespace tandem::aio
