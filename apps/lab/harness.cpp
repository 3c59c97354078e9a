#include "lab/harness.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include <fmt/format.h>

namespace tandem::lab {
namespace {

double cpu_seconds(int who) {
  rusage u{};
  if (getrusage(who, &u) != 0) throw std::system_error(errno, std::generic_category(), "getrusage");
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// CPU seconds every CPU of the machine spent busy (user, nice, system, irq, softirq, and steal:
// time the hypervisor gave to someone else) since boot, from /proc/stat; nothing if unreadable.
std::optional<double> machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string label;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (!(in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      label != "cpu")
    return std::nullopt;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) return std::nullopt;
  return static_cast<double>(user + nice + system + irq + softirq + steal) /
         static_cast<double>(hz);
}

// Resets the process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0: "5" to clear_refs).
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// VmHWM from /proc/self/status, in bytes; 0 if unreadable.
std::uint64_t peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      std::uint64_t kib = 0;
      in >> kib;
      return kib * 1024;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

std::string describe_method(const row& r) {
  return r.method == "sequential" ? r.method : fmt::format("{} ({} workers)", r.method, r.workers);
}

}  // namespace

// A process_pool's workers are this process's children and are reaped when the pool shuts down
// inside method::run, so their work counts as pool threads' work does.
double process_cpu_seconds() { return cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN); }

measurement measure(const method& m, const workload& w) {
  measurement out;
  bool peak_known = reset_peak_rss();
  double cpu0 = process_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  out.results = m.run(w);
  auto t1 = std::chrono::steady_clock::now();
  out.cpu_s = process_cpu_seconds() - cpu0;
  out.wall_s = std::chrono::duration<double>(t1 - t0).count();
  if (peak_known) out.peak_rss_bytes = peak_rss();
  return out;
}

std::vector<row> run_experiment(experiment& e, std::size_t cores, reporter& out,
                                std::size_t repeats) {
  if (repeats == 0) repeats = std::max<std::size_t>(1, e.default_repeats());
  if (auto own = e.run_itself(cores, out, repeats)) return std::move(*own);
  prepared p = e.prepare(cores);
  auto methods = e.methods(cores);
  if (repeats > 1) p.notes.push_back(fmt::format("each row is the median of {} runs", repeats));
  out.begin_experiment({.name = e.name(),
                        .summary = e.summary(),
                        .size = p.size,
                        .parameters = p.parameters,
                        .cores = cores,
                        .notes = p.notes,
                        .columns = e.columns()});
  std::vector<row> rows;
  // Whatever the machine did beyond this process while the methods ran is someone else's load.
  auto busy0 = machine_busy_seconds();
  double cpu0 = process_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::optional<answer> reference;  // the first whole (unsampled) run
  std::string reference_method;
  auto finish_row = [&](row& r) {
    // A run too fast for the clock to see has no meaningful ratio; NaN prints as "-" and null.
    if (!rows.empty()) r.speedup = r.wall_s > 0 ? rows.front().wall_s / r.wall_s : std::nan("");
    r.metrics = e.metrics(r);
  };
  for (const auto& m : methods) {
    // A sampling method runs the first sample() tasks; its times are scaled to all of them.
    const workload* work = p.work.get();
    std::unique_ptr<workload> sampled;
    if (std::size_t n = m->sample(); n > 0 && n < p.work->task_count()) {
      sampled = p.work->prefix(n);
      if (!sampled)
        throw check_error(fmt::format("{}: {} runs a sample, but the workload cannot be sampled",
                                      e.name(), m->name()));
      work = sampled.get();
    }
    double scale = static_cast<double>(p.work->task_count()) /
                   static_cast<double>(std::max<std::size_t>(1, work->task_count()));
    std::vector<row> runs;
    for (std::size_t k = 0; k < repeats; ++k) {
      measurement t = measure(*m, *work);
      if (t.results.size() != work->task_count())
        throw check_error(fmt::format("{}: {} returned {} results for {} tasks", e.name(),
                                      m->name(), t.results.size(), work->task_count()));
      row r{.experiment = e.name(),
            .method = m->name(),
            .workers = m->workers(),
            .wall_s = t.wall_s * scale,
            .cpu_s = t.cpu_s * scale,
            .speedup = 1.0,
            .runs = 1,
            .sample = sampled ? work->task_count() : 0,
            .peak_rss_bytes = t.peak_rss_bytes,
            .metrics = {},
            .result = work->reduce(t.results)};
      std::optional<std::string> problem;
      if (auto wrong = work->check(r.result))
        problem =
            fmt::format("{}: {} got a wrong answer: {}", e.name(), describe_method(r), *wrong);
      else if (e.methods_agree() && reference && !sampled && r.result != *reference)
        problem = fmt::format("{}: methods disagree: {} answered {}, but {} answered {}", e.name(),
                              describe_method(r), e.answer_text(r.result), reference_method,
                              e.answer_text(*reference));
      if (problem) {
        finish_row(r);
        out.add_row(r, e.answer_json(r.result));  // show the offending row before failing
        throw check_error(*problem);
      }
      // A sample's answer covers fewer tasks: only whole runs set the reference.
      if (!reference && !sampled) {
        reference = r.result;
        reference_method = m->name();
      }
      runs.push_back(std::move(r));
    }
    // The median, not the best: it neither flatters a method with one lucky run nor punishes it
    // for one disturbed by the rest of the machine.
    std::sort(runs.begin(), runs.end(),
              [](const row& a, const row& b) { return a.wall_s < b.wall_s; });
    row r = std::move(runs[(runs.size() - 1) / 2]);
    r.runs = repeats;
    finish_row(r);
    out.add_row(r, e.answer_json(r.result));
    rows.push_back(std::move(r));
  }
  if (rows.empty()) throw check_error(fmt::format("{}: no methods to run", e.name()));
  std::optional<double> background;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (auto busy1 = machine_busy_seconds(); busy0 && busy1 && wall > 0)
    background = std::max(0.0, (*busy1 - *busy0 - (process_cpu_seconds() - cpu0)) / wall);
  const answer& agreed = reference ? *reference : rows.front().result;
  out.end_experiment({.answer_text = e.answer_text(agreed),
                      .answer = e.answer_json(agreed),
                      .methods = rows.size(),
                      .verdict = e.verdict(rows, cores),
                      .background_cores = background,
                      .agreement = e.methods_agree()});
  return rows;
}

}  // namespace tandem::lab
