// A fixed-capacity Chase-Lev work-stealing deque of pointers.
//
// The owner pushes and pops at the bottom (LIFO, for locality); any thread steals from the top
// (FIFO, oldest first). Follows Lê, Pop, Cohen, Zappa Nardelli, "Correct and Efficient
// Work-Stealing for Weak Memory Models" (PPoPP 2013), without growth: a full deque refuses the
// push and the caller decides (thread_pool runs the task inline).
// Memory ordering: slots are stored with release and read with acquire (free on x86) so the
// pointee is published by the slot itself, which also keeps ThreadSanitizer exact.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "detail/fence.hpp"

namespace tandem::detail {

template <class T>
class work_stealing_deque {
  static_assert(std::is_pointer_v<T>, "work_stealing_deque holds pointers");

 public:
  /// `capacity` is rounded up to a power of two.
  explicit work_stealing_deque(std::size_t capacity) {
    std::size_t c = 1;
    while (c < capacity) c <<= 1;
    mask_ = static_cast<std::int64_t>(c - 1);
    slots_ = std::make_unique<std::atomic<T>[]>(c);
  }

  /// Owner only. False if full.
  bool push(T item) noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_acquire);
    if (b - t > mask_) return false;
    slot(b).store(item, std::memory_order_release);
    bottom_.store(b + 1, std::memory_order_release);
    return true;
  }

  /// Owner only. Null if empty.
  T pop() noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    bottom_.store(b, std::memory_order_relaxed);
    store_load_fence();
    std::int64_t t = top_.load(std::memory_order_relaxed);
    if (t > b) {  // empty
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T item = slot(b).load(std::memory_order_acquire);
    if (t == b) {  // the last item: race thieves for it
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed))
        item = nullptr;
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  /// Any thread. Null if empty or if another thief won the race.
  T steal() noexcept {
    std::int64_t t = top_.load(std::memory_order_acquire);
    store_load_fence();
    std::int64_t b = bottom_.load(std::memory_order_acquire);
    if (t >= b) return nullptr;
    T item = slot(t).load(std::memory_order_acquire);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed))
      return nullptr;
    return item;
  }

  /// Approximate (racy) emptiness, for parking decisions only.
  [[nodiscard]] bool empty() const noexcept {
    return bottom_.load(std::memory_order_acquire) <= top_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<T>& slot(std::int64_t i) noexcept {
    return slots_[static_cast<std::size_t>(i & mask_)];
  }

  // top_ and bottom_ on separate cache lines: thieves hammer top_, the owner bottom_.
  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  alignas(64) std::int64_t mask_ = 0;
  std::unique_ptr<std::atomic<T>[]> slots_;
};

}  // namespace tandem::detail
