#include "lab/sleep.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lab/methods.hpp"
#include "lab/report.hpp"
#include "lab/verdict.hpp"

namespace tandem::lab {
namespace {

class sleep_workload final : public workload {
 public:
  sleep_workload(std::size_t tasks, std::uint32_t latency_ms)
      : tasks_(tasks), latency_(latency_ms) {}
  [[nodiscard]] std::size_t task_count() const override { return tasks_; }
  [[nodiscard]] task_result run_task(std::size_t i) const override {
    std::this_thread::sleep_for(latency_);
    return {.value = i + 1};
  }
  [[nodiscard]] std::optional<std::string> check(const answer& a) const override {
    std::uint64_t n = tasks_;
    if (a.items != n || a.value != n * (n + 1) / 2)
      return fmt::format("{} tasks with token sum {}, expected {} with {}", a.items, a.value, n,
                         n * (n + 1) / 2);
    return std::nullopt;
  }

 private:
  std::size_t tasks_;
  std::chrono::milliseconds latency_;
};

class sleep_experiment final : public experiment {
 public:
  explicit sleep_experiment(sleep_options o) : opts_(std::move(o)) {}

  [[nodiscard]] std::string name() const override { return "sleep"; }
  [[nodiscard]] std::string summary() const override {
    return "Latency-bound (the stand-in for I/O): --tasks tasks that each block --latency-ms; "
           "sequential vs "
           "thread_pool at 8, 32, 128 workers.";
  }
  void add_options(CLI::App& cmd) override {
    cmd.add_option("--tasks", opts_.tasks, "number of tasks")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cmd.add_option("--latency-ms", opts_.latency_ms, "how long each task blocks, in milliseconds")
        ->capture_default_str()
        ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{60'000}));
    cmd.add_option("--workers", opts_.workers,
                   "thread_pool widths, comma-separated (default: 8,32,128)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  }
  [[nodiscard]] prepared prepare(std::size_t /*cores*/) override {
    double sequential_s = static_cast<double>(opts_.tasks) * opts_.latency_ms / 1000.0;
    return {.work = make_sleep_workload(opts_.tasks, opts_.latency_ms),
            .size = fmt::format("{} tasks x {} ms", group_digits(opts_.tasks), opts_.latency_ms),
            .parameters = {{"tasks", opts_.tasks}, {"latency_ms", opts_.latency_ms}},
            .notes = {
                fmt::format("the sequential row runs all {} tasks (at least {:.1f} s), no sampling",
                            group_digits(opts_.tasks), sequential_s)}};
  }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t /*cores*/) const override {
    std::vector<std::unique_ptr<method>> out;
    out.push_back(make_sequential());
    if (opts_.workers.empty())
      for (std::size_t w : sleep_default_workers) out.push_back(make_thread_pool(w));
    for (std::size_t w : opts_.workers) out.push_back(make_thread_pool(w));
    return out;
  }
  [[nodiscard]] std::vector<column> columns() const override {
    return {{"tasks_per_s", "tasks/s", column_style::rate},
            {"efficiency", "efficiency", column_style::percent}};
  }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override {
    if (r.wall_s <= 0) return {};
    // Efficiency against the ideal for waiting, min(workers, tasks) waits at once, not the cores.
    double ideal = static_cast<double>(std::max<std::size_t>(1, std::min(r.workers, opts_.tasks)));
    return {{"tasks_per_s", static_cast<double>(r.result.items) / r.wall_s},
            {"efficiency", r.speedup / ideal}};
  }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    return fmt::format("{} tasks each ran once (token sum {})", group_digits(a.items),
                       group_digits(a.value));
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    return {{"tasks", a.items}, {"token_sum", a.value}};
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows,
                                    std::size_t /*cores*/) const override {
    return latency_bound_verdict(rows, opts_.tasks);
  }

 private:
  sleep_options opts_;
};

}  // namespace

std::unique_ptr<workload> make_sleep_workload(std::size_t tasks, std::uint32_t latency_ms) {
  return std::make_unique<sleep_workload>(tasks, latency_ms);
}

std::unique_ptr<experiment> make_sleep_experiment(sleep_options opts) {
  return std::make_unique<sleep_experiment>(std::move(opts));
}

}  // namespace tandem::lab
