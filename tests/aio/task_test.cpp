#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/aio.hpp"
#include "test_support.hpp"

namespace aio = tandem::aio;

namespace {

aio::task<int> answer() { co_return 42; }

aio::task<int> add_after_sleep(int a, int b) {
  co_await aio::sleep(0.01);
  co_return a + b;
}

aio::task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

}  // namespace

TEST(Task, RunReturnsTheResult) { EXPECT_EQ(aio::run(answer()), 42); }

TEST(Task, NestedAwaitRunsInline) { EXPECT_EQ(aio::run(add_after_sleep(2, 3)), 5); }

// Symmetric transfer is a tail call only in optimised builds; sanitizer builds keep the frames on
// the stack (and TSan's stack depot caps at 65,536), so they check a shallower chain.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int chain_depth = 1000;
#else
constexpr int chain_depth = 100000;
#endif
TEST(Task, LongAwaitChainsDoNotGrowTheStack) {
  EXPECT_EQ(aio::run(deep(chain_depth)), chain_depth);
}

namespace {

aio::task<int> sleep_then(int v, double delay, int* steps) {
  ++*steps;
  co_await aio::sleep(delay);
  co_return v;
}

aio::task<std::string> cancel_before_first_step() {
  int steps = 0;
  auto t = aio::create_task(sleep_then(1, 0.01, &steps));
  EXPECT_TRUE(t.cancel("early"));
  try {
    co_await t;
  } catch (const tandem::cancelled_error& e) {
    co_return std::string(e.what()) + " steps=" + std::to_string(steps);
  }
  co_return "not cancelled";
}

aio::task<std::string> cancel_message_and_counts() {
  int steps = 0;
  auto t = aio::create_task(sleep_then(1, 10, &steps));
  co_await aio::sleep(0.005);
  t.cancel("first");
  t.cancel("second");
  std::uint32_t n = t.cancelling();
  try {
    co_await t;
  } catch (const tandem::cancelled_error& e) {
    co_return std::string(e.what()) + " cancelling=" + std::to_string(n) +
        " cancelled=" + (t.cancelled() ? "yes" : "no") +
        " cancel_after_done=" + (t.cancel() ? "true" : "false");
  }
  co_return "not cancelled";
}

aio::task<int> swallows_cancel() {
  try {
    co_await aio::sleep(10);
  } catch (const tandem::cancelled_error&) {
    // uncancel: this task decided to go on (asyncio's uncancel, as timeouts use it)
    aio::current_task()->uncancel();
  }
  co_return 7;
}

aio::task<std::string> uncancel_lets_a_task_go_on() {
  auto t = aio::create_task(swallows_cancel());
  co_await aio::sleep(0.005);
  t.cancel();
  int v = co_await t;
  co_return std::to_string(v) + " cancelling=" + std::to_string(t.cancelling());
}

aio::task<int> throws_later() {
  co_await aio::sleep(0.001);
  throw std::runtime_error("nobody looked");
}

aio::task<void> fire_and_forget(int* done) {
  co_await aio::sleep(0.005);
  ++*done;
}

aio::task<std::string> names_callbacks_and_registry() {
  int done = 0;
  auto t = aio::create_task(fire_and_forget(&done));
  std::string name = t.get_name();
  t.set_name("worker");
  std::string called;
  t.add_done_callback([&called](aio::task_handle<void> h) { called = h.get_name(); });
  std::size_t alive = aio::all_tasks().size();  // this one and t
  co_await t;
  co_await aio::sleep(0);  // done callbacks run on a later iteration
  co_await aio::sleep(0);
  co_return name.substr(0, 5) + " " + called + " " + std::to_string(alive) +
      " done=" + std::to_string(done);
}

aio::task<int> dropped_handle_still_runs(int* done) {
  { aio::create_task(fire_and_forget(done)); }  // handle dropped at once
  co_await aio::sleep(0.03);
  co_return *done;
}

aio::task<void> leftover(bool* cleaned) {
  try {
    co_await aio::sleep(10);
  } catch (const tandem::cancelled_error&) {
    *cleaned = true;
    throw;
  }
}

aio::task<int> leaves_a_task(bool* cleaned) {
  aio::create_task(leftover(cleaned));
  co_await aio::sleep(0.005);
  co_return 1;
}

}  // namespace

TEST(Task, CancelBeforeTheFirstStepNeverRunsTheBody) {
  EXPECT_EQ(aio::run(cancel_before_first_step()), "early steps=0");
}

TEST(Task, CancelCountsRequestsAndCarriesTheMessage) {
  EXPECT_EQ(aio::run(cancel_message_and_counts()),
            "second cancelling=2 cancelled=yes cancel_after_done=false");
}

TEST(Task, UncancelLetsATaskGoOn) {
  EXPECT_EQ(aio::run(uncancel_lets_a_task_go_on()), "7 cancelling=0");
}

TEST(Task, NamesDoneCallbacksAndAllTasks) {
  EXPECT_EQ(aio::run(names_callbacks_and_registry()), "Task- worker 2 done=1");
}

TEST(Task, TheLoopHoldsTasksWhoseHandlesWereDropped) {
  int done = 0;
  EXPECT_EQ(aio::run(dropped_handle_still_runs(&done)), 1);
}

TEST(Task, UnretrievedExceptionIsReportedWhenTheTaskIsDestroyed) {
  tandem::test::unraisable_capture cap;
  aio::run([]() -> aio::task<int> {
    { aio::create_task(throws_later()); }
    co_await aio::sleep(0.02);
    co_return 0;
  }());
  auto msgs = cap.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs[0].find("never retrieved"), std::string::npos) << msgs[0];
  EXPECT_NE(msgs[0].find("nobody looked"), std::string::npos) << msgs[0];
}

TEST(Task, RunCancelsLeftoverTasksAndTheirCleanupRuns) {
  bool cleaned = false;
  EXPECT_EQ(aio::run(leaves_a_task(&cleaned)), 1);
  EXPECT_TRUE(cleaned);
}

TEST(Task, RunRethrowsTheMainException) {
  EXPECT_THROW(aio::run(throws_later()), std::runtime_error);
}

namespace {
aio::task<void> nap(double d) { co_await aio::sleep(d); }

// The registry behind all_tasks trims finished tasks from its front and compacts holes; tasks
// finishing in a scrambled order exercise both.
aio::task<int> registry_follows_scrambled_completion() {
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 5000; ++i) hs.push_back(aio::create_task(nap(((i * 7919) % 50) * 0.001)));
  int mismatches = 0;
  for (int round = 0; round < 30; ++round) {
    co_await aio::sleep(0.003);
    std::size_t pending = 0;
    for (auto& h : hs) pending += h.done() ? 0u : 1u;
    if (aio::all_tasks().size() != pending + 1) ++mismatches;  // + this task
  }
  co_await aio::gather(std::move(hs));
  if (aio::all_tasks().size() != 1) ++mismatches;
  co_return mismatches;
}
}  // namespace

TEST(Task, AllTasksFollowsScrambledCompletionOrder) {
  EXPECT_EQ(aio::run(registry_follows_scrambled_completion()), 0);
}
