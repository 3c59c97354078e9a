// aio::run: the program's entry into the event loop (asyncio.run).
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "tandem/aio/loop.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {
namespace detail {
/// Runs `l` until `t` is done.
void run_until_done(loop& l, const task_base& t);
/// asyncio.run's epilogue: cancels every task still alive, runs the loop until they are done,
/// joins the default executor, closes the loop.
void finish_run(loop& l) noexcept;
}  // namespace detail

/// Creates a loop on this thread, runs `main` to completion, cancels and awaits the tasks left,
/// closes the loop, and returns main's result or rethrows its exception.
/// Follows asyncio.run (3.12).
/// Errors: what `main` throws; cancelled_error if it was cancelled; invalid_state_error if a loop
/// already runs on this thread.
template <class T>
T run(task<T> main, loop_options options = {}) {
  if (loop::current()) throw invalid_state_error("aio::run cannot be called from a running loop");
  loop l(std::move(options));
  task_handle<T> h = create_task(std::move(main), l);
  try {
    detail::run_until_done(l, h.promise());
  } catch (...) {
    detail::finish_run(l);
    throw;
  }
  detail::finish_run(l);
  if constexpr (std::is_void_v<T>) {
    h.result();
  } else {
    return T(std::move(h.result()));
  }
}

}  // namespace tandem::aio
