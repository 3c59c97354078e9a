// aio::gather: run awaitables concurrently and collect their results (asyncio.gather).
#pragma once

#include <cstddef>
#include <exception>
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

template <class T>
gathered_t<T> take_gathered(task_handle<T>& h) {
  if constexpr (std::is_void_v<T>) {
    h.result();
    return {};
  } else {
    return T(std::move(h.result()));
  }
}

template <class T>
outcome<T> take_outcome(task_handle<T>& h) {
  try {
    return outcome<T>(std::in_place_index<0>, take_gathered(h));
  } catch (...) {
    return outcome<T>(std::in_place_index<1>, std::current_exception());
  }
}

// Waits for every task (or the first failure unless `settle`). Rethrows the first failure, or
// cancelled_error when the gathering task itself was cancelled (after forwarding the cancel).
inline task<void> join_tasks(std::vector<task_base*> tasks, bool settle) {
  join j(settle ? join::until::all_done : join::until::first_failure, /*forward_cancel=*/true);
  j.watch(std::move(tasks));
  while (!j.satisfied()) co_await j.wait();
  if (j.cancel_requested()) j.waiting_task()->throw_cancelled_wait();
}

template <class T>
std::vector<task_handle<T>> schedule_all(std::vector<task<T>> aws) {
  std::vector<task_handle<T>> hs;
  hs.reserve(aws.size());
  for (auto& a : aws) hs.push_back(create_task(std::move(a)));
  return hs;
}

template <class T>
std::vector<task_base*> bases(const std::vector<task_handle<T>>& hs) {
  std::vector<task_base*> out;
  out.reserve(hs.size());
  for (auto& h : hs) out.push_back(&h.promise());
  return out;
}

template <class T>
task<std::vector<gathered_t<T>>> gather_handles(std::vector<task_handle<T>> hs) {
  co_await join_tasks(bases(hs), /*settle=*/false);
  std::vector<gathered_t<T>> out;
  out.reserve(hs.size());
  // join_tasks returned normally: every task finished and none failed.
  for (auto& h : hs) out.push_back(take_gathered(h));
  co_return out;
}

template <class T>
task<std::vector<outcome<T>>> gather_outcomes(std::vector<task_handle<T>> hs) {
  co_await join_tasks(bases(hs), /*settle=*/true);
  std::vector<outcome<T>> out;
  out.reserve(hs.size());
  for (auto& h : hs) out.push_back(take_outcome(h));
  co_return out;
}

template <class... Hs>
task<std::tuple<gathered_t<typename Hs::value_type>...>> gather_tuple(Hs... hs) {
  std::vector<task_base*> all;
  (all.push_back(&hs.promise()), ...);
  co_await join_tasks(std::move(all), /*settle=*/false);
  co_return std::tuple<gathered_t<typename Hs::value_type>...>(take_gathered(hs)...);
}

template <class... Hs>
task<std::tuple<outcome<typename Hs::value_type>...>> gather_tuple_outcomes(Hs... hs) {
  std::vector<task_base*> all;
  (all.push_back(&hs.promise()), ...);
  co_await join_tasks(std::move(all), /*settle=*/true);
  co_return std::tuple<outcome<typename Hs::value_type>...>(take_outcome(hs)...);
}

}  // namespace detail

/// Runs the tasks concurrently and returns their results in order (void results as
/// std::monostate). Coroutines are scheduled with create_task first.
/// Follows asyncio.gather: the first exception (cancelled_error of a child included) is raised at
/// once and the other tasks keep running; cancelling the gathering task cancels every task still
/// running and raises cancelled_error once one of them has ended.
/// Suspends: yes, a cancellation point.
/// Errors: the first exception a task raised; an exception of a task still running when gather
/// raised is reported (unraisable hook) if nobody retrieves it.
template <class T>
task<std::vector<detail::gathered_t<T>>> gather(std::vector<task<T>> aws) {
  return detail::gather_handles(detail::schedule_all(std::move(aws)));
}
/// The same for tasks already scheduled.
template <class T>
task<std::vector<detail::gathered_t<T>>> gather(std::vector<task_handle<T>> hs) {
  return detail::gather_handles(std::move(hs));
}
/// gather(return_exceptions, tasks): waits for all and returns each outcome (value or
/// exception) instead of raising. Follows asyncio.gather(return_exceptions=True).
template <class T>
task<std::vector<outcome<T>>> gather(return_exceptions_t, std::vector<task<T>> aws) {
  return detail::gather_outcomes(detail::schedule_all(std::move(aws)));
}
template <class T>
task<std::vector<outcome<T>>> gather(return_exceptions_t, std::vector<task_handle<T>> hs) {
  return detail::gather_outcomes(std::move(hs));
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
