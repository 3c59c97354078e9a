// Helpers shared by tandem's tests: timing tolerance, unraisable capture, leak counters.
#pragma once

#include <dirent.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tandem/error.hpp"

namespace tandem::test {

/// STYLE.md: timing tolerances are +-100 ms; sanitizer builds are slower, so they get more.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr std::chrono::milliseconds tolerance{400};
#else
inline constexpr std::chrono::milliseconds tolerance{100};
#endif

/// tolerance in seconds, for comparing with durations measured as doubles.
inline constexpr double tolerance_s = std::chrono::duration<double>(tolerance).count();

/// Seconds since `t0` on the steady clock.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Replaces the unraisable hook for its lifetime and records "<where>: <message>" lines.
class unraisable_capture {
 public:
  unraisable_capture() {
    previous_ = tandem::set_unraisable_hook([this](const tandem::unraisable& u) {
      std::lock_guard lk(mu_);
      messages_.push_back(std::string(u.where) + ": " + tandem::describe(u.error));
    });
  }
  ~unraisable_capture() { tandem::set_unraisable_hook(std::move(previous_)); }
  unraisable_capture(const unraisable_capture&) = delete;
  unraisable_capture& operator=(const unraisable_capture&) = delete;
  std::vector<std::string> messages() {
    std::lock_guard lk(mu_);
    return messages_;
  }

 private:
  std::function<void(const tandem::unraisable&)> previous_;
  std::mutex mu_;
  std::vector<std::string> messages_;
};

/// Entries in a /proc directory: threads (/proc/self/task) or open fds (/proc/self/fd).
inline int count_entries(const char* dir) {
  int n = 0;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}
/// Threads in this process. The first call starts and joins one thread, so that runtime helper
/// threads started lazily on first thread creation (ThreadSanitizer's) are already counted.
inline int thread_count() {
  static const bool warmed = [] {
    std::thread([] {}).join();
    return true;
  }();
  (void)warmed;
  return count_entries("/proc/self/task");
}

}  // namespace tandem::test
