// The executor contract run against thread_pool at 1, 2, 4 and 8 workers (more than the cores).
#include "executor_contract.hpp"

#include "tandem/thread_pool.hpp"

namespace {
template <std::size_t N>
struct thread_pool_of {
  using pool = tandem::thread_pool;
  static constexpr std::size_t workers = N;
  static std::unique_ptr<pool> make() {
    return std::make_unique<pool>(pool::options{.max_workers = N});
  }
};
using widths =
    ::testing::Types<thread_pool_of<1>, thread_pool_of<2>, thread_pool_of<4>, thread_pool_of<8>>;
}  // namespace

namespace tandem::test::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(ThreadPool, ExecutorContract, widths);
}  // namespace tandem::test::contract
