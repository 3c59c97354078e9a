// The worker process's loop: read frames, run each task through its trampoline, write results.
//
// Results go back in the order tasks arrived, each written as soon as its task is done: a result
// still in this process's buffer would die with it if the next task crashed, and the parent
// could not tell which task was the culprit. (Tasks still arrive in batches: one read brings in
// all the parent has sent.)
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>

#include "detail/protocol.hpp"
#include "tandem/process/shared_array.hpp"

namespace tandem::detail::proto {
namespace {

using clock = std::chrono::steady_clock;

void write_all(int fd, const std::byte* p, std::size_t n) noexcept {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      ::_exit(0);  // the parent is gone: nobody wants the results
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Resident set size in bytes, from /proc/self/statm (pages).
std::size_t resident_bytes() noexcept {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

class worker {
 public:
  worker(int in, int out) : in_(in), out_(out) {}

  [[noreturn]] void run() noexcept {
    for (;;) {
      if (!fill()) leave();  // the parent closed our input: shutdown
      std::size_t pos = 0;
      while (in_buf_.size() - pos >= sizeof(frame_header)) {
        frame_header h;
        std::memcpy(&h, in_buf_.data() + pos, sizeof h);
        if (in_buf_.size() - pos - sizeof h < h.size) break;
        handle(h, in_buf_.data() + pos + sizeof h);
        pos += sizeof h + h.size;
        if (retire_) {
          flush();
          send_frame(retiring, 0);
          flush();
          leave();
        }
      }
      in_buf_.erase_front(pos);
      flush();
    }
  }

 private:
  // Reads whatever is there (blocking for at least one byte); false at end of input.
  bool fill() noexcept {
    std::size_t want = 64 * 1024;
    if (in_buf_.size() >= sizeof(frame_header)) {
      frame_header h;
      std::memcpy(&h, in_buf_.data(), sizeof h);
      std::size_t need = sizeof h + h.size;
      if (need > in_buf_.size()) want = std::max(want, need - in_buf_.size());
    }
    std::size_t old = in_buf_.size();
    try {
      in_buf_.extend(want);
    } catch (...) {
      ::_exit(3);  // out of memory for a frame: the parent reports the exit
    }
    for (;;) {
      ssize_t n = ::read(in_, in_buf_.data() + old, want);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_buf_.resize(old);
        return false;
      }
      in_buf_.resize(old + static_cast<std::size_t>(n));
      return true;
    }
  }

  void handle(const frame_header& h, const std::byte* payload) noexcept {
    decoder d(payload, h.size);
    switch (h.kind) {
      case hello:
        try {
          limits_.max_tasks = tandem::decode<std::uint64_t>(d);
          limits_.max_memory = tandem::decode<std::uint64_t>(d);
        } catch (...) {
          ::_exit(4);
        }
        if (limits_.max_memory) base_rss_ = resident_bytes();
        return;
      case init:
        if (!call(d, 0, init_failed, false)) {
          flush();
          leave();
        }
        if (limits_.max_memory) base_rss_ = resident_bytes();
        return;
      case task:
        call(d, h.id, error, true);
        flush();
        ++tasks_done_;
        if (limits_.max_tasks && tasks_done_ >= limits_.max_tasks) retire_ = true;
        if (limits_.max_memory) check_memory();
        return;
      default:
        ::_exit(5);  // not a frame of ours: the parent reports the exit
    }
  }

  // Runs the call in `d`; appends its result frame (or `fail_kind` with the exception). Returns
  // false if the call threw.
  bool call(decoder& d, std::uint64_t id, std::uint32_t fail_kind, bool send_result) noexcept {
    std::size_t mark = out_buf_.size();
    try {
      out_buf_.extend(sizeof(frame_header));
      encoder e(out_buf_);
      trampoline t = decode_trampoline(d);
      t(d, e);
      if (send_result) {
        finish_frame(mark, result, id);
      } else {
        out_buf_.resize(mark);  // an initializer's success needs no answer
      }
      return true;
    } catch (...) {
      out_buf_.resize(mark);
      try {
        out_buf_.extend(sizeof(frame_header));
        encoder e(out_buf_);
        encode_current_exception(e);
        finish_frame(mark, fail_kind, id);
      } catch (...) {
        ::_exit(6);  // cannot even encode the error (out of memory)
      }
      return false;
    }
  }

  void finish_frame(std::size_t mark, std::uint32_t kind, std::uint64_t id) {
    std::size_t payload = out_buf_.size() - mark - sizeof(frame_header);
    if (payload > UINT32_MAX) {
      out_buf_.resize(mark);
      throw std::length_error("process_pool: a result larger than 4 GiB cannot be sent");
    }
    frame_header h{static_cast<std::uint32_t>(payload), kind, id};
    std::memcpy(out_buf_.data() + mark, &h, sizeof h);
  }

  void send_frame(std::uint32_t kind, std::uint64_t id) noexcept {
    frame_header h{0, kind, id};
    out_buf_.append(&h, sizeof h);
  }

  void check_memory() noexcept {
    auto now = clock::now();
    if (now - last_memory_check_ < std::chrono::milliseconds(1)) return;
    last_memory_check_ = now;
    std::size_t rss = resident_bytes();
    if (rss > base_rss_ && rss - base_rss_ > limits_.max_memory) retire_ = true;
  }

  void flush() noexcept {
    if (out_buf_.size()) write_all(out_, out_buf_.data(), out_buf_.size());
    out_buf_.clear();
  }

  [[noreturn]] void leave() noexcept {
    flush();
    // _exit, not exit: a forked worker shares the parent's static objects, whose destructors
    // (and atexit handlers) are the parent's business, not the worker's.
    std::fflush(nullptr);
    ::_exit(0);
  }

  int in_, out_;
  byte_buffer in_buf_, out_buf_;
  worker_limits limits_;
  std::uint64_t tasks_done_ = 0;
  std::size_t base_rss_ = 0;
  bool retire_ = false;
  clock::time_point last_memory_check_{};
};

}  // namespace

void run_worker(int in, int out, pid_t parent) noexcept {
  // Exit with the parent (within a moment; the check after prctl closes the race where the
  // parent died before it).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);
  // The forking thread's signal mask and dispositions are not the worker's business.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);  // Ctrl-C goes to the whole group; the parent decides
  shared_array_after_fork_in_child();
  try {
    static worker w(in, out);  // static: the loop never returns, and its frame is not the stack's
    w.run();
  } catch (...) {
    ::_exit(7);
  }
}

}  // namespace tandem::detail::proto
