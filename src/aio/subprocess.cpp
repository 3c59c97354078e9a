#include "tandem/aio/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "tandem/aio/detail/join.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/detail/assert.hpp"
#include "tandem/error.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace tandem::aio {
namespace detail {
namespace {

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37), and older glibcs
// have no wrappers at all.
int sys_pidfd_open(pid_t pid) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int sys_pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

[[noreturn]] void throw_errno(int e, const std::string& what) {
  throw std::system_error(e, std::generic_category(), what);
}

// Closes a descriptor on scope exit unless released.
class fd_guard {
 public:
  fd_guard() = default;
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_guard& operator=(fd_guard&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// Returns a close-on-exec duplicate of `fd` numbered 3 or above: the child's dup2 onto 0/1/2
// must never overwrite a descriptor that a later dup2 still reads.
fd_guard high_dup(int fd) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) throw_errno(errno, "create_subprocess: fcntl(F_DUPFD_CLOEXEC)");
  return fd_guard(d);
}

// A pipe with both ends close-on-exec and numbered >= 3; `parent_end` (0 = read, 1 = write) is
// made non-blocking, the child's end stays blocking (programs expect blocking stdio).
void make_pipe(fd_guard& parent, fd_guard& child, int parent_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno(errno, "create_subprocess: pipe2");
  fd_guard ends[2] = {fd_guard(p[0]), fd_guard(p[1])};
  for (auto& e : ends)
    if (e.get() < 3) e = high_dup(e.get());
  int flags = ::fcntl(ends[parent_end].get(), F_GETFL);
  if (flags < 0 || ::fcntl(ends[parent_end].get(), F_SETFL, flags | O_NONBLOCK) != 0)
    throw_errno(errno, "create_subprocess: fcntl(O_NONBLOCK)");
  parent = std::move(ends[parent_end]);
  child = std::move(ends[1 - parent_end]);
}

// RAII for posix_spawn's two attribute objects.
struct spawn_config {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_config() {
    if (int e = ::posix_spawn_file_actions_init(&actions)) throw_errno(e, "posix_spawn");
    if (int e = ::posix_spawnattr_init(&attr)) {
      ::posix_spawn_file_actions_destroy(&actions);
      throw_errno(e, "posix_spawn");
    }
  }
  ~spawn_config() {
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&actions);
  }
  spawn_config(const spawn_config&) = delete;
  spawn_config& operator=(const spawn_config&) = delete;
};

void check(int e, const char* what) {
  if (e != 0) throw_errno(e, std::string("create_subprocess: ") + what);
}

// Finds `program` in the PATH of `env` ("NAME=value" entries) as execvp would; nullopt when
// env has no PATH (then posix_spawnp searches this process's PATH).
std::optional<std::string> search_env_path(const std::string& program,
                                           const std::vector<std::string>& env) {
  const std::string* path = nullptr;
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = &e;
  if (!path) return std::nullopt;
  std::string_view dirs = std::string_view(*path).substr(5);
  int error = ENOENT;
  while (true) {
    std::size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string candidate = dir.empty() ? program : std::string(dir) + "/" + program;
    struct stat sb {};
    if (::stat(candidate.c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      error = EACCES;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  throw_errno(error, "create_subprocess_exec: " + program);
}

}  // namespace

// One child: its pidfd (watched by the loop until the child exits), its pipes, the waiters of
// wait(), and what an interrupted communicate() already did. Owned by the process object and
// shared with communicate()'s helper tasks.
struct process_state final : io_source {
  loop* owner = nullptr;
  pid_t pid = -1;
  pid_t pgid = -1;  // the child's own process group, or -1 when it shares ours
  int pidfd = -1;   // open (and watched) until the child was reaped
  std::optional<int> returncode;
  process_wait_awaiter* waiters = nullptr;  // head of the wait() list

  std::optional<stream_writer> in;  // engaged for a pipe
  std::optional<stream_reader> out;
  std::optional<stream_reader> err;

  // communicate() progress, kept across a timeout or cancellation so a retry loses nothing.
  bool communicating = false;
  bool input_written = false;  // the input went into the stdin writer's buffer
  std::string out_data, err_data;

  process_state() = default;
  process_state(const process_state&) = delete;
  process_state& operator=(const process_state&) = delete;
  ~process_state() {
    if (pidfd >= 0) ::close(pidfd);
  }

  void on_events(std::uint32_t) noexcept override { reap(false); }

  // Collects the child's exit status if it exited (`block`: wait for it). On success the pidfd
  // is unwatched and closed and every waiter is woken. True once reaped.
  bool reap(bool block) noexcept {
    if (returncode) return true;
    siginfo_t info{};
    int flags = WEXITED | (block ? 0 : WNOHANG);
    int r;
    do {
      r = ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, flags);
    } while (r != 0 && errno == EINTR);
    if (r != 0 && errno == EINVAL) {  // kernel < 5.4: no P_PIDFD; the pid is still ours
      do {
        r = ::waitid(P_PID, static_cast<id_t>(pid), &info, flags);
      } while (r != 0 && errno == EINTR);
    }
    if (r != 0) {
      // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, a stray waitpid(-1)); the
      // status is lost. asyncio reports 255 in this case, and so do we.
      returncode = 255;
    } else if (info.si_pid == 0) {
      return false;  // still running (WNOHANG)
    } else if (info.si_code == CLD_EXITED) {
      returncode = info.si_status;
    } else {  // CLD_KILLED, CLD_DUMPED
      returncode = -info.si_status;
    }
    owner->unwatch(pidfd);
    ::close(pidfd);
    pidfd = -1;
    while (process_wait_awaiter* w = waiters) {
      unlink(w);
      w->task_->wake();
    }
    return true;
  }

  void link(process_wait_awaiter* w) noexcept {
    w->prev_ = nullptr;
    w->next_ = waiters;
    if (waiters) waiters->prev_ = w;
    waiters = w;
    w->linked_ = true;
  }
  void unlink(process_wait_awaiter* w) noexcept {
    if (!w->linked_) return;
    if (w->prev_)
      w->prev_->next_ = w->next_;
    else
      waiters = w->next_;
    if (w->next_) w->next_->prev_ = w->prev_;
    w->prev_ = w->next_ = nullptr;
    w->linked_ = false;
  }

  // Sends `sig` to the child unless it was reaped (its pid may belong to another process now;
  // the pidfd never does).
  void signal(int sig) {
    if (returncode) return;
    if (sys_pidfd_send_signal(pidfd, sig) != 0 && errno != ESRCH)
      throw_errno(errno, "process::send_signal");
  }

  // Ends the child's life as seen from here: SIGKILL if it runs, then reap (blocking: SIGKILL
  // cannot be caught, so the wait is the kernel's teardown, typically well under a millisecond).
  void kill_and_reap() noexcept {
    if (returncode) return;
    if (!reap(false)) {
      sys_pidfd_send_signal(pidfd, SIGKILL);
      reap(true);
    }
  }
};

bool process_wait_awaiter::await_ready() const noexcept { return st_->returncode.has_value(); }

bool process_wait_awaiter::await_suspend(std::coroutine_handle<> h) {
  task_ = task_base::current();
  TANDEM_ASSERT(task_, "process::wait awaited outside a task (use aio::run or create_task)");
  if (!task_->may_suspend()) return false;
  st_->link(this);
  task_->suspend(h, this);
  return true;
}

int process_wait_awaiter::await_resume() {
  if (task_) {
    task_->checkpoint();
    if (aborted_) task_->throw_cancelled_wait();
  }
  return *st_->returncode;
}

bool process_wait_awaiter::cancel_wait() noexcept {
  st_->unlink(this);
  aborted_ = true;
  task_->wake();
  return true;
}

namespace {

// Waits until every task of `tasks` is done, or until `timeout` seconds pass (returns false).
// Cancelling the waiting task cancels every task still running and raises cancelled_error only
// once all of them are done: communicate's helpers never outlive it. (detail::join is the same
// machinery gather uses.)
task<bool> join_helpers(std::vector<task_base*> tasks, std::optional<double> timeout) {
  join j(join::until::all_done, /*forward_cancel=*/true);
  j.watch(tasks);
  timer_guard guard;
  if (timeout && !j.satisfied()) {
    join* jp = &j;
    guard.timer = get_running_loop().call_later(std::max(0.0, *timeout), [jp] { jp->force(); });
  }
  while (!j.satisfied()) co_await j.wait();
  if (j.cancel_requested()) {
    while (j.pending() > 0) co_await j.wait();  // a deadline may have cut the wait short
    j.waiting_task()->throw_cancelled_wait();
  }
  co_return j.pending() == 0;
}

// ---- communicate's three helpers. Each keeps its progress in the state, so that cancelling
// it (timeout) loses nothing.

task<void> feed_stdin(std::shared_ptr<process_state> st, std::optional<std::string> input) {
  const stream_writer& w = *st->in;
  try {
    if (input && !st->input_written && !input->empty()) w.write(*input);
    st->input_written = true;
    co_await w.drain();
    w.close();
  } catch (const std::system_error& e) {
    // The child stopped reading (exited, closed stdin): Python ignores BrokenPipeError and
    // ConnectionResetError here.
    if (e.code() != std::errc::broken_pipe && e.code() != std::errc::connection_reset) throw;
    w.close();
  }
}

task<void> read_to_end(std::shared_ptr<process_state> st, bool from_err) {
  const stream_reader& r = from_err ? *st->err : *st->out;
  std::string& sink = from_err ? st->err_data : st->out_data;
  while (true) {
    std::string chunk = co_await r.read(64 * 1024);
    if (chunk.empty()) break;
    sink += chunk;
  }
}

task<void> wait_exit(std::shared_ptr<process_state> st) {
  co_await process_wait_awaiter(std::move(st));
}

// Marks `hs`' outcomes retrieved and rethrows the first failure that is not a cancellation.
void collect(std::vector<task_handle<void>>& hs) {
  std::exception_ptr first;
  for (auto& h : hs) {
    try {
      if (auto e = h.exception(); e && !first) first = e;
    } catch (const cancelled_error&) {  // a helper we cancelled
    }
  }
  if (first) std::rethrow_exception(first);
}

std::vector<task_base*> bases(std::vector<task_handle<void>>& hs) {
  std::vector<task_base*> v;
  v.reserve(hs.size());
  for (auto& h : hs) v.push_back(&h.promise());
  return v;
}

struct communicating_scope {
  process_state& st;
  explicit communicating_scope(process_state& s) : st(s) {
    TANDEM_ASSERT(!st.communicating, "process::communicate called while another one runs");
    st.communicating = true;
  }
  ~communicating_scope() { st.communicating = false; }
  communicating_scope(const communicating_scope&) = delete;
  communicating_scope& operator=(const communicating_scope&) = delete;
};

task<communicate_result> communicate_impl(std::shared_ptr<process_state> st,
                                          std::optional<std::string> input,
                                          std::optional<double> timeout) {
  if (input && !st->in)
    throw std::invalid_argument("process::communicate: input given but stdin is not a pipe");
  task_base* self = task_base::current();
  TANDEM_ASSERT(self, "process::communicate awaited outside a task");
  self->checkpoint();  // a pending cancel ends us here, before any helper starts
  communicating_scope scope(*st);

  std::vector<task_handle<void>> helpers;
  helpers.reserve(4);
  if (st->in) helpers.push_back(create_task(feed_stdin(st, std::move(input)), *st->owner));
  if (st->out) helpers.push_back(create_task(read_to_end(st, false), *st->owner));
  if (st->err) helpers.push_back(create_task(read_to_end(st, true), *st->owner));
  helpers.push_back(create_task(wait_exit(st), *st->owner));

  bool finished;
  try {
    finished = co_await join_helpers(bases(helpers), timeout);
  } catch (const cancelled_error&) {
    collect(helpers);  // all done (join_helpers waited); a real failure wins over the cancel
    throw;
  }
  if (!finished) {
    for (auto& h : helpers) h.cancel();
    co_await join_helpers(bases(helpers), std::nullopt);
    collect(helpers);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", *timeout);
    throw timeout_error(std::string("process::communicate: the child did not finish within ") +
                        seconds + " seconds");
  }
  collect(helpers);
  communicate_result result{std::move(st->out_data), std::move(st->err_data)};
  st->out_data.clear();
  st->err_data.clear();
  co_return result;
}

}  // namespace
}  // namespace detail

// ------------------------------------------------------------------ process

process::process(std::shared_ptr<detail::process_state> st) noexcept : st_(std::move(st)) {}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    close();
    st_ = std::move(other.st_);
  }
  return *this;
}

process::~process() { close(); }

void process::close() noexcept {
  if (!st_) return;
  st_->kill_and_reap();
  st_.reset();
}

pid_t process::pid() const noexcept { return st_->pid; }
std::optional<int> process::returncode() const noexcept { return st_->returncode; }
stream_writer* process::stdin_stream() noexcept { return st_->in ? &*st_->in : nullptr; }
stream_reader* process::stdout_stream() noexcept { return st_->out ? &*st_->out : nullptr; }
stream_reader* process::stderr_stream() noexcept { return st_->err ? &*st_->err : nullptr; }

detail::process_wait_awaiter process::wait() noexcept { return detail::process_wait_awaiter(st_); }

task<communicate_result> process::communicate(std::optional<std::string> input,
                                              std::optional<double> timeout) {
  return detail::communicate_impl(st_, std::move(input), timeout);
}

void process::send_signal(int sig) { st_->signal(sig); }
void process::terminate() { st_->signal(SIGTERM); }
void process::kill() { st_->signal(SIGKILL); }

void process::send_signal_group(int sig) {
  if (st_->pgid <= 0)
    throw invalid_state_error(
        "process::send_signal_group: the child shares this process's group; start it with "
        "process_group = 0 or start_new_session = true");
  if (::killpg(st_->pgid, sig) != 0 && errno != ESRCH)
    detail::throw_errno(errno, "process::send_signal_group");
}
void process::kill_group() { send_signal_group(SIGKILL); }

// ------------------------------------------------------------------ spawning

namespace {

// The parent's ends of the child's pipes.
struct spawned {
  pid_t pid = -1;
  detail::fd_guard pidfd, in, out, err;
};

// Sets up one of the child's fds 0/1/2 (`target`) as `s` says. `parent`/`child` receive a
// pipe's ends; `keep` holds duplicates that must live until posix_spawn returned.
void plan_stdio(detail::spawn_config& cfg, const stdio& s, int target, detail::fd_guard& parent,
                std::vector<detail::fd_guard>& keep) {
  using detail::check;
  switch (s.mode()) {
    case stdio::kind::inherit:
      return;
    case stdio::kind::pipe: {
      detail::fd_guard child;
      detail::make_pipe(parent, child, target == 0 ? 1 : 0);
      check(::posix_spawn_file_actions_adddup2(&cfg.actions, child.get(), target), "dup2");
      keep.push_back(std::move(child));
      return;
    }
    case stdio::kind::devnull:
      check(::posix_spawn_file_actions_addopen(&cfg.actions, target, "/dev/null",
                                               target == 0 ? O_RDONLY : O_WRONLY, 0),
            "open(/dev/null)");
      return;
    case stdio::kind::to_stdout:
      if (target != 2) throw std::invalid_argument("subprocess::to_stdout is for stderr only");
      check(::posix_spawn_file_actions_adddup2(&cfg.actions, 1, 2), "dup2");
      return;
    case stdio::kind::fd: {
      if (s.fd() < 0) throw std::invalid_argument("subprocess::from_fd: negative descriptor");
      int fd = s.fd();
      if (fd < 3) {  // a later dup2 onto 0/1/2 might overwrite it: use a high copy
        keep.push_back(detail::high_dup(fd));
        fd = keep.back().get();
      }
      check(::posix_spawn_file_actions_adddup2(&cfg.actions, fd, target), "dup2");
      return;
    }
  }
}

spawned spawn(const std::vector<std::string>& argv, const subprocess_options& o) {
  using detail::check;
  detail::spawn_config cfg;
  spawned sp;
  std::vector<detail::fd_guard> keep;  // child ends: closed here once the child has them
  plan_stdio(cfg, o.in, 0, sp.in, keep);
  plan_stdio(cfg, o.out, 1, sp.out, keep);
  plan_stdio(cfg, o.err, 2, sp.err, keep);
  // Only 0/1/2 cross over, even descriptors someone opened without O_CLOEXEC (Python's
  // close_fds=True).
  check(::posix_spawn_file_actions_addclosefrom_np(&cfg.actions, 3), "closefrom");
  if (o.cwd) check(::posix_spawn_file_actions_addchdir_np(&cfg.actions, o.cwd->c_str()), "chdir");

  // The loop blocks the signals it handles (signalfd); a child must not inherit that mask.
  // SIGPIPE/SIGXFSZ back to default as Python's restore_signals does (we may ignore SIGPIPE).
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t mask, defaults;
  sigemptyset(&mask);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGXFSZ);
  check(::posix_spawnattr_setsigmask(&cfg.attr, &mask), "sigmask");
  check(::posix_spawnattr_setsigdefault(&cfg.attr, &defaults), "sigdefault");
  std::optional<pid_t> group = o.process_group;
  if (o.start_new_session) {
    if (group && *group != 0)
      throw std::invalid_argument(
          "create_subprocess: start_new_session makes the child lead its own group; "
          "process_group must be unset or 0");
    group.reset();
    flags |= POSIX_SPAWN_SETSID;
  }
  if (group) {
    if (*group < 0) throw std::invalid_argument("create_subprocess: negative process_group");
    flags |= POSIX_SPAWN_SETPGROUP;
    check(::posix_spawnattr_setpgroup(&cfg.attr, *group), "setpgroup");
  }
  check(::posix_spawnattr_setflags(&cfg.attr, flags), "flags");

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (o.env) {
    envp.reserve(o.env->size() + 1);
    for (const auto& e : *o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  char* const* env = o.env ? envp.data() : environ;

  const std::string& program = argv[0];
  std::optional<std::string> resolved;
  if (o.env && program.find('/') == std::string::npos)
    resolved = detail::search_env_path(program, *o.env);
  // glibc's posix_spawn runs the child in a CLONE_VFORK clone and hands an exec (or chdir)
  // failure back as its return value: the parent learns ENOENT before it returns.
  int e = resolved
              ? ::posix_spawn(&sp.pid, resolved->c_str(), &cfg.actions, &cfg.attr, args.data(), env)
          : program.find('/') != std::string::npos
              ? ::posix_spawn(&sp.pid, program.c_str(), &cfg.actions, &cfg.attr, args.data(), env)
              : ::posix_spawnp(&sp.pid, program.c_str(), &cfg.actions, &cfg.attr, args.data(), env);
  if (e != 0) detail::throw_errno(e, "create_subprocess_exec: " + program);

  // The child is ours and unreaped, so its pid cannot be reused before pidfd_open.
  int pidfd = detail::sys_pidfd_open(sp.pid);
  if (pidfd < 0) {
    int err = errno;
    ::kill(sp.pid, SIGKILL);
    while (::waitpid(sp.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    detail::throw_errno(err, "create_subprocess: pidfd_open (Linux >= 5.3 is required)");
  }
  sp.pidfd = detail::fd_guard(pidfd);
  return sp;
}

task<process> spawn_process(std::vector<std::string> argv, subprocess_options options) {
  // A coroutine, as asyncio's is; the spawn itself does not suspend.
  loop& l = get_running_loop();
  spawned sp = spawn(argv, options);
  auto st = std::make_shared<detail::process_state>();
  st->owner = &l;
  st->pid = sp.pid;
  st->pidfd = sp.pidfd.release();
  if (options.start_new_session || options.process_group == 0)
    st->pgid = sp.pid;
  else if (options.process_group)
    st->pgid = *options.process_group;
  process p(st);  // from here on, an error kills and reaps the child
  l.watch(st->pidfd, EPOLLIN, st.get());
  // from_fd owns the fd from here on (epoll always accepts a pipe).
  if (sp.in.get() >= 0) st->in = stream_writer::from_fd(sp.in.release());
  if (sp.out.get() >= 0) st->out = stream_reader::from_fd(sp.out.release(), {options.limit});
  if (sp.err.get() >= 0) st->err = stream_reader::from_fd(sp.err.release(), {options.limit});
  co_return std::move(p);
}

}  // namespace

task<process> create_subprocess_exec(std::string program, std::vector<std::string> args,
                                     subprocess_options options) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.push_back(std::move(program));
  for (auto& a : args) argv.push_back(std::move(a));
  return spawn_process(std::move(argv), std::move(options));
}

task<process> create_subprocess_shell(std::string cmd, subprocess_options options) {
  return spawn_process({"/bin/sh", "-c", std::move(cmd)}, std::move(options));
}

}  // namespace tandem::aio
