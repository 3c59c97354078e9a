// Structured concurrency with aio::task_group (asyncio.TaskGroup): every task a group starts has
// ended when the group's run() returns; the first failure cancels the siblings and run() raises
// an exception_group of every failure.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/task_group.hpp"
#include "tandem/error.hpp"

namespace aio = tandem::aio;

namespace {

using journal = std::vector<std::string>;

// A task that takes `delay` seconds and records how it ended. It catches cancelled_error only to
// log it, and rethrows: swallowing it would make a cancelled task look finished.
aio::task<int> work(std::string name, double delay, int value, journal* log) {
  try {
    co_await aio::sleep(delay);
  } catch (const tandem::cancelled_error&) {
    log->push_back(name + " cancelled");
    throw;
  }
  log->push_back(name + " done");
  co_return value;
}

aio::task<int> crash(std::string name, double delay) {
  co_await aio::sleep(delay);
  throw std::runtime_error(name + " failed");
}

// The body of `async with TaskGroup() as tg:`. C++ has no `async with`, so the body is a
// coroutine given to tg.run(); the group is passed by pointer (a capturing lambda coroutine would
// lose its captures at its first suspension). It returns the handles so the caller can read the
// results once the group has finished.
aio::task<std::vector<aio::task_handle<int>>> start_three(aio::task_group* tg, journal* log) {
  std::vector<aio::task_handle<int>> handles;
  handles.push_back(tg->create_task(work("a", 0.01, 1, log)));
  handles.push_back(tg->create_task(work("b", 0.02, 2, log)));
  handles.push_back(tg->create_task(work("c", 0.03, 3, log)));
  co_return handles;
}

aio::task<void> start_with_failure(aio::task_group* tg, journal* log) {
  tg->create_task(work("fast", 0.01, 1, log));
  tg->create_task(work("slow", 10, 2, log));  // would take 10 s: the failure cancels it
  tg->create_task(crash("broken", 0.05));
  co_return;
}

aio::task<bool> demo() {
  bool ok = true;

  // 1. Every task succeeds: run() returns once all three have finished.
  journal log;
  aio::task_group tg;
  std::vector<aio::task_handle<int>> handles = co_await tg.run(start_three(&tg, &log));
  int sum = 0;
  for (auto& h : handles) sum += h.result();  // all done: result() never throws here
  std::printf("all finished: sum %d (%zu log lines)\n", sum, log.size());
  ok = ok && sum == 6 && log.size() == 3;

  // 2. One task fails: the group cancels the others (and its body), waits for them to end, then
  //    raises exception_group. Cancelled siblings are not failures: only "broken" is in it.
  journal log2;
  aio::task_group failing;
  try {
    co_await failing.run(start_with_failure(&failing, &log2));
    ok = false;
  } catch (const aio::exception_group& eg) {
    std::printf("%s\n", eg.what());
    for (const auto& e : eg.exceptions()) std::printf("  - %s\n", tandem::describe(e).c_str());
    ok = ok && eg.exceptions().size() == 1;
  }
  for (const auto& line : log2) std::printf("  %s\n", line.c_str());
  ok = ok && log2 == journal{"fast done", "slow cancelled"};

  co_return ok;
}

}  // namespace

int main() {
  bool ok = aio::run(demo());
  std::printf(ok ? "aio_task_group example: ok\n" : "aio_task_group example: FAILED\n");
  return ok ? 0 : 1;
}
