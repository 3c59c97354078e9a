// A bounded multi-producer multi-consumer queue of pointers that can be closed.
//
// Follows Dmitry Vyukov's bounded MPMC queue: each slot carries a sequence number that says
// whether it is free for the producer of round k or full for the consumer of round k, so a push
// or pop is one CAS on a shared position plus one store on the slot.
// Closing sets the top bit of the enqueue position, so a push that loses the race to close() fails
// in the same CAS that would have claimed a slot: nothing can slip in after close().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

namespace tandem::detail {

template <class T>
class injection_queue {
  static_assert(std::is_pointer_v<T>, "injection_queue holds pointers");

 public:
  enum class push_result { ok, full, closed };

  /// `capacity` is rounded up to a power of two (at least 2).
  explicit injection_queue(std::size_t capacity) {
    std::size_t c = 2;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<slot[]>(c);
    for (std::size_t i = 0; i < c; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
  }

  push_result try_push(T item) noexcept {
    std::size_t pos = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      if (pos & closed_bit) return push_result::closed;
      slot& s = slots_[pos & mask_];
      std::size_t seq = s.seq.load(std::memory_order_acquire);
      auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        // seq_cst: this claim is also the "store" half of the scheduler's park/notify handshake,
        // so a submit needs no separate fence (on x86 the locked CAS is a full barrier anyway).
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                           std::memory_order_relaxed)) {
          s.item.store(item, std::memory_order_relaxed);
          s.seq.store(pos + 1, std::memory_order_release);
          return push_result::ok;
        }
      } else if (diff < 0) {
        return push_result::full;
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Null if empty (or if the next item is claimed but not yet written).
  T try_pop() noexcept {
    std::size_t pos = dequeue_.load(std::memory_order_relaxed);
    for (;;) {
      slot& s = slots_[pos & mask_];
      std::size_t seq = s.seq.load(std::memory_order_acquire);
      auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T item = s.item.load(std::memory_order_relaxed);
          s.seq.store(pos + mask_ + 1, std::memory_order_release);
          return item;
        }
      } else if (diff < 0) {
        return nullptr;
      } else {
        pos = dequeue_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Refuses every later push. Pushes that already claimed a slot still complete.
  void close() noexcept { enqueue_.fetch_or(closed_bit, std::memory_order_acq_rel); }
  [[nodiscard]] bool closed() const noexcept {
    return enqueue_.load(std::memory_order_acquire) & closed_bit;
  }

  /// Items claimed by producers and not yet taken by consumers (racy; exact once quiescent).
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t e = enqueue_.load(std::memory_order_seq_cst) & ~closed_bit;
    std::size_t d = dequeue_.load(std::memory_order_acquire);
    return e > d ? e - d : 0;
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  /// After close(): pops until every claimed slot has been taken, waiting out producers that
  /// claimed a slot but have not written it yet. Calls `fn(item)` for each item it takes.
  template <class Fn>
  void drain(Fn&& fn) {
    while (size() > 0) {
      if (T item = try_pop())
        fn(item);
      else
        std::this_thread::yield();  // a producer is between its claim and its write
    }
  }

 private:
  static constexpr std::size_t closed_bit = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);
  struct slot {  // unpadded: 16 bytes a slot keeps the default 65,536-slot queue at 1 MiB
    std::atomic<std::size_t> seq;
    std::atomic<T> item;  // relaxed: published by seq's release store
  };
  alignas(64) std::atomic<std::size_t> enqueue_{0};
  alignas(64) std::atomic<std::size_t> dequeue_{0};
  alignas(64) std::size_t mask_ = 0;
  std::unique_ptr<slot[]> slots_;
};

}  // namespace tandem::detail
