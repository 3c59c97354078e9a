// loop::add_signal_handler / remove_signal_handler (signalfd). Follows asyncio's
// test_unix_events signal tests where they apply.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tandem/aio/loop.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/task.hpp"
#include "test_support.hpp"

namespace aio = tandem::aio;

namespace {

bool blocked_here(int sig) {
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

// Runs `l` until `done()` or about 5 seconds passed.
void run_until(aio::loop& l, const std::function<bool()>& done) {
  double deadline = l.time() + 5;
  while (!done() && l.time() < deadline) l.run_once(0.05);
}

class Signals : public ::testing::Test {
 protected:
  void SetUp() override { fds_ = tandem::test::count_entries("/proc/self/fd"); }
  void TearDown() override {
    EXPECT_EQ(tandem::test::count_entries("/proc/self/fd"), fds_) << "fd leak";
    EXPECT_FALSE(blocked_here(SIGUSR1)) << "signal mask not restored";
    EXPECT_FALSE(blocked_here(SIGUSR2)) << "signal mask not restored";
  }
  int fds_ = 0;
};

}  // namespace

TEST_F(Signals, HandlerRunsOnTheLoopNotInsideRaise) {
  aio::loop l;
  int calls = 0;
  std::thread::id where;
  l.add_signal_handler(SIGUSR1, [&] {
    ++calls;
    where = std::this_thread::get_id();
  });
  EXPECT_TRUE(blocked_here(SIGUSR1));
  ASSERT_EQ(::raise(SIGUSR1), 0);
  EXPECT_EQ(calls, 0);  // never inline: the signal waits in the signalfd
  run_until(l, [&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_TRUE(l.remove_signal_handler(SIGUSR1));
  l.close();
}

TEST_F(Signals, ProcessDirectedKillReachesTheHandler) {
  aio::loop l;
  int calls = 0;
  l.add_signal_handler(SIGUSR2, [&] { ++calls; });
  ASSERT_EQ(::kill(::getpid(), SIGUSR2), 0);
  run_until(l, [&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
  l.close();  // close() restores the mask (TearDown checks)
}

TEST_F(Signals, TwoSignalsTwoHandlers) {
  aio::loop l;
  std::vector<int> seen;
  l.add_signal_handler(SIGUSR1, [&] { seen.push_back(SIGUSR1); });
  l.add_signal_handler(SIGUSR2, [&] { seen.push_back(SIGUSR2); });
  ::raise(SIGUSR2);
  ::raise(SIGUSR1);
  run_until(l, [&] { return seen.size() >= 2; });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0], seen[1]);
  EXPECT_TRUE(l.remove_signal_handler(SIGUSR1));
  EXPECT_TRUE(l.remove_signal_handler(SIGUSR2));
  l.close();
}

TEST_F(Signals, AddReplacesTheEarlierHandler) {
  aio::loop l;
  int first = 0, second = 0;
  l.add_signal_handler(SIGUSR1, [&] { ++first; });
  l.add_signal_handler(SIGUSR1, [&] { ++second; });
  ::raise(SIGUSR1);
  run_until(l, [&] { return second > 0; });
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  l.close();
}

TEST_F(Signals, RemoveRestoresTheMaskAndReportsWhetherThereWasOne) {
  aio::loop l;
  EXPECT_FALSE(l.remove_signal_handler(SIGUSR1));
  l.add_signal_handler(SIGUSR1, [] {});
  EXPECT_TRUE(blocked_here(SIGUSR1));
  EXPECT_TRUE(l.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(blocked_here(SIGUSR1));
  EXPECT_FALSE(l.remove_signal_handler(SIGUSR1));
  // Added again after the last removal: works as the first time.
  int calls = 0;
  l.add_signal_handler(SIGUSR1, [&] { ++calls; });
  ::raise(SIGUSR1);
  run_until(l, [&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(l.remove_signal_handler(SIGUSR1));
  l.close();
}

TEST_F(Signals, ASignalBlockedBeforeStaysBlockedAfterRemoval) {
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &one, nullptr);
  {
    aio::loop l;
    l.add_signal_handler(SIGUSR2, [] {});
    EXPECT_TRUE(l.remove_signal_handler(SIGUSR2));
    EXPECT_TRUE(blocked_here(SIGUSR2));
    l.close();
  }
  EXPECT_TRUE(blocked_here(SIGUSR2));
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
}

// A signal that arrived while handled but was not read yet must not hit the default action
// (terminate the process) when the handler is removed.
TEST_F(Signals, RemovingWithASignalPendingDoesNotKillTheProcess) {
  aio::loop l;
  int calls = 0;
  l.add_signal_handler(SIGUSR1, [&] { ++calls; });
  ::raise(SIGUSR1);
  ::kill(::getpid(), SIGUSR1);
  EXPECT_TRUE(l.remove_signal_handler(SIGUSR1));
  l.run_once(0);
  EXPECT_EQ(calls, 0);
  l.close();
}

TEST_F(Signals, SigkillSigstopAndBadNumbersAreRejected) {
  aio::loop l;
  EXPECT_THROW(l.add_signal_handler(SIGKILL, [] {}), std::invalid_argument);
  EXPECT_THROW(l.add_signal_handler(SIGSTOP, [] {}), std::invalid_argument);
  EXPECT_THROW(l.add_signal_handler(0, [] {}), std::invalid_argument);
  EXPECT_THROW(l.add_signal_handler(-1, [] {}), std::invalid_argument);
  EXPECT_THROW(l.add_signal_handler(NSIG, [] {}), std::invalid_argument);
  EXPECT_FALSE(blocked_here(SIGKILL));
  l.close();
}

TEST_F(Signals, AThrowingHandlerIsReportedAndTheLoopGoesOn) {
  tandem::test::unraisable_capture capture;
  aio::loop l;
  int later = 0;
  l.add_signal_handler(SIGUSR1, [] { throw std::runtime_error("boom"); });
  l.add_signal_handler(SIGUSR2, [&] { ++later; });
  ::raise(SIGUSR1);
  run_until(l, [&] { return !capture.messages().empty(); });
  ::raise(SIGUSR2);
  run_until(l, [&] { return later > 0; });
  ASSERT_EQ(capture.messages().size(), 1u);
  EXPECT_NE(capture.messages()[0].find("boom"), std::string::npos);
  EXPECT_EQ(later, 1);
  l.close();
}

TEST_F(Signals, AHandlerMayRemoveItself) {
  aio::loop l;
  int calls = 0;
  l.add_signal_handler(SIGUSR1, [&] {
    ++calls;
    l.remove_signal_handler(SIGUSR1);
  });
  ::raise(SIGUSR1);
  run_until(l, [&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(blocked_here(SIGUSR1));
  l.close();
}

namespace {
aio::task<int> wait_for_signal() {
  aio::loop& l = aio::get_running_loop();
  int got = 0;
  l.add_signal_handler(SIGUSR1, [&got] { got = SIGUSR1; });
  l.call_soon([] { ::kill(::getpid(), SIGUSR1); });
  while (got == 0) co_await aio::sleep(0.001);
  l.remove_signal_handler(SIGUSR1);
  co_return got;
}
}  // namespace

TEST_F(Signals, InsideAioRun) { EXPECT_EQ(aio::run(wait_for_signal()), SIGUSR1); }

TEST_F(Signals, ClosingWithASignalPendingDoesNotKillTheProcess) {
  aio::loop l;
  l.add_signal_handler(SIGUSR2, [] {});
  ::raise(SIGUSR2);
  l.close();  // restores the mask: the unread SIGUSR2 must not reach the default action
}
