#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "aio/aio_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;

namespace {

using aio_test::fail_after;
using aio_test::value_after;

aio::task<void> nothing() { co_return; }

aio::task<std::vector<int>> gather_many(int n) {
  std::vector<aio::task<int>> ts;
  for (int i = 0; i < n; ++i) ts.push_back(value_after(i, 0.001 * (n - i)));
  co_return co_await aio::gather(std::move(ts));
}

aio::task<int> gather_tuple() {
  auto [a, b, c] = co_await aio::gather(value_after(1, 0.01), value_after(2, 0), nothing());
  (void)c;
  co_return a * 10 + b;
}

aio::task<std::string> first_error_raised() {
  try {
    co_await aio::gather(value_after(1, 0.05), fail_after(0.01));
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "no error";
}

aio::task<int> outcomes() {
  auto r = co_await aio::gather(aio::return_exceptions, value_after(7, 0.01), fail_after(0));
  int v = std::get<0>(std::get<0>(r));
  bool failed = std::get<1>(r).index() == 1;
  co_return failed ? v : -1;
}

}  // namespace

TEST(Gather, ResultsInArgumentOrder) {
  auto v = aio::run(gather_many(50));
  ASSERT_EQ(v.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)], i);
}

TEST(Gather, TupleForm) { EXPECT_EQ(aio::run(gather_tuple()), 12); }

TEST(Gather, FirstExceptionIsRaised) { EXPECT_EQ(aio::run(first_error_raised()), "boom"); }

TEST(Gather, ReturnExceptionsCollectsOutcomes) { EXPECT_EQ(aio::run(outcomes()), 7); }
