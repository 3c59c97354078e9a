// aio::map: a bounded-concurrency map over a range of inputs, results in input order.
// asyncio users build this from a Semaphore and gather; the bound then only limits how many run,
// not how many coroutines exist. Here at most `limit` coroutines exist at any time.
#pragma once

#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

/// Options of aio::map.
struct map_options {
  /// Most calls of `f` in flight at once (>= 1).
  std::size_t limit = 100;
};

namespace detail {

template <class F, class It, class S, class R>
struct map_state {
  map_state(F f, It i, S e) : fn(std::move(f)), it(std::move(i)), end(std::move(e)) {}
  F fn;
  It it;
  S end;
  std::size_t next_index = 0;
  std::vector<std::optional<R>> results;
  std::vector<task_handle<void>> workers;
  std::exception_ptr error;
  bool failed = false;
};

template <class State>
task<void> map_worker(State* st, std::size_t self) {
  while (!st->failed && st->it != st->end) {
    std::size_t i = st->next_index++;
    auto item = *st->it;
    ++st->it;
    st->results.emplace_back();
    try {
      st->results[i].emplace(co_await std::invoke(st->fn, std::move(item)));
    } catch (const cancelled_error&) {
      if (!st->failed) throw;  // cancelled from outside: the map is being cancelled
      co_return;               // cancelled by a sibling's failure
    } catch (...) {
      if (!st->failed) {
        st->failed = true;
        st->error = std::current_exception();
        for (std::size_t w = 0; w < st->workers.size(); ++w)
          if (w != self) st->workers[w].cancel();
      }
      co_return;
    }
  }
}

}  // namespace detail

/// Calls `f(item)` (a coroutine) for every item of `items` with at most `options.limit` calls in
/// flight, and returns the results in input order.
/// Suspends: yes, a cancellation point (cancelling the mapping task cancels the calls in flight).
/// Errors: the first exception a call raised, after the other calls in flight were cancelled and
/// have finished; cancelled_error if the mapping task was cancelled.
/// Precondition: options.limit >= 1. `items` is iterated once, lazily (it may be large).
template <class F, std::ranges::input_range R>
requires task_like<std::invoke_result_t<F&, std::ranges::range_value_t<R>>>
auto map(F f, R items, map_options options = {})
    -> task<std::vector<task_result_t<std::invoke_result_t<F&, std::ranges::range_value_t<R>>>>> {
  using result_t = task_result_t<std::invoke_result_t<F&, std::ranges::range_value_t<R>>>;
  static_assert(!std::is_void_v<result_t>, "aio::map needs f to return a value");
  TANDEM_ASSERT(options.limit >= 1, "aio::map: limit must be at least 1");
  using state_t =
      detail::map_state<F, std::ranges::iterator_t<R>, std::ranges::sentinel_t<R>, result_t>;
  state_t st(std::move(f), std::ranges::begin(items), std::ranges::end(items));
  for (std::size_t w = 0; w < options.limit && st.it != st.end; ++w)
    st.workers.push_back(create_task(detail::map_worker(&st, w)));
  std::vector<detail::task_base*> all;
  for (auto& w : st.workers) all.push_back(&w.promise());
  detail::join j(detail::join::until::all_done, /*forward_cancel=*/true);
  j.watch(all);
  while (!j.satisfied()) co_await j.wait();
  for (auto& w : st.workers) w.promise().mark_retrieved();
  if (j.cancel_requested()) j.waiting_task()->throw_cancelled_wait();
  if (st.error) std::rethrow_exception(st.error);
  for (auto& w : st.workers)
    if (w.cancelled()) j.waiting_task()->throw_cancelled_wait();
  std::vector<result_t> out;
  out.reserve(st.results.size());
  for (auto& r : st.results) out.push_back(std::move(*r));
  co_return out;
}

}  // namespace tandem::aio
