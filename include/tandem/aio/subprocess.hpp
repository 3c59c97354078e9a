// Child processes driven by the loop: create_subprocess_exec / create_subprocess_shell and
// process (asyncio.subprocess, 3.12).
//
//   create_subprocess_exec --posix_spawn--> child (fds 0/1/2 only; empty signal mask)
//        |  pipe ends (parent side, non-blocking) --> stream_writer stdin / stream_reader stdout,
//        |                                            stderr (streams.hpp)
//        +- pidfd_open(child) --watch(EPOLLIN)--> the loop: the child exited --> waitid(P_PIDFD)
//                                                 reaps it, sets returncode, wakes wait()
//
// No SIGCHLD handler and no helper thread: each child has its own pidfd (Linux >= 5.3), which the
// loop watches until the child exits; the process is reaped on the loop's thread.
#pragma once

#include <sys/types.h>

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

/// Where a child's standard stream goes. Values: subprocess::inherit, subprocess::pipe,
/// subprocess::devnull, subprocess::to_stdout (stderr only), subprocess::from_fd(fd).
/// Follows asyncio.subprocess's PIPE / DEVNULL / STDOUT constants (and None for inherit).
class stdio {
 public:
  enum class kind : std::uint8_t { inherit, pipe, devnull, to_stdout, fd };
  constexpr stdio() noexcept = default;
  constexpr explicit stdio(kind k, int fd = -1) noexcept : kind_(k), fd_(fd) {}
  [[nodiscard]] constexpr kind mode() const noexcept { return kind_; }
  /// The descriptor of subprocess::from_fd; -1 otherwise.
  [[nodiscard]] constexpr int fd() const noexcept { return fd_; }

 private:
  kind kind_ = kind::inherit;
  int fd_ = -1;
};

namespace subprocess {
/// The child uses this process's own stream (the default; Python's None).
inline constexpr stdio inherit{stdio::kind::inherit};
/// A pipe to this process: process::stdin_stream() / stdout_stream() / stderr_stream().
inline constexpr stdio pipe{stdio::kind::pipe};
/// /dev/null (asyncio.subprocess.DEVNULL).
inline constexpr stdio devnull{stdio::kind::devnull};
/// For `err` only: stderr goes wherever stdout goes (asyncio.subprocess.STDOUT).
inline constexpr stdio to_stdout{stdio::kind::to_stdout};
/// A descriptor of this process (a file, a socket), duplicated into the child; the caller keeps
/// it and closes it when it wants.
constexpr stdio from_fd(int fd) noexcept { return stdio(stdio::kind::fd, fd); }
}  // namespace subprocess

/// How to start a child. Field names map Python's keyword arguments: in = stdin, out = stdout,
/// err = stderr.
struct subprocess_options {
  stdio in = subprocess::inherit;
  stdio out = subprocess::inherit;
  stdio err = subprocess::inherit;
  /// Working directory of the child; a relative program path is looked up from there (as Python
  /// does). nullopt: this process's.
  std::optional<std::string> cwd;
  /// The child's whole environment as "NAME=value" entries; nullopt: this process's. A program
  /// name without '/' is looked up in this environment's PATH when it has one (Python's
  /// os.get_exec_path(env)).
  std::optional<std::vector<std::string>> env;
  /// setsid() in the child: a new session and process group led by the child (Python 3.2+).
  bool start_new_session = false;
  /// setpgid(0, group) in the child: 0 puts it in a new process group of its own, > 0 joins that
  /// group (Python 3.11's process_group). Needed for process::kill_group().
  std::optional<pid_t> process_group;
  /// Buffer limit of the stdout/stderr stream_readers, in bytes (asyncio's limit, 64 KiB).
  std::size_t limit = 64 * 1024;
};

/// What process::communicate returns: everything the child wrote to its stdout and stderr pipes
/// (empty for a stream that is not a pipe). `auto [out, err] = co_await p.communicate();`
struct communicate_result {
  std::string out;
  std::string err;
};

namespace detail {
struct process_state;

// Waits for the child's exit (process::wait). Lives in the waiting coroutine's frame; linked into
// the process's waiter list while suspended.
class process_wait_awaiter final : public wait_target {
 public:
  explicit process_wait_awaiter(std::shared_ptr<process_state> st) noexcept : st_(std::move(st)) {}
  [[nodiscard]] bool await_ready() const noexcept;
  bool await_suspend(std::coroutine_handle<> h);
  int await_resume();

 private:
  friend struct process_state;
  bool cancel_wait() noexcept override;

  std::shared_ptr<process_state> st_;  // kept alive while a task waits
  task_base* task_ = nullptr;
  process_wait_awaiter* prev_ = nullptr;  // waiter list; linked iff suspended on the wait
  process_wait_awaiter* next_ = nullptr;
  bool linked_ = false;
  bool aborted_ = false;
};
}  // namespace detail

/// A child process started by create_subprocess_exec / create_subprocess_shell.
/// Follows asyncio.subprocess.Process (3.12).
///
/// Thread safety: loop thread only (the loop that created it); move-only.
/// Lifetime: destroying a process whose child still runs kills the child (SIGKILL, as asyncio's
/// transport does when it is closed) and reaps it before the destructor returns, so no zombie
/// is ever left; the child's own children (its process group) are not touched, use kill_group()
/// first for those. Destroy a process on its loop's thread, before the loop is destroyed.
class process {
 public:
  /// For the layer's factories; use create_subprocess_exec / create_subprocess_shell.
  explicit process(std::shared_ptr<detail::process_state> st) noexcept;
  process(process&&) noexcept = default;
  process& operator=(process&& other) noexcept;
  ~process();

  /// The child's process id.
  [[nodiscard]] pid_t pid() const noexcept;
  /// The exit status once the loop has seen the child exit: the exit code (>= 0), or -N if
  /// signal N ended it (Python's convention). nullopt while it runs.
  [[nodiscard]] std::optional<int> returncode() const noexcept;

  /// The pipe to the child's stdin / from its stdout / from its stderr; null unless that stream
  /// was subprocess::pipe. Follows Process.stdin / stdout / stderr.
  [[nodiscard]] stream_writer* stdin_stream() noexcept;
  [[nodiscard]] stream_reader* stdout_stream() noexcept;
  [[nodiscard]] stream_reader* stderr_stream() noexcept;

  /// Waits for the child to exit and returns its returncode. Follows Process.wait.
  ///
  /// Suspends: unless the exit is already known; a cancellation point (cancelling the wait
  /// leaves the child running).
  /// Completion: resumes on the loop after the child was reaped; any number of tasks may wait.
  /// A child blocked writing to a full stdout/stderr pipe that nobody reads never exits: read
  /// the pipes, or use communicate().
  [[nodiscard]] detail::process_wait_awaiter wait() noexcept;

  /// Writes `input` to stdin (then closes it), reads stdout and stderr to their end, waits for
  /// the child to exit, and returns what was read. Follows Process.communicate, with
  /// subprocess.Popen.communicate's `timeout` (seconds).
  ///
  /// Suspends: yes; a cancellation point.
  /// Cancellation and timeout: the child keeps running, nothing read is lost and no input is
  /// written twice: calling communicate() again continues where this call stopped (Popen's
  /// TimeoutExpired contract). Kill the child (kill()/kill_group()) to give up on it.
  /// Errors: timeout_error after `timeout`; std::invalid_argument if `input` is given and stdin
  /// is not a pipe; a child that stops reading early (EPIPE) is not an error.
  task<communicate_result> communicate(std::optional<std::string> input = std::nullopt,
                                       std::optional<double> timeout = std::nullopt);

  /// Sends signal `sig` to the child (pidfd_send_signal: never a recycled pid). Does nothing
  /// once the child was reaped (subprocess.Popen.send_signal).
  /// Errors: std::system_error (EINVAL for a bad signal number).
  void send_signal(int sig);
  /// send_signal(SIGTERM). Follows Process.terminate.
  void terminate();
  /// send_signal(SIGKILL). Follows Process.kill.
  void kill();
  /// Sends `sig` to the child's whole process group (killpg), grandchildren included, even after
  /// the child itself exited; nothing happens if the group is empty.
  /// Precondition: the child was started with `process_group` or `start_new_session` (otherwise
  /// the group is the caller's own): invalid_state_error.
  /// Errors: std::system_error (EINVAL for a bad signal number).
  void send_signal_group(int sig);
  /// send_signal_group(SIGKILL): kills the child and everything it started in its group.
  void kill_group();

 private:
  void close() noexcept;
  std::shared_ptr<detail::process_state> st_;
};

/// Starts `program` with arguments `args` (argv[0] is `program`); a name without '/' is looked
/// up in PATH. Follows asyncio.create_subprocess_exec (3.12).
///
/// The child gets only fds 0, 1, 2 (every other descriptor is closed in it), an empty signal
/// mask and default SIGPIPE/SIGXFSZ (signals this loop handles through signalfd are blocked
/// here, but never in the child). Spawning is posix_spawn (vfork-style: nothing but
/// async-signal-safe code runs in the child), so it is safe in a threaded program.
///
/// Suspends: no (the spawn is synchronous, as asyncio's is); the coroutine is lazy.
/// Errors: std::system_error with the child's exec error: ENOENT for a program (or cwd) that
/// does not exist (Python's FileNotFoundError), EACCES, ENOEXEC...; other system_errors if
/// pipes or the pidfd cannot be created (nothing is left behind).
/// Precondition: awaited inside a task.
task<process> create_subprocess_exec(std::string program, std::vector<std::string> args = {},
                                     subprocess_options options = {});

namespace detail {
inline void add_exec_arg(std::vector<std::string>& argv, subprocess_options&,
                         std::string_view arg) {
  argv.emplace_back(arg);
}
inline void add_exec_arg(std::vector<std::string>&, subprocess_options& options,
                         subprocess_options given) {
  options = std::move(given);
}
}  // namespace detail

/// An argument of the variadic create_subprocess_exec: a string, or the options.
template <class A>
concept subprocess_arg = std::convertible_to<A, std::string_view> ||
    std::same_as<std::remove_cvref_t<A>, subprocess_options>;

/// The same with the arguments spelled out, as Python's `create_subprocess_exec(program, *args,
/// stdin=PIPE)`: `create_subprocess_exec("cat", "-n", subprocess_options{.in = pipe})`.
/// Prefer it inside `co_await`: GCC 12 miscompiles a braced list (`{"-n"}`) that must live
/// across a co_await ("array used as initializer").
template <subprocess_arg... Args>
requires(sizeof...(Args) > 0) task<process> create_subprocess_exec(std::string program,
                                                                   Args&&... args) {
  std::vector<std::string> argv;
  argv.reserve(sizeof...(Args));
  subprocess_options options;
  (detail::add_exec_arg(argv, options, std::forward<Args>(args)), ...);
  return create_subprocess_exec(std::move(program), std::move(argv), std::move(options));
}

/// Runs `cmd` through "/bin/sh -c cmd". Follows asyncio.create_subprocess_shell; quoting is the
/// caller's job (shlex.quote), as in Python. Errors: as create_subprocess_exec.
task<process> create_subprocess_shell(std::string cmd, subprocess_options options = {});

}  // namespace tandem::aio
