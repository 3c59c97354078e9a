#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tandem/aio.hpp"

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

TEST(Task, LongAwaitChainsDoNotGrowTheStack) { EXPECT_EQ(aio::run(deep(100000)), 100000); }
