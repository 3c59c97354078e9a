#include "lab/primes.hpp"

#include <algorithm>
#include <numeric>
#include <ranges>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lab/methods.hpp"
#include "lab/process_workload.hpp"
#include "lab/report.hpp"
#include "lab/verdict.hpp"
#include "tandem/process/process_pool.hpp"

namespace tandem::lab {
namespace {

class primes_workload final : public workload, public process_workload {
 public:
  explicit primes_workload(std::uint64_t limit) : limit_(limit) {}
  [[nodiscard]] std::size_t task_count() const override { return primes_ranges; }
  [[nodiscard]] task_result run_task(std::size_t i) const override {
    return primes_task(limit_, i);
  }
  [[nodiscard]] std::vector<task_result> map_on(tandem::process_pool& pool) const override {
    // Each chunk carries the limit (8 bytes) and its indices; each result is one task_result.
    std::vector<task_result> out;
    out.reserve(primes_ranges);
    for (const task_result& r :
         pool.map(tandem::bind(&primes_task, limit_),
                  std::views::iota(std::size_t{0}, primes_ranges), {.chunksize = chunksize()}))
      out.push_back(r);
    return out;
  }
  [[nodiscard]] std::optional<std::string> check(const answer& a) const override {
    if (a.items != primes_ranges)
      return fmt::format("{} ranges counted, expected {}", a.items, primes_ranges);
    if (auto known = known_prime_count(limit_); known && a.value != *known)
      return fmt::format("{} primes below {}, but there are {}", group_digits(a.value),
                         group_digits(limit_), group_digits(*known));
    return std::nullopt;
  }

 private:
  std::uint64_t limit_;
};

class primes_experiment final : public experiment {
 public:
  explicit primes_experiment(primes_options o) : opts_(std::move(o)) {}

  [[nodiscard]] std::string name() const override { return "primes"; }
  [[nodiscard]] std::string summary() const override {
    return "CPU-bound: count primes below --limit by trial division in 64 ranges; sequential vs "
           "thread_pool at 1..cpu_count() workers vs process_pool at 2 and cpu_count().";
  }
  // Each pass takes well under a second here, short enough for the machine's noise to show.
  [[nodiscard]] std::size_t default_repeats() const override { return 3; }
  void add_options(CLI::App& cmd) override {
    cmd.add_option("--limit", opts_.limit, "count the primes below this number")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t{0}, primes_max_limit));
    cmd.add_option("--workers", opts_.workers,
                   "thread_pool widths, comma-separated (default: 1..cpu_count())")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
    cmd.add_option("--processes", opts_.processes,
                   "process_pool widths, comma-separated (default: 2 and cpu_count())")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  }
  [[nodiscard]] prepared prepare(std::size_t /*cores*/) override {
    return {.work = std::make_unique<primes_workload>(opts_.limit),
            .size = fmt::format("limit {} in {} ranges", group_digits(opts_.limit), primes_ranges),
            .parameters = {{"limit", opts_.limit}, {"ranges", primes_ranges}},
            .notes = {}};
  }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t cores) const override {
    std::vector<std::size_t> widths = opts_.workers;
    if (widths.empty()) {
      widths.resize(cores);
      std::iota(widths.begin(), widths.end(), std::size_t{1});
    }
    std::vector<std::unique_ptr<method>> out;
    out.push_back(make_sequential());
    for (std::size_t w : widths) out.push_back(make_thread_pool(w));
    std::vector<std::size_t> processes =
        opts_.processes.empty() ? default_process_widths(cores) : opts_.processes;
    for (std::size_t w : processes) out.push_back(make_process_pool(w));
    return out;
  }
  [[nodiscard]] std::vector<column> columns() const override {
    return {{"efficiency", "efficiency", column_style::percent}};
  }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override {
    return {{"efficiency", r.speedup / static_cast<double>(r.workers)}};
  }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    return fmt::format("{} primes below {}", group_digits(a.value), group_digits(opts_.limit));
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    return {{"primes", a.value}};
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows, std::size_t cores) const override {
    return cpu_bound_verdict(rows, cores);
  }

 private:
  primes_options opts_;
};

}  // namespace

bool is_prime(std::uint64_t n) noexcept {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

std::vector<std::size_t> default_process_widths(std::size_t cores) {
  std::vector<std::size_t> out{2, std::max<std::size_t>(1, cores)};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

task_result primes_task(std::uint64_t limit, std::size_t i) noexcept {
  auto [lo, hi] = primes_range(limit, i);
  return {.value = count_primes(lo, hi)};
}

std::uint64_t count_primes(std::uint64_t lo, std::uint64_t hi) noexcept {
  std::uint64_t count = 0;
  for (std::uint64_t n = lo; n < hi; ++n) count += is_prime(n) ? 1u : 0u;
  return count;
}

std::pair<std::uint64_t, std::uint64_t> primes_range(std::uint64_t limit, std::size_t i) noexcept {
  // limit * i would overflow near primes_max_limit * 64 only past 2^64; 10^12 * 64 is far below.
  auto bound = [limit](std::size_t k) {
    return limit * static_cast<std::uint64_t>(k) / primes_ranges;
  };
  return {bound(i), bound(i + 1)};
}

std::optional<std::uint64_t> known_prime_count(std::uint64_t limit) noexcept {
  // pi(x) from OEIS A006880 (powers of ten) and the standard tables for 5 x 10^6.
  constexpr std::pair<std::uint64_t, std::uint64_t> known[] = {{10, 4},
                                                               {100, 25},
                                                               {1'000, 168},
                                                               {10'000, 1'229},
                                                               {100'000, 9'592},
                                                               {1'000'000, 78'498},
                                                               {5'000'000, 348'513},
                                                               {10'000'000, 664'579},
                                                               {100'000'000, 5'761'455},
                                                               {1'000'000'000, 50'847'534}};
  for (auto [x, pi] : known)
    if (x == limit) return pi;
  return std::nullopt;
}

std::unique_ptr<experiment> make_primes_experiment(primes_options opts) {
  return std::make_unique<primes_experiment>(std::move(opts));
}

}  // namespace tandem::lab
