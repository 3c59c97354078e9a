// aio::race: the first of several awaitables to finish wins; the others are cancelled.
// asyncio has no such function (users write it from wait(FIRST_COMPLETED) + cancel + gather).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {
namespace detail {
template <class T>
task<T> race_handles(std::vector<task_handle<T>> hs) {
  TANDEM_ASSERT(!hs.empty(), "aio::race needs at least one awaitable");
  std::vector<task_base*> all;
  all.reserve(hs.size());
  for (auto& h : hs) all.push_back(&h.promise());
  bool cancelled = false;
  std::size_t winner = join::npos;
  {
    join first(join::until::first_done, /*forward_cancel=*/true);
    first.watch(all);
    while (!first.satisfied()) co_await first.wait();
    cancelled = first.cancel_requested();
    winner = first.first();
  }
  // The losers are cancelled and awaited, so none outlives race (structured concurrency). A
  // cancel arriving meanwhile is forwarded to them and raised after.
  for (std::size_t i = 0; i < hs.size(); ++i)
    if (i != winner) hs[i].cancel();
  join rest(join::until::all_done, /*forward_cancel=*/true);
  rest.watch(all);
  while (!rest.satisfied()) co_await rest.wait();
  for (std::size_t i = 0; i < hs.size(); ++i)
    if (i != winner) hs[i].promise().mark_retrieved();  // losers' outcomes are discarded
  if (cancelled || rest.cancel_requested() || winner == join::npos)
    rest.waiting_task()->throw_cancelled_wait();
  hs[winner].promise().mark_retrieved();
  if (hs[winner].cancelled()) hs[winner].promise().throw_cancelled();
  co_return take_result<T, true>(hs[winner].promise());
}
}  // namespace detail

/// Runs the awaitables concurrently; the first to finish (with a value or an exception) decides
/// the outcome, the others are cancelled and awaited before race returns.
/// Suspends: yes, a cancellation point (cancelling the racing task cancels every contender).
/// Errors: the winner's exception; cancelled_error if the racing task was cancelled.
template <class T>
task<T> race(std::vector<task<T>> aws) {
  std::vector<task_handle<T>> hs;
  hs.reserve(aws.size());
  for (auto& a : aws) hs.push_back(create_task(std::move(a)));
  return detail::race_handles(std::move(hs));
}

/// Variadic form; every awaitable must have the same result type.
template <task_like A, task_like... As>
requires(std::is_same_v<task_result_t<A>, task_result_t<As>>&&...) task<task_result_t<A>> race(
    A&& first, As&&... rest) {
  std::vector<task_handle<task_result_t<A>>> hs;
  hs.push_back(detail::ensure_task(std::forward<A>(first)));
  (hs.push_back(detail::ensure_task(std::forward<As>(rest))), ...);
  return detail::race_handles(std::move(hs));
}

}  // namespace tandem::aio
