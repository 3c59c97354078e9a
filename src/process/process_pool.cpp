// process_pool's I/O thread: the one owner of the workers, their pipes and what each holds.
//
// Submitting threads only encode and queue (under mu_) and wake the I/O thread through an eventfd.
// The I/O thread waits in epoll on: the eventfd; each worker's result pipe (results in the order
// tasks were sent); each worker's task pipe while it has bytes to write; each worker's pidfd
// (readable when the worker exits). It sends queued tasks to workers, a few at a time each (the
// "window": enough to hide the round trip for quick tasks, one for slow ones, so that load stays
// balanced), completes futures from results, and on a worker's exit reaps it and decides the
// fate of what it held (docs/process.md, "Faults").
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include "detail/protocol.hpp"
#include "tandem/cpu_count.hpp"
#include "tandem/process/process_pool.hpp"

namespace tandem {
namespace detail {
namespace {

using clock = std::chrono::steady_clock;
using namespace proto;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C".
int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
void pidfd_kill(int pidfd, int sig) { ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0); }

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  const char* desc = sigdescr_np(sig);
  std::string name = "signal " + std::to_string(sig);
  if (abbrev) name += std::string(" (SIG") + abbrev + (desc ? std::string(": ") + desc : "") + ")";
  return name;
}

// The bound on unfinished tasks (options::max_queued plus what workers hold): submit() blocks
// while it is reached. Counting is lock-free; the mutex and condition are touched only at the
// limit, so a pool that never fills pays two atomic operations per task.
class capacity {
 public:
  explicit capacity(std::size_t limit) : limit_(limit) {}
  // Takes a slot, blocking while there is none, unless `may_block` is false (the I/O thread,
  // which must never wait for itself). False if `open` turned false while waiting.
  template <class Open>
  bool acquire(bool may_block, Open open) {
    if (count_.fetch_add(1, std::memory_order_relaxed) < limit_ || !may_block) return true;
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return count_.load(std::memory_order_relaxed) <= limit_ || !open(); });
    if (count_.load(std::memory_order_relaxed) > limit_) {
      lk.unlock();  // release() may take mu_ to wake others
      release();
      return false;
    }
    return true;
  }
  void release() noexcept {
    if (count_.fetch_sub(1, std::memory_order_relaxed) > limit_) wake_all();
  }
  void wake_all() noexcept {
    std::lock_guard lk(mu_);  // so that a waiter between its check and its wait is not missed
    cv_.notify_all();
  }

 private:
  std::size_t limit_;
  std::atomic<std::size_t> count_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// One slot of the capacity, given back when the task is gone.
struct capacity_slot {
  capacity* of = nullptr;
  capacity_slot() = default;
  explicit capacity_slot(capacity* c) : of(c) {}
  capacity_slot(capacity_slot&& o) noexcept : of(std::exchange(o.of, nullptr)) {}
  capacity_slot& operator=(capacity_slot&&) = delete;
  ~capacity_slot() {
    if (of) of->release();
  }
};

struct pending {
  capacity_slot slot;
  std::uint64_t id = 0;
  state_ptr<state_base> st;
  complete_fn complete = nullptr;
  byte_buffer msg;  // header space + payload
  std::optional<seconds> timeout;
  clock::time_point sent_at{};
};
using pending_ptr = std::unique_ptr<pending>;

// epoll tags: the low 2 bits say which fd of a worker, the rest is the worker's slot number.
enum fd_role : std::uint64_t { role_wake = 0, role_from = 1, role_to = 2, role_pid = 3 };

struct worker {
  pid_t pid = 0;
  int pidfd = -1, to = -1, from = -1;
  std::size_t slot = 0;
  byte_buffer out;                   // frames not yet written
  std::size_t out_off = 0;           // bytes of `out` already written
  bool want_out = false;             // EPOLLOUT registered
  byte_buffer in;                    // bytes of frames not yet complete
  std::deque<pending_ptr> inflight;  // sent, unanswered, in the order sent
  std::size_t sent = 0;
  bool retiring = false;                   // said it leaves; send nothing more
  bool closed = false;                     // task pipe closed: it exits when done
  std::optional<std::string> kill_reason;  // we killed it (timeout, terminate)
  std::optional<std::string> failure;      // it said why it leaves (its initializer threw)
  bool timed_out = false;
  clock::time_point idle_since = clock::now();
  clock::time_point last_result{};
  double avg_task_s = 0;  // moving average of its service time
};

}  // namespace

class process_core {
 public:
  explicit process_core(process_pool::options o)
      : opts_(std::move(o)),
        method_(opts_.start_method.value_or(default_start_method())),
        processes_(opts_.processes ? opts_.processes : cpu_count()),
        room_(opts_.max_queued ? opts_.max_queued : 65536) {
    check_start_method(method_);  // here, not on the I/O thread: the caller gets the error
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ep_ < 0 || wake_ < 0) throw_errno("process_pool: epoll/eventfd");
    watch(wake_, EPOLLIN, role_wake, 0);
    try {
      for (std::size_t i = 0; i < processes_; ++i) spawn();
      io_ = std::thread([this] { io_loop(); });
      io_id_ = io_.get_id();
    } catch (...) {
      for (auto& w : workers_) {
        pidfd_kill(w->pidfd, SIGKILL);
        ::waitpid(w->pid, nullptr, 0);
        close_worker_fds(*w);
      }
      ::close(ep_);
      ::close(wake_);
      throw;
    }
  }

  ~process_core() {
    shutdown(true, false);
    for (auto& w : workers_) close_worker_fds(*w);
    ::close(ep_);
    ::close(wake_);
  }

  void enqueue(byte_buffer msg, state_base* st, complete_fn complete,
               std::optional<seconds> timeout) {
    state_ptr<state_base> owned(st);
    if (msg.size() - frame_header_bytes > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error("process_pool: a task larger than 4 GiB cannot be sent");
    bool on_io_thread = std::this_thread::get_id() == io_id_;
    if (!room_.acquire(!on_io_thread, [&] {
          std::lock_guard lk(mu_);
          return !stopping_ && broken_.empty();
        })) {
      std::lock_guard lk(mu_);
      if (!broken_.empty()) throw broken_pool(broken_);
      throw invalid_state_error("process_pool: shut down while submit() waited for room");
    }
    auto p = std::make_unique<pending>();
    p->slot.of = &room_;
    p->st = std::move(owned);
    p->complete = complete;
    p->msg = std::move(msg);
    p->timeout = timeout ? timeout : opts_.task_timeout;
    bool wake = false;
    {
      std::lock_guard lk(mu_);
      if (!broken_.empty()) throw broken_pool(broken_);
      if (stopping_) throw invalid_state_error("process_pool: submit after shutdown()");
      p->id = ++last_id_;
      submitted_.push_back(std::move(p));
      wake = !wake_pending_;
      wake_pending_ = true;
    }
    if (wake) poke();
  }

  void shutdown(bool wait, bool cancel_futures) {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
      if (cancel_futures) cancel_requested_ = true;
    }
    room_.wake_all();  // a submit() waiting for room now throws
    poke();
    if (wait) join();
  }

  void terminate() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
      terminate_requested_ = true;
    }
    room_.wake_all();
    poke();
    join();
  }

  std::size_t processes() const noexcept { return processes_; }
  start_method method() const noexcept { return method_; }

  std::vector<pid_t> pids() const {
    std::lock_guard lk(mu_);
    return pids_;
  }

 private:
  void join() {
    std::lock_guard lk(join_mu_);
    if (io_.joinable() && io_.get_id() != std::this_thread::get_id()) io_.join();
  }

  void poke() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  }

  void watch(int fd, std::uint32_t events, fd_role role, std::size_t slot) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (static_cast<std::uint64_t>(slot) << 2) | role;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("process_pool: epoll_ctl");
  }

  // ------------------------------------------------------------ worker lifecycle (I/O thread)
  void spawn() {
    int to_worker[2], from_worker[2];
    if (::pipe2(to_worker, O_CLOEXEC) < 0) throw_errno("process_pool: pipe2");
    if (::pipe2(from_worker, O_CLOEXEC) < 0) {
      ::close(to_worker[0]);
      ::close(to_worker[1]);
      throw_errno("process_pool: pipe2");
    }
    // 1 MiB pipes (the unprivileged maximum): fewer wake-ups for big chunks. Best effort.
    ::fcntl(to_worker[1], F_SETPIPE_SZ, 1 << 20);
    ::fcntl(from_worker[1], F_SETPIPE_SZ, 1 << 20);
    pid_t pid;
    try {
      pid = start_worker(method_, to_worker[0], from_worker[1]);
    } catch (...) {
      for (int fd : {to_worker[0], to_worker[1], from_worker[0], from_worker[1]}) ::close(fd);
      throw;
    }
    ::close(to_worker[0]);
    ::close(from_worker[1]);
    auto w = std::make_unique<worker>();
    w->pid = pid;
    w->to = to_worker[1];
    w->from = from_worker[0];
    w->pidfd = pidfd_open(pid);
    if (w->pidfd < 0) {
      int e = errno;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      close_worker_fds(*w);
      throw std::system_error(e, std::generic_category(), "process_pool: pidfd_open");
    }
    ::fcntl(w->to, F_SETFL, O_NONBLOCK);
    ::fcntl(w->from, F_SETFL, O_NONBLOCK);
    w->slot = next_slot_++;
    watch(w->from, EPOLLIN, role_from, w->slot);
    watch(w->pidfd, EPOLLIN, role_pid, w->slot);
    // hello (limits), then the initializer.
    {
      byte_buffer b;
      b.extend(frame_header_bytes);
      encoder e(b);
      tandem::encode(e, static_cast<std::uint64_t>(opts_.max_tasks_per_child));
      tandem::encode(e, static_cast<std::uint64_t>(opts_.max_memory_per_child));
      put_frame(*w, b, hello, 0);
    }
    if (!opts_.initializer.bytes.empty()) {
      byte_buffer b;
      b.extend(frame_header_bytes);
      b.append(opts_.initializer.bytes.data(), opts_.initializer.bytes.size());
      put_frame(*w, b, init, 0);
    }
    workers_.push_back(std::move(w));
    publish_pids();
  }

  // `gone`: a worker just reaped, left out even though it is still in workers_.
  void publish_pids(const worker* gone = nullptr) {
    std::vector<pid_t> ps;
    for (auto& w : workers_)
      if (w.get() != gone) ps.push_back(w->pid);
    std::lock_guard lk(mu_);
    pids_ = std::move(ps);
  }

  static void close_worker_fds(worker& w) {
    for (int* fd : {&w.pidfd, &w.to, &w.from})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
  }

  // Patches the header into `b` and queues the frame on w's task pipe.
  void put_frame(worker& w, byte_buffer& b, std::uint32_t kind, std::uint64_t id) {
    frame_header h{static_cast<std::uint32_t>(b.size() - frame_header_bytes), kind, id};
    std::memcpy(b.data(), &h, sizeof h);
    w.out.append(b.data(), b.size());
  }

  // Writes what w has queued; registers for EPOLLOUT when the pipe is full.
  void flush(worker& w) {
    while (w.out_off < w.out.size() && !w.closed) {
      ssize_t n = ::write(w.to, w.out.data() + w.out_off, w.out.size() - w.out_off);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        return;  // EPIPE: the worker is gone; its pidfd tells us
      }
      w.out_off += static_cast<std::size_t>(n);
    }
    if (w.out_off == w.out.size()) {
      w.out.clear();
      w.out_off = 0;
    } else if (w.out_off > (1u << 20)) {
      w.out.erase_front(w.out_off);
      w.out_off = 0;
    }
    bool want = w.out_off < w.out.size() && !w.closed;
    if (want != w.want_out && w.to >= 0) {
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u64 = (static_cast<std::uint64_t>(w.slot) << 2) | role_to;
      ::epoll_ctl(ep_, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w.to, &ev);
      w.want_out = want;
    }
  }

  // Closes w's task pipe once everything queued for it is written: it exits when done.
  void close_input(worker& w) {
    if (w.closed || w.out_off < w.out.size()) return;
    if (w.want_out) {
      ::epoll_ctl(ep_, EPOLL_CTL_DEL, w.to, nullptr);
      w.want_out = false;
    }
    ::close(w.to);
    w.to = -1;
    w.closed = true;
  }

  void kill_worker(worker& w, std::string reason) {
    if (!w.kill_reason) w.kill_reason = std::move(reason);
    pidfd_kill(w.pidfd, SIGKILL);
  }

  // ------------------------------------------------------------ dispatch (I/O thread)
  // How many unanswered tasks a worker may hold: enough to cover ~100 us of round trip for quick
  // tasks, one for tasks of 100 us and more, so a slow task never has work queued behind it that
  // an idle worker could do. 1 until its first answer says how long its tasks take. A worker
  // running a task with a timeout holds only that one, so the timeout counts from when it starts.
  static std::size_t window(const worker& w) {
    if (!w.inflight.empty() && w.inflight.front()->timeout) return 1;
    if (w.avg_task_s == 0) return 1;
    double n = 100e-6 / w.avg_task_s;
    return static_cast<std::size_t>(std::clamp(n, 1.0, 512.0));
  }

  bool can_take(const worker& w, const pending& p) const {
    if (w.retiring || w.closed || w.kill_reason) return false;
    if (opts_.max_tasks_per_child && w.sent >= opts_.max_tasks_per_child) return false;
    if (p.timeout && !w.inflight.empty()) return false;
    return w.inflight.size() < window(w);
  }

  void dispatch() {
    while (!queue_.empty()) {
      auto& p = *queue_.front();
      worker* best = nullptr;
      for (auto& w : workers_)
        if (can_take(*w, p) && (!best || w->inflight.size() < best->inflight.size()))
          best = w.get();
      if (!best) break;
      pending_ptr t = std::move(queue_.front());
      queue_.pop_front();
      if (t->st->status() == st_cancelled) continue;
      t->sent_at = clock::now();
      put_frame(*best, t->msg, task, t->id);
      // t->msg stays until the answer: a worker that retires hands back what it never started.
      best->sent++;
      best->inflight.push_back(std::move(t));
      // Only a worker's oldest task is running; the others wait in its pipe and can still be
      // cancelled (the worker then runs them and the result is dropped).
      if (best->inflight.size() == 1) best->inflight.front()->st->set_running();
    }
    for (auto& w : workers_)
      if (w->out_off < w->out.size()) flush(*w);
  }

  // ------------------------------------------------------------ results (I/O thread)
  void read_results(worker& w) {
    for (;;) {
      std::size_t old = w.in.size();
      w.in.extend(64 * 1024);
      ssize_t n = ::read(w.from, w.in.data() + old, 64 * 1024);
      if (n <= 0) {
        w.in.resize(old);
        if (n < 0 && errno == EINTR) continue;
        break;  // EAGAIN, or end: the pidfd reports the exit
      }
      w.in.resize(old + static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < 64 * 1024) break;
    }
    std::size_t pos = 0;
    while (w.in.size() - pos >= sizeof(frame_header)) {
      frame_header h;
      std::memcpy(&h, w.in.data() + pos, sizeof h);
      if (w.in.size() - pos - sizeof h < h.size) break;
      on_frame(w, h, w.in.data() + pos + sizeof h);
      pos += sizeof h + h.size;
    }
    w.in.erase_front(pos);
  }

  void on_frame(worker& w, const frame_header& h, const std::byte* payload) {
    decoder d(payload, h.size);
    switch (h.kind) {
      case result:
      case error: {
        if (w.inflight.empty() || w.inflight.front()->id != h.id) {
          kill_worker(w, "sent a result for a task it was not given");
          return;
        }
        pending_ptr t = std::move(w.inflight.front());
        w.inflight.pop_front();
        auto now = clock::now();
        double took =
            std::chrono::duration<double>(now - std::max(t->sent_at, w.last_result)).count();
        w.avg_task_s = w.avg_task_s == 0 ? took : 0.75 * w.avg_task_s + 0.25 * took;
        w.last_result = now;
        if (w.inflight.empty())
          w.idle_since = now;
        else
          w.inflight.front()->st->set_running();
        if (h.kind == result) {
          try {
            t->complete(*t->st.get(), d);
          } catch (const decode_error& e) {
            t->st->discard(std::make_exception_ptr(decode_error(
                std::string("process_pool: the result could not be decoded: ") + e.what())));
          } catch (...) {
            t->st->discard(std::current_exception());
          }
        } else {
          std::exception_ptr e;
          try {
            e = decode_exception(d, w.pid);
          } catch (...) {
            e = std::current_exception();
          }
          t->st->discard(std::move(e));
        }
        return;
      }
      case init_failed: {
        std::string why = "an exception";
        try {
          std::rethrow_exception(decode_exception(d, w.pid));
        } catch (...) {
          why = describe(std::current_exception());
        }
        w.failure = "process_pool: the initializer failed in worker pid " + std::to_string(w.pid) +
                    ": " + why;
        break_pool(*w.failure);
        return;
      }
      case retiring:
        w.retiring = true;
        return;
      default:
        kill_worker(w, "sent a frame of unknown kind " + std::to_string(h.kind));
    }
  }

  // ------------------------------------------------------------ exits (I/O thread)
  void on_exit(std::size_t index) {
    worker& w = *workers_[index];
    // Results it wrote before dying still count.
    read_results(w);
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w.pidfd), &info, WEXITED);
    publish_pids(&w);  // before any future fails: whoever sees the failure sees it gone
    std::string how = info.si_code == CLD_EXITED
                          ? "exited with code " + std::to_string(info.si_status)
                          : "was killed by " + signal_name(info.si_status);
    std::string who = "process_pool: worker pid " + std::to_string(w.pid) + " ";
    bool clean = info.si_code == CLD_EXITED && info.si_status == 0 && !w.kill_reason;
    if (w.kill_reason && !w.inflight.empty() && w.timed_out) {
      // Killed for its task's timeout: that task alone fails; a replacement starts.
      pending_ptr t = std::move(w.inflight.front());
      w.inflight.pop_front();
      t->st->discard(std::make_exception_ptr(timeout_error(*w.kill_reason)));
    } else if (w.kill_reason && terminating_) {
      for (auto& t : w.inflight)
        t->st->discard(std::make_exception_ptr(broken_pool("process_pool: terminated")));
      w.inflight.clear();
    } else if (w.failure) {
      for (auto& t : w.inflight) t->st->discard(std::make_exception_ptr(broken_pool(*w.failure)));
      w.inflight.clear();
    } else if (!clean || (!w.retiring && !w.inflight.empty())) {
      // Died: the task it was running fails, naming the cause.
      std::string cause = who + how + (w.kill_reason ? " (" + *w.kill_reason + ")" : "");
      if (!w.inflight.empty()) {
        pending_ptr t = std::move(w.inflight.front());
        w.inflight.pop_front();
        t->st->discard(std::make_exception_ptr(broken_pool(cause + " while running this task")));
      }
      if (!opts_.respawn) {
        for (auto& t : w.inflight)
          t->st->discard(std::make_exception_ptr(broken_pool(cause + " holding this task")));
        w.inflight.clear();
        break_pool(cause + "; the pool is broken (process_pool::options::respawn keeps going)");
      }
    }
    // What it still holds never started: send it elsewhere, first in line.
    while (!w.inflight.empty()) {
      queue_.push_front(std::move(w.inflight.back()));
      w.inflight.pop_back();
    }
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, w.from, nullptr);
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, w.pidfd, nullptr);
    if (w.want_out) ::epoll_ctl(ep_, EPOLL_CTL_DEL, w.to, nullptr);
    close_worker_fds(w);
    workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
    publish_pids();
  }

  void break_pool(const std::string& why) {
    {
      std::lock_guard lk(mu_);
      if (broken_.empty()) broken_ = why;
    }
    fail_queued(broken_pool(why));
    for (auto& w : workers_) close_input(*w);
  }

  template <class E>
  void fail_queued(const E& e) {
    take_submitted();
    for (auto& t : queue_) t->st->discard(std::make_exception_ptr(e));
    queue_.clear();
  }

  void take_submitted() {
    std::lock_guard lk(mu_);
    wake_pending_ = false;
    for (auto& p : submitted_) queue_.push_back(std::move(p));
    submitted_.clear();
  }

  // ------------------------------------------------------------ the loop (I/O thread)
  void io_loop() {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);  // EPIPE instead of SIGPIPE
    std::vector<epoll_event> events(64);
    for (;;) {
      bool stopping, cancel, terminate;
      {
        std::lock_guard lk(mu_);
        stopping = stopping_;
        cancel = cancel_requested_;
        terminate = terminate_requested_;
      }
      take_submitted();
      if (terminate && !terminating_) {
        terminating_ = true;
        for (auto& t : queue_) t->st->cancel();
        queue_.clear();
        for (auto& w : workers_) kill_worker(*w, "terminated");
      }
      if (cancel) {
        for (auto& t : queue_) t->st->cancel();
        queue_.clear();
      }
      bool broken;
      {
        std::lock_guard lk(mu_);
        broken = !broken_.empty();
      }
      if (broken && !queue_.empty()) fail_queued(broken_pool(broken_));
      keep_workers(stopping || broken);
      dispatch();
      if (stopping && queue_.empty())
        for (auto& w : workers_) close_input(*w);
      if (stopping && queue_.empty() && workers_.empty()) return;

      int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), next_timeout_ms());
      if (n < 0 && errno != EINTR) return;  // cannot happen with valid fds
      for (int i = 0; i < n; ++i) {
        auto tag = events[static_cast<std::size_t>(i)].data.u64;
        auto role = static_cast<fd_role>(tag & 3);
        std::size_t slot = tag >> 2;
        if (role == role_wake) {
          std::uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_, &v, sizeof v);
          continue;
        }
        auto it = std::find_if(workers_.begin(), workers_.end(),
                               [&](auto& w) { return w->slot == slot; });
        if (it == workers_.end()) continue;  // already gone this round
        if (role == role_from) read_results(**it);
        if (role == role_to) flush(**it);
        if (role == role_pid) on_exit(static_cast<std::size_t>(it - workers_.begin()));
      }
      check_timers();
    }
  }

  // Keeps `processes_` workers (on demand only, with an idle timeout); none once stopping.
  void keep_workers(bool stopping) {
    if (stopping && queue_.empty()) return;
    std::size_t live = 0;
    for (auto& w : workers_)
      if (!w->retiring && !w->closed && !w->kill_reason) ++live;
    bool on_demand = opts_.idle_timeout.has_value() || stopping;
    while (live < processes_ && (!on_demand || !queue_.empty())) {
      try {
        spawn();
      } catch (const std::exception& e) {
        break_pool(std::string("process_pool: cannot start a worker: ") + e.what());
        return;
      }
      ++live;
      if (on_demand && live >= queue_.size()) break;
    }
  }

  int next_timeout_ms() const {
    std::optional<clock::time_point> next;
    auto consider = [&](clock::time_point t) {
      if (!next || t < *next) next = t;
    };
    for (auto& w : workers_) {
      if (!w->inflight.empty() && w->inflight.front()->timeout && !w->kill_reason)
        consider(w->inflight.front()->sent_at +
                 std::chrono::duration_cast<clock::duration>(*w->inflight.front()->timeout));
      if (opts_.idle_timeout && w->inflight.empty() && !w->closed)
        consider(w->idle_since + std::chrono::duration_cast<clock::duration>(*opts_.idle_timeout));
    }
    if (!next) return -1;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
  }

  void check_timers() {
    auto now = clock::now();
    for (auto& w : workers_) {
      if (!w->inflight.empty() && w->inflight.front()->timeout && !w->kill_reason) {
        auto& t = *w->inflight.front();
        if (now - t.sent_at >= std::chrono::duration_cast<clock::duration>(*t.timeout)) {
          w->timed_out = true;
          kill_worker(*w, "process_pool: the task ran past its timeout of " +
                              std::to_string(t.timeout->count()) + " s; its worker pid " +
                              std::to_string(w->pid) + " was killed");
        }
      }
      if (opts_.idle_timeout && w->inflight.empty() && !w->closed &&
          now - w->idle_since >= std::chrono::duration_cast<clock::duration>(*opts_.idle_timeout))
        close_input(*w);
    }
  }

  process_pool::options opts_;
  start_method method_;
  std::size_t processes_;
  capacity room_;
  int ep_ = -1, wake_ = -1;

  mutable std::mutex mu_;
  std::deque<pending_ptr> submitted_;  // guarded by mu_
  std::uint64_t last_id_ = 0;          // guarded by mu_
  bool wake_pending_ = false;          // guarded by mu_: an eventfd write is on its way
  bool stopping_ = false;              // guarded by mu_
  bool cancel_requested_ = false;      // guarded by mu_
  bool terminate_requested_ = false;   // guarded by mu_
  std::string broken_;                 // guarded by mu_: why the pool is broken, or empty
  std::vector<pid_t> pids_;            // guarded by mu_

  // I/O thread only (and the constructor, before it starts):
  std::deque<pending_ptr> queue_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::size_t next_slot_ = 0;
  bool terminating_ = false;

  std::mutex join_mu_;
  std::thread io_;
  std::thread::id io_id_;  // written before any submit() can run
};

}  // namespace detail

process_pool::process_pool(options opts)
    : core_(std::make_unique<detail::process_core>(std::move(opts))) {}
process_pool::~process_pool() = default;

void process_pool::enqueue(byte_buffer msg, detail::state_base* st, detail::complete_fn complete,
                           std::optional<seconds> timeout) {
  core_->enqueue(std::move(msg), st, complete, timeout);
}
void process_pool::shutdown(bool wait, bool cancel_futures) {
  core_->shutdown(wait, cancel_futures);
}
void process_pool::terminate() { core_->terminate(); }
std::size_t process_pool::max_workers() const noexcept { return core_->processes(); }
std::vector<pid_t> process_pool::pids() const { return core_->pids(); }
start_method process_pool::start_method() const noexcept { return core_->method(); }

}  // namespace tandem
