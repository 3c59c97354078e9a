// The lazy result ranges behind executor map(), imap_unordered() and starmap().
//
//   consumer thread                          worker threads
//   ---------------                          --------------
//   input range --chunk--> submit ------->   run f over the chunk -> future<vector<R>>
//        ^ (at most buffersize chunks in flight)          |
//        +--- refill as the consumer takes a result <-----+ (in input order, or as completed)
//
// Chunk tasks refer to the range object (its callable and, for random-access input, the input
// itself), so the range waits for its running chunks before it is destroyed and is not movable:
// executors return it as a prvalue, which C++17's guaranteed copy elision constructs in place.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "tandem/detail/assert.hpp"
#include "tandem/executor.hpp"
#include "tandem/future.hpp"

namespace tandem::detail {

/// Calls `f(std::get<I>(t)...)` for a tuple-like `t`: starmap's argument unpacking.
template <class F>
struct apply_fn {
  F f;
  template <class Tuple>
  decltype(auto) operator()(Tuple&& t) const {
    return std::apply(f, std::forward<Tuple>(t));
  }
};

/// The automatic chunk size: multiprocessing.Pool's ceil(n / (4 x workers)) for a sized input,
/// capped at 8,192 items so a chunk's results (64 KiB of 8-byte values) stay in cache and in the
/// allocator's reusable heap instead of fresh mmap'd pages; 1 for an input of unknown length.
/// At ~100 ns of scheduling per task, 8,192 items of even trivial work keep overhead near 1%.
inline std::size_t auto_chunksize(std::optional<std::size_t> n, std::size_t workers) {
  constexpr std::size_t cap = 8192;
  if (!n) return 1;
  std::size_t parts = std::max<std::size_t>(1, workers * 4);
  return std::clamp<std::size_t>((*n + parts - 1) / parts, 1, cap);
}

/// An allocator whose value-less construct() default-initialises: resize() on trivial types then
/// leaves memory for the loop to write once, instead of zeroing it first.
template <class T>
struct default_init_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = default_init_allocator<U>;
  };
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    std::construct_at(p, std::forward<Args>(args)...);
  }
};

/// How a chunk stores one result: as itself, except bool, which std::vector<bool> would pack into
/// bits that no `bool&` can refer to.
template <class R>
struct chunk_slot {
  using type = R;
  static R& ref(R& r) noexcept { return r; }
};
struct bool_slot {
  bool value;
};
template <>
struct chunk_slot<bool> {
  using type = bool_slot;
  static bool& ref(bool_slot& s) noexcept { return s.value; }
};

/// The results of one chunk.
template <class R>
using chunk_vector =
    std::vector<typename chunk_slot<R>::type, default_init_allocator<typename chunk_slot<R>::type>>;

/// Applies `f` to each of [first, last) into a chunk_vector. Trivial results are written in place
/// (a loop the compiler can vectorise); others are constructed one by one.
template <class R, class F, class It>
chunk_vector<R> apply_chunk(const F& f, It first, It last, std::size_t n) {
  chunk_vector<R> out;
  if constexpr (std::is_trivially_default_constructible_v<R> &&
                std::is_trivially_copy_assignable_v<R>) {
    out.resize(n);
    auto* o = out.data();
    for (; first != last; ++first) chunk_slot<R>::ref(*o++) = std::invoke(f, *first);
  } else {
    out.reserve(n);
    for (; first != last; ++first) out.emplace_back(std::invoke(f, *first));
  }
  return out;
}

/// True for executors whose chunks cross a process boundary: they offer
/// `submit_chunk<Result>(f, std::vector<item>)` and run it elsewhere.
template <class Executor>
concept sends_chunks = requires {
  requires Executor::sends_chunks;
};

/// Reads the input a chunk at a time and submits each chunk to the executor.
template <class Executor, class F, class View>
class chunk_feeder {
 public:
  using input_ref = std::ranges::range_reference_t<View>;
  using result_type = std::invoke_result_t<const F&, input_ref>;
  static_assert(!std::is_void_v<result_type>,
                "tandem map: the function returns void; use submit() in a loop, or return a value");
  using chunk_future = future<chunk_vector<result_type>>;

  chunk_feeder(Executor& ex, F f, View view, const map_options& o)
      : ex_(ex), f_(std::move(f)), view_(std::move(view)), next_(std::ranges::begin(view_)) {
    std::optional<std::size_t> n;
    if constexpr (std::ranges::sized_range<View>)
      n = static_cast<std::size_t>(std::ranges::size(view_));
    chunksize_ = o.chunksize ? o.chunksize : auto_chunksize(n, ex.max_workers());
    std::size_t workers = std::max<std::size_t>(1, ex.max_workers());
    if (o.buffersize) {
      buffersize_ = o.buffersize;
    } else if constexpr (sends_chunks<Executor>) {
      // A chunk to another process costs a round trip of ~20 us: keep ~512 items per worker in
      // flight so that small chunks (chunksize 1) do not wait on it, and at least 4 chunks.
      buffersize_ = workers * std::max<std::size_t>(4, 512 / chunksize_);
    } else {
      buffersize_ = 4 * workers;
    }
  }

  [[nodiscard]] bool input_done() const { return next_ == std::ranges::end(view_); }
  [[nodiscard]] std::size_t buffersize() const { return buffersize_; }

  /// Submits the next chunk. Precondition: !input_done().
  chunk_future submit_next() {
    if constexpr (sends_chunks<Executor>) {
      // A process pool: the chunk travels as one message, so gather it into a vector first.
      using value_t = std::ranges::range_value_t<View>;
      std::vector<value_t> items;
      for (std::size_t i = 0; i < chunksize_ && next_ != std::ranges::end(view_); ++i, ++next_)
        items.push_back(*next_);
      return ex_.template submit_chunk<result_type>(f_, items);
    } else if constexpr (std::ranges::random_access_range<View> && std::ranges::sized_range<View>) {
      // Zero-copy: the task reads the input in place; the range outlives its tasks.
      auto first = next_;
      auto left = static_cast<std::size_t>(std::ranges::end(view_) - first);
      auto last =
          first + static_cast<std::ranges::range_difference_t<View>>(std::min(chunksize_, left));
      next_ = last;
      return ex_.submit([this, first, last] {
        return apply_chunk<result_type>(f_, first, last, static_cast<std::size_t>(last - first));
      });
    } else {
      using value_t = std::ranges::range_value_t<View>;
      std::vector<value_t> items;
      for (std::size_t i = 0; i < chunksize_ && next_ != std::ranges::end(view_); ++i, ++next_)
        items.push_back(*next_);
      return ex_.submit([this, items = std::move(items)]() mutable {
        return apply_chunk<result_type>(f_, std::make_move_iterator(items.begin()),
                                        std::make_move_iterator(items.end()), items.size());
      });
    }
  }

 private:
  Executor& ex_;
  F f_;  // shared by concurrent chunk tasks: must be callable from several threads at once
  View view_;
  std::ranges::iterator_t<View> next_;
  std::size_t chunksize_ = 1;
  std::size_t buffersize_ = 1;
};

/// Shared iteration over a sequence of chunk results; Derived supplies next_chunk().
template <class Executor, class F, class View>
class map_range_base {
 public:
  using feeder = chunk_feeder<Executor, F, View>;
  using result_type = typename feeder::result_type;
  using slot = typename chunk_slot<result_type>::type;

  map_range_base(const map_range_base&) = delete;
  map_range_base& operator=(const map_range_base&) = delete;

  /// Input iterator over the results; `*it` is a mutable reference, so results can be moved out.
  /// It walks the current chunk through two pointers, so the consumer's loop costs what a loop
  /// over a plain array costs; only crossing into the next chunk calls back into the range.
  class iterator {
   public:
    using value_type = result_type;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    result_type& operator*() const { return chunk_slot<result_type>::ref(*cur_); }
    iterator& operator++() {
      if (++cur_ == end_) r_->load_next_chunk(cur_, end_);
      return *this;
    }
    void operator++(int) { ++*this; }
    /// At the end both pointers are null; inside a chunk cur_ < end_.
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.cur_ == it.end_;
    }

   private:
    friend map_range_base;
    explicit iterator(map_range_base* r) : r_(r) {}
    map_range_base* r_ = nullptr;
    slot* cur_ = nullptr;
    slot* end_ = nullptr;
  };

  /// Starts iteration (single pass: call once).
  iterator begin() {
    TANDEM_ASSERT(!started_, "a map result range is single-pass: begin() called twice");
    started_ = true;
    iterator it(this);
    load_next_chunk(it.cur_, it.end_);
    return it;
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 protected:
  map_range_base(Executor& ex, F f, View view, const map_options& o)
      : feeder_(ex, std::move(f), std::move(view), o) {
    if (o.timeout)
      deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(*o.timeout);
  }
  ~map_range_base() = default;

  /// Time left before the deadline, if there is one.
  std::optional<seconds> time_left() const {
    if (!deadline_) return std::nullopt;
    return std::max(seconds{0}, seconds(*deadline_ - std::chrono::steady_clock::now()));
  }

  feeder feeder_;

 private:
  virtual std::optional<chunk_vector<result_type>> next_chunk() = 0;

  // Points [cur, end) at the next non-empty chunk, or both at null when there is none.
  void load_next_chunk(slot*& cur, slot*& end) {
    for (;;) {
      auto chunk = next_chunk();
      if (!chunk) {
        current_.clear();
        cur = end = nullptr;
        return;
      }
      current_ = std::move(*chunk);
      if (!current_.empty()) {
        cur = current_.data();
        end = cur + current_.size();
        return;
      }
    }
  }

  std::optional<std::chrono::steady_clock::time_point> deadline_;
  chunk_vector<result_type> current_;
  bool started_ = false;
};

/// map(): results in input order.
template <class Executor, class F, class View>
class ordered_map_range final : public map_range_base<Executor, F, View> {
  using base = map_range_base<Executor, F, View>;

 public:
  using typename base::result_type;
  ordered_map_range(Executor& ex, F f, View view, const map_options& o)
      : base(ex, std::move(f), std::move(view), o) {
    fill();  // submitted at the call, as Executor.map does, so the timeout runs from here
  }
  ~ordered_map_range() { cancel_and_join(); }

 private:
  void fill() {
    while (!this->feeder_.input_done() && inflight_.size() < this->feeder_.buffersize())
      inflight_.push_back(this->feeder_.submit_next());
  }
  void cancel_and_join() {
    for (auto& f : inflight_) f.cancel();
    for (auto& f : inflight_) f.wait();
    inflight_.clear();
  }
  std::optional<chunk_vector<result_type>> next_chunk() override {
    if (inflight_.empty()) return std::nullopt;
    auto head = inflight_.front();
    if (auto left = this->time_left(); left && !head.wait_for(*left)) {
      cancel_and_join();
      throw timeout_error("map: result not ready within the timeout");
    }
    inflight_.pop_front();
    try {
      auto out = std::move(head).get();
      fill();  // keep `buffersize` chunks in flight: refilling only in batches starved W6's workers
      return out;
    } catch (...) {
      cancel_and_join();  // as Executor.map: the first failure cancels what is left
      throw;
    }
  }
  std::deque<typename base::feeder::chunk_future> inflight_;
};

/// imap_unordered(): results as chunks complete.
template <class Executor, class F, class View>
class unordered_map_range final : public map_range_base<Executor, F, View> {
  using base = map_range_base<Executor, F, View>;
  using chunk_future = typename base::feeder::chunk_future;

 public:
  using typename base::result_type;
  unordered_map_range(Executor& ex, F f, View view, const map_options& o)
      : base(ex, std::move(f), std::move(view), o) {
    fill();
  }
  ~unordered_map_range() {
    std::vector<chunk_future> all;
    {
      std::lock_guard lk(mu_);
      all.assign(inflight_.begin(), inflight_.end());
    }
    for (auto& f : all) f.cancel();
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return outstanding_ == 0; });  // every callback has run and let go of mu_
  }

 private:
  void fill() {
    while (!this->feeder_.input_done()) {
      {
        std::lock_guard lk(mu_);
        if (outstanding_ >= this->feeder_.buffersize()) return;
        ++outstanding_;
      }
      auto f = this->feeder_.submit_next();
      typename std::list<chunk_future>::iterator at;
      {
        std::lock_guard lk(mu_);
        at = inflight_.insert(inflight_.end(), f);
      }
      f.add_done_callback([this, at](const chunk_future& done) {
        std::lock_guard lk(mu_);
        inflight_.erase(at);  // O(1): a process pool keeps a thousand chunks in flight
        ready_.push_back(done);
        --outstanding_;
        cv_.notify_all();  // under mu_: the destructor may free cv_ as soon as mu_ is released
      });
    }
  }
  std::optional<chunk_vector<result_type>> next_chunk() override {
    chunk_future head;
    {
      std::unique_lock lk(mu_);
      auto has = [&] { return !ready_.empty() || (outstanding_ == 0 && inflight_.empty()); };
      if (auto left = this->time_left()) {
        if (!cv_.wait_for(lk, *left, has))
          throw timeout_error("imap_unordered: no result within the timeout");
      } else {
        cv_.wait(lk, has);
      }
      if (ready_.empty()) return std::nullopt;
      head = std::move(ready_.front());
      ready_.pop_front();
    }
    auto out = std::move(head).get();
    fill();
    return out;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t outstanding_ = 0;       // submitted, callback not yet run; guarded by mu_
  std::list<chunk_future> inflight_;  // guarded by mu_
  std::deque<chunk_future> ready_;    // guarded by mu_
};

}  // namespace tandem::detail
