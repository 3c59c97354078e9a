// The executor contract (tests/core/executor_contract.hpp) run against process_pool at 1, 2 and 4
// worker processes (more than the cores): the same tests thread_pool passes.
#include "core/executor_contract.hpp"

#include "tandem/process/process_pool.hpp"

namespace {
template <std::size_t N>
struct process_pool_of {
  using pool = tandem::process_pool;
  static constexpr std::size_t workers = N;
  static std::unique_ptr<pool> make() {
    return std::make_unique<pool>(pool::options{.processes = N});
  }
};
using widths = ::testing::Types<process_pool_of<1>, process_pool_of<2>, process_pool_of<4>>;
}  // namespace

namespace tandem::test::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(ProcessPool, ExecutorContract, widths);
}  // namespace tandem::test::contract
