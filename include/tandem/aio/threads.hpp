// Threads <-> loop: co_await a tandem::future, to_thread, run_in_executor,
// run_coroutine_threadsafe. Follows asyncio's wrap_future / to_thread / run_in_executor /
// run_coroutine_threadsafe.
//
//   pool thread: future completes --callback--> loop.schedule_threadsafe(awaiter) --eventfd-->
//   loop thread: awaiter runs, wakes its task --ready queue--> task resumes
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/detail/assert.hpp"
#include "tandem/future.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::aio::detail {

// Waits for a tandem::future inside a task. The callback node and the ready node live in the
// awaiter, so awaiting costs no allocation. The completing thread only queues the awaiter on
// the loop; everything that touches the task happens on the loop's thread.
template <class T, bool Move>
class future_awaiter final : public tandem::detail::callback_node,
                             public ready_node,
                             public wait_target {
 public:
  explicit future_awaiter(const future<T>& f) noexcept
      : ready_node(&future_awaiter::on_loop), f_(f) {}
  bool await_ready() const noexcept { return f_.done(); }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    task_ = task_base::current();
    TANDEM_ASSERT(task_, "co_await on a tandem::future outside a task");
    if (!task_->may_suspend()) return false;
    loop_ = task_->owner();
    task_->suspend(h, this);
    if (!f_.state()->add_callback(this)) {  // completed meanwhile: do not suspend
      task_->unsuspend();
      return false;
    }
    return true;
  }
  decltype(auto) await_resume() {
    if (task_) {
      task_->checkpoint();
      if (aborted_) task_->throw_cancelled_wait();
    }
    if constexpr (Move)
      return std::move(f_).get();
    else
      return f_.get();
  }

 private:
  // Completing thread: hand over to the loop.
  void invoke() noexcept override { loop_->schedule_threadsafe(this); }
  // Loop thread.
  static void on_loop(ready_node* n) noexcept {
    auto& self = static_cast<future_awaiter&>(*n);
    self.task_->wake();
  }
  // Follows asyncio.wrap_future: cancelling the awaiting task cancels the future too (which only
  // succeeds while the work has not started); the task resumes with cancelled_error at once.
  bool cancel_wait() noexcept override {
    if (!f_.state()->remove_callback(this)) return false;  // the wake-up is under way
    f_.cancel();
    aborted_ = true;
    task_->wake();
    return true;
  }

  future<T> f_;
  task_base* task_ = nullptr;
  loop* loop_ = nullptr;  // the task's loop, for the completing thread
  bool aborted_ = false;
};

}  // namespace tandem::aio::detail

namespace tandem {

/// Awaits a future from a coroutine: `T v = co_await pool.submit(f);`.
/// Suspends: yes, a cancellation point; cancelling the awaiting task cancels the future (it
/// succeeds only if the work has not started) and resumes the task with cancelled_error at once.
/// Completion: resumes on the awaiting task's loop, never on the completing thread.
/// Errors: what future::get throws. Follows asyncio.wrap_future.
template <class T>
auto operator co_await(const future<T>& f) noexcept {
  return aio::detail::future_awaiter<T, false>(f);
}
/// The same, moving the result out of a temporary future.
template <class T>
auto operator co_await(future<T>&& f) noexcept {
  return aio::detail::future_awaiter<T, true>(f);
}

}  // namespace tandem

namespace tandem::aio {

/// Runs `fn(args...)` in `pool` and awaits its result. Follows asyncio's loop.run_in_executor.
/// Arguments are copied or moved into the call, never referenced.
/// Suspends: yes, a cancellation point (see co_await on a future).
/// Errors: what fn throws; broken_pool / invalid_state_error from the pool.
template <class Executor, class F, class... Args>
auto run_in_executor(Executor& pool, F fn, Args... args)
    -> task<std::invoke_result_t<F&, Args&...>> {
  co_return co_await pool.submit(std::move(fn), std::move(args)...);
}

/// Runs `fn(args...)` on the running loop's default executor (a thread_pool of
/// min(32, cpu_count() + 4) threads, created on first use, joined when the loop closes).
/// Follows asyncio.to_thread.
/// Suspends: yes, a cancellation point. Errors: what fn throws.
template <class F, class... Args>
auto to_thread(F fn, Args... args) -> task<std::invoke_result_t<F&, Args&...>> {
  co_return co_await get_running_loop().default_executor().submit(std::move(fn),
                                                                  std::move(args)...);
}

namespace detail {
// Shared by the bridge coroutine and the future's cancel callback. `task` is only touched on the
// loop thread; `alive` says the bridge still runs.
struct threadsafe_link {
  task_base* task = nullptr;
  bool alive = true;
};

template <class T>
task<void> bridge(task<T> coro, tandem::promise<T> out, std::shared_ptr<threadsafe_link> link) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(coro);
      out.set_result();
    } else {
      out.set_result(co_await std::move(coro));
    }
  } catch (const invalid_state_error&) {  // the future was cancelled meanwhile
  } catch (const cancelled_error&) {
    out.get_future().cancel();  // still pending: the future reports cancelled
  } catch (...) {
    try {
      out.set_exception(std::current_exception());
    } catch (const invalid_state_error&) {
    }
  }
  link->alive = false;
}

// The ready node that starts the bridge on the loop's thread.
template <class T>
struct start_bridge final : ready_node {
  start_bridge(task<T> c, tandem::promise<T> p, std::shared_ptr<threadsafe_link> l, loop& lp)
      : ready_node(&start_bridge::run),
        coro(std::move(c)),
        out(std::move(p)),
        link(std::move(l)),
        target(lp) {}
  task<T> coro;
  tandem::promise<T> out;
  std::shared_ptr<threadsafe_link> link;
  loop& target;
  static void run(ready_node* n) noexcept {
    std::unique_ptr<start_bridge> self(&static_cast<start_bridge&>(*n));
    try {
      auto h = create_task(bridge(std::move(self->coro), std::move(self->out), self->link),
                           self->target);
      self->link->task = &h.promise();
    } catch (...) {
      report_unraisable(std::current_exception(), "run_coroutine_threadsafe");
    }
  }
};
}  // namespace detail

/// Submits `coro` to loop `l` from another thread and returns a future of its result.
/// Cancelling the future cancels the task. Follows asyncio.run_coroutine_threadsafe.
/// Thread safety: any thread except `l`'s own (whose thread would then block on get()).
/// Errors (in the future): what coro throws; cancelled_error if the task was cancelled.
template <class T>
future<T> run_coroutine_threadsafe(task<T> coro, loop& l) {
  tandem::promise<T> p;
  future<T> f = p.get_future();
  auto link = std::make_shared<detail::threadsafe_link>();
  auto* start = new detail::start_bridge<T>(std::move(coro), std::move(p), link, l);
  f.add_done_callback([link, &l](const future<T>& done) {
    if (!done.cancelled()) return;
    try {
      l.call_soon_threadsafe([link] {
        if (link->alive && link->task) link->task->cancel();
      });
    } catch (const invalid_state_error&) {  // the loop is closed: nothing left to cancel
    }
  });
  l.schedule_threadsafe(start);
  return f;
}

}  // namespace tandem::aio
