#include "tandem/aio/barrier.hpp"

#include <exception>

#include "tandem/detail/assert.hpp"

namespace tandem::aio {

barrier::barrier(std::size_t parties) noexcept : parties_(parties) {
  TANDEM_ASSERT(parties >= 1, "aio::barrier: parties must be >= 1");
}

task<std::size_t> barrier::wait() {
  guard<aio::lock> held = co_await cond_.acquire();
  co_await block();  // wait while the previous round drains or resets
  const std::size_t index = count_++;
  std::exception_ptr err;
  try {
    if (index + 1 == parties_) {
      state_ = state::draining;  // release the round; newcomers wait in block()
      cond_.notify_all();
    } else {
      co_await wait_released();
    }
  } catch (...) {
    err = std::current_exception();
  }
  --count_;
  exit();
  if (err) std::rethrow_exception(err);
  co_return index;
}

task<void> barrier::block() {
  co_await cond_.wait_for(
      [this] { return state_ != state::draining && state_ != state::resetting; });
  if (state_ == state::broken) throw broken_barrier_error("Barrier aborted");
}

task<void> barrier::wait_released() {
  co_await cond_.wait_for([this] { return state_ != state::filling; });
  if (state_ == state::broken || state_ == state::resetting)
    throw broken_barrier_error("Abort or reset of barrier");
}

void barrier::exit() noexcept {
  // The last task out of a drained or reset round opens the barrier for the next one.
  if (count_ == 0) {
    if (state_ == state::resetting || state_ == state::draining) state_ = state::filling;
    cond_.notify_all();
  }
}

task<void> barrier::reset() {
  guard<aio::lock> held = co_await cond_.acquire();
  if (count_ > 0) {
    state_ = state::resetting;  // the waiters leave with broken_barrier_error
  } else {
    state_ = state::filling;
  }
  cond_.notify_all();
}

task<void> barrier::abort() {
  guard<aio::lock> held = co_await cond_.acquire();
  state_ = state::broken;
  cond_.notify_all();
}

}  // namespace tandem::aio
