// The event loop's cancellation model in one program (docs/cancellation.md walks through it):
// tasks with timeouts inside a task_group, one of which fails; cancel counting, where
// cancelled_error is thrown, how a timeout becomes timeout_error, and what shield protects.
#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/aio/run.hpp"
#include "tandem/aio/shield.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/task_group.hpp"
#include "tandem/aio/timeout.hpp"
#include "tandem/error.hpp"

namespace aio = tandem::aio;

namespace {

std::vector<std::string> journal;
double start = 0;  // loop time when demo() began

// Prints what happened, when, and the current task's count of pending cancel requests.
void note(const std::string& what) {
  double t = aio::get_running_loop().time();
  unsigned pending = aio::current_task() ? aio::current_task()->cancelling() : 0;
  char line[160];
  std::snprintf(line, sizeof line, "t=%.1f %-34s cancelling()=%u", t - start, what.c_str(),
                pending);
  std::puts(line);
  journal.push_back(what);
}

// Stands in for I/O. The sleep is a suspension point: the only place cancelled_error can appear.
aio::task<int> download(std::string name, double seconds) {
  try {
    co_await aio::sleep(seconds);
  } catch (const tandem::cancelled_error&) {
    note(name + ": cancelled_error");
    throw;  // cleanup done; let the cancellation go on
  }
  co_return 1;
}

// A download with a deadline of its own.
aio::task<int> fetch(std::string name, double seconds, double deadline) {
  try {
    co_return co_await aio::timeout(deadline, download(name, seconds));
  } catch (const tandem::timeout_error&) {
    note(name + ": timeout_error");
    co_return 0;  // handled: this task ends normally
  }
}

// Must not be interrupted halfway.
aio::task<void> save() {
  co_await aio::sleep(0.4);
  note("save: finished");
}

aio::task<void> save_shielded(aio::task_handle<void> saving) {
  try {
    co_await aio::shield(saving);
  } catch (const tandem::cancelled_error&) {
    note("saver: cancelled_error");
    throw;
  }
}

aio::task<void> crash(double seconds) {
  co_await aio::sleep(seconds);
  note("crash: throws");
  throw std::runtime_error("disk full");
}

aio::task<void> body(aio::task_group* tg, aio::task_handle<void> saving) {
  tg->create_task(fetch("A", 10, 0.1));    // its own deadline passes at 0.1
  tg->create_task(fetch("B", 10, 5.0));    // its deadline is far away
  tg->create_task(save_shielded(saving));  // waits for `saving` through a shield
  tg->create_task(crash(0.2));
  try {
    co_await aio::sleep(10);
  } catch (const tandem::cancelled_error&) {
    note("body: cancelled_error");
    throw;
  }
}

aio::task<bool> demo() {
  start = aio::get_running_loop().time();
  aio::task_handle<void> saving = aio::create_task(save());
  aio::task_group tg;
  try {
    co_await tg.run(body(&tg, saving));
  } catch (const aio::exception_group& eg) {
    note("run: exception_group: " + tandem::describe(eg.exceptions().front()));
  }
  co_await saving;  // the shielded work was not cancelled: it finishes on its own
  note("main: saving is done");
  // The three tasks the failure cancels resume in the same loop iteration, in an order debug
  // mode shuffles: compare them as a set.
  std::vector<std::string> expected{"A: cancelled_error",
                                    "A: timeout_error",
                                    "crash: throws",
                                    "B: cancelled_error",
                                    "saver: cancelled_error",
                                    "body: cancelled_error",
                                    "run: exception_group: disk full",
                                    "save: finished",
                                    "main: saving is done"};
  if (journal.size() != expected.size()) co_return false;
  std::sort(journal.begin() + 3, journal.begin() + 6);
  std::sort(expected.begin() + 3, expected.begin() + 6);
  co_return journal == expected;
}

}  // namespace

int main() {
  bool ok = aio::run(demo());
  std::printf(ok ? "aio_cancellation example: ok\n" : "aio_cancellation example: FAILED\n");
  return ok ? 0 : 1;
}
