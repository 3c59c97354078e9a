// tandem::thread_pool: concurrent.futures.ThreadPoolExecutor and multiprocessing.pool.ThreadPool
// in one executor, on a work-stealing scheduler.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/cpu_count.hpp"
#include "tandem/detail/map_range.hpp"
#include "tandem/executor.hpp"
#include "tandem/future.hpp"

namespace tandem {

namespace detail {
class scheduler;
}

/// A fixed set of worker threads that run submitted callables and return a tandem::future for each.
///
/// Scheduling: every worker owns a deque; a task submitted from inside a worker goes to that
/// worker's own deque (most recently submitted first, for cache locality), tasks from other threads
/// go to one shared queue, and idle workers steal the oldest tasks from busy ones.
/// Memory bound: at most `max_queued` tasks wait in the shared queue; submit() from outside the
/// pool blocks while it is full. A worker's own deque holds at most 8,192 tasks; a worker that
/// submits into a full deque runs the new task at once, inline (caller-runs), so the pool never
/// holds more than max_queued + 8,192 x max_workers waiting tasks.
/// Thread safety: every member may be called from any thread, including from tasks on this pool.
/// Lifetime: the destructor calls shutdown(true): it runs what is queued and joins every thread;
/// no thread is ever detached.
class thread_pool {
 public:
  /// Construction options.
  struct options {
    /// Worker threads; 0 means tandem::cpu_count().
    std::size_t max_workers = 0;
    /// Thread names are `<prefix>-<index>`, cut to Linux's 15 characters; shown by `top -H`, gdb.
    std::string thread_name_prefix = "tandem-pool";
    /// Runs once at the start of each worker thread. If it throws, the pool is broken: every queued
    /// future and every later submit() fails with `broken_pool` naming the exception.
    std::function<void()> initializer = {};
    /// Capacity of the shared queue (tasks), rounded up to a power of two. See "Memory bound".
    std::size_t max_queued = 65536;
  };

  /// Starts the worker threads (all of them, at once).
  /// Errors: std::system_error if a thread cannot be started.
  thread_pool() : thread_pool(options{}) {}
  explicit thread_pool(options opts);
  /// shutdown(true, false): waits for queued and running tasks, joins the threads.
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// Schedules `f(args...)` and returns a future for its result. `f` and `args` are copied or
  /// moved into the task, and destroyed as soon as it has run (or been cancelled and dropped).
  /// Errors: `invalid_state_error` after shutdown(); `broken_pool` if an initializer failed.
  /// Blocks: while the shared queue is full (see "Memory bound").
  /// Follows Executor.submit.
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) {
    static_assert(std::is_invocable_v<std::decay_t<F>, std::decay_t<Args>...>,
                  "tandem::thread_pool::submit: f cannot be called with these arguments "
                  "(they are passed as rvalues of their decayed types)");
    using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
    auto call = [f = std::forward<F>(f), ... a = std::forward<Args>(args)]() mutable -> R {
      return std::invoke(std::move(f), std::move(a)...);
    };
    auto* task = new detail::task_state<R, decltype(call)>(std::move(call));
    future<R> fut(task);  // adopts one of the task's two references; the queue owns the other
    enqueue(task);
    return fut;
  }

  /// Applies `f` to every item and yields the results in input order, lazily: at most
  /// `buffersize` chunks of `chunksize` items run ahead of the consumer, so an infinite input is
  /// fine. `f` may run on several threads at once. The range waits for its running chunks when
  /// destroyed, and cancels the queued ones.
  /// Errors (while iterating): the first exception a chunk threw, after cancelling the rest;
  /// `timeout_error` when `timeout` seconds since the call have passed.
  /// Follows Executor.map (3.14, with buffersize) and Pool.imap.
  /// Example: `for (int r : pool.map([](int x) { return x * x; }, std::views::iota(0, 100))) ...`
  template <class F, std::ranges::viewable_range R>
  auto map(F f, R&& items, map_options opts = {}) {
    using view = std::views::all_t<R>;
    static_assert(std::ranges::input_range<view>,
                  "tandem::thread_pool::map: items must be an input range");
    static_assert(std::is_invocable_v<const F&, std::ranges::range_reference_t<view>>,
                  "tandem::thread_pool::map: f cannot be called with an element of items");
    return detail::ordered_map_range<thread_pool, F, view>(
        *this, std::move(f), std::views::all(std::forward<R>(items)), opts);
  }

  /// Like map(), but yields results as their chunks complete. Follows Pool.imap_unordered.
  template <class F, std::ranges::viewable_range R>
  auto imap_unordered(F f, R&& items, map_options opts = {}) {
    using view = std::views::all_t<R>;
    static_assert(
        std::is_invocable_v<const F&, std::ranges::range_reference_t<view>>,
        "tandem::thread_pool::imap_unordered: f cannot be called with an element of items");
    return detail::unordered_map_range<thread_pool, F, view>(
        *this, std::move(f), std::views::all(std::forward<R>(items)), opts);
  }

  /// Like map(), but each item is a tuple (or pair, or array) unpacked into f's arguments.
  /// Follows Pool.starmap / itertools.starmap.
  template <class F, std::ranges::viewable_range R>
  auto starmap(F f, R&& items, map_options opts = {}) {
    return map(detail::apply_fn<F>{std::move(f)}, std::forward<R>(items), opts);
  }

  /// Schedules `std::apply(f, args)`. When it finishes, `callback(result)` (or `callback()` for
  /// void) runs on the worker thread; if it threw, `error_callback(std::exception_ptr)` does.
  /// The future completes after the callback has run, as AsyncResult.get() does.
  /// Errors: an exception thrown by a callback goes to tandem::report_unraisable; the future keeps
  /// the task's own outcome. Submission errors as submit(). Follows Pool.apply_async.
  template <class F, class... Args, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto apply_async(F f, std::tuple<Args...> args = {}, Callback callback = nullptr,
                   ErrorCallback error_callback = nullptr) {
    static_assert(std::is_invocable_v<F, Args...>,
                  "tandem::thread_pool::apply_async: f cannot be called with these arguments");
    using R = std::invoke_result_t<F, Args...>;
    return submit([f = std::move(f), args = std::move(args), callback = std::move(callback),
                   error_callback = std::move(error_callback)]() mutable -> R {
      try {
        if constexpr (std::is_void_v<R>) {
          std::apply(f, std::move(args));
          if constexpr (!std::is_null_pointer_v<Callback>) notify(callback);
        } else {
          R r = std::apply(f, std::move(args));
          if constexpr (!std::is_null_pointer_v<Callback>) notify(callback, std::as_const(r));
          return r;
        }
      } catch (...) {
        if constexpr (!std::is_null_pointer_v<ErrorCallback>)
          notify(error_callback, std::current_exception());
        throw;
      }
    });
  }

  /// Applies `f` to every item (read in full at the call) and returns one future of all results
  /// in order, in `chunksize` items a task (0: as map()). `callback(const std::vector<R>&)` or
  /// `error_callback(std::exception_ptr)` runs before the future completes, on the worker thread
  /// that finished last (on the calling thread for an empty input).
  /// Errors: the future holds the first exception in input order.
  /// Follows Pool.map_async(func, iterable, chunksize, callback, error_callback).
  template <class F, std::ranges::input_range R, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto map_async(F f, R&& items, std::size_t chunksize = 0, Callback callback = nullptr,
                 ErrorCallback error_callback = nullptr);

  /// Stops accepting work. With `cancel_futures`, queued tasks are cancelled (their futures report
  /// cancelled); running tasks always finish. With `wait`, blocks until every thread has exited.
  /// Calling it again is harmless. Follows Executor.shutdown(wait, cancel_futures) (3.9).
  void shutdown(bool wait = true, bool cancel_futures = false);

  /// Number of worker threads.
  [[nodiscard]] std::size_t max_workers() const noexcept;

 private:
  template <class Fn, class... A>
  static void notify(Fn& fn, A&&... a) noexcept {
    try {
      fn(std::forward<A>(a)...);
    } catch (...) {
      report_unraisable(std::current_exception(), "thread_pool callback");
    }
  }
  // Takes the queue's reference to `task`. On failure drops it and throws.
  void enqueue(detail::state_base* task);

  std::unique_ptr<detail::scheduler> sched_;
};

template <class F, std::ranges::input_range R, class Callback, class ErrorCallback>
auto thread_pool::map_async(F f, R&& items, std::size_t chunksize, Callback callback,
                            ErrorCallback error_callback) {
  using item = std::ranges::range_value_t<R>;
  using result = std::invoke_result_t<const F&, item&>;
  std::vector<item> all;
  if constexpr (std::ranges::sized_range<R>)
    all.reserve(static_cast<std::size_t>(std::ranges::size(items)));
  for (auto&& x : items) all.push_back(std::forward<decltype(x)>(x));
  if (!chunksize) chunksize = detail::auto_chunksize(all.size(), max_workers());

  // One promise completes when the last chunk has; chunks write straight into their slice.
  struct gather {
    gather(F fn, std::vector<item> in, std::size_t chunks, Callback cb, ErrorCallback ecb)
        : f(std::move(fn)),
          items(std::move(in)),
          out(items.size()),
          errors(chunks),
          left(chunks),
          callback(std::move(cb)),
          error_callback(std::move(ecb)) {}
    F f;
    std::vector<item> items;
    std::vector<std::optional<result>> out;
    std::vector<std::exception_ptr> errors;  // by chunk, so "first" means first in input order
    std::atomic<std::size_t> left;
    promise<std::vector<result>> done;
    Callback callback;
    ErrorCallback error_callback;
  };
  std::size_t chunks = (all.size() + chunksize - 1) / chunksize;
  auto g = std::make_shared<gather>(std::move(f), std::move(all), chunks, std::move(callback),
                                    std::move(error_callback));
  auto fut = g->done.get_future();
  auto finish = [](gather& s) {
    for (auto& e : s.errors)
      if (e) {
        if constexpr (!std::is_null_pointer_v<ErrorCallback>) notify(s.error_callback, e);
        s.done.set_exception(e);
        return;
      }
    std::vector<result> values;
    values.reserve(s.out.size());
    for (auto& v : s.out) values.push_back(std::move(*v));
    if constexpr (!std::is_null_pointer_v<Callback>) notify(s.callback, std::as_const(values));
    s.done.set_result(std::move(values));
  };
  if (chunks == 0) {
    finish(*g);
    return fut;
  }
  for (std::size_t c = 0; c < chunks; ++c) {
    submit([g, c, chunksize, finish] {
      std::size_t lo = c * chunksize, hi = std::min(lo + chunksize, g->items.size());
      try {
        for (std::size_t i = lo; i < hi; ++i) g->out[i].emplace(std::invoke(g->f, g->items[i]));
      } catch (...) {
        g->errors[c] = std::current_exception();
      }
      // acq_rel: the last chunk sees every other chunk's writes to out and errors.
      if (g->left.fetch_sub(1, std::memory_order_acq_rel) == 1) finish(*g);
    });
  }
  return fut;
}

}  // namespace tandem
