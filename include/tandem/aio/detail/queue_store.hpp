// The item stores behind aio::queue, priority_queue and lifo_queue: FIFO ring, binary min-heap,
// stack. Each grows by doubling and never shrinks, so a queue in steady state never allocates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace tandem::aio::detail {

/// FIFO ring buffer over raw storage (T need not be default-constructible). The capacity is a
/// power of two so that indices wrap with a mask.
template <class T>
class ring_store {
 public:
  ring_store() noexcept = default;
  ring_store(const ring_store&) = delete;
  ring_store& operator=(const ring_store&) = delete;
  ~ring_store() {
    clear();
    if (buf_) alloc_.deallocate(buf_, mask_ + 1);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  template <class U>
  void push(U&& v) {
    if (size_ == capacity()) grow();
    std::construct_at(buf_ + ((head_ + size_) & mask_), std::forward<U>(v));
    ++size_;
  }
  T pop() noexcept(std::is_nothrow_move_constructible_v<T>) {
    T* p = buf_ + head_;
    T v(std::move(*p));
    std::destroy_at(p);
    head_ = (head_ + 1) & mask_;
    --size_;
    return v;
  }
  void clear() noexcept {
    for (; size_ > 0; --size_) {
      std::destroy_at(buf_ + head_);
      head_ = (head_ + 1) & mask_;
    }
    head_ = 0;
  }

 private:
  [[nodiscard]] std::size_t capacity() const noexcept { return buf_ ? mask_ + 1 : 0; }
  void grow() {
    // 16 items at first: small enough for many idle queues, and the doubling reaches any
    // bounded queue's size after log2(maxsize / 16) allocations.
    const std::size_t cap = buf_ ? 2 * (mask_ + 1) : 16;
    T* nb = alloc_.allocate(cap);
    std::size_t i = 0;
    for (; i < size_; ++i) {
      T* from = buf_ + ((head_ + i) & mask_);
      std::construct_at(nb + i, std::move_if_noexcept(*from));
      std::destroy_at(from);
    }
    if (buf_) alloc_.deallocate(buf_, mask_ + 1);
    buf_ = nb;
    mask_ = cap - 1;
    head_ = 0;
  }

  [[no_unique_address]] std::allocator<T> alloc_;
  T* buf_ = nullptr;
  std::size_t mask_ = 0;  // capacity - 1, when buf_
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

/// Binary heap popping the smallest item by `Compare` first, as Python's heapq does.
template <class T, class Compare>
class heap_store {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  template <class U>
  void push(U&& v) {
    items_.push_back(std::forward<U>(v));
    std::push_heap(items_.begin(), items_.end(), greater{comp_});
  }
  T pop() {
    std::pop_heap(items_.begin(), items_.end(), greater{comp_});
    T v(std::move(items_.back()));
    items_.pop_back();
    return v;
  }
  void clear() noexcept { items_.clear(); }

 private:
  // std's heap algorithms keep the largest first; reversing the order keeps the smallest first.
  struct greater {
    Compare& c;
    bool operator()(const T& a, const T& b) const { return c(b, a); }
  };
  std::vector<T> items_;
  [[no_unique_address]] Compare comp_;
};

/// Stack: the last item pushed comes out first.
template <class T>
class stack_store {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  template <class U>
  void push(U&& v) {
    items_.push_back(std::forward<U>(v));
  }
  T pop() {
    T v(std::move(items_.back()));
    items_.pop_back();
    return v;
  }
  void clear() noexcept { items_.clear(); }

 private:
  std::vector<T> items_;
};

}  // namespace tandem::aio::detail
