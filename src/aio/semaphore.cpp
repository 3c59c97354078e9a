#include "tandem/aio/semaphore.hpp"

#include "tandem/error.hpp"

namespace tandem::aio {

void semaphore::release() {
  if (value_ >= bound_) throw invalid_state_error("aio::bounded_semaphore released too many times");
  ++value_;
  wake_up_next();
}

bool semaphore::wake_up_next() noexcept {
  for (detail::waiter_hook* h = waiters_.front(); h; h = h->next) {
    detail::sync_waiter& w = detail::as_waiter(h);
    if (!w.woken()) {
      --value_;
      w.wake_up();
      return true;
    }
  }
  return false;
}

}  // namespace tandem::aio
