#include "tandem/future.hpp"

#include <gtest/gtest.h>

#include "tandem/thread_pool.hpp"

TEST(Smoke, SubmitGet) {
  tandem::thread_pool pool({.max_workers = 2});
  auto f = pool.submit([](int x) { return x * 2; }, 21);
  EXPECT_EQ(f.get(), 42);
  long sum = 0;
  for (int r : pool.map([](int x) { return x; }, std::views::iota(0, 1000))) sum += r;
  EXPECT_EQ(sum, 999 * 1000 / 2);
}
