// tandem::process_pool: concurrent.futures.ProcessPoolExecutor and multiprocessing.Pool in one
// executor, with crash isolation: a worker that dies fails only the futures it held.
//
//   your threads                    pool's I/O thread                 worker processes
//   ------------                    -----------------                 ----------------
//   submit(f, args)                  epoll: pipes, pidfds, eventfd
//     encode call -> queue --wake--> dispatch (window per worker) --pipe--> decode, run, encode
//                                    decode result, complete future <-pipe-- result or error
//   future.get() <--------------------------------+                  (exit) --pidfd--> reap, fail
//                                                                            what it held
#pragma once

#include <sys/types.h>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/future_state.hpp"
#include "tandem/detail/map_range.hpp"
#include "tandem/executor.hpp"
#include "tandem/future.hpp"
#include "tandem/process/callable.hpp"
#include "tandem/process/codec.hpp"
#include "tandem/process/start.hpp"

namespace tandem {

/// A call encoded for a worker: what `tandem::initializer(f, args...)` returns.
struct encoded_call {
  std::vector<std::byte> bytes;  ///< trampoline, callable and arguments; empty: no call
};

/// Encodes `f(args...)` to run at the start of every worker (a pool's `initializer` and
/// `initargs`). `f` must be sendable, as for process_pool::submit, and return void.
template <class F, class... A>
[[nodiscard]] encoded_call initializer(F f, A&&... args) {
  static_assert(detail::callable_cannot_cross_a_process_boundary<F>::ok);
  byte_buffer b;
  encoder e(b);
  detail::encode_call_head(e, &detail::call_trampoline<F, std::decay_t<A>...>, f);
  tandem::encode(e, std::tuple<std::decay_t<A>...>(std::forward<A>(args)...));
  encoded_call c;
  c.bytes.assign(b.data(), b.data() + b.size());
  return c;
}

/// Per-task options: `pool.submit({.timeout = 2.0}, f, x)`.
struct task_options {
  /// Hard limit in seconds from the moment the task is sent to a worker with nothing else to do.
  /// Past it the worker is killed (SIGKILL) and replaced, and this future alone fails with
  /// `timeout_error`. None: the pool's `task_timeout`.
  std::optional<seconds> timeout = std::nullopt;
};

namespace detail {
class process_core;
/// Decodes a result message into the state (a future_state<R>) and completes it.
using complete_fn = void (*)(state_base& st, decoder& result);
/// Bytes a pool reserves in front of every message for its frame header.
inline constexpr std::size_t frame_header_bytes = 16;

template <class R>
void complete_with(state_base& s, decoder& d) {
  auto& st = static_cast<future_state<R>&>(s);
  if constexpr (std::is_void_v<R>) {
    st.try_set_value();
  } else {
    st.try_set_value(tandem::decode<R>(d));
  }
}
}  // namespace detail

/// A set of worker processes that run submitted calls and return a tandem::future for each.
///
/// What can be sent: plain functions, capture-less lambdas and empty function objects (or
/// tandem::bind of one with data), with arguments and results that tandem::codec can encode
/// (process/codec.hpp); anything else is a compile-time error saying what to do.
/// Exceptions: a std exception thrown in a worker comes back as itself (std::invalid_argument,
/// ...); any other type as `remote_error` with its type name, message and the worker's pid.
/// Faults: a worker that dies (killed, crashed) fails the future it was running with
/// `broken_pool` naming its pid and signal within milliseconds (never hangs, unlike Python's
/// Pool). By default the pool is then broken, as ProcessPoolExecutor is: queued futures fail
/// and later submits throw; with `respawn` a new worker replaces it and everything else
/// completes. docs/process.md has the whole fault model.
/// Thread safety: every member may be called from any thread.
/// Lifetime: the destructor calls shutdown(true). Workers exit within 1 s if this process dies.
class process_pool {
 public:
  /// Construction options.
  struct options {
    /// Worker processes; 0 means tandem::cpu_count().
    std::size_t processes = 0;
    /// How workers start; none: tandem::default_start_method().
    std::optional<tandem::start_method> start_method = std::nullopt;
    /// Runs at the start of each worker: `tandem::initializer(f, args...)`. If it throws, the pool
    /// is broken: queued futures and later submits fail with `broken_pool` naming the exception.
    encoded_call initializer = {};
    /// A worker exits and is replaced after this many tasks (a map chunk counts as one); 0: never.
    std::size_t max_tasks_per_child = 0;
    /// A worker whose resident memory grew by more than this many bytes since it started is
    /// replaced; checked between tasks, at most once per millisecond. 0: never.
    std::size_t max_memory_per_child = 0;
    /// A worker idle this many seconds exits; a new one starts when work arrives. None: never.
    std::optional<seconds> idle_timeout = std::nullopt;
    /// Every task's hard timeout (see task_options::timeout). None: no limit.
    std::optional<seconds> task_timeout = std::nullopt;
    /// After a worker dies, start a replacement and keep going instead of breaking the pool.
    bool respawn = false;
    /// At most this many tasks submitted and not yet finished, queued or in a worker (0: 65,536;
    /// a map chunk is one task): submit() blocks while the pool holds that many, so a producer
    /// faster than the workers cannot fill memory. Callbacks on the pool's I/O thread never block.
    std::size_t max_queued = 0;
  };

  /// Starts the workers (all of them, at once) and the pool's I/O thread.
  /// Errors: std::system_error if a process, pipe or thread cannot be made;
  /// invalid_state_error for start_method::spawn without tandem::process_init in main.
  process_pool() : process_pool(options{}) {}
  explicit process_pool(options opts);
  /// shutdown(true, false).
  ~process_pool();
  process_pool(const process_pool&) = delete;
  process_pool& operator=(const process_pool&) = delete;

  /// Runs `f(args...)` in a worker and returns a future of its result. `f` must be sendable (see
  /// the class comment); `args` are encoded at the call, so later changes to them do not count.
  /// Blocks: while the pool holds `max_queued` unfinished tasks.
  /// Errors: `invalid_state_error` after shutdown(); `broken_pool` once the pool is broken. The
  /// future: what `f` threw (see "Exceptions"); `broken_pool` if its worker died;
  /// `timeout_error` past its timeout; `decode_error` if the result could not be decoded.
  /// Follows ProcessPoolExecutor.submit.
  template <class F, class... Args>
  auto submit(F f, Args&&... args) {
    return submit(task_options{}, std::move(f), std::forward<Args>(args)...);
  }
  /// As submit(f, args...), with per-task options: `pool.submit({.timeout = 2.0}, f, x)`.
  template <class F, class... Args>
  auto submit(const task_options& topts, F f, Args&&... args) {
    static_assert(detail::callable_cannot_cross_a_process_boundary<F>::ok);
    static_assert(std::is_invocable_v<F&, std::decay_t<Args>...>,
                  "tandem::process_pool::submit: f cannot be called with these arguments "
                  "(they are passed as rvalues of their decayed types)");
    using R = std::invoke_result_t<F&, std::decay_t<Args>...>;
    byte_buffer msg = begin_message();
    encoder e(msg);
    detail::encode_call_head(e, &detail::call_trampoline<F, std::decay_t<Args>...>, f);
    tandem::encode(e, std::tuple<const std::decay_t<Args>&...>(args...));
    return send<R>(std::move(msg), topts);
  }

  /// Applies `f` to every item in the workers and yields the results in input order, lazily,
  /// `chunksize` items per message (0: as multiprocessing.Pool.map picks). As thread_pool::map.
  /// Errors (while iterating): the first failure, after cancelling the rest; `timeout_error`.
  /// Follows Executor.map (3.14, with buffersize) and Pool.imap.
  template <class F, std::ranges::viewable_range R>
  auto map(F f, R&& items, map_options opts = {}) {
    using view = std::views::all_t<R>;
    static_assert(detail::callable_cannot_cross_a_process_boundary<F>::ok);
    static_assert(std::is_invocable_v<const F&, std::ranges::range_value_t<view>&>,
                  "tandem::process_pool::map: f cannot be called with an element of items");
    return detail::ordered_map_range<process_pool, F, view>(
        *this, std::move(f), std::views::all(std::forward<R>(items)), opts);
  }

  /// Like map(), but yields results as their chunks complete. Follows Pool.imap_unordered.
  template <class F, std::ranges::viewable_range R>
  auto imap_unordered(F f, R&& items, map_options opts = {}) {
    using view = std::views::all_t<R>;
    static_assert(detail::callable_cannot_cross_a_process_boundary<F>::ok);
    return detail::unordered_map_range<process_pool, F, view>(
        *this, std::move(f), std::views::all(std::forward<R>(items)), opts);
  }

  /// Like map(), but each item is a tuple (or pair) unpacked into f's arguments.
  /// Follows Pool.starmap.
  template <class F, std::ranges::viewable_range R>
  auto starmap(F f, R&& items, map_options opts = {}) {
    return map(detail::apply_fn<F>{std::move(f)}, std::forward<R>(items), opts);
  }

  /// Runs `std::apply(f, args)` in a worker. When it finishes, `callback(result)` (or
  /// `callback()` for void) runs in this process, on the pool's I/O thread; if it threw,
  /// `error_callback(std::exception_ptr)` does. The future completes after the callback ran.
  /// Callbacks must be quick: they hold up every other result. An exception a callback throws
  /// goes to tandem::report_unraisable. Follows Pool.apply_async.
  template <class F, class... Args, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto apply_async(F f, std::tuple<Args...> args = {}, Callback callback = nullptr,
                   ErrorCallback error_callback = nullptr) {
    auto inner =
        std::apply([&](auto&... a) { return submit(std::move(f), std::move(a)...); }, args);
    return then_callbacks(std::move(inner), std::move(callback), std::move(error_callback));
  }

  /// Applies `f` to every item (read in full at the call) and returns one future of all results
  /// in order; callbacks as apply_async, with `const std::vector<R>&`. Follows Pool.map_async.
  template <class F, std::ranges::input_range R, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto map_async(F f, R&& items, std::size_t chunksize = 0, Callback callback = nullptr,
                 ErrorCallback error_callback = nullptr) {
    static_assert(detail::callable_cannot_cross_a_process_boundary<F>::ok);
    using item = std::ranges::range_value_t<R>;
    std::vector<item> all;
    for (auto&& x : items) all.push_back(std::forward<decltype(x)>(x));
    return then_callbacks(gather_chunks(std::move(f), std::move(all), chunksize),
                          std::move(callback), std::move(error_callback));
  }

  /// map_async() over tuples unpacked into f's arguments. Follows Pool.starmap_async.
  template <class F, std::ranges::input_range R, class Callback = std::nullptr_t,
            class ErrorCallback = std::nullptr_t>
  auto starmap_async(F f, R&& items, std::size_t chunksize = 0, Callback callback = nullptr,
                     ErrorCallback error_callback = nullptr) {
    return map_async(detail::apply_fn<F>{std::move(f)}, std::forward<R>(items), chunksize,
                     std::move(callback), std::move(error_callback));
  }

  /// Stops accepting work. With `cancel_futures`, queued tasks are cancelled; tasks already
  /// sent to a worker always finish. With `wait`, blocks until every worker has exited and been
  /// reaped. Calling it again is harmless. Follows Executor.shutdown(wait, cancel_futures).
  void shutdown(bool wait = true, bool cancel_futures = false);

  /// Kills every worker now (SIGKILL) and waits until they are reaped: queued futures report
  /// cancelled, running ones fail with `broken_pool`. Follows Pool.terminate.
  void terminate();

  /// The number of worker processes the pool keeps.
  [[nodiscard]] std::size_t max_workers() const noexcept;

  /// The pids of the workers alive now (for tests and monitoring).
  [[nodiscard]] std::vector<pid_t> pids() const;

  /// The start method in use.
  [[nodiscard]] tandem::start_method start_method() const noexcept;

  // ---- for map ranges (detail/map_range.hpp): chunks travel as one message each
  /// Tells the map ranges to gather each chunk into a vector and hand it to submit_chunk().
  static constexpr bool sends_chunks = true;
  /// Runs `f` over `items` in one worker; the future holds the results in order.
  template <class Result, class F, class Item>
  future<detail::chunk_vector<Result>> submit_chunk(const F& f, const std::vector<Item>& items) {
    byte_buffer msg = begin_message();
    encoder e(msg);
    detail::encode_call_head(e, &detail::chunk_trampoline<F, Item>, f);
    tandem::encode(e, items);
    return send<detail::chunk_vector<Result>>(std::move(msg), task_options{});
  }

 private:
  static byte_buffer begin_message() {
    byte_buffer b;
    b.extend(detail::frame_header_bytes);
    return b;
  }
  template <class R>
  future<R> send(byte_buffer msg, const task_options& topts) {
    auto* st = new detail::future_state<R>(2);  // the future's reference and the pool's
    future<R> fut(st);
    enqueue(std::move(msg), st, &detail::complete_with<R>, topts.timeout);
    return fut;
  }
  // Takes the pool's reference to `st`. On failure releases it and throws.
  void enqueue(byte_buffer msg, detail::state_base* st, detail::complete_fn complete,
               std::optional<seconds> timeout);

  template <class F, class Item>
  auto gather_chunks(F f, std::vector<Item> all, std::size_t chunksize);

  template <class T, class Callback, class ErrorCallback>
  static future<T> then_callbacks(future<T> inner, Callback callback, ErrorCallback error_callback);

  std::unique_ptr<detail::process_core> core_;
};

template <class F, class Item>
auto process_pool::gather_chunks(F f, std::vector<Item> all, std::size_t chunksize) {
  using R = std::invoke_result_t<const F&, Item&>;
  using chunk = detail::chunk_vector<R>;
  if (!chunksize) chunksize = detail::auto_chunksize(all.size(), max_workers());
  struct gather {
    std::vector<future<chunk>> parts;
    std::atomic<std::size_t> left{0};
    promise<std::vector<R>> done;
  };
  auto g = std::make_shared<gather>();
  auto fut = g->done.get_future();
  for (std::size_t lo = 0; lo < all.size(); lo += chunksize) {
    std::vector<Item> part(
        std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(lo)),
        std::make_move_iterator(all.begin() +
                                static_cast<std::ptrdiff_t>(std::min(lo + chunksize, all.size()))));
    g->parts.push_back(submit_chunk<R>(f, part));
  }
  auto finish = [](gather& s) {
    std::vector<R> values;
    for (auto& p : s.parts) {
      if (auto e = p.exception()) {
        s.done.set_exception(e);
        return;
      }
      auto part = std::move(p).get();
      for (auto& v : part) values.push_back(std::move(detail::chunk_slot<R>::ref(v)));
    }
    s.done.set_result(std::move(values));
  };
  if (g->parts.empty()) {
    finish(*g);
    return fut;
  }
  g->left = g->parts.size();
  for (auto& p : g->parts)
    p.add_done_callback([g, finish](const future<chunk>&) {
      // acq_rel: the last chunk's callback sees every other chunk's completion.
      if (g->left.fetch_sub(1, std::memory_order_acq_rel) == 1) finish(*g);
    });
  return fut;
}

template <class T, class Callback, class ErrorCallback>
future<T> process_pool::then_callbacks(future<T> inner, Callback callback,
                                       ErrorCallback error_callback) {
  if constexpr (std::is_null_pointer_v<Callback> && std::is_null_pointer_v<ErrorCallback>) {
    return inner;
  } else {
    auto outer = std::make_shared<promise<T>>();
    auto fut = outer->get_future();
    inner.add_done_callback(
        [outer, callback = std::move(callback),
         error_callback = std::move(error_callback)](const future<T>& f) mutable {
          auto e = f.exception();
          try {
            if (e) {
              if constexpr (!std::is_null_pointer_v<ErrorCallback>) error_callback(e);
            } else if constexpr (!std::is_null_pointer_v<Callback>) {
              if constexpr (std::is_void_v<T>) {
                callback();
              } else {
                callback(std::as_const(f.get()));
              }
            }
          } catch (...) {
            report_unraisable(std::current_exception(), "process_pool callback");
          }
          if (e) {
            outer->set_exception(e);
          } else if constexpr (std::is_void_v<T>) {
            outer->set_result();
          } else {
            outer->set_result(f.get());
          }
        });
    return fut;
  }
}

}  // namespace tandem
