// aio::create_subprocess_exec / create_subprocess_shell and aio::process, on real processes.
// Follows CPython's test_asyncio/test_subprocess.py where it applies. Every test ends with a
// leak check: no fd left open, no child left (running or zombie).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/subprocess.hpp"
#include "tandem/aio/task.hpp"
#include "test_support.hpp"

namespace aio = tandem::aio;
namespace sp = tandem::aio::subprocess;

namespace {

// True if this process has no child at all, running or zombie.
bool no_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD;
}

class Subprocess : public ::testing::Test {
 protected:
  void SetUp() override { fds_ = tandem::test::count_entries("/proc/self/fd"); }
  void TearDown() override {
    EXPECT_EQ(tandem::test::count_entries("/proc/self/fd"), fds_) << "fd leak";
    EXPECT_TRUE(no_children()) << "a child was left running or unreaped";
  }
  int fds_ = 0;
};

// Reads everything from `fd` (blocking) and closes it.
std::string slurp(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// A pipe whose write end the child gets through subprocess::from_fd; the test reads the other.
struct capture_pipe {
  int r = -1, w = -1;
  capture_pipe() {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    r = p[0];
    w = p[1];
  }
  // Closes our copy of the write end and returns all the child wrote.
  std::string take() {
    ::close(w);
    return slurp(r);
  }
};

aio::task<int> exit_code_of(std::string program, std::vector<std::string> args,
                            aio::subprocess_options o = {}) {
  aio::process p =
      co_await aio::create_subprocess_exec(std::move(program), std::move(args), std::move(o));
  EXPECT_GT(p.pid(), 0);
  EXPECT_FALSE(p.returncode().has_value());
  int rc = co_await p.wait();
  EXPECT_EQ(p.returncode(), rc);
  EXPECT_EQ(co_await p.wait(), rc);  // known now: no suspension, same answer
  co_return rc;
}

aio::task<int> shell_code(std::string cmd, aio::subprocess_options o = {}) {
  aio::process p = co_await aio::create_subprocess_shell(std::move(cmd), std::move(o));
  co_return co_await p.wait();
}

}  // namespace

TEST_F(Subprocess, ExitCodes) {
  EXPECT_EQ(aio::run(exit_code_of("/bin/true", {})), 0);
  EXPECT_EQ(aio::run(exit_code_of("false", {})), 1);  // found in PATH
  EXPECT_EQ(aio::run(exit_code_of("/bin/sh", {"-c", "exit 3"})), 3);
  EXPECT_EQ(aio::run(shell_code("exit 255")), 255);
}

TEST_F(Subprocess, ASignalIsANegativeReturncode) {
  EXPECT_EQ(aio::run(shell_code("kill -TERM $$")), -SIGTERM);
  EXPECT_EQ(aio::run(shell_code("kill -KILL $$")), -SIGKILL);
}

namespace {
aio::task<std::vector<int>> signal_a_sleeper() {
  std::vector<int> codes;
  const std::vector<int> sigs{SIGKILL, SIGTERM, SIGINT, SIGUSR1};  // GCC 12: no braced list here
  for (int sig : sigs) {
    aio::process p = co_await aio::create_subprocess_exec("sleep", "30");
    if (sig == SIGKILL)
      p.kill();
    else if (sig == SIGTERM)
      p.terminate();
    else
      p.send_signal(sig);
    codes.push_back(co_await p.wait());
    p.kill();  // after the exit: does nothing (subprocess.Popen.send_signal)
    p.send_signal(SIGTERM);
  }
  co_return codes;
}
}  // namespace

TEST_F(Subprocess, KillTerminateSendSignal) {
  EXPECT_EQ(aio::run(signal_a_sleeper()),
            (std::vector<int>{-SIGKILL, -SIGTERM, -SIGINT, -SIGUSR1}));
}

TEST_F(Subprocess, ProgramNotFoundIsENOENT) {
  try {
    aio::run(exit_code_of("/nonexistent/program", {}));
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/program"), std::string::npos);
  }
  try {
    aio::run(exit_code_of("tandem-no-such-program-in-path", {}));
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
  }
}

TEST_F(Subprocess, ExecErrorsReachTheParent) {
  std::string file = "/tmp/tandem_subprocess_test_noexec_" + std::to_string(::getpid());
  {
    std::ofstream f(file);
    f << "not a program\n";
  }
  try {  // no execute permission
    ::chmod(file.c_str(), 0644);
    aio::run(exit_code_of(file, {}));
    ADD_FAILURE() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::permission_denied);
  }
  try {  // executable, but no program inside (not even a #! line): exec says ENOEXEC
    ::chmod(file.c_str(), 0755);
    aio::run(exit_code_of(file, {}));
    ADD_FAILURE() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOEXEC);
  }
  ::unlink(file.c_str());
  aio::subprocess_options o;
  o.cwd = "/nonexistent/dir";
  EXPECT_THROW(aio::run(exit_code_of("/bin/true", {}, o)), std::system_error);
}

TEST_F(Subprocess, SignalsHandledByTheLoopAreNotBlockedInTheChild) {
  // The loop blocks SIGTERM for its signalfd; a child inheriting that mask would ignore
  // terminate() and this test would hang.
  auto body = []() -> aio::task<int> {
    aio::loop& l = aio::get_running_loop();
    l.add_signal_handler(SIGTERM, [] {});
    aio::process p = co_await aio::create_subprocess_exec("sleep", "30");
    p.terminate();
    int rc = co_await p.wait();
    l.remove_signal_handler(SIGTERM);
    co_return rc;
  };
  EXPECT_EQ(aio::run(body()), -SIGTERM);
}

TEST_F(Subprocess, DestroyingARunningProcessKillsAndReapsIt) {
  auto body = []() -> aio::task<pid_t> {
    aio::process p = co_await aio::create_subprocess_exec("sleep", "30");
    co_return p.pid();
  };  // p destroyed inside the task, the child still running
  pid_t pid = aio::run(body());
  EXPECT_GT(pid, 0);
  EXPECT_TRUE(no_children());  // reaped before the destructor returned
}

TEST_F(Subprocess, MovedProcessKeepsItsChild) {
  auto body = []() -> aio::task<int> {
    aio::process a = co_await aio::create_subprocess_shell("exit 5");
    aio::process b = std::move(a);
    aio::process c = co_await aio::create_subprocess_exec("sleep", "30");
    c = std::move(b);  // the sleeper is killed and reaped here
    co_return co_await c.wait();
  };
  EXPECT_EQ(aio::run(body()), 5);
}

namespace {
aio::task<int> wait_in_task(aio::process& p) { co_return co_await p.wait(); }

aio::task<std::vector<int>> many_waiters() {
  aio::process p = co_await aio::create_subprocess_shell("sleep 0.05; exit 9");
  auto a = aio::create_task(wait_in_task(p));
  auto b = aio::create_task(wait_in_task(p));
  std::vector<int> codes;
  codes.push_back(co_await p.wait());
  codes.push_back(co_await a);
  codes.push_back(co_await b);
  co_return codes;
}

aio::task<std::pair<bool, int>> cancel_a_wait() {
  aio::process p = co_await aio::create_subprocess_exec("sleep", "30");
  auto w = aio::create_task(wait_in_task(p));
  co_await aio::sleep(0.01);
  w.cancel();
  bool cancelled = false;
  try {
    co_await w;
  } catch (const tandem::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_FALSE(p.returncode().has_value());  // still running: a cancelled wait kills nothing
  p.kill();
  int rc = co_await p.wait();
  co_return std::pair{cancelled, rc};
}
}  // namespace

TEST_F(Subprocess, ManyTasksWaitForOneChild) {
  EXPECT_EQ(aio::run(many_waiters()), (std::vector<int>{9, 9, 9}));
}

TEST_F(Subprocess, CancellingAWaitLeavesTheChildRunning) {
  auto [cancelled, rc] = aio::run(cancel_a_wait());
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(rc, -SIGKILL);
}

TEST_F(Subprocess, StdioToFdsAndStderrToStdout) {
  capture_pipe cap;
  aio::subprocess_options o;
  o.out = sp::from_fd(cap.w);
  o.err = sp::to_stdout;
  EXPECT_EQ(aio::run(shell_code("echo out; echo err >&2", o)), 0);
  EXPECT_EQ(cap.take(), "out\nerr\n");
}

TEST_F(Subprocess, DevnullAndInherit) {
  capture_pipe cap;
  aio::subprocess_options o;
  o.in = sp::devnull;  // cat reads EOF at once
  o.out = sp::from_fd(cap.w);
  o.err = sp::devnull;
  EXPECT_EQ(aio::run(shell_code("cat; echo gone >&2; echo done", o)), 0);
  EXPECT_EQ(cap.take(), "done\n");
}

TEST_F(Subprocess, CwdAndEnv) {
  capture_pipe cap;
  aio::subprocess_options o;
  o.out = sp::from_fd(cap.w);
  o.cwd = "/tmp";
  o.env = std::vector<std::string>{"GREETING=hello", "PATH=/usr/bin:/bin"};
  EXPECT_EQ(aio::run(shell_code("echo $GREETING; pwd; exit 4", o)), 4);
  EXPECT_EQ(cap.take(), "hello\n/tmp\n");
  // A bare name is looked up in env's PATH; without a match there, it is not found.
  aio::subprocess_options no_path;
  no_path.env = std::vector<std::string>{"PATH=/nonexistent"};
  EXPECT_THROW(aio::run(exit_code_of("true", {}, no_path)), std::system_error);
  aio::subprocess_options with_path;
  with_path.env = std::vector<std::string>{"PATH=/nonexistent:/bin"};
  EXPECT_EQ(aio::run(exit_code_of("true", {}, with_path)), 0);
}

TEST_F(Subprocess, OnlyStdioIsInherited) {
  int leaky = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leaky, 3);
  std::string cmd = "test -e /proc/$$/fd/" + std::to_string(leaky);
  EXPECT_EQ(aio::run(shell_code(cmd)), 1);
  EXPECT_EQ(aio::run(shell_code("test -e /proc/$$/fd/2")), 0);  // the check can succeed
  ::close(leaky);
}

namespace {
// Reads the pid the shell wrote, then kills the group; the grandchild (a `sleep` the shell
// started in the background) must die with it.
aio::task<std::pair<int, pid_t>> kill_the_group(std::string pidfile, bool new_session) {
  aio::subprocess_options o;
  if (new_session)
    o.start_new_session = true;
  else
    o.process_group = 0;
  aio::process p =
      co_await aio::create_subprocess_shell("sleep 30 & echo $! > " + pidfile + "; wait", o);
  pid_t grandchild = 0;
  for (int i = 0; i < 500 && grandchild == 0; ++i) {
    co_await aio::sleep(0.01);
    std::ifstream f(pidfile);
    std::string line;
    if (std::getline(f, line) && !line.empty()) grandchild = std::stoi(line);
  }
  EXPECT_EQ(::getpgid(grandchild), p.pid());
  p.kill_group();
  int rc = co_await p.wait();
  co_return std::pair{rc, grandchild};
}

aio::task<void> group_needs_own_group() {
  aio::process p = co_await aio::create_subprocess_exec("sleep", "30");
  EXPECT_THROW(p.kill_group(), tandem::invalid_state_error);
  EXPECT_EQ(::getpgid(p.pid()), ::getpgrp());
}
}  // namespace

TEST_F(Subprocess, KillGroupKillsTheGrandchildren) {
  // Orphans are re-parented to us while we are a subreaper, so we can reap the grandchild and
  // see how it ended.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  for (bool new_session : {false, true}) {
    std::string pidfile = "/tmp/tandem_subprocess_test_" + std::to_string(::getpid());
    ::unlink(pidfile.c_str());
    auto [rc, grandchild] = aio::run(kill_the_group(pidfile, new_session));
    ::unlink(pidfile.c_str());
    EXPECT_EQ(rc, -SIGKILL);
    ASSERT_GT(grandchild, 0);
    int status = 0;
    ASSERT_EQ(::waitpid(grandchild, &status, 0), grandchild);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST_F(Subprocess, KillGroupNeedsItsOwnGroup) { aio::run(group_needs_own_group()); }

TEST_F(Subprocess, BadOptionsAreRejected) {
  aio::subprocess_options o;
  o.out = sp::to_stdout;
  EXPECT_THROW(aio::run(exit_code_of("/bin/true", {}, o)), std::invalid_argument);
  aio::subprocess_options both;
  both.start_new_session = true;
  both.process_group = 1;
  EXPECT_THROW(aio::run(exit_code_of("/bin/true", {}, both)), std::invalid_argument);
}

TEST_F(Subprocess, ManyChildrenAtOnce) {
  auto body = []() -> aio::task<int> {
    std::vector<aio::process> ps;
    for (int i = 0; i < 50; ++i)
      ps.push_back(co_await aio::create_subprocess_shell("exit " + std::to_string(i % 7)));
    int sum = 0;
    for (auto& p : ps) sum += co_await p.wait();
    co_return sum;
  };
  int expected = 0;
  for (int i = 0; i < 50; ++i) expected += i % 7;
  EXPECT_EQ(aio::run(body()), expected);
}

// ---------------------------------------------------------------- pipes and communicate

namespace {

aio::subprocess_options pipes(bool in, bool out, bool err) {
  aio::subprocess_options o;
  if (in) o.in = sp::pipe;
  if (out) o.out = sp::pipe;
  if (err) o.err = sp::pipe;
  return o;
}

aio::task<std::string> echo_through_a_pipe() {
  aio::process p = co_await aio::create_subprocess_exec("/bin/echo", "hello", pipes(0, 1, 0));
  EXPECT_EQ(p.stdin_stream(), nullptr);
  EXPECT_EQ(p.stderr_stream(), nullptr);
  std::string out = co_await p.stdout_stream()->read();
  EXPECT_EQ(co_await p.wait(), 0);
  co_return out;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

aio::task<std::pair<std::string, int>> cat_roundtrip(std::string input) {
  aio::process p = co_await aio::create_subprocess_exec("cat", pipes(1, 1, 0));
  auto [out, err] = co_await p.communicate(std::move(input));
  EXPECT_EQ(err, "");
  co_return std::pair{std::move(out), *p.returncode()};
}

aio::task<std::pair<aio::communicate_result, int>> out_and_err() {
  aio::process p = co_await aio::create_subprocess_shell(
      "echo out; echo err >&2; echo more; exit 2", pipes(0, 1, 1));
  auto r = co_await p.communicate();
  co_return std::pair{std::move(r), *p.returncode()};
}

aio::task<std::string> merged_stderr() {
  aio::subprocess_options o = pipes(0, 1, 0);
  o.err = sp::to_stdout;
  aio::process p = co_await aio::create_subprocess_shell("echo 1; echo 2 >&2; echo 3", o);
  auto r = co_await p.communicate();
  co_return r.out;
}

}  // namespace

TEST_F(Subprocess, EchoThroughAPipe) { EXPECT_EQ(aio::run(echo_through_a_pipe()), "hello\n"); }

TEST_F(Subprocess, CommunicateAMebibyteThroughCat) {
  // Far more than a pipe holds (64 KiB): deadlocks unless writing and reading overlap.
  std::string input = pattern(1 << 20);
  auto [out, rc] = aio::run(cat_roundtrip(input));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.size(), input.size());
  EXPECT_TRUE(out == input);
  EXPECT_EQ(aio::run(cat_roundtrip("")).first, "");
}

TEST_F(Subprocess, CommunicateStdoutAndStderr) {
  auto [r, rc] = aio::run(out_and_err());
  EXPECT_EQ(r.out, "out\nmore\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(rc, 2);
}

TEST_F(Subprocess, StderrToStdoutPipe) { EXPECT_EQ(aio::run(merged_stderr()), "1\n2\n3\n"); }

namespace {
aio::task<std::string> child_stops_reading() {
  aio::process p = co_await aio::create_subprocess_exec("head", "-c", "10", pipes(1, 1, 0));
  auto r = co_await p.communicate(pattern(1 << 20));  // EPIPE on the rest: not an error
  EXPECT_EQ(p.returncode(), 0);
  co_return r.out;
}

aio::task<void> input_needs_a_stdin_pipe() {
  aio::process p = co_await aio::create_subprocess_exec("true");
  bool threw = false;
  try {
    co_await p.communicate("data");
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(co_await p.wait(), 0);
}
}  // namespace

TEST_F(Subprocess, ChildThatStopsReadingIsNotAnError) {
  EXPECT_EQ(aio::run(child_stops_reading()), pattern(1 << 20).substr(0, 10));
}

TEST_F(Subprocess, InputWithoutAStdinPipeIsRejected) { aio::run(input_needs_a_stdin_pipe()); }

namespace {
// Follows subprocess.Popen.communicate's TimeoutExpired contract: the child keeps running and a
// second communicate() returns everything, including what was read before the timeout.
aio::task<std::string> timeout_then_retry() {
  aio::process p = co_await aio::create_subprocess_shell(
      "read x; echo got $x; sleep 0.3; echo second", pipes(1, 1, 0));
  double start = aio::get_running_loop().time();
  bool timed_out = false;
  try {
    co_await p.communicate("first\n", 0.1);
  } catch (const tandem::timeout_error&) {
    timed_out = true;
  }
  double took = aio::get_running_loop().time() - start;
  EXPECT_TRUE(timed_out);
  EXPECT_GE(took, 0.1);
  EXPECT_LT(took, 0.1 + 0.001 * tandem::test::tolerance.count());
  EXPECT_FALSE(p.returncode().has_value());  // left running, as Python does
  auto r = co_await p.communicate("ignored: the input was already sent\n");
  EXPECT_EQ(p.returncode(), 0);
  co_return r.out;
}

aio::task<int> timeout_then_kill() {
  aio::process p = co_await aio::create_subprocess_exec("sleep", "30", pipes(1, 1, 1));
  bool timed_out = false;
  try {
    co_await p.communicate(std::nullopt, 0.02);
  } catch (const tandem::timeout_error&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  p.kill();
  auto r = co_await p.communicate();
  EXPECT_EQ(r.out, "");
  co_return *p.returncode();
}

aio::task<aio::communicate_result> communicate_in_task(aio::process& p) {
  co_return co_await p.communicate();
}

aio::task<std::string> cancel_communicate() {
  aio::process p =
      co_await aio::create_subprocess_shell("echo early; exec sleep 30", pipes(0, 1, 0));
  auto c = aio::create_task(communicate_in_task(p));
  co_await aio::sleep(0.05);
  c.cancel();
  bool cancelled = false;
  try {
    co_await c;
  } catch (const tandem::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(p.returncode().has_value());
  p.kill();
  auto r = co_await p.communicate();  // "early" was read by the cancelled call: not lost
  co_return r.out;
}
}  // namespace

TEST_F(Subprocess, CommunicateTimeoutLeavesTheChildRunningAndLosesNothing) {
  EXPECT_EQ(aio::run(timeout_then_retry()), "got first\nsecond\n");
}

TEST_F(Subprocess, CancelledCommunicateLeavesTheChildRunningAndLosesNothing) {
  EXPECT_EQ(aio::run(cancel_communicate()), "early\n");
}

TEST_F(Subprocess, CommunicateTimeoutThenKill) {
  EXPECT_EQ(aio::run(timeout_then_kill()), -SIGKILL);
}

namespace {
aio::task<std::string> interactive_cat() {
  aio::process p = co_await aio::create_subprocess_exec("cat", pipes(1, 1, 0));
  std::string lines;
  for (int i = 0; i < 3; ++i) {
    p.stdin_stream()->write("line " + std::to_string(i) + "\n");
    co_await p.stdin_stream()->drain();
    lines += co_await p.stdout_stream()->readline();
  }
  p.stdin_stream()->close();
  EXPECT_EQ(co_await p.stdout_stream()->read(), "");  // cat saw EOF and ended
  EXPECT_EQ(co_await p.wait(), 0);
  co_return lines;
}

aio::task<std::string> read_a_line_then_communicate() {
  aio::process p = co_await aio::create_subprocess_shell("echo a; echo b; echo c", pipes(0, 1, 0));
  std::string first = co_await p.stdout_stream()->readline();
  auto r = co_await p.communicate();
  co_return first + "|" + r.out;
}

aio::task<void> destroy_with_open_pipes() {
  aio::process p = co_await aio::create_subprocess_exec("cat", pipes(1, 1, 1));
  p.stdin_stream()->write("unread");
  co_return;  // p goes: cat is killed and reaped, the three pipes closed
}
}  // namespace

TEST_F(Subprocess, InteractiveReadlineThroughCat) {
  EXPECT_EQ(aio::run(interactive_cat()), "line 0\nline 1\nline 2\n");
}

TEST_F(Subprocess, ReadALineThenCommunicate) {
  EXPECT_EQ(aio::run(read_a_line_then_communicate()), "a\n|b\nc\n");
}

TEST_F(Subprocess, DestroyingWithOpenPipesLeaksNothing) { aio::run(destroy_with_open_pipes()); }

namespace {
// The child writes and exits at once: the data and the hang-up can arrive as one epoll edge.
aio::task<std::string> read_chunks_until_eof() {
  aio::process p = co_await aio::create_subprocess_shell("echo x", pipes(0, 1, 0));
  co_await p.wait();  // both the data and the hang-up are there before the first read
  std::string all;
  while (true) {
    std::string chunk = co_await p.stdout_stream()->read(65536);
    if (chunk.empty()) break;
    all += chunk;
  }
  co_return all;
}
}  // namespace

TEST_F(Subprocess, ChunkedReadsSeeTheEndAfterAQuickExit) {
  EXPECT_EQ(aio::run(read_chunks_until_eof()), "x\n");
}
