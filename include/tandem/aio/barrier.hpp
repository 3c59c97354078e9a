// aio::barrier: a meeting point for a fixed number of tasks (asyncio.Barrier).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tandem/aio/condition.hpp"
#include "tandem/aio/errors.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

/// Blocks tasks in wait() until `parties` of them have arrived, then releases them all; it then
/// serves the next round (cyclic). Follows asyncio.Barrier (3.11+), built on a condition as
/// asyncio's is: a task arriving while the previous round drains waits for the next round.
///
/// Thread safety: loop thread only (one loop).
/// Example:
///   aio::barrier b(3);
///   std::size_t index = co_await b.wait();   // 0, 1 or 2: the order of arrival
class barrier {
 public:
  /// Precondition: parties >= 1 (asyncio raises ValueError; here an assertion).
  explicit barrier(std::size_t parties) noexcept;
  barrier(const barrier&) = delete;
  barrier& operator=(const barrier&) = delete;

  /// Waits until `parties()` tasks are waiting; returns this task's arrival index, 0 to
  /// parties() - 1 (the last to arrive gets parties() - 1 and releases the others).
  /// Follows asyncio.Barrier.wait.
  /// Suspends: until the round is full (the last arrival only if it must wait for the barrier's
  /// lock or for the previous round to drain); each wait is a cancellation point.
  /// A task cancelled while waiting leaves the barrier (the count drops again).
  /// Errors: broken_barrier_error if the barrier is broken (abort()) or is reset while waiting;
  /// cancelled_error.
  [[nodiscard]] task<std::size_t> wait();

  /// Returns the barrier to its empty state; tasks waiting in it get broken_barrier_error. A
  /// broken barrier becomes usable again. Follows asyncio.Barrier.reset.
  /// Suspends: to take the barrier's lock; a cancellation point.
  [[nodiscard]] task<void> reset();

  /// Breaks the barrier: current and later wait() calls throw broken_barrier_error until
  /// reset(). Follows asyncio.Barrier.abort.
  /// Suspends: to take the barrier's lock; a cancellation point.
  [[nodiscard]] task<void> abort();

  /// The number of tasks needed to pass the barrier.
  [[nodiscard]] std::size_t parties() const noexcept { return parties_; }
  /// The tasks waiting now, while the barrier fills (0 while it drains or resets).
  [[nodiscard]] std::size_t n_waiting() const noexcept {
    return state_ == state::filling ? count_ : 0;
  }
  /// True after abort() (until reset()).
  [[nodiscard]] bool broken() const noexcept { return state_ == state::broken; }

 private:
  enum class state : std::uint8_t { filling, draining, resetting, broken };
  task<void> block();
  task<void> wait_released();
  void exit() noexcept;

  condition cond_;  // its lock serialises wait/reset/abort; notify_all on every state change
  std::size_t parties_;
  std::size_t count_ = 0;  // tasks inside wait() (between block() and exit())
  state state_ = state::filling;
};

}  // namespace tandem::aio
