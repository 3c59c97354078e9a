#include "tandem/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tandem {
namespace {

std::size_t affinity_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return static_cast<std::size_t>(CPU_COUNT(&set));
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The tightest cgroup v2 quota on the path from this process's cgroup up to the root.
std::size_t cgroup_v2_quota() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  if (path.empty()) return 0;
  std::size_t best = 0;
  for (;;) {
    std::size_t q = cpu_quota_from_cpu_max(read_line("/sys/fs/cgroup" + path + "/cpu.max").c_str());
    if (q && (!best || q < best)) best = q;
    if (path.empty() || path == "/") break;
    auto slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return best;
}

std::size_t cgroup_v1_quota() {
  long quota = std::atol(read_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").c_str());
  long period = std::atol(read_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us").c_str());
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<std::size_t>((quota + period - 1) / period);
}

}  // namespace

std::size_t cpu_quota_from_cpu_max(const char* line) noexcept {
  long long quota = 0, period = 0;
  if (std::sscanf(line, "%lld %lld", &quota, &period) != 2 || quota <= 0 || period <= 0) return 0;
  return static_cast<std::size_t>((quota + period - 1) / period);
}

std::size_t cpu_count() noexcept {
  std::size_t n = affinity_cpus();
  try {
    for (std::size_t q : {cgroup_v2_quota(), cgroup_v1_quota()})
      if (q) n = n ? std::min(n, q) : q;
  } catch (...) {
    // A cgroup file we cannot parse leaves the affinity count, as documented.
  }
  return std::max<std::size_t>(1, n);
}

}  // namespace tandem
