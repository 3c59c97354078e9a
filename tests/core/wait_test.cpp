// tandem::wait and tandem::as_completed: concurrent.futures.wait / as_completed semantics.
#include "tandem/wait.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace std::chrono_literals;
using tandem::future;
using tandem::promise;
using tandem::return_when;

namespace {
struct five {
  std::vector<promise<int>> ps = std::vector<promise<int>>(5);
  std::vector<future<int>> fs;
  five() {
    for (auto& p : ps) fs.push_back(p.get_future());
  }
};
std::vector<future<int>> pick(const std::vector<future<int>>& fs, std::vector<int> idx) {
  std::vector<future<int>> out;
  for (int i : idx) out.push_back(fs[static_cast<std::size_t>(i)]);
  return out;
}
}  // namespace

TEST(Wait, FirstCompletedReturnsExactSets) {
  five t;
  t.ps[3].set_result(3);
  auto r = tandem::wait(t.fs, return_when::first_completed);
  EXPECT_EQ(r.done, pick(t.fs, {3}));
  EXPECT_EQ(r.not_done, pick(t.fs, {0, 1, 2, 4}));
}

TEST(Wait, FirstCompletedWakesOnALaterCompletion) {
  five t;
  std::thread setter([&] { t.ps[1].set_result(1); });
  auto r = tandem::wait(t.fs, return_when::first_completed);
  setter.join();
  EXPECT_EQ(r.done, pick(t.fs, {1}));
  EXPECT_EQ(r.not_done.size(), 4u);
}

TEST(Wait, FirstExceptionIgnoresValuesAndCancellations) {
  five t;
  t.ps[0].set_result(0);
  t.fs[2].cancel();
  std::thread setter(
      [&] { t.ps[4].set_exception(std::make_exception_ptr(std::runtime_error("x"))); });
  auto r = tandem::wait(t.fs, return_when::first_exception);
  setter.join();
  EXPECT_EQ(r.done, pick(t.fs, {0, 2, 4}));
  EXPECT_EQ(r.not_done, pick(t.fs, {1, 3}));
}

TEST(Wait, FirstExceptionWithoutExceptionsWaitsForAll) {
  five t;
  std::thread setter([&] {
    for (int i = 0; i < 5; ++i) t.ps[static_cast<std::size_t>(i)].set_result(i);
  });
  auto r = tandem::wait(t.fs, return_when::first_exception);
  setter.join();
  EXPECT_EQ(r.done.size(), 5u);
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, AllCompletedReturnsEverything) {
  five t;
  std::thread setter([&] {
    for (auto& p : t.ps) p.set_result(1);
  });
  auto r = tandem::wait(t.fs);
  setter.join();
  EXPECT_EQ(r.done, t.fs);
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, TimeoutReturnsWhatIsDone) {
  five t;
  t.ps[2].set_result(2);
  auto t0 = std::chrono::steady_clock::now();
  auto r = tandem::wait(t.fs, return_when::all_completed, 50ms);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 50ms + tandem::test::tolerance);
  EXPECT_EQ(r.done, pick(t.fs, {2}));
  EXPECT_EQ(r.not_done, pick(t.fs, {0, 1, 3, 4}));
}

TEST(Wait, DuplicatesCountOnce) {
  five t;
  t.ps[0].set_result(0);
  auto r = tandem::wait(pick(t.fs, {0, 0, 1, 1}), return_when::first_completed);
  EXPECT_EQ(r.done, pick(t.fs, {0}));
  EXPECT_EQ(r.not_done, pick(t.fs, {1}));
}

TEST(Wait, RepeatedTimedWaitsLeaveNoCallbacksBehind) {
  // Each wait() unlinks its callbacks; the future's own callback still runs once at the end.
  five t;
  for (int i = 0; i < 200; ++i) (void)tandem::wait(t.fs, return_when::first_completed, 0ms);
  int calls = 0;
  t.fs[0].add_done_callback([&](const future<int>&) { ++calls; });
  t.ps[0].set_result(1);
  EXPECT_EQ(calls, 1);
}

TEST(AsCompleted, YieldsInCompletionOrder) {
  five t;
  t.ps[4].set_result(4);                    // already done at the call: comes first
  auto range = tandem::as_completed(t.fs);  // registers on every future here
  std::thread setter([&] {
    for (int i : {2, 0, 3, 1}) t.ps[static_cast<std::size_t>(i)].set_result(i);
  });
  std::vector<int> order;
  for (const future<int>& f : range) order.push_back(f.get());
  setter.join();
  EXPECT_EQ(order, (std::vector<int>{4, 2, 0, 3, 1}));
}

TEST(AsCompleted, TimeoutThrowsAfterYieldingFinishedOnes) {
  five t;
  t.ps[1].set_result(1);
  t.ps[3].set_result(3);
  std::vector<int> got;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(
      {
        for (const future<int>& f : tandem::as_completed(t.fs, 50ms)) got.push_back(f.get());
      },
      tandem::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 50ms + tandem::test::tolerance);
  EXPECT_EQ(got, (std::vector<int>{1, 3}));
}

TEST(AsCompleted, CancelledFuturesAreYielded) {
  five t;
  for (auto& f : t.fs) f.cancel();
  int n = 0;
  for (const future<int>& f : tandem::as_completed(t.fs)) n += f.cancelled();
  EXPECT_EQ(n, 5);
}

TEST(AsCompleted, AbandonedIterationIsSafeWhileFuturesComplete) {
  // Destroying the range while another thread completes futures must not touch freed nodes.
  for (int round = 0; round < 300; ++round) {
    five t;
    std::thread setter([&] {
      for (auto& p : t.ps) p.set_result(1);
    });
    {
      auto range = tandem::as_completed(t.fs);
      auto it = range.begin();
      (void)*it;
    }
    setter.join();
  }
}
