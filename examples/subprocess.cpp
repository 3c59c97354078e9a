// Child processes from the event loop: run a command and collect its output, feed a filter
// through pipes, give up on a slow child after a timeout, and stop a whole process group.
// Python: asyncio.create_subprocess_exec / create_subprocess_shell and Process.communicate.
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>

#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/subprocess.hpp"
#include "tandem/error.hpp"

namespace aio = tandem::aio;
namespace sp = tandem::aio::subprocess;

namespace {

aio::task<bool> demo() {
  bool ok = true;

  // 1. Run a command, read what it prints (proc = await create_subprocess_exec(..., stdout=PIPE)).
  aio::subprocess_options out_only;
  out_only.out = sp::pipe;
  aio::process echo =
      co_await aio::create_subprocess_exec("echo", "hello", "from a child", out_only);
  auto [said, nothing] = co_await echo.communicate();
  std::printf("echo said %s", said.c_str());
  ok = ok && said == "hello from a child\n" && echo.returncode() == 0;

  // 2. A filter: 100,000 lines through sort, far more than a pipe buffer holds. communicate
  //    writes and reads at the same time, so neither side blocks the other.
  std::string lines;
  for (int i = 100000; i > 0; --i) lines += std::to_string(i) + "\n";
  aio::subprocess_options filter;
  filter.in = sp::pipe;
  filter.out = sp::pipe;
  aio::process sort = co_await aio::create_subprocess_exec("sort", "-n", filter);
  auto [sorted, unused] = co_await sort.communicate(lines);
  std::printf("sort -n: %zu bytes, first line %s", sorted.size(),
              sorted.substr(0, sorted.find('\n') + 1).c_str());
  ok = ok && sorted.size() == lines.size() && sorted.starts_with("1\n2\n3\n");

  // 3. A slow child and a timeout: communicate raises timeout_error and leaves the child running
  //    (subprocess.Popen.communicate's contract); we decide to kill it.
  aio::process slow =
      co_await aio::create_subprocess_shell("echo started; exec sleep 60", out_only);
  try {
    co_await slow.communicate(std::nullopt, 0.2);
    ok = false;
  } catch (const tandem::timeout_error& e) {
    std::printf("timeout: %s\n", e.what());
  }
  slow.kill();
  auto [early, none] = co_await slow.communicate();  // what came before the timeout is kept
  std::printf("the slow child printed %s and ended with %d (killed by SIGKILL)\n",
              early.substr(0, early.size() - 1).c_str(), *slow.returncode());
  ok = ok && early == "started\n" && slow.returncode() == -SIGKILL;

  // 4. A shell that starts workers of its own: kill_group() stops all of them, not just the
  //    shell. The child must lead its own group (process_group = 0, or start_new_session).
  aio::subprocess_options group;
  group.process_group = 0;
  aio::process shell = co_await aio::create_subprocess_shell("sleep 60 & sleep 60 & wait", group);
  co_await aio::sleep(0.1);
  shell.kill_group();
  int rc = co_await shell.wait();
  std::printf("the shell and its two sleeps got SIGKILL: returncode %d\n", rc);
  ok = ok && rc == -SIGKILL;

  co_return ok;
}

}  // namespace

int main() {
  bool ok = aio::run(demo());
  std::printf(ok ? "subprocess example: ok\n" : "subprocess example: FAILED\n");
  return ok ? 0 : 1;
}
