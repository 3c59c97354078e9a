// The loop's timers: a 4-ary min-heap of intrusive timer nodes ordered by (deadline, seq).
// Each node carries its heap index, so cancel is O(log n) with no search, and a sleeping task
// costs one pointer here. Four children per node: half the depth of a binary heap and the
// children of a node share a cache line, which is what makes 1,000,000 pending timers cheap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tandem/aio/loop.hpp"

namespace tandem::aio::detail {

class timer_heap {
 public:
  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  [[nodiscard]] timer_node* top() const noexcept { return heap_.front(); }

  /// Adds `t` (deadline_ns set, not queued). Errors: std::bad_alloc, leaving `t` unqueued.
  void push(timer_node* t) {
    t->seq = next_seq_++;
    heap_.push_back(t);
    t->heap_index = static_cast<std::uint32_t>(heap_.size() - 1);
    sift_up(heap_.size() - 1);
  }

  /// Removes the earliest node.
  timer_node* pop() noexcept {
    timer_node* t = heap_.front();
    remove_at(0);
    return t;
  }

  /// Removes `t` if queued.
  void remove(timer_node* t) noexcept {
    if (t->queued()) remove_at(t->heap_index);
  }

 private:
  static bool before(const timer_node* a, const timer_node* b) noexcept {
    if (a->deadline_ns != b->deadline_ns) return a->deadline_ns < b->deadline_ns;
    // seq wraps after 2^32 adds; compared as a signed distance, order holds for timers added
    // within 2^31 of each other, which is all of them in practice.
    return static_cast<std::int32_t>(a->seq - b->seq) < 0;
  }

  void place(std::size_t i, timer_node* t) noexcept {
    heap_[i] = t;
    t->heap_index = static_cast<std::uint32_t>(i);
  }

  void sift_up(std::size_t i) noexcept {
    timer_node* t = heap_[i];
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!before(t, heap_[parent])) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, t);
  }

  void sift_down(std::size_t i) noexcept {
    timer_node* t = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t first = 4 * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      std::size_t last = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < last; ++c)
        if (before(heap_[c], heap_[best])) best = c;
      if (!before(heap_[best], t)) break;
      place(i, heap_[best]);
      i = best;
    }
    place(i, t);
  }

  void remove_at(std::size_t i) noexcept {
    timer_node* gone = heap_[i];
    timer_node* last = heap_.back();
    heap_.pop_back();
    gone->heap_index = timer_node::not_queued;
    if (gone == last) return;
    place(i, last);
    if (i > 0 && before(last, heap_[(i - 1) / 4]))
      sift_up(i);
    else
      sift_down(i);
  }

  std::vector<timer_node*> heap_;
  std::uint32_t next_seq_ = 0;
};

}  // namespace tandem::aio::detail
