// The executor contract: one typed suite every tandem executor must pass (thread_pool and
// process_pool). The work is plain functions and values only, so that the same tests cross a
// process boundary.
//
// Instantiate with a "pool factory" type P offering `using pool = ...;`,
// `static constexpr std::size_t workers`, and `static std::unique_ptr<pool> make()`.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

#include "tandem/executor.hpp"
#include "tandem/wait.hpp"
#include "test_support.hpp"

namespace tandem::test::contract {

inline long square(long x) { return x * x; }
inline long add(long a, long b) { return a + b; }
inline long fail_on_13(long x) {
  if (x == 13) throw std::invalid_argument("13 is unlucky");
  return x;
}
/// Sleeps `ms` milliseconds of wall time, then returns ms: a stand-in for slow work.
inline long sleep_ms(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

template <class P>
class ExecutorContract : public ::testing::Test {
 protected:
  std::unique_ptr<typename P::pool> pool_ = P::make();
  typename P::pool& pool() { return *pool_; }
};

TYPED_TEST_SUITE_P(ExecutorContract);

TYPED_TEST_P(ExecutorContract, SatisfiesTheExecutorConcept) {
  static_assert(tandem::executor<typename TypeParam::pool>);
  EXPECT_EQ(this->pool().max_workers(), TypeParam::workers);
}

TYPED_TEST_P(ExecutorContract, SubmitReturnsTheResult) {
  auto f = this->pool().submit(square, 12L);
  EXPECT_EQ(f.get(), 144);
  auto g = this->pool().submit(add, 2L, 40L);
  EXPECT_EQ(g.get(), 42);
}

TYPED_TEST_P(ExecutorContract, ExceptionsTravelInTheFuture) {
  auto f = this->pool().submit(fail_on_13, 13L);
  EXPECT_THROW(f.get(), std::invalid_argument);
  EXPECT_EQ(tandem::describe(f.exception()), "13 is unlucky");
  EXPECT_EQ(this->pool().submit(fail_on_13, 12L).get(), 12);  // the pool goes on
}

TYPED_TEST_P(ExecutorContract, ManySubmitsAllComplete) {
  std::vector<tandem::future<long>> fs;
  for (long i = 0; i < 2000; ++i) fs.push_back(this->pool().submit(square, i));
  long sum = 0;
  for (auto& f : fs) sum += f.get();
  long expect = 0;
  for (long i = 0; i < 2000; ++i) expect += i * i;
  EXPECT_EQ(sum, expect);
}

TYPED_TEST_P(ExecutorContract, MapYieldsResultsInInputOrder) {
  std::vector<long> in(1000);
  std::iota(in.begin(), in.end(), 0L);
  for (std::size_t chunksize : {0u, 1u, 7u, 5000u}) {
    std::vector<long> out;
    for (long r : this->pool().map(square, in, {.chunksize = chunksize})) out.push_back(r);
    ASSERT_EQ(out.size(), in.size()) << "chunksize " << chunksize;
    for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], square(in[i]));
  }
}

inline bool is_even(long x) { return x % 2 == 0; }

TYPED_TEST_P(ExecutorContract, MapOfBoolResults) {
  std::vector<bool> out;
  for (bool b : this->pool().map(is_even, std::views::iota(0L, 10L))) out.push_back(b);
  EXPECT_EQ(out,
            (std::vector<bool>{true, false, true, false, true, false, true, false, true, false}));
}

TYPED_TEST_P(ExecutorContract, MapAsyncAcceptsALazyRange) {
  auto f = this->pool().map_async(square, std::views::iota(0L) | std::views::take(5));
  EXPECT_EQ(f.get(), (std::vector<long>{0, 1, 4, 9, 16}));
}

TYPED_TEST_P(ExecutorContract, MapOverAnEmptyRangeYieldsNothing) {
  std::vector<long> none;
  int n = 0;
  for (long r : this->pool().map(square, none)) n += static_cast<int>(r) + 1;
  EXPECT_EQ(n, 0);
}

TYPED_TEST_P(ExecutorContract, MapIsLazyOnAnInfiniteInput) {
  long sum = 0;
  int n = 0;
  for (long r : this->pool().map(square, std::views::iota(0L), {.chunksize = 4, .buffersize = 3})) {
    sum += r;
    if (++n == 100) break;
  }
  EXPECT_EQ(n, 100);
  long expect = 0;
  for (long i = 0; i < 100; ++i) expect += i * i;
  EXPECT_EQ(sum, expect);
}

TYPED_TEST_P(ExecutorContract, MapRethrowsTheFirstFailure) {
  std::vector<long> in(40);
  std::iota(in.begin(), in.end(), 0L);
  std::vector<long> got;
  EXPECT_THROW(
      {
        for (long r : this->pool().map(fail_on_13, in, {.chunksize = 1})) got.push_back(r);
      },
      std::invalid_argument);
  EXPECT_EQ(got.size(), 13u);  // 0..12 came out before the failure, in order
}

TYPED_TEST_P(ExecutorContract, MapTimeoutYieldsFinishedResultsThenThrows) {
  // Follows test_concurrent_futures' test_map_timeout: three quick items, then one that outlasts
  // the timeout.
  std::vector<long> in = {0, 0, 0, 2000, 2000};
  std::vector<long> got;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(
      {
        for (long r :
             this->pool().map(sleep_ms, in, {.chunksize = 1, .timeout = tandem::seconds{0.3}}))
          got.push_back(r);
      },
      tandem::timeout_error);
  EXPECT_EQ(got, (std::vector<long>{0, 0, 0}));
  // The timeout counts from the call, and the sleeping item is not awaited after it.
  EXPECT_LT(std::chrono::steady_clock::now() - t0,
            std::chrono::milliseconds(2000) + tandem::test::tolerance);
}

TYPED_TEST_P(ExecutorContract, ImapUnorderedYieldsEveryResult) {
  std::vector<long> in(500);
  std::iota(in.begin(), in.end(), 0L);
  std::multiset<long> got;
  for (long r : this->pool().imap_unordered(square, in, {.chunksize = 3})) got.insert(r);
  std::multiset<long> expect;
  for (long x : in) expect.insert(square(x));
  EXPECT_EQ(got, expect);
}

TYPED_TEST_P(ExecutorContract, ImapUnorderedYieldsInCompletionOrder) {
  if (TypeParam::workers < 2) GTEST_SKIP() << "needs two workers to overtake";
  std::vector<long> in = {600, 0, 0, 0};
  std::vector<long> got;
  for (long r : this->pool().imap_unordered(sleep_ms, in, {.chunksize = 1})) got.push_back(r);
  EXPECT_EQ(got, (std::vector<long>{0, 0, 0, 600}));
}

TYPED_TEST_P(ExecutorContract, StarmapUnpacksTuples) {
  std::vector<std::tuple<long, long>> in;
  for (long i = 0; i < 100; ++i) in.emplace_back(i, 1000 * i);
  std::vector<long> out;
  for (long r : this->pool().starmap(add, in)) out.push_back(r);
  ASSERT_EQ(out.size(), 100u);
  for (long i = 0; i < 100; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], 1001 * i);
}

TYPED_TEST_P(ExecutorContract, ApplyAsyncRunsTheCallbackBeforeTheResultIsReady) {
  std::atomic<long> seen{0};
  auto f = this->pool().apply_async(square, std::tuple{9L}, [&](long r) { seen = r; });
  EXPECT_EQ(f.get(), 81);
  EXPECT_EQ(seen.load(), 81);  // AsyncResult.get() returns after the callback ran

  std::atomic<bool> error_seen{false};
  auto g = this->pool().apply_async(
      fail_on_13, std::tuple{13L}, [&](long) { FAIL() << "callback on failure"; },
      [&](std::exception_ptr e) { error_seen = tandem::describe(e) == "13 is unlucky"; });
  EXPECT_THROW(g.get(), std::invalid_argument);
  EXPECT_TRUE(error_seen.load());
}

TYPED_TEST_P(ExecutorContract, MapAsyncGathersInOrder) {
  std::vector<long> in(300);
  std::iota(in.begin(), in.end(), 0L);
  std::atomic<std::size_t> callback_size{0};
  auto f = this->pool().map_async(square, in, 16,
                                  [&](const std::vector<long>& v) { callback_size = v.size(); });
  auto out = f.get();
  ASSERT_EQ(out.size(), 300u);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], square(in[i]));
  EXPECT_EQ(callback_size.load(), 300u);

  std::atomic<bool> error_seen{false};
  auto g = this->pool().map_async(fail_on_13, in, 0, nullptr,
                                  [&](std::exception_ptr) { error_seen = true; });
  EXPECT_THROW(g.get(), std::invalid_argument);
  EXPECT_TRUE(error_seen.load());
}

TYPED_TEST_P(ExecutorContract, ShutdownRunsQueuedWork) {
  std::vector<tandem::future<long>> fs;
  for (long i = 0; i < 50; ++i) fs.push_back(this->pool().submit(sleep_ms, 1L));
  this->pool().shutdown(true, false);
  for (auto& f : fs) EXPECT_EQ(f.get(), 1);
}

TYPED_TEST_P(ExecutorContract, SubmitAfterShutdownThrows) {
  this->pool().shutdown();
  EXPECT_THROW(this->pool().submit(square, 1L), tandem::invalid_state_error);
  this->pool().shutdown();  // a second shutdown is harmless
}

REGISTER_TYPED_TEST_SUITE_P(ExecutorContract, SatisfiesTheExecutorConcept, SubmitReturnsTheResult,
                            ExceptionsTravelInTheFuture, ManySubmitsAllComplete,
                            MapYieldsResultsInInputOrder, MapOfBoolResults,
                            MapAsyncAcceptsALazyRange, MapOverAnEmptyRangeYieldsNothing,
                            MapIsLazyOnAnInfiniteInput, MapRethrowsTheFirstFailure,
                            MapTimeoutYieldsFinishedResultsThenThrows,
                            ImapUnorderedYieldsEveryResult, ImapUnorderedYieldsInCompletionOrder,
                            StarmapUnpacksTuples, ApplyAsyncRunsTheCallbackBeforeTheResultIsReady,
                            MapAsyncGathersInOrder, ShutdownRunsQueuedWork,
                            SubmitAfterShutdownThrows);

}  // namespace tandem::test::contract
