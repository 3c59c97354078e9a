#include "tandem/aio/timeout.hpp"

namespace tandem::aio {

timeout_scope timeout(std::optional<double> delay) {
  if (!delay) return timeout_scope(std::nullopt);
  return timeout_scope(get_running_loop().time() + *delay);
}

void timeout_scope::enter() {
  TANDEM_ASSERT(state_ == state::created, "timeout_scope::run called twice on one scope");
  task_ = detail::task_base::current();
  TANDEM_ASSERT(task_, "aio::timeout used outside a task");
  state_ = state::entered;
  cancelling_ = task_->cancelling();
  arm();
}

void timeout_scope::arm() {
  timer_.cancel();
  timer_ = timer_handle();
  if (!when_) return;
  loop& l = get_running_loop();
  if (*when_ <= l.time())
    timer_ = l.call_soon([this] { on_timeout(); });
  else
    timer_ = l.call_at(*when_, [this] { on_timeout(); });
}

void timeout_scope::reschedule(std::optional<double> when) {
  if (state_ != state::created && state_ != state::entered)
    throw invalid_state_error(
        "timeout_scope::reschedule after the deadline fired or the body ended");
  when_ = when;
  if (state_ == state::entered) arm();
}

void timeout_scope::on_timeout() noexcept {
  if (state_ != state::entered) return;
  task_->cancel();
  state_ = state::expiring;
}

void timeout_scope::exit(const std::exception_ptr& error) {
  timer_.cancel();
  if (state_ == state::expiring) {
    state_ = state::expired;
    bool mine = task_->uncancel() <= cancelling_;
    if (mine && error) {
      try {
        std::rethrow_exception(error);
      } catch (const cancelled_error&) {
        std::throw_with_nested(timeout_error("timed out"));
      } catch (...) {
      }
    }
  } else {
    state_ = state::exited;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace tandem::aio
