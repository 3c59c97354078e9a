// main() of the process-layer tests: tandem::process_init first (the spawn start method re-runs
// this binary as a worker, and the forkserver must start while the program is single-threaded),
// then GoogleTest, with a leak check after every test: no child process, file descriptor or
// /dev/shm segment may outlive the test that made it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tandem/process/shared_array.hpp"
#include "tandem/process/start.hpp"

namespace {

// Children of this process (zombies included): /proc/<pid>/stat's 4th field is the parent pid.
std::set<int> children() {
  std::set<int> out;
  const int self = ::getpid();
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    auto name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    int ppid;
    if (rest >> state >> ppid && ppid == self) out.insert(std::stoi(name));
  }
  return out;
}

std::set<std::string> entries(const char* dir, const std::string& prefix = "") {
  std::set<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.insert(name);
  }
  return out;
}

template <class T>
std::string join(const std::set<T>& s) {
  std::ostringstream o;
  for (auto& x : s) o << x << ' ';
  return o.str();
}

template <class T>
std::set<T> minus(const std::set<T>& a, const std::set<T>& b) {
  std::set<T> out;
  for (auto& x : a)
    if (!b.count(x)) out.insert(x);
  return out;
}

class leak_check : public ::testing::EmptyTestEventListener {
  std::set<int> children_;
  std::set<std::string> fds_, shm_;

  void OnTestStart(const ::testing::TestInfo&) override {
    children_ = children();
    fds_ = entries("/proc/self/fd");
    shm_ = entries("/dev/shm", "tandem-");
  }
  void OnTestEnd(const ::testing::TestInfo&) override {
    // Give exiting processes and trackers a moment (bounded), then compare.
    std::set<int> extra_children;
    std::set<std::string> extra_fds, extra_shm;
    for (int i = 0; i < 200; ++i) {
      extra_children = minus(children(), children_);
      extra_fds = minus(entries("/proc/self/fd"), fds_);
      extra_shm = minus(entries("/dev/shm", "tandem-"), shm_);
      if (extra_children.empty() && extra_fds.empty() && extra_shm.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!extra_children.empty()) ADD_FAILURE() << "leak: child processes " << join(extra_children);
    if (!extra_fds.empty()) ADD_FAILURE() << "leak: file descriptors " << join(extra_fds);
    if (!extra_shm.empty()) ADD_FAILURE() << "leak: /dev/shm segments " << join(extra_shm);
  }
};

}  // namespace

int main(int argc, char** argv) {
  tandem::process_init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  // The shared_array tracker's socket is the process's for good: open it before the first
  // snapshot, so that the test that happens to create the first array is not blamed for it.
  tandem::detail::shared_array_start_tracker();
  ::testing::UnitTest::GetInstance()->listeners().Append(new leak_check);
  return RUN_ALL_TESTS();
}
