// aio::queue, priority_queue, lifo_queue: queues between tasks of one loop (asyncio.Queue,
// PriorityQueue, LifoQueue, 3.13 with shutdown).
//
//   put() --(not full: at once)--> store (ring | heap | stack) --(not empty: at once)--> get()
//     \--(full: park in putters_)--^   wake the first getter /  \--(empty: park in getters_)
//                                      wake the first putter <--/
//
// The fast paths (put on a non-full queue, get on a non-empty one) never suspend, allocate or
// touch the loop: await_ready says yes and await_resume moves the item. Only a task that must
// wait runs the small slow-path coroutine (put_slow/get_slow), asyncio's `while full(): await`.
#pragma once

#include <coroutine>
#include <cstddef>
#include <functional>
#include <utility>

#include "tandem/aio/detail/queue_store.hpp"
#include "tandem/aio/detail/waiter_list.hpp"
#include "tandem/aio/errors.hpp"
#include "tandem/aio/event.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

/// A queue between tasks of one loop, bounded by `maxsize` items (0: unbounded); `Store` decides
/// the order (FIFO for queue, smallest first for priority_queue, LIFO for lifo_queue).
/// Follows asyncio.Queue (3.13): put/get wait, the *_nowait forms throw, task_done/join count
/// unfinished items, shutdown(immediate) ends it. Woken waiters are not handed the item or slot:
/// like asyncio, a task that needs no wait may take it first, and the woken one waits again.
///
/// Thread safety: loop thread only (one loop). Between threads and a loop use tandem::channel.
/// Cancellation: put() and get() are cancellation points only when they wait. A task cancelled
/// after it was woken passes the wake-up on to the next waiter, so a cancelled getter never
/// strands an item and a cancelled putter never strands a free slot (asyncio's guarantee); its
/// own item is not put.
/// Example:
///   aio::queue<int> q(100);
///   co_await q.put(1);          // in a producer task
///   int v = co_await q.get();   // in a consumer task
///   q.task_done();
template <class T, class Store>
class basic_queue {
 public:
  class put_awaiter;
  class get_awaiter;
  using value_type = T;

  /// A queue holding at most `maxsize` items; 0 means unbounded (asyncio's maxsize <= 0).
  explicit basic_queue(std::size_t maxsize = 0) noexcept : maxsize_(maxsize) { finished_.set(); }
  basic_queue(const basic_queue&) = delete;
  basic_queue& operator=(const basic_queue&) = delete;
  /// Precondition: no task waits in put() or get().
  ~basic_queue() {
    TANDEM_ASSERT(getters_.empty() && putters_.empty(),
                  "aio::queue destroyed while tasks wait on it");
  }

  /// Puts `item`, waiting while the queue is full. Follows asyncio.Queue.put.
  /// Suspends: only while the queue is full; then a cancellation point (the item is not put).
  /// Completion: a waiting getter is woken (it resumes on a later loop iteration).
  /// Errors: queue_shut_down (at once, or when a shutdown wakes the waiting put);
  /// cancelled_error.
  [[nodiscard]] put_awaiter put(T item) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return put_awaiter(*this, std::move(item));
  }

  /// Removes and returns an item, waiting while the queue is empty. Follows asyncio.Queue.get.
  /// Suspends: only while the queue is empty; then a cancellation point (no item is taken).
  /// Errors: queue_shut_down once the queue is shut down and empty (at once after
  /// shutdown(true)); cancelled_error.
  [[nodiscard]] get_awaiter get() noexcept { return get_awaiter(*this); }

  /// Puts `item` without waiting. Follows asyncio.Queue.put_nowait.
  /// Errors: queue_shut_down; queue_full (the item is then dropped).
  void put_nowait(T item) {
    if (shut_down_) throw queue_shut_down();
    if (full()) throw queue_full();
    put_unchecked(std::move(item));
  }

  /// Removes and returns an item without waiting. Follows asyncio.Queue.get_nowait.
  /// Errors: queue_shut_down if shut down and empty; queue_empty.
  T get_nowait() {
    if (empty()) {
      if (shut_down_) throw queue_shut_down();
      throw queue_empty();
    }
    return get_unchecked();
  }

  /// Marks one item taken by get() as processed; join() returns when every item put has been
  /// marked. Follows asyncio.Queue.task_done.
  /// Errors: invalid_state_error if called more times than items were put (asyncio: ValueError).
  void task_done() {
    if (unfinished_ == 0) throw invalid_state_error("task_done() called too many times");
    if (--unfinished_ == 0) finished_.set();
  }

  /// Waits until every item put has been marked with task_done(). Follows asyncio.Queue.join.
  /// Suspends: only while items are unfinished; then a cancellation point.
  [[nodiscard]] event::wait_awaiter join() noexcept { return finished_.wait(); }

  /// Shuts the queue down: put() and put_nowait() now throw queue_shut_down; get() throws it
  /// once the queue is empty. With `immediate`, the items left are dropped (and counted as done
  /// for join()), so get() throws at once. Every waiting getter and putter is woken to see it.
  /// Follows asyncio.Queue.shutdown (3.13). Idempotent.
  void shutdown(bool immediate = false) {
    shut_down_ = true;
    if (immediate) {
      while (store_.size() > 0) {
        (void)store_.pop();
        if (unfinished_ > 0) --unfinished_;
      }
      if (unfinished_ == 0) finished_.set();
    }
    while (!getters_.empty()) detail::as_waiter(getters_.pop_front()).wake_up();
    while (!putters_.empty()) detail::as_waiter(putters_.pop_front()).wake_up();
  }

  /// Items in the queue. Follows asyncio.Queue.qsize.
  [[nodiscard]] std::size_t qsize() const noexcept { return store_.size(); }
  /// The bound given at construction (0: unbounded).
  [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
  [[nodiscard]] bool empty() const noexcept { return store_.size() == 0; }
  /// True if maxsize() > 0 and the queue holds maxsize() items.
  [[nodiscard]] bool full() const noexcept { return maxsize_ > 0 && store_.size() >= maxsize_; }
  /// True after shutdown().
  [[nodiscard]] bool is_shut_down() const noexcept { return shut_down_; }

 private:
  // Parks in putters_ or getters_ until woken (asyncio's putter/getter future). Woken and then
  // cancelled, it passes the wake-up on, as asyncio's `except` clause in put/get does.
  class slot_awaiter final : private detail::sync_waiter {
   public:
    slot_awaiter(basic_queue& q, bool putter) noexcept : q_(q), putter_(putter) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return park(h, putter_ ? q_.putters_ : q_.getters_);
    }
    void await_resume() {
      if (!cancelling()) [[likely]]
        return;
      if (woken()) {
        if (putter_ && !q_.full()) wake_next(q_.putters_);
        if (!putter_ && !q_.empty()) wake_next(q_.getters_);
      }
      throw_cancelled();
    }

   private:
    basic_queue& q_;
    bool putter_;
  };

  static void wake_next(detail::waiter_list& l) noexcept {
    if (!l.empty()) detail::as_waiter(l.pop_front()).wake_up();
  }
  template <class U>
  void put_unchecked(U&& item) {
    store_.push(std::forward<U>(item));
    ++unfinished_;
    finished_.clear();
    wake_next(getters_);
  }
  T get_unchecked() {
    T item = store_.pop();
    wake_next(putters_);
    return item;
  }

  // asyncio's put/get loops, for a task that has to wait.
  task<void> put_slow(T& item) {
    while (full()) {
      if (shut_down_) throw queue_shut_down();
      co_await slot_awaiter(*this, true);
    }
    put_nowait(std::move(item));
  }
  task<T> get_slow() {
    while (empty()) {
      if (shut_down_) throw queue_shut_down();
      co_await slot_awaiter(*this, false);
    }
    co_return get_unchecked();
  }

  Store store_;
  detail::waiter_list getters_;
  detail::waiter_list putters_;
  std::size_t maxsize_;
  std::size_t unfinished_ = 0;  // asyncio's _unfinished_tasks
  event finished_;              // set iff unfinished_ == 0
  bool shut_down_ = false;
};

/// The awaiter of put(). Fast path: await_ready() sees room (or a shutdown to report) and
/// await_resume() puts. Slow path: await_suspend() runs put_slow() inline by symmetric transfer.
template <class T, class Store>
class basic_queue<T, Store>::put_awaiter {
 public:
  put_awaiter(basic_queue& q, T&& item) noexcept(std::is_nothrow_move_constructible_v<T>)
      : q_(q), item_(std::move(item)) {}
  [[nodiscard]] bool await_ready() const noexcept { return !q_.full() || q_.shut_down_; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    slow_ = q_.put_slow(item_);
    inner_ = std::move(slow_).operator co_await();
    return inner_.await_suspend(h);
  }
  void await_resume() {
    if (slow_.valid()) {
      inner_.await_resume();
      return;
    }
    if (q_.shut_down_) [[unlikely]]
      throw queue_shut_down();
    q_.put_unchecked(std::move(item_));
  }

 private:
  using inner_awaiter = decltype(std::declval<task<void>>().operator co_await());
  basic_queue& q_;
  T item_;
  task<void> slow_;
  inner_awaiter inner_{};
};

/// The awaiter of get(); the mirror image of put_awaiter.
template <class T, class Store>
class basic_queue<T, Store>::get_awaiter {
 public:
  explicit get_awaiter(basic_queue& q) noexcept : q_(q) {}
  [[nodiscard]] bool await_ready() const noexcept { return !q_.empty() || q_.shut_down_; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
    slow_ = q_.get_slow();
    inner_ = std::move(slow_).operator co_await();
    return inner_.await_suspend(h);
  }
  T await_resume() {
    if (slow_.valid()) return inner_.await_resume();
    return q_.get_nowait();
  }

 private:
  using inner_awaiter = decltype(std::declval<task<T>>().operator co_await());
  basic_queue& q_;
  task<T> slow_;
  inner_awaiter inner_{};
};

/// A FIFO queue. Follows asyncio.Queue. See basic_queue.
template <class T>
using queue = basic_queue<T, detail::ring_store<T>>;

/// A queue that returns the smallest item first (by `Compare`, default `<`), as Python's heapq
/// and asyncio.PriorityQueue do; note std::priority_queue returns the largest. Items of equal
/// priority come out in no particular order: put (priority, sequence, value) tuples for FIFO.
template <class T, class Compare = std::less<T>>
using priority_queue = basic_queue<T, detail::heap_store<T, Compare>>;

/// A queue that returns the item put last first. Follows asyncio.LifoQueue.
template <class T>
using lifo_queue = basic_queue<T, detail::stack_store<T>>;

}  // namespace tandem::aio
