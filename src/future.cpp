// The compiled half of future<T>'s shared state: status transitions, waiting, callbacks.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "tandem/detail/assert.hpp"
#include "tandem/detail/futex.hpp"
#include "tandem/detail/future_state.hpp"

namespace tandem::detail {

void assert_fail(const char* condition, const char* message, const char* file, int line) noexcept {
  std::fprintf(stderr, "tandem: %s:%d: contract violated (%s): %s\n", file, line, condition,
               message);
  std::abort();
}

bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                seconds timeout) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout.count() >= 0) {
    double whole = std::floor(timeout.count());
    ts.tv_sec = static_cast<time_t>(whole);
    ts.tv_nsec = static_cast<long>((timeout.count() - whole) * 1e9);
    tsp = &ts;
  }
  // std::atomic<uint32_t> is a plain 32-bit word on Linux, which is what the futex syscall reads.
  long rc = syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE,
                    expected, tsp, nullptr, 0);
  return !(rc == -1 && errno == ETIMEDOUT);
}

void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count,
          nullptr, nullptr, 0);
}

bool state_base::set_running() noexcept {
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  while ((w & st_mask) == st_pending) {
    if (word_.compare_exchange_weak(w, (w & ~st_mask) | st_running, std::memory_order_acquire,
                                    std::memory_order_relaxed))
      return true;
  }
  return false;
}

bool state_base::try_claim() noexcept {
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint32_t st = w & st_mask;
    if (st != st_pending && st != st_running) return false;
    if (word_.compare_exchange_weak(w, (w & ~st_mask) | st_claimed, std::memory_order_acquire,
                                    std::memory_order_relaxed))
      return true;
  }
}

bool state_base::cancel() noexcept {
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint32_t st = w & st_mask;
    if (st == st_cancelled) return true;
    if (st != st_pending) return false;
    if (word_.compare_exchange_weak(w, st_cancelled, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      complete(w);
      return true;
    }
  }
}

void state_base::finish() noexcept {
  // Release publishes the result and error_; the flags in the old word say who must be told.
  complete(word_.exchange(st_finished, std::memory_order_acq_rel));
}

void state_base::complete(std::uint32_t old_word) noexcept {
  if (old_word & st_waiters) futex_wake(word_, INT_MAX);
  if (!(old_word & st_callbacks)) return;
  callback_node* node;
  {
    std::lock_guard lk(callbacks_mu_);
    node = callbacks_;
    callbacks_ = nullptr;
    for (callback_node* n = node; n; n = n->next) n->linked = false;
  }
  while (node) {
    callback_node* next = node->next;  // invoke() may free the node
    node->invoke();
    node = next;
  }
}

void state_base::wait() const noexcept {
  std::uint32_t w = word_.load(std::memory_order_acquire);
  while ((w & st_mask) < st_finished) {
    if (!(w & st_waiters)) {
      if (!word_.compare_exchange_weak(w, w | st_waiters, std::memory_order_acquire)) continue;
      w |= st_waiters;
    }
    futex_wait(word_, w);
    w = word_.load(std::memory_order_acquire);
  }
}

bool state_base::wait_for(seconds timeout) const noexcept {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(timeout);
  std::uint32_t w = word_.load(std::memory_order_acquire);
  while ((w & st_mask) < st_finished) {
    auto left = seconds(deadline - clock::now());
    if (left.count() <= 0) return false;
    if (!(w & st_waiters)) {
      if (!word_.compare_exchange_weak(w, w | st_waiters, std::memory_order_acquire)) continue;
      w |= st_waiters;
    }
    futex_wait(word_, w, left);
    w = word_.load(std::memory_order_acquire);
  }
  return true;
}

bool state_base::add_callback(callback_node* node) noexcept {
  std::lock_guard lk(callbacks_mu_);
  std::uint32_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    if ((w & st_mask) >= st_finished) return false;
    if (w & st_callbacks) break;
    // Setting the bit while not done guarantees that the completing thread sees it and takes
    // callbacks_mu_ after we release it, so it finds this node.
    if (word_.compare_exchange_weak(w, w | st_callbacks, std::memory_order_acq_rel)) break;
  }
  // Append at the tail so callbacks run in the order they were added.
  node->next = nullptr;
  node->linked = true;
  if (!callbacks_) {
    node->prev = nullptr;
    callbacks_ = node;
  } else {
    callback_node* tail = callbacks_;
    while (tail->next) tail = tail->next;
    tail->next = node;
    node->prev = tail;
  }
  return true;
}

bool state_base::remove_callback(callback_node* node) noexcept {
  std::lock_guard lk(callbacks_mu_);
  if (!node->linked) return false;
  if (node->prev)
    node->prev->next = node->next;
  else
    callbacks_ = node->next;
  if (node->next) node->next->prev = node->prev;
  node->linked = false;
  node->prev = node->next = nullptr;
  return true;
}

void state_base::rethrow_if_failed() const {
  if (status() == st_cancelled) throw cancelled_error();
  if (error_) std::rethrow_exception(error_);
}

void state_base::discard(std::exception_ptr why) noexcept {
  if (try_claim()) finish_with(std::move(why));
}

}  // namespace tandem::detail
