// What the event-loop benchmarks (W3, W3b, W4 of shared/bench/WORKLOADS.md, and the loopback
// echo) share: each is a small standalone program, one run per process, printing one JSON line in
// the format of the Python peers (shared/peers/python), so that bench/run.sh records every system
// the same way and bench/table.py reads them all with one parser.
//
// Why standalone programs rather than Google Benchmark suites: W3's memory figure is the peak RSS
// of a fresh process minus its baseline, which a suite running many benchmarks in one process
// cannot give (the peak of an earlier benchmark would hide a later one's), and the Python peers
// are one run per process too, so both sides are measured alike.
//
// Fields every program prints (names as the Python peers'): workload, method, n, wall_s, rate
// (per second, where the workload has one), check; W3 adds inproc_baseline_rss_kb (VmRSS before
// spawning), inproc_peak_rss_kb (VmHWM after the run) and inproc_rss_per_task_bytes. Two more that
// the Python peers lack: cores (this process's CPU time / wall) and others_cpu (cores other
// processes used meanwhile, from /proc/stat; see cpu_usage.hpp).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "cpu_usage.hpp"

namespace tandem_bench {

/// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 if it cannot be read.
inline long proc_status_kb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':')
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

/// One JSON object on one line, built field by field (the values here are numbers and plain
/// identifiers, so strings are written without escaping).
class json_line {
 public:
  json_line& add(const char* key, const std::string& value) {
    std::string quoted(1, '"');
    quoted.append(value).push_back('"');
    return raw(key, quoted);
  }
  json_line& add(const char* key, const char* value) { return add(key, std::string(value)); }
  json_line& add(const char* key, long long value) { return raw(key, std::to_string(value)); }
  json_line& add(const char* key, long value) { return add(key, static_cast<long long>(value)); }
  json_line& add(const char* key, int value) { return add(key, static_cast<long long>(value)); }
  json_line& add(const char* key, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", value);
    return raw(key, buf);
  }
  /// Prints the object and a newline on stdout (run.sh takes the last JSON line of the output).
  void print() const {
    std::printf("{%s}\n", body_.c_str());
    std::fflush(stdout);
  }

 private:
  json_line& raw(const char* key, const std::string& value) {
    // Appends piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict, its bug 105329) about
    // `"literal" + std::string`.
    if (!body_.empty()) body_.append(", ");
    body_.append(1, '"').append(key).append("\": ").append(value);
    return *this;
  }
  std::string body_;
};

/// Wall clock and CPU use from construction: elapsed() in seconds, and add_to() writes wall_s,
/// cores and others_cpu.
class run_meter {
 public:
  run_meter() : t0_(cpu_ticks::now()), ours0_(process_cpu_seconds()), wall0_(clock::now()) {}

  [[nodiscard]] double elapsed() const {
    return std::chrono::duration<double>(clock::now() - wall0_).count();
  }

  /// Adds "wall_s" = `wall` (seconds, measured by the caller with elapsed() where the workload
  /// ended) and the CPU figures up to now.
  void add_to(json_line& out, double wall) const {
    const cpu_ticks t1 = cpu_ticks::now();
    const double span = elapsed();
    const double ours = process_cpu_seconds() - ours0_;
    const double others = span > 0 ? (t1.busy - t0_.busy - ours) / span : 0.0;
    out.add("wall_s", wall)
        .add("cores", span > 0 ? ours / span : 0.0)
        .add("others_cpu", others > 0 ? others : 0.0);
  }

 private:
  using clock = std::chrono::steady_clock;
  cpu_ticks t0_;
  double ours0_;
  clock::time_point wall0_;
};

/// Parses argv[i] as a positive integer, or returns `fallback` when there is no argv[i].
/// A malformed argument ends the program with a message (these are command lines for run.sh).
inline long arg_long(int argc, char** argv, int i, long fallback) {
  if (i >= argc) return fallback;
  char* end = nullptr;
  const long v = std::strtol(argv[i], &end, 10);
  if (end == argv[i] || *end != '\0' || v < 0) {
    std::fprintf(stderr, "%s: argument %d: expected a non-negative integer, got '%s'\n", argv[0], i,
                 argv[i]);
    std::exit(2);
  }
  return v;
}

/// Ends the program with `msg` (a wrong result: it must never become a figure in the table).
[[noreturn]] inline void fail(const std::string& msg) {
  std::fprintf(stderr, "FAILED: %s\n", msg.c_str());
  std::exit(1);
}

// The workloads' sizes, from shared/bench/WORKLOADS.md; the same for every system.
inline constexpr long w3_tasks = 100'000;     // W3: sleeping coroutines
inline constexpr double w3_sleep_s = 1.0;     // W3: each sleeps this long (seconds)
inline constexpr long w3b_tasks = 1'000'000;  // W3b: coroutines that return at once
inline constexpr int w4_capacity = 1024;      // W4: queue capacity (items)
inline constexpr int w4_producers = 4;        // W4
inline constexpr int w4_consumers = 4;        // W4
inline constexpr int w4_per_producer = 250'000;
inline constexpr long long w4_items = static_cast<long long>(w4_producers) * w4_per_producer;
/// W4: the sum of every item 0..w4_items-1 (producer k puts k*250,000 .. (k+1)*250,000-1).
inline constexpr long long w4_sum = w4_items * (w4_items - 1) / 2;
// Echo (bench/run.sh's defaults; the same for every system): connections, messages each, bytes.
inline constexpr long echo_connections = 100;
inline constexpr long echo_messages = 1'000;
inline constexpr long echo_message_bytes = 64;

/// The byte at position `j` of message `i` of connection `c`: every message differs, so an echo
/// that returned the wrong bytes, or another connection's, fails the check.
inline char echo_byte(long c, long i, long j) {
  return static_cast<char>('a' + (c * 7 + i * 3 + j) % 26);
}

}  // namespace tandem_bench
