// aio::gather: run awaitables concurrently and collect their results (asyncio.gather).
#pragma once

#include <array>
#include <cstddef>
#include <exception>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {
namespace detail {

template <class T>
using gathered_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// The tasks of one gather: one reference to each, as a plain array the join can borrow (one
// pointer per task: W3 gathers 100,000 sleeping tasks). Null entries: not yet created, or
// already released.
template <class T>
class task_set {
 public:
  explicit task_set(std::size_t n) : tasks_(n, nullptr) {}
  task_set(const task_set&) = delete;
  task_set& operator=(const task_set&) = delete;
  ~task_set() {
    for (task_base* t : tasks_)
      if (t) t->release();
  }
  void set(std::size_t i, task_handle<T> h) noexcept { tasks_[i] = h.detach(); }
  /// Drops the reference to task i (its frame may be freed now).
  void release(std::size_t i) noexcept {
    tasks_[i]->release();
    tasks_[i] = nullptr;
  }
  [[nodiscard]] std::span<task_base* const> bases() const noexcept { return tasks_; }
  [[nodiscard]] std::size_t size() const noexcept { return tasks_.size(); }
  promise<T>& operator[](std::size_t i) const noexcept {
    return static_cast<promise<T>&>(*tasks_[i]);
  }

 private:
  std::vector<task_base*> tasks_;
};

template <class T>
gathered_t<T> take_gathered(promise<T>& p) {
  p.mark_retrieved();
  if (p.cancelled()) p.throw_cancelled();
  if constexpr (std::is_void_v<T>) {
    take_result<T, true>(p);
    return {};
  } else {
    return take_result<T, true>(p);
  }
}

template <class T>
outcome<T> take_outcome(promise<T>& p) {
  try {
    return outcome<T>(std::in_place_index<0>, take_gathered(p));
  } catch (...) {
    return outcome<T>(std::in_place_index<1>, std::current_exception());
  }
}

// One gather over a vector: schedules and watches each task in one pass, waits, then takes each
// result and drops the task in one more pass (a million tasks are a hundred megabytes of frames:
// passes over them are what a spawn costs).
template <bool Settle, class T, class A>
auto gather_vector(std::vector<A> aws)
    -> task<std::vector<std::conditional_t<Settle, outcome<T>, gathered_t<T>>>> {
  task_set<T> set(aws.size());
  std::size_t failure;
  {
    join j(Settle ? join::until::all_done : join::until::first_failure, /*forward_cancel=*/true);
    j.begin(set.bases());
    // Coroutines start eagerly, each running its first step now, in order (asyncio 3.12's
    // eager_task_factory): the step runs while the frame is still in cache from being started,
    // where a trip through the ready queue would come back to a million cold frames (W3b).
    // Debug mode schedules them instead, so the shuffled ready queue still reorders them.
    loop& l = get_running_loop();
    const bool eager = !l.get_debug();
    for (std::size_t i = 0; i < aws.size(); ++i) {
      if constexpr (std::is_same_v<A, task<T>>) {
        if (eager) {
          set.set(i, create_task(std::move(aws[i]), l, eager_t{}));
          j.add(i);
          continue;
        }
      }
      set.set(i, ensure_task(std::move(aws[i])));
      j.add(i);
    }
    std::vector<A>().swap(aws);
    j.end();
    while (!j.satisfied()) co_await j.wait();
    if (j.cancel_requested()) j.waiting_task()->throw_cancelled_wait();
    failure = j.first();
  }
  if constexpr (!Settle) {
    if (failure != join::npos) take_gathered(set[failure]);  // raises the first failure
  }
  std::vector<std::conditional_t<Settle, outcome<T>, gathered_t<T>>> out;
  out.reserve(set.size());
  for (std::size_t i = 0; i < set.size(); ++i) {
    if constexpr (Settle)
      out.push_back(take_outcome(set[i]));
    else
      out.push_back(take_gathered(set[i]));
    set.release(i);
  }
  co_return out;
}

// Waits for the tasks (or the first failure unless `settle`); returns the first failure's index
// or join::npos. Rethrows cancelled_error when the gathering task itself was cancelled.
inline task<std::size_t> join_tasks(std::span<task_base* const> tasks, bool settle) {
  join j(settle ? join::until::all_done : join::until::first_failure, /*forward_cancel=*/true);
  j.watch(tasks);
  while (!j.satisfied()) co_await j.wait();
  if (j.cancel_requested()) j.waiting_task()->throw_cancelled_wait();
  co_return j.first();
}

template <class... Hs>
task<std::tuple<gathered_t<typename Hs::value_type>...>> gather_tuple(Hs... hs) {
  std::array<task_base*, sizeof...(Hs)> all{&hs.promise()...};
  std::size_t failure = co_await join_tasks(all, /*settle=*/false);
  if (failure != join::npos) {  // raise the first failure
    std::size_t i = 0;
    ((i++ == failure ? (void)take_gathered(hs.promise()) : (void)0), ...);
  }
  co_return std::tuple<gathered_t<typename Hs::value_type>...>(take_gathered(hs.promise())...);
}

template <class... Hs>
task<std::tuple<outcome<typename Hs::value_type>...>> gather_tuple_outcomes(Hs... hs) {
  std::array<task_base*, sizeof...(Hs)> all{&hs.promise()...};
  co_await join_tasks(all, /*settle=*/true);
  co_return std::tuple<outcome<typename Hs::value_type>...>(take_outcome(hs.promise())...);
}

}  // namespace detail

/// Runs the tasks concurrently and returns their results in order (void results as
/// std::monostate). Coroutines start when the gather is first awaited, each running its first
/// step at once, in order (asyncio 3.12's eager_task_factory; in debug mode they are scheduled
/// instead, so the shuffled ready queue reorders them). asyncio schedules them when gather is
/// called, which makes no difference to `co_await gather(...)`.
/// Follows asyncio.gather: the first exception (cancelled_error of a child included) is raised at
/// once and the other tasks keep running; cancelling the gathering task cancels every task still
/// running and raises cancelled_error once one of them has ended.
/// Suspends: yes, a cancellation point.
/// Errors: the first exception a task raised; an exception of a task still running when gather
/// raised is reported (unraisable hook) if nobody retrieves it.
template <class T>
task<std::vector<detail::gathered_t<T>>> gather(std::vector<task<T>> aws) {
  return detail::gather_vector<false, T>(std::move(aws));
}
/// The same for tasks already scheduled.
template <class T>
task<std::vector<detail::gathered_t<T>>> gather(std::vector<task_handle<T>> hs) {
  return detail::gather_vector<false, T>(std::move(hs));
}
/// gather(return_exceptions, tasks): waits for all and returns each outcome (value or
/// exception) instead of raising. Follows asyncio.gather(return_exceptions=True).
template <class T>
task<std::vector<outcome<T>>> gather(return_exceptions_t, std::vector<task<T>> aws) {
  return detail::gather_vector<true, T>(std::move(aws));
}
template <class T>
task<std::vector<outcome<T>>> gather(return_exceptions_t, std::vector<task_handle<T>> hs) {
  return detail::gather_vector<true, T>(std::move(hs));
}

/// Variadic form: `auto [a, b] = co_await gather(f(), g());` returns a tuple.
template <task_like... As>
requires(sizeof...(As) > 0) auto gather(As&&... aws) {
  return detail::gather_tuple(detail::ensure_task(std::forward<As>(aws))...);
}
/// Variadic form returning a tuple of outcomes.
template <task_like... As>
requires(sizeof...(As) > 0) auto gather(return_exceptions_t, As&&... aws) {
  return detail::gather_tuple_outcomes(detail::ensure_task(std::forward<As>(aws))...);
}

}  // namespace tandem::aio
