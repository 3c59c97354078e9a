// Starting worker processes: fork, forkserver and spawn, and tandem::process_init.
//
// Whatever the method, a worker ends up as a child of the pool's process (so the pool can wait
// for it and learn its exit status through a pidfd), with its two pipe ends on fds 3 and 4 and no
// other descriptor open but 0, 1 and 2.
//   fork        the pool's I/O thread forks; the child closes everything else and runs the worker.
//   forkserver  a helper forked by process_init while the program is single-threaded receives the
//               two fds over a unix socket and clones a worker with CLONE_PARENT, which makes the
//               worker the pool process's child, not its own.
//   spawn       posix_spawn of /proc/self/exe with the same arguments; process_init, the first
//               line of main, sees TANDEM_PROCESS_WORKER and runs the worker.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "detail/protocol.hpp"
#include "tandem/process/start.hpp"

extern char** environ;

namespace tandem {
namespace {

constexpr const char* worker_env = "TANDEM_PROCESS_WORKER";

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// The forkserver's socket (this process's end), or -1. Written once by process_init.
int forkserver_fd = -1;
pid_t forkserver_owner = 0;  // the process that started it: a forked child must not use it
bool init_called = false;
std::mutex forkserver_mu;  // one request at a time on the socket

// Moves `in` and `out` to fds 3 and 4 and closes every other descriptor above 2, then runs the
// worker. For a child of fork() or clone(): only async-signal-safe calls until run_worker.
[[noreturn]] void become_worker(int in, int out, pid_t parent) noexcept {
  // Out of the way first, so that dup2 onto 3 and 4 cannot clobber the other end.
  int hi_in = ::fcntl(in, F_DUPFD, 10);
  int hi_out = ::fcntl(out, F_DUPFD, 10);
  if (hi_in < 0 || hi_out < 0 || ::dup2(hi_in, 3) < 0 || ::dup2(hi_out, 4) < 0) ::_exit(127);
  ::close_range(5, ~0U, 0);
  detail::proto::run_worker(3, 4, parent);
}

bool single_threaded() {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
  if (ec) return false;
  return std::distance(it, std::filesystem::directory_iterator{}) == 1;
}

// The forkserver's loop: for each request (two fds and the pool's pid), clone a worker whose
// parent is the pool's process, and answer with its pid (or -errno).
[[noreturn]] void forkserver_main(int sock, pid_t parent) noexcept {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);
  ::signal(SIGCHLD, SIG_DFL);
  for (;;) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(0);  // the program closed its end or died
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int))) ::_exit(1);
    int fds[2];
    std::memcpy(fds, CMSG_DATA(c), sizeof fds);
    // A raw clone, not fork(): only the kernel's fork can take CLONE_PARENT. Fine here because
    // this process is single-threaded; glibc's raise() asks the kernel for the thread id, so
    // abort() in the worker signals the worker.
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0L);
    if (pid == 0) {
      ::close(sock);
      become_worker(fds[0], fds[1], parent);
    }
    int answer = pid < 0 ? -errno : static_cast<int>(pid);
    ::close(fds[0]);
    ::close(fds[1]);
    if (::write(sock, &answer, sizeof answer) != sizeof answer) ::_exit(1);
  }
}

void start_forkserver() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    throw_errno("process_init: socketpair");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("process_init: fork");
  if (pid == 0) {
    ::close(sv[0]);
    int s = ::fcntl(sv[1], F_DUPFD, 3);
    ::dup2(s, 3);
    ::close_range(4, ~0U, 0);
    forkserver_main(3, parent);
  }
  ::close(sv[1]);
  forkserver_fd = sv[0];
  forkserver_owner = parent;
}

pid_t start_by_fork(int in, int out) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("process_pool: fork");
  if (pid == 0) become_worker(in, out, parent);
  return pid;
}

pid_t start_by_forkserver(int in, int out) {
  std::lock_guard lk(forkserver_mu);
  char byte = 'w';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {in, out};
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  while (::sendmsg(forkserver_fd, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) throw_errno("process_pool: the forkserver is gone (sendmsg)");
  int answer = 0;
  ssize_t n;
  while ((n = ::read(forkserver_fd, &answer, sizeof answer)) < 0 && errno == EINTR) {
  }
  if (n != sizeof answer) throw_errno("process_pool: the forkserver is gone (read)");
  if (answer < 0) throw std::system_error(-answer, std::generic_category(), "forkserver: clone");
  return answer;
}

// The program's arguments, from the kernel, so that spawn needs nothing saved.
std::vector<std::string> own_arguments() {
  std::string all;
  int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("process_pool: /proc/self/cmdline");
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::vector<std::string> args;
  std::size_t pos = 0;
  while (pos < all.size()) {
    auto end = all.find('\0', pos);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(pos, end - pos));
    pos = end + 1;
  }
  return args;
}

pid_t start_by_spawn(int in, int out) {
  auto args = own_arguments();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string marker = std::string(worker_env) + "=" + std::to_string(::getpid());
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, worker_env, std::strlen(worker_env)) != 0) envp.push_back(*e);
  envp.push_back(marker.data());
  envp.push_back(nullptr);

  int hi_in = ::fcntl(in, F_DUPFD_CLOEXEC, 10), hi_out = ::fcntl(out, F_DUPFD_CLOEXEC, 10);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, hi_in, 3);
  posix_spawn_file_actions_adddup2(&fa, hi_out, 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(hi_in);
  ::close(hi_out);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "process_pool: posix_spawn");
  return pid;
}

}  // namespace

void process_init(int argc, char** argv) {
  (void)argc;
  (void)argv;
  if (const char* parent = std::getenv(worker_env)) {
    pid_t p = static_cast<pid_t>(std::atol(parent));
    ::unsetenv(worker_env);
    detail::proto::run_worker(3, 4, p);
  }
  if (init_called) return;
  init_called = true;
  if (single_threaded()) start_forkserver();
}

namespace {
// The forkserver clones workers as children of the process that started it, so only that
// process may use it.
bool have_forkserver() noexcept { return forkserver_fd >= 0 && ::getpid() == forkserver_owner; }
}  // namespace

start_method default_start_method() noexcept {
  return have_forkserver() ? start_method::forkserver : start_method::fork;
}

namespace detail {
void check_start_method(start_method method) {
  if (method == start_method::spawn && !init_called)
    throw invalid_state_error(
        "process_pool: start_method::spawn re-executes this program, whose main must begin with "
        "tandem::process_init(argc, argv) (docs/process.md)");
  if (method == start_method::forkserver && !have_forkserver())
    throw invalid_state_error(
        "process_pool: start_method::forkserver needs tandem::process_init(argc, argv) as the "
        "first line of main, while the program is single-threaded; a process forked from that "
        "program has none (docs/process.md)");
}

pid_t start_worker(start_method method, int in, int out) {
  check_start_method(method);
  switch (method) {
    case start_method::fork:
      return start_by_fork(in, out);
    case start_method::spawn:
      return start_by_spawn(in, out);
    case start_method::forkserver:
      return start_by_forkserver(in, out);
  }
  throw std::invalid_argument("process_pool: unknown start method");
}
}  // namespace detail

}  // namespace tandem
