// tandem::wait and tandem::as_completed: waiting on many futures at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <unordered_set>
#include <vector>

#include "tandem/future.hpp"

namespace tandem {

/// When tandem::wait returns. Follows concurrent.futures' FIRST_COMPLETED, FIRST_EXCEPTION,
/// ALL_COMPLETED.
enum class return_when {
  first_completed,  ///< any future finishes or is cancelled
  first_exception,  ///< any future finishes with an exception (cancellation is not one), or all
                    ///< done
  all_completed,    ///< every future is done
};

/// The two sets tandem::wait returns, each in the order of the input (duplicates removed).
template <class T>
struct wait_result {
  std::vector<future<T>> done;      ///< finished or cancelled when wait returned
  std::vector<future<T>> not_done;  ///< everything else
};

namespace detail {

/// Counts completions for wait(); shared with the callbacks, which may outlive the call.
struct wait_counter {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t completed = 0;   // guarded by mu
  bool saw_exception = false;  // guarded by mu
};

template <class T>
struct wait_node final : callback_node {
  wait_node(std::shared_ptr<wait_counter> c, state_base* s) : counter(std::move(c)), state(s) {}
  void invoke() noexcept override {
    std::lock_guard lk(counter->mu);
    ++counter->completed;
    if (state->status() == st_finished && state->stored_exception()) counter->saw_exception = true;
    invoked = true;
    counter->cv.notify_all();
  }
  std::shared_ptr<wait_counter> counter;
  state_base* state;
  bool invoked = false;  // guarded by counter->mu
};

/// Unlinks callback nodes that live in a caller's frame. A node the completing thread already took
/// may not have run yet, so wait (on the shared cv) until it has before the caller frees it.
template <class Node, class Shared>
void unlink_all(std::vector<std::unique_ptr<Node>>& nodes, Shared& shared,
                state_base* (*state_of)(Node&)) {
  std::vector<Node*> taken;
  for (auto& n : nodes)
    if (!state_of(*n)->remove_callback(n.get())) taken.push_back(n.get());
  std::unique_lock lk(shared.mu);
  for (Node* n : taken) shared.cv.wait(lk, [n] { return n->invoked; });
}

template <class Range>
using range_future_t = std::ranges::range_value_t<Range>;

}  // namespace detail

/// Blocks until the condition `when` holds for `futures`, or `timeout` passes (none: no limit),
/// and returns which futures are done. Never throws on timeout: the sets say what finished.
/// Follows concurrent.futures.wait; futures done at the call count at once.
template <std::ranges::input_range Range>
requires std::same_as<detail::range_future_t<Range>,
                      future<typename detail::range_future_t<Range>::value_type>>
auto wait(Range&& futures, return_when when = return_when::all_completed,
          std::optional<seconds> timeout = std::nullopt) {
  using F = detail::range_future_t<Range>;
  using T = typename F::value_type;
  std::vector<F> unique;
  std::unordered_set<detail::state_base*> seen;
  for (const F& f : futures)
    if (seen.insert(f.state()).second) unique.push_back(f);

  auto counter = std::make_shared<detail::wait_counter>();
  std::vector<std::unique_ptr<detail::wait_node<T>>> nodes;
  nodes.reserve(unique.size());
  for (const F& f : unique) {
    auto node = std::make_unique<detail::wait_node<T>>(counter, f.state());
    if (f.state()->add_callback(node.get()))
      nodes.push_back(std::move(node));
    else
      node->invoke();  // already done: count it now
  }
  auto satisfied = [&] {
    switch (when) {
      case return_when::first_completed:
        return counter->completed > 0 || unique.empty();
      case return_when::first_exception:
        return counter->saw_exception || counter->completed == unique.size();
      case return_when::all_completed:
        break;
    }
    return counter->completed == unique.size();
  };
  {
    std::unique_lock lk(counter->mu);
    if (timeout)
      counter->cv.wait_for(lk, *timeout, satisfied);
    else
      counter->cv.wait(lk, satisfied);
  }
  detail::unlink_all(
      nodes, *counter, +[](detail::wait_node<T>& n) -> detail::state_base* { return n.state; });
  wait_result<T> out;
  for (F& f : unique) (f.done() ? out.done : out.not_done).push_back(std::move(f));
  return out;
}

/// A range that yields each of `futures` once, as it finishes (or is cancelled), in completion
/// order. Futures already done come first. Iterating past the deadline (`timeout` seconds after
/// the call) throws `timeout_error` naming how many are left. Follows
/// concurrent.futures.as_completed. Thread safety: the range itself is used by one thread; the
/// futures may finish on any thread.
template <class T>
class as_completed_range {
 public:
  /// Registers on every future; prefer the factory function tandem::as_completed.
  template <std::ranges::input_range Range>
  as_completed_range(Range&& futures, std::optional<seconds> timeout)
      : shared_(std::make_shared<shared>()) {
    if (timeout)
      deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(*timeout);
    std::unordered_set<detail::state_base*> seen;
    for (const future<T>& f : futures) {
      if (!seen.insert(f.state()).second) continue;
      ++remaining_;
      auto node = std::make_unique<node_t>(shared_, f);
      if (f.state()->add_callback(node.get()))
        nodes_.push_back(std::move(node));
      else
        node->invoke();
    }
  }
  as_completed_range(const as_completed_range&) = delete;
  as_completed_range& operator=(const as_completed_range&) = delete;
  ~as_completed_range() {
    detail::unlink_all(
        nodes_, *shared_, +[](node_t& n) { return n.self.state(); });
  }

  class iterator {
   public:
    using value_type = future<T>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(as_completed_range* r) : r_(r) { r_->advance(); }
    const future<T>& operator*() const { return r_->current_; }
    iterator& operator++() {
      r_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.r_->at_end(); }

   private:
    as_completed_range* r_ = nullptr;
  };
  /// Starts iteration; call once (the range is single-pass).
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }
  /// True once every future has been yielded.
  [[nodiscard]] bool at_end() const noexcept { return finished_; }

 private:
  struct shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<future<T>> ready;  // guarded by mu
  };
  struct node_t final : detail::callback_node {
    node_t(std::shared_ptr<shared> s, future<T> f) : sh(std::move(s)), self(std::move(f)) {}
    void invoke() noexcept override {
      std::lock_guard lk(sh->mu);
      sh->ready.push_back(self);
      invoked = true;
      sh->cv.notify_all();
    }
    std::shared_ptr<shared> sh;
    future<T> self;
    bool invoked = false;  // guarded by sh->mu
  };

  void advance() {
    if (remaining_ == 0) {
      finished_ = true;
      return;
    }
    std::unique_lock lk(shared_->mu);
    auto has = [&] { return !shared_->ready.empty(); };
    if (deadline_) {
      if (!shared_->cv.wait_until(lk, *deadline_, has))
        throw timeout_error(std::to_string(remaining_) +
                            " (of the) futures unfinished at the timeout");
    } else {
      shared_->cv.wait(lk, has);
    }
    current_ = std::move(shared_->ready.front());
    shared_->ready.pop_front();
    --remaining_;
  }

  std::shared_ptr<shared> shared_;
  std::vector<std::unique_ptr<node_t>> nodes_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::size_t remaining_ = 0;
  bool finished_ = false;
  future<T> current_;
};

/// Yields each of `futures` as it completes; see as_completed_range.
/// Example: `for (auto& f : tandem::as_completed(futs)) use(f.get());`
template <std::ranges::input_range Range>
auto as_completed(Range&& futures, std::optional<seconds> timeout = std::nullopt) {
  using F = std::ranges::range_value_t<Range>;
  return as_completed_range<typename F::value_type>(std::forward<Range>(futures), timeout);
}

}  // namespace tandem
