#include "tandem/aio/lock.hpp"

#include "tandem/error.hpp"

namespace tandem::aio {

void lock::release() {
  if (!locked_) throw invalid_state_error("aio::lock is not acquired");
  locked_ = false;
  wake_up_first();
}

}  // namespace tandem::aio
