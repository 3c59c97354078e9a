// tandem::channel<T>: a bounded MPMC queue between threads and coroutines, the bridge between a
// thread_pool and a loop. No asyncio equivalent: Python's queue.Queue serves threads only and
// asyncio.Queue one loop only.
//
//   thread: push() / try_push() / push_for() ---+                 +--- pop() / try_pop() /
//   pop_for()
//                                               |  mu_: ring of   |
//   task:   co_await async_push(v) -------------+--> capacity --->+--- co_await async_pop()
//                                                  items
//   A task that must wait parks in async_pushers_/async_poppers_; whoever frees a slot or adds an
//   item reserves it for the first parked task and wakes it on its own loop (directly when on
//   that loop's thread, else loop::schedule_threadsafe). Threads wait on condition variables.
#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>

#include "tandem/aio/detail/queue_store.hpp"
#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/detail/waiter_list.hpp"
#include "tandem/aio/errors.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/detail/assert.hpp"
#include "tandem/error.hpp"

namespace tandem::aio {

/// A bounded multi-producer multi-consumer queue usable from any thread (blocking push/pop,
/// try_ forms, timeouts) and from tasks on any loops (co_await async_push / async_pop).
/// close() ends it: pushes then throw channel_closed, pops drain what is left and then return
/// std::nullopt, the end-of-stream mark.
///
/// Thread safety: every member is safe to call from any thread, except the destructor; the
/// async_ forms must be awaited inside a task. Never call the blocking forms on a loop's thread
/// (they would block the loop): use the async_ forms there.
/// Cancellation: async_push/async_pop are cancellation points only when they wait. A cancelled
/// async_pop takes no item (an item reserved for it goes to the next waiter); a cancelled
/// async_push puts nothing (a slot reserved for it goes to the next waiter).
/// Completion: a waiting task resumes on its own loop, never on the thread that pushed or popped.
/// Memory ordering: everything a pusher wrote before push() happens-before the pop() that
/// returns its item (all state is under one mutex).
/// Waiting tasks are served before waiting threads; among tasks, and among threads, FIFO.
/// Example:
///   tandem::channel<int> ch(64);
///   pool.submit([&] { for (int i = 0; i < n; ++i) ch.push(i); ch.close(); });
///   while (auto v = co_await ch.async_pop()) use(*v);   // in a task
template <class T>
class channel {
  class waiter;

 public:
  class push_awaiter;
  class pop_awaiter;
  using value_type = T;

  /// A channel holding at most `capacity` items. Precondition: capacity >= 1.
  explicit channel(std::size_t capacity) : cap_(capacity) {
    TANDEM_ASSERT(capacity >= 1, "tandem::channel: capacity must be >= 1");
  }
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  /// Precondition: no thread or task waits on the channel.
  ~channel() {
    TANDEM_ASSERT(async_pushers_.empty() && async_poppers_.empty(),
                  "tandem::channel destroyed while tasks wait on it");
  }

  /// Pushes `v`, blocking while the channel is full.
  /// Errors: channel_closed if the channel is closed (before or while blocked).
  template <class U>
  requires std::constructible_from<T, U&&>
  void push(U&& v) {
    std::unique_lock lk(mu_);
    ++thread_pushers_;
    not_full_.wait(lk, [&] { return free_slots() > 0 || closed_; });
    --thread_pushers_;
    if (closed_) throw channel_closed();
    put_locked(std::forward<U>(v), lk);
  }

  /// Pushes `v` if there is room now; false (and `v` untouched) if the channel is full.
  /// Errors: channel_closed.
  template <class U>
  requires std::constructible_from<T, U&&>
  bool try_push(U&& v) {
    std::unique_lock lk(mu_);
    if (closed_) throw channel_closed();
    if (free_slots() == 0) return false;
    put_locked(std::forward<U>(v), lk);
    return true;
  }

  /// Pushes `v`, blocking at most `timeout`; false (and `v` untouched) if it timed out.
  /// Errors: channel_closed.
  template <class U>
  requires std::constructible_from<T, U&&>
  bool push_for(U&& v, tandem::seconds timeout) {
    std::unique_lock lk(mu_);
    ++thread_pushers_;
    const bool ready = not_full_.wait_for(lk, timeout, [&] { return free_slots() > 0 || closed_; });
    --thread_pushers_;
    if (closed_) throw channel_closed();
    if (!ready) return false;
    put_locked(std::forward<U>(v), lk);
    return true;
  }

  /// Pops an item, blocking while the channel is empty; std::nullopt once the channel is closed
  /// and drained.
  std::optional<T> pop() {
    std::unique_lock lk(mu_);
    ++thread_poppers_;
    not_empty_.wait(lk, [&] { return available_items() > 0 || closed_; });
    --thread_poppers_;
    if (available_items() == 0) return std::nullopt;
    return take_locked(lk);
  }

  /// Pops an item if one is available now; std::nullopt otherwise (is_closed() tells whether
  /// more may come).
  std::optional<T> try_pop() {
    std::unique_lock lk(mu_);
    if (available_items() == 0) return std::nullopt;
    return take_locked(lk);
  }

  /// Pops an item, blocking at most `timeout`; std::nullopt if it timed out or the channel is
  /// closed and drained.
  std::optional<T> pop_for(tandem::seconds timeout) {
    std::unique_lock lk(mu_);
    ++thread_poppers_;
    not_empty_.wait_for(lk, timeout, [&] { return available_items() > 0 || closed_; });
    --thread_poppers_;
    if (available_items() == 0) return std::nullopt;
    return take_locked(lk);
  }

  /// Pushes `v` from a task, waiting while the channel is full.
  /// Suspends: only while full; then a cancellation point (nothing is pushed).
  /// Errors: channel_closed; cancelled_error.
  [[nodiscard]] push_awaiter async_push(T v) noexcept(std::is_nothrow_move_constructible_v<T>) {
    return push_awaiter(*this, std::move(v));
  }

  /// Pops an item from a task, waiting while the channel is empty; std::nullopt once the channel
  /// is closed and drained.
  /// Suspends: only while empty and open; then a cancellation point (no item is taken).
  /// Errors: cancelled_error.
  [[nodiscard]] pop_awaiter async_pop() noexcept { return pop_awaiter(*this); }

  /// Closes the channel: pushes now throw channel_closed (also those waiting), pops return the
  /// items left and then std::nullopt (waiting pops return it at once). Idempotent.
  void close() {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    for (detail::waiter_list* l : {&async_poppers_, &async_pushers_}) {
      while (!l->empty()) {
        waiter& w = as_channel_waiter(l->pop_front());
        w.closed_wake_ = true;
        wake(&w);
      }
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  /// True after close().
  [[nodiscard]] bool is_closed() const {
    std::lock_guard lk(mu_);
    return closed_;
  }
  /// Items in the channel now (a snapshot).
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lk(mu_);
    return buf_.size();
  }
  /// The bound given at construction.
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }

 private:
  // A task parked in async_pushers_/async_poppers_. Fields after parking are guarded by mu_.
  class waiter : public detail::ready_node, public detail::waiter_hook, public detail::wait_target {
   public:
    explicit waiter(channel& ch) noexcept : ready_node(&waiter::on_loop), ch_(ch) {}

    // Called under mu_ by await_suspend when it has to wait.
    bool park_locked(std::coroutine_handle<> h, detail::waiter_list& l) noexcept {
      if (!task_->may_suspend()) return false;
      loop_ = task_->owner();
      l.push_back(this);
      task_->suspend(h, this);
      return true;
    }
    bool cancel_wait() noexcept override {
      {
        std::lock_guard lk(ch_.mu_);
        if (!linked) return false;  // reserved or closed: the wake-up is under way
        (is_pusher_ ? ch_.async_pushers_ : ch_.async_poppers_).erase(this);
        aborted_ = true;
      }
      task_->wake();
      return true;
    }
    static void on_loop(detail::ready_node* n) noexcept { static_cast<waiter&>(*n).task_->wake(); }

    channel& ch_;
    detail::task_base* task_ = nullptr;
    loop* loop_ = nullptr;
    bool is_pusher_ = false;
    bool reserved_ = false;     // a slot (pusher) or an item (popper) was reserved for it
    bool closed_wake_ = false;  // woken by close()
    bool aborted_ = false;      // the wait was cancelled

   protected:
    ~waiter() = default;
  };

  static waiter& as_channel_waiter(detail::waiter_hook* h) noexcept {
    return static_cast<waiter&>(*h);
  }

  // Wakes a task taken off a list: directly on its loop's thread, else through
  // schedule_threadsafe, whose node (the waiter itself) wakes the task on the loop.
  // Called under mu_: the woken task takes mu_ in await_resume before it can go on (and perhaps
  // end its loop), so this thread is done touching that loop by then. schedule_threadsafe
  // touches the loop after it has published the node, so it must not run unlocked.
  static void wake(waiter* w) noexcept {
    if (!w) return;
    if (loop::current() == w->loop_)
      w->task_->wake();
    else
      w->loop_->schedule_threadsafe(w);
  }

  [[nodiscard]] std::size_t available_items() const noexcept {
    return buf_.size() - items_reserved_;
  }
  [[nodiscard]] std::size_t free_slots() const noexcept {
    return cap_ - buf_.size() - slots_reserved_;
  }

  // An item became available (under mu_): reserve it for the first parked task, or tell a
  // thread. Returns the task to wake (still under mu_).
  waiter* item_added_locked() noexcept {
    if (!async_poppers_.empty()) {
      waiter& w = as_channel_waiter(async_poppers_.pop_front());
      w.reserved_ = true;
      ++items_reserved_;
      return &w;
    }
    if (thread_poppers_ > 0) not_empty_.notify_one();
    return nullptr;
  }
  // A slot became free (under mu_): the same for pushers.
  waiter* slot_freed_locked() noexcept {
    if (!async_pushers_.empty()) {
      waiter& w = as_channel_waiter(async_pushers_.pop_front());
      w.reserved_ = true;
      ++slots_reserved_;
      return &w;
    }
    if (thread_pushers_ > 0) not_full_.notify_one();
    return nullptr;
  }

  template <class U>
  void put_locked(U&& v, std::unique_lock<std::mutex>& lk) {
    buf_.push(std::forward<U>(v));
    wake(item_added_locked());
    lk.unlock();
  }
  T take_locked(std::unique_lock<std::mutex>& lk) {
    T v = buf_.pop();
    wake(slot_freed_locked());
    lk.unlock();
    return v;
  }

  mutable std::mutex mu_;
  std::condition_variable not_empty_;  // threads waiting in pop
  std::condition_variable not_full_;   // threads waiting in push
  detail::ring_store<T> buf_;          // guarded by mu_
  detail::waiter_list async_pushers_;  // guarded by mu_
  detail::waiter_list async_poppers_;  // guarded by mu_
  const std::size_t cap_;
  std::size_t items_reserved_ = 0;  // guarded by mu_; items promised to woken async poppers
  std::size_t slots_reserved_ = 0;  // guarded by mu_; slots promised to woken async pushers
  std::size_t thread_pushers_ = 0;  // guarded by mu_; threads blocked in push
  std::size_t thread_poppers_ = 0;  // guarded by mu_; threads blocked in pop
  bool closed_ = false;             // guarded by mu_
};

/// The awaiter of async_push().
template <class T>
class channel<T>::push_awaiter final : private channel<T>::waiter {
 public:
  push_awaiter(channel& ch, T&& v) noexcept(std::is_nothrow_move_constructible_v<T>)
      : waiter(ch), item_(std::move(v)) {
    this->is_pusher_ = true;
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    this->task_ = detail::task_base::current();
    TANDEM_ASSERT(this->task_, "channel::async_push awaited outside a task");
    std::unique_lock lk(this->ch_.mu_);
    if (this->ch_.closed_) {  // no wait, so not a cancellation point either
      outcome_ = outcome::closed;
      return false;
    }
    if (this->ch_.free_slots() > 0) {  // room: likewise
      outcome_ = outcome::pushed;
      this->ch_.put_locked(std::move(item_), lk);
      return false;
    }
    return this->park_locked(h, this->ch_.async_pushers_);
  }
  void await_resume() {
    if (outcome_ == outcome::pushed) return;
    if (outcome_ == outcome::closed) throw channel_closed();
    channel& ch = this->ch_;
    std::unique_lock lk(ch.mu_);
    if (this->reserved_) {  // a slot was reserved for us
      --ch.slots_reserved_;
      if (!this->task_->may_suspend() || ch.closed_) {
        wake(ch.slot_freed_locked());  // pass the slot on
        lk.unlock();
        this->task_->checkpoint();
        throw channel_closed();
      }
      ch.put_locked(std::move(item_), lk);
      return;
    }
    const bool closed = ch.closed_;
    lk.unlock();
    this->task_->checkpoint();
    if (this->aborted_) this->task_->throw_cancelled_wait();
    if (closed) throw channel_closed();
  }

 private:
  enum class outcome : unsigned char { waited, pushed, closed };
  T item_;
  outcome outcome_ = outcome::waited;  // waited: parked, or refused to park (cancel pending)
};

/// The awaiter of async_pop().
template <class T>
class channel<T>::pop_awaiter final : private channel<T>::waiter {
 public:
  explicit pop_awaiter(channel& ch) noexcept : waiter(ch) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    this->task_ = detail::task_base::current();
    TANDEM_ASSERT(this->task_, "channel::async_pop awaited outside a task");
    std::unique_lock lk(this->ch_.mu_);
    if (this->ch_.available_items() > 0) {  // an item: no wait, no cancellation point
      result_.emplace(this->ch_.take_locked(lk));
      done_ = true;
      return false;
    }
    if (this->ch_.closed_) {  // closed and drained: the end
      done_ = true;
      return false;
    }
    return this->park_locked(h, this->ch_.async_poppers_);
  }
  std::optional<T> await_resume() {
    if (done_) return std::move(result_);
    channel& ch = this->ch_;
    std::unique_lock lk(ch.mu_);
    if (this->reserved_) {  // an item was reserved for us
      --ch.items_reserved_;
      if (!this->task_->may_suspend()) {
        wake(ch.item_added_locked());  // pass the item on
        lk.unlock();
        this->task_->checkpoint();  // throws
      }
      return ch.take_locked(lk);
    }
    lk.unlock();
    this->task_->checkpoint();
    if (this->aborted_) this->task_->throw_cancelled_wait();
    return std::nullopt;  // woken by close() with nothing left for us
  }

 private:
  std::optional<T> result_;
  bool done_ = false;
};

}  // namespace tandem::aio

namespace tandem {
/// tandem::channel is aio::channel: it lives in the aio layer because its async_ forms need the
/// loop, and is named at the top level because threads use it as much as tasks.
template <class T>
using channel = aio::channel<T>;
}  // namespace tandem
