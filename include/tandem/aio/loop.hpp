// The event loop: one per thread, on epoll. Follows asyncio's AbstractEventLoop.
//
//   call_soon ----------------------> ready queue (FIFO) --+
//   timers (4-ary heap, due) ------->                      +--> run_once() runs what was ready
//   fd events (epoll) -------------->                      |    when the iteration began
//   call_soon_threadsafe --(mutex + eventfd)--> remote ----+
//
// Everything except call_soon_threadsafe, stop and the wake-ups of awaited futures runs on the
// loop's own thread. Coroutines (task.hpp) are scheduled through the same ready queue.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "tandem/error.hpp"

namespace tandem {
class thread_pool;
}

namespace tandem::aio {

class loop;

namespace detail {

/// An entry of the ready queue: a task to resume or a callback to call. Intrusive, so that
/// scheduling a coroutine never allocates.
/// Invariant: a node is in at most one queue at a time; `next_ready` belongs to that queue.
struct ready_node {
  using run_fn = void (*)(ready_node*) noexcept;
  explicit ready_node(run_fn fn) noexcept : run(fn) {}
  run_fn run;
  ready_node* next_ready = nullptr;
};

/// A pending timer. Intrusive (lives in the coroutine frame of a sleeping task), so a sleep
/// costs no allocation; the heap keeps `heap_index` current so cancel is O(log n).
struct timer_node {
  using fire_fn = void (*)(timer_node*) noexcept;
  explicit timer_node(fire_fn fn) noexcept : fire(fn) {}
  static constexpr std::uint32_t not_queued = UINT32_MAX;
  fire_fn fire;
  std::int64_t deadline_ns = 0;  // loop clock (CLOCK_MONOTONIC), nanoseconds
  std::uint32_t heap_index = not_queued;
  std::uint32_t seq = 0;  // ties on deadline fire in the order they were added
  [[nodiscard]] bool queued() const noexcept { return heap_index != not_queued; }
};

/// Something registered with the loop's epoll set. `on_events` gets the epoll event mask.
struct io_source {
  virtual void on_events(std::uint32_t events) noexcept = 0;

 protected:
  ~io_source() = default;
};

/// An io_source owned through a base pointer (the loop's own fds).
struct io_source_owned : io_source {
  virtual ~io_source_owned() = default;
};

/// Converts seconds (loop time) to the loop clock's nanoseconds, saturating.
std::int64_t to_ns(double seconds) noexcept;

}  // namespace detail

/// A scheduled callback (call_later, call_at, call_soon); cancel() before it runs and it never
/// runs. Follows asyncio.TimerHandle.
/// Thread safety: loop thread only.
class timer_handle {
 public:
  timer_handle() = default;
  /// Prevents the callback from running; no effect once it ran or was cancelled.
  void cancel() noexcept;
  /// True after cancel().
  [[nodiscard]] bool cancelled() const noexcept;
  /// The loop time (seconds) the callback is due; 0 for call_soon handles.
  [[nodiscard]] double when() const noexcept;

 private:
  friend class loop;
  struct entry;
  explicit timer_handle(std::shared_ptr<entry> e) noexcept : e_(std::move(e)) {}
  std::shared_ptr<entry> e_;
};

/// Options of a loop.
struct loop_options {
  /// Debug mode: warn about callbacks slower than `slow_callback_duration` and coroutines created
  /// but never awaited, and shuffle the ready queue with `shuffle_seed` (printed to stderr) so
  /// code cannot depend on scheduling order. nullopt: from env TANDEM_AIO_DEBUG (1 = on).
  std::optional<bool> debug = std::nullopt;
  /// Seed of the debug shuffle; nullopt: env TANDEM_AIO_SEED, else random.
  std::optional<std::uint64_t> shuffle_seed = std::nullopt;
  /// Seconds; asyncio's loop.slow_callback_duration default is 0.1.
  double slow_callback_duration = 0.1;
};

/// An event loop on epoll: ready queue, timers, fd readiness, signals, cross-thread calls.
/// Follows asyncio's event loop (BaseEventLoop, 3.12).
///
/// Thread safety: a loop belongs to the thread that runs it. Only call_soon_threadsafe() and
/// stop() may be called from other threads.
/// Errors: the constructor throws std::system_error if epoll/eventfd cannot be created.
class loop {
 public:
  explicit loop(loop_options options = {});
  ~loop();
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  /// The loop running on this thread, or null. Follows asyncio._get_running_loop.
  [[nodiscard]] static loop* current() noexcept;

  /// Monotonic time in seconds (CLOCK_MONOTONIC), the clock of call_at and timeouts.
  [[nodiscard]] double time() const noexcept;

  /// Calls `fn()` on a later iteration, in FIFO order with other ready callbacks.
  /// Completion: never inside call_soon itself.
  timer_handle call_soon(std::function<void()> fn);
  /// Calls `fn()` after `delay` seconds (>= 0). Errors: an exception from fn is reported through
  /// the unraisable hook and the loop goes on, as asyncio's exception handler does.
  timer_handle call_later(double delay, std::function<void()> fn);
  /// Calls `fn()` at loop time `when` (seconds, see time()).
  timer_handle call_at(double when, std::function<void()> fn);
  /// Calls `fn()` on the loop's thread; callable from any thread, wakes the loop (eventfd).
  /// Errors: invalid_state_error if the loop is closed.
  /// Memory ordering: everything the caller wrote before the call happens-before fn runs.
  void call_soon_threadsafe(std::function<void()> fn);

  /// Runs until stop() is called. Errors: invalid_state_error if already running or closed.
  void run_forever();
  /// Makes run_forever return after the current iteration. Callable from any thread.
  void stop() noexcept;
  /// Runs one iteration: waits (at most `max_wait` seconds, <0 = until the next timer) for I/O,
  /// then runs everything that was ready when the iteration began.
  void run_once(double max_wait = -1);
  [[nodiscard]] bool is_running() const noexcept;
  [[nodiscard]] bool is_closed() const noexcept { return closed_; }
  /// Closes the epoll and event fds; callbacks still queued are dropped. Idempotent.
  /// Errors: invalid_state_error while running.
  void close();
  [[nodiscard]] bool get_debug() const noexcept { return debug_; }

  /// The executor of to_thread: a thread_pool of min(32, cpu_count() + 4) threads (asyncio's
  /// default), created on first use, joined by close(). Loop thread only.
  thread_pool& default_executor();

  /// Calls `fn()` on the loop when signal `sig` arrives (signalfd). Follows
  /// asyncio's loop.add_signal_handler; replaces an earlier handler of `sig`.
  /// The signal is blocked in the calling thread so that signalfd receives it; threads started
  /// afterwards inherit the mask, threads started before must block it themselves.
  /// Errors: std::invalid_argument for SIGKILL/SIGSTOP or an invalid number.
  void add_signal_handler(int sig, std::function<void()> fn);
  /// Removes the handler of `sig`, restoring the signal mask; false if there was none.
  bool remove_signal_handler(int sig);

  /// Calls `fn()` whenever `fd` is readable (level-triggered), replacing an earlier reader.
  /// Follows asyncio's loop.add_reader. Errors: std::system_error if epoll refuses the fd.
  void add_reader(int fd, std::function<void()> fn);
  /// Stops watching `fd` for reading; false if it was not watched.
  bool remove_reader(int fd);
  /// Calls `fn()` whenever `fd` is writable (level-triggered). Follows asyncio's add_writer.
  void add_writer(int fd, std::function<void()> fn);
  /// Stops watching `fd` for writing; false if it was not watched.
  bool remove_writer(int fd);

  // ---- for the layer's own awaiters (task.hpp, streams, sync); not for users ----

  /// Queues `n` to run on a later iteration. Loop thread only.
  void schedule(detail::ready_node* n) noexcept;
  /// Queues `n` from any thread and wakes the loop. `n` must stay alive until it ran.
  void schedule_threadsafe(detail::ready_node* n) noexcept;
  /// Arms `t` (its deadline_ns set). Loop thread only.
  void add_timer(detail::timer_node* t);
  /// Disarms `t` if armed. Loop thread only.
  void cancel_timer(detail::timer_node* t) noexcept;
  /// Registers `fd` edge-triggered for `events` (EPOLLIN/EPOLLOUT...), reporting to `src`.
  /// Errors: std::system_error.
  void watch(int fd, std::uint32_t events, detail::io_source* src);
  /// Deregisters `fd` (no error if it is not registered).
  void unwatch(int fd) noexcept;
  /// Registers `fd` level-triggered for `events` reporting to `src`, or changes the events of an
  /// fd registered so (`registered`). For sources that do not drain the fd on every event
  /// (libcurl reads one buffer per call). Errors: std::system_error.
  void watch_level(int fd, std::uint32_t events, detail::io_source* src, bool registered);
  /// Monotonic nanoseconds, the unit of timer_node::deadline_ns.
  [[nodiscard]] static std::int64_t now_ns() noexcept;
  /// The loop's private state (src/aio/detail/loop_impl.hpp), for the layer's own sources.
  struct impl;
  [[nodiscard]] impl& internals() noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
  bool closed_ = false;
  bool debug_ = false;
};

/// The running loop of this thread. Follows asyncio.get_running_loop.
/// Errors: invalid_state_error when no loop runs on this thread.
loop& get_running_loop();

}  // namespace tandem::aio
