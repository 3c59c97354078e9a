// The lab's workloads, methods and harness: do the experiments compute the right answers, and do
// the checks catch wrong ones?
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>
#include <nlohmann/json.hpp>

#include "lab/experiment.hpp"
#include "lab/files.hpp"
#include "lab/harness.hpp"
#include "lab/io.hpp"
#include "lab/isolation.hpp"
#include "lab/methods.hpp"
#include "lab/primes.hpp"
#include "lab/report.hpp"
#include "lab/sleep.hpp"
#include "temp_dir.hpp"

namespace tandem::lab {
namespace {

using testing::temp_dir;

// Independent of trial division: a sieve of Eratosthenes.
std::uint64_t sieve_count(std::uint64_t limit) {
  if (limit < 3) return 0;
  std::vector<bool> composite(limit, false);
  std::uint64_t count = 0;
  for (std::uint64_t n = 2; n < limit; ++n) {
    if (composite[n]) continue;
    ++count;
    for (std::uint64_t m = n * n; m < limit; m += n) composite[m] = true;
  }
  return count;
}

answer run_with(const method& m, const workload& w) {
  auto results = m.run(w);
  EXPECT_EQ(results.size(), w.task_count());
  return w.reduce(results);
}

// ---------------------------------------------------------------- primes

TEST(LabPrimes, IsPrimeOnSmallNumbers) {
  std::vector<std::uint64_t> primes;
  for (std::uint64_t n = 0; n < 30; ++n)
    if (is_prime(n)) primes.push_back(n);
  EXPECT_EQ(primes, (std::vector<std::uint64_t>{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}));
  EXPECT_FALSE(is_prime(25));  // an odd square: the d * d <= n bound must include d = 5
  EXPECT_FALSE(is_prime(999'983ull * 999'983ull));  // a square near the largest divisors
  EXPECT_TRUE(is_prime(999'983));
}

TEST(LabPrimes, KnownCounts) {
  EXPECT_EQ(count_primes(0, 10), 4u);
  EXPECT_EQ(count_primes(0, 100'000), 9'592u);
  EXPECT_EQ(count_primes(0, 1'000'000), 78'498u);
}

TEST(LabPrimes, AgreesWithASieve) {
  for (std::uint64_t limit : std::vector<std::uint64_t>{0, 1, 2, 3, 4, 97, 98, 65'537, 200'003})
    EXPECT_EQ(count_primes(0, limit), sieve_count(limit)) << "limit " << limit;
}

TEST(LabPrimes, RangesTileTheLimitExactly) {
  for (std::uint64_t limit :
       std::vector<std::uint64_t>{0, 10, 63, 64, 65, 5'000'000, primes_max_limit}) {
    std::uint64_t next = 0;
    for (std::size_t i = 0; i < primes_ranges; ++i) {
      auto [lo, hi] = primes_range(limit, i);
      EXPECT_EQ(lo, next) << "limit " << limit << " range " << i;
      EXPECT_LE(lo, hi);
      next = hi;
    }
    EXPECT_EQ(next, limit);
  }
}

TEST(LabPrimes, KnownPrimeCountTable) {
  EXPECT_EQ(known_prime_count(5'000'000), 348'513u);
  EXPECT_EQ(known_prime_count(100'000), 9'592u);
  EXPECT_FALSE(known_prime_count(12'345).has_value());
}

TEST(LabPrimes, EveryMethodGetsTheSameAnswer) {
  auto e = make_primes_experiment({.limit = 100'000, .workers = {}, .processes = {}});
  prepared p = e->prepare(2);
  answer seq = run_with(*make_sequential(), *p.work);
  EXPECT_EQ(seq.value, 9'592u);
  EXPECT_EQ(seq.items, primes_ranges);
  EXPECT_FALSE(p.work->check(seq).has_value());
  for (std::size_t w : {1u, 2u, 3u, 8u})
    EXPECT_EQ(run_with(*make_thread_pool(w), *p.work), seq) << w << " workers";
  for (std::size_t w : {1u, 2u, 3u})
    EXPECT_EQ(run_with(*make_process_pool(w), *p.work), seq) << w << " processes";
}

TEST(LabPrimes, PrimesTaskIsRunTask) {
  auto e = make_primes_experiment({.limit = 100'000, .workers = {}, .processes = {}});
  prepared p = e->prepare(2);
  for (std::size_t i : {0u, 1u, 31u, 63u})
    EXPECT_EQ(primes_task(100'000, i), p.work->run_task(i)) << "range " << i;
}

TEST(LabPrimes, CheckRejectsAWrongCount) {
  auto e = make_primes_experiment({.limit = 100'000, .workers = {}, .processes = {}});
  prepared p = e->prepare(2);
  answer wrong{.value = 9'591, .items = primes_ranges};
  auto why = p.work->check(wrong);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("9,592"), std::string::npos) << *why;
}

TEST(LabPrimes, DefaultPlanIsSequentialThenOneToCoresThenProcessesAtTwoAndCores) {
  auto e = make_primes_experiment();
  auto ms = e->methods(3);
  ASSERT_EQ(ms.size(), 6u);
  EXPECT_EQ(ms[0]->name(), "sequential");
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(ms[i]->name(), "thread_pool");
    EXPECT_EQ(ms[i]->workers(), i);
  }
  EXPECT_EQ(ms[4]->name(), "process_pool");
  EXPECT_EQ(ms[4]->workers(), 2u);
  EXPECT_EQ(ms[5]->name(), "process_pool");
  EXPECT_EQ(ms[5]->workers(), 3u);
  auto chosen = make_primes_experiment({.limit = 10, .workers = {1}, .processes = {4, 1}});
  ms = chosen->methods(3);
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_EQ(ms[2]->workers(), 4u);
  EXPECT_EQ(ms[3]->workers(), 1u);
}

TEST(LabPrimes, DefaultProcessWidthsAreTwoAndTheCoresOnce) {
  EXPECT_EQ(default_process_widths(2), (std::vector<std::size_t>{2}));
  EXPECT_EQ(default_process_widths(8), (std::vector<std::size_t>{2, 8}));
  EXPECT_EQ(default_process_widths(1), (std::vector<std::size_t>{1, 2}));
}

// ---------------------------------------------------------------- files

std::uint64_t xxh3(const std::string& s) { return XXH3_64bits(s.data(), s.size()); }

TEST(LabFiles, HashFileMatchesOneShotXxh3) {
  temp_dir dir;
  std::string big(200'000, '\0');  // crosses the 64 KiB read size three times
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  for (const std::string& content : {std::string(), std::string("hello\n"), big}) {
    auto p = dir.write("f", content);
    file_hash h = hash_file(p.string());
    EXPECT_TRUE(h.ok);
    EXPECT_EQ(h.bytes, content.size());
    EXPECT_EQ(h.hash, xxh3(content)) << content.size() << " bytes";
  }
  EXPECT_FALSE(hash_file((dir.path() / "missing").string()).ok);
}

TEST(LabFiles, WalkListsRegularFilesOnlyAndNeverFollowsLinks) {
  temp_dir dir;
  dir.write("a.txt", "aaa");
  dir.write("sub/b.txt", "bb");
  dir.write("sub/deeper/c.txt", "c");
  std::filesystem::create_symlink(dir.path() / "a.txt", dir.path() / "link-to-file");
  std::filesystem::create_directory_symlink(dir.path() / "sub", dir.path() / "link-to-dir");
  ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0600), 0);

  file_list list = walk_regular_files(dir.path().string());
  std::vector<std::string> names;
  for (const auto& p : list.paths)
    names.push_back(std::filesystem::relative(p, dir.path()).string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "sub/b.txt", "sub/deeper/c.txt"}));
  EXPECT_EQ(list.bytes, 6u);
  EXPECT_EQ(list.symlinks, 2u);
  EXPECT_EQ(list.others, 1u);  // the FIFO
  EXPECT_EQ(list.unlistable, 0u);
}

TEST(LabFiles, MissingOrNonDirectoryRootIsAUsageError) {
  temp_dir dir;
  EXPECT_THROW((void)walk_regular_files((dir.path() / "nope").string()), usage_error);
  EXPECT_THROW((void)walk_regular_files(dir.write("file", "x").string()), usage_error);
  auto e = make_files_experiment(
      {.dir = (dir.path() / "nope").string(), .workers = {1}, .processes = {}});
  EXPECT_THROW((void)e->prepare(2), usage_error);
}

TEST(LabFiles, AFileThatVanishesAfterTheWalkIsCountedNotFatal) {
  temp_dir dir;
  for (std::size_t i = 0; i < 40; ++i)
    dir.write(fmt::format("d{}/f{}", i % 3, i), std::string(i * 97, 'x'));
  file_list list = walk_regular_files(dir.path().string());
  ASSERT_EQ(list.paths.size(), 40u);
  std::filesystem::remove(list.paths[7]);  // unreadable from now on, even for root
  auto w = make_files_workload(list);
  answer seq = run_with(*make_sequential(), *w);
  EXPECT_EQ(seq.items, 40u);
  EXPECT_EQ(seq.failures, 1u);
  EXPECT_FALSE(w->check(seq).has_value());
  for (std::size_t n : {1u, 2u, 4u, 32u})
    EXPECT_EQ(run_with(*make_thread_pool(n), *w), seq) << n << " workers";
  // The paths travel to the worker processes; the vanished file is counted there too.
  for (std::size_t n : {1u, 2u, 3u})
    EXPECT_EQ(run_with(*make_process_pool(n), *w), seq) << n << " processes";
}

TEST(LabFiles, PermissionDeniedIsCountedWhenNotRoot) {
  temp_dir dir;
  auto secret = dir.write("secret", "s");
  dir.write("open", "o");
  dir.write("locked/inside", "i");
  ::chmod(secret.c_str(), 0);
  ::chmod((dir.path() / "locked").c_str(), 0);
  file_list list = walk_regular_files(dir.path().string());
  answer a = make_files_workload(list)->reduce(make_sequential()->run(*make_files_workload(list)));
  if (::geteuid() == 0) {
    // Root reads mode-000 files and lists mode-000 directories: nothing is unreadable, and the
    // vanished-file test above covers the counting instead.
    EXPECT_EQ(a.failures, 0u);
    EXPECT_EQ(list.unlistable, 0u);
    EXPECT_EQ(list.paths.size(), 3u);
  } else {
    EXPECT_EQ(a.failures, 1u);  // "secret"
    EXPECT_EQ(list.unlistable, 1u);
    EXPECT_EQ(list.paths.size(), 2u);
  }
}

TEST(LabFiles, CombinedChecksumSeesOrderContentAndFailures) {
  auto results = [](std::initializer_list<task_result> rs) { return std::vector<task_result>(rs); };
  std::uint64_t base = combine_file_hashes(results({{.value = 1}, {.value = 2}, {.value = 2}}));
  EXPECT_NE(combine_file_hashes(results({{.value = 2}, {.value = 1}, {.value = 2}})),
            base);  // order
  EXPECT_NE(combine_file_hashes(results({{.value = 1}, {.value = 2}, {.value = 3}})),
            base);  // content
  // An unreadable file differs from a readable one whose hash happened to be 0.
  EXPECT_NE(combine_file_hashes(results({{.value = 0, .failures = 1}, {.value = 2}})),
            combine_file_hashes(results({{.value = 0}, {.value = 2}})));
  // Duplicates must not cancel each other, as they would under xor.
  EXPECT_NE(combine_file_hashes(results({{.value = 5}, {.value = 5}})),
            combine_file_hashes(results({})));
}

// ---------------------------------------------------------------- process_pool method

TEST(LabProcessPool, RefusesAWorkloadWithoutAProcessFormAndZeroWorkers) {
  auto w = make_sleep_workload(2, 0);
  EXPECT_THROW((void)make_process_pool(2)->run(*w), std::invalid_argument);
  EXPECT_THROW((void)make_process_pool(0), std::invalid_argument);
  EXPECT_EQ(make_process_pool(3)->name(), "process_pool");
  EXPECT_EQ(make_process_pool(3)->workers(), 3u);
}

TEST(LabProcessPool, FilesPlanHasProcessRowsAtTwoAndCores) {
  auto e = make_files_experiment({.dir = "/nonexistent", .workers = {1, 8}, .processes = {}});
  auto ms = e->methods(4);
  std::vector<std::pair<std::string, std::size_t>> plan;
  for (const auto& m : ms) plan.emplace_back(m->name(), m->workers());
  EXPECT_EQ(plan, (std::vector<std::pair<std::string, std::size_t>>{{"sequential", 1},
                                                                    {"thread_pool", 1},
                                                                    {"thread_pool", 8},
                                                                    {"process_pool", 2},
                                                                    {"process_pool", 4}}));
}

// ---------------------------------------------------------------- isolation

// Under AddressSanitizer or ThreadSanitizer a wild write is reported by the sanitizer's own
// handler, which then exits (TSan: status 66) instead of dying of SIGSEGV; everything else about
// the outcome is the same.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

std::vector<std::uint64_t> isolation_expected(const isolation_options& o) {
  std::vector<std::uint64_t> out(o.tasks, 0);
  for (std::size_t i = 0; i < o.tasks; ++i)
    if (i != o.crash_at) out[i] = isolation_task(o.crash_at, i);
  return out;
}

TEST(LabIsolation, TasksThatDoNotCrashCountPrimes) {
  EXPECT_EQ(isolation_task(5, 0), count_primes(0, isolation_numbers_per_task));
  EXPECT_EQ(isolation_task(5, 3),
            count_primes(3 * isolation_numbers_per_task, 4 * isolation_numbers_per_task));
}

TEST(LabIsolation, OnAThreadPoolTheCrashKillsTheWholeProgram) {
  isolation_options o{.tasks = 60, .crash_at = 30, .workers = 2};
  isolation_outcome r = run_isolation_on_threads(o, isolation_expected(o));
  EXPECT_EQ(r.method, "thread_pool");
  EXPECT_TRUE(r.program_died);
  EXPECT_EQ(r.completed, 0u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(r.lost, 60u);  // every result died with the program
  EXPECT_LE(r.finished_before_death, 59u);
  if (!sanitized) {
    EXPECT_EQ(r.signal, SIGSEGV);
    EXPECT_EQ(r.death, "killed by SIGSEGV");
  }
  EXPECT_GT(r.wall_s, 0.0);
}

TEST(LabIsolation, OnAProcessPoolOnlyTheCrashingTaskFails) {
  isolation_options o{.tasks = 60, .crash_at = 30, .workers = 2};
  isolation_outcome r = run_isolation_on_processes(o, isolation_expected(o));
  EXPECT_EQ(r.method, "process_pool");
  EXPECT_FALSE(r.program_died);
  EXPECT_EQ(r.completed, 59u);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.wrong, 0u);  // every result that came back is the right count
  EXPECT_GE(r.replaced_workers, 1u);
  EXPECT_NE(r.error.find("worker pid "), std::string::npos) << r.error;
  if (!sanitized) {
    EXPECT_NE(r.error.find("SIGSEGV"), std::string::npos) << r.error;
  }
}

TEST(LabIsolation, TheExperimentReportsBothRowsAndAVerdict) {
  auto e = make_isolation_experiment({.tasks = 40, .crash_at = 0, .workers = 3});
  std::ostringstream text;
  auto report = make_json_reporter(text);
  report->begin_run(2);
  auto rows = run_experiment(*e, 2, *report);
  report->finish(0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].method, "thread_pool");
  EXPECT_EQ(rows[1].method, "process_pool");
  EXPECT_EQ(rows[0].workers, 3u);
  EXPECT_EQ(find_metric(rows[0], "lost"), 40.0);
  EXPECT_EQ(find_metric(rows[0], "program_died"), 1.0);
  EXPECT_EQ(find_metric(rows[1], "completed"), 39.0);
  EXPECT_EQ(find_metric(rows[1], "failed"), 1.0);
  EXPECT_EQ(find_metric(rows[1], "program_died"), 0.0);
  auto doc = nlohmann::json::parse(text.str());
  const auto& x = doc.at("experiments").at(0);
  EXPECT_EQ(x.at("name"), "isolation");
  EXPECT_EQ(x.at("methods_agree"), false);
  EXPECT_EQ(x.at("answer").at("can_complete"), 39);
  std::string verdict = x.at("verdict");
  EXPECT_EQ(verdict.rfind("Isolation: task 0 of 40 wrote through a null pointer.", 0), 0u)
      << verdict;
  EXPECT_NE(verdict.find("the other 39 tasks completed"), std::string::npos) << verdict;
  const auto& threads = doc.at("rows").at(0).at("answer");
  EXPECT_EQ(threads.at("program_died"), true);
  EXPECT_EQ(threads.at("lost"), 40);
  const auto& processes = doc.at("rows").at(1).at("answer");
  EXPECT_EQ(processes.at("completed"), 39);
  EXPECT_EQ(processes.at("failed"), 1);
  EXPECT_TRUE(processes.at("error").is_string());
  EXPECT_TRUE(doc.at("rows").at(1).at("speedup").is_null());  // no ratio between outcomes
}

TEST(LabIsolation, CrashAtMustBeATask) {
  auto e = make_isolation_experiment({.tasks = 10, .crash_at = 10, .workers = 2});
  EXPECT_THROW((void)e->prepare(2), usage_error);
}

// ---------------------------------------------------------------- sleep

TEST(LabSleep, EveryTaskRunsOnceUnderEveryMethod) {
  auto w = make_sleep_workload(30, 1);
  answer seq = run_with(*make_sequential(), *w);
  EXPECT_EQ(seq.items, 30u);
  EXPECT_EQ(seq.value, 30u * 31u / 2u);
  EXPECT_FALSE(w->check(seq).has_value());
  for (std::size_t n : {1u, 8u, 64u})
    EXPECT_EQ(run_with(*make_thread_pool(n), *w), seq) << n << " workers";
  answer short_one = seq;
  short_one.value -= 1;
  EXPECT_TRUE(w->check(short_one).has_value());
}

// Wraps a workload and records how many of its tasks were in flight at once.
class overlap_probe final : public workload {
 public:
  explicit overlap_probe(std::unique_ptr<workload> inner) : inner_(std::move(inner)) {}
  [[nodiscard]] std::size_t task_count() const override { return inner_->task_count(); }
  [[nodiscard]] task_result run_task(std::size_t i) const override {
    std::size_t now = in_flight_.fetch_add(1) + 1;
    for (std::size_t seen = most_.load(); now > seen && !most_.compare_exchange_weak(seen, now);) {
    }
    task_result r = inner_->run_task(i);
    in_flight_.fetch_sub(1);
    return r;
  }
  [[nodiscard]] std::size_t most_in_flight() const { return most_.load(); }

 private:
  std::unique_ptr<workload> inner_;
  mutable std::atomic<std::size_t> in_flight_{0};
  mutable std::atomic<std::size_t> most_{0};
};

TEST(LabSleep, ThreadsOverlapTheWaits) {
  // 16 waits of 100 ms: 1.6 s one at a time, ~0.1 s on 16 threads plus starting and joining them,
  // which under ThreadSanitizer on a loaded machine took up to 0.45 s. Half of sequential leaves
  // room for that; no overlap at all would take 1.6 s.
  overlap_probe seq_probe(make_sleep_workload(16, 100));
  overlap_probe par_probe(make_sleep_workload(16, 100));
  measurement seq = measure(*make_sequential(), seq_probe);
  measurement par = measure(*make_thread_pool(16), par_probe);
  EXPECT_EQ(seq_probe.most_in_flight(), 1u);
  EXPECT_GE(par_probe.most_in_flight(), 2u);  // the waits overlapped, however slow the machine
  EXPECT_GE(seq.wall_s, 1.6);
  EXPECT_LT(par.wall_s, seq.wall_s / 2);
  // Waiting costs no CPU: far less than the wall time of the sequential run.
  EXPECT_LT(seq.cpu_s, seq.wall_s / 4);
}

// ---------------------------------------------------------------- harness

// A reporter that keeps what it is told.
struct recording_reporter final : reporter {
  void begin_run(std::size_t) override {}
  void begin_experiment(const experiment_header& h) override { headers.push_back(h); }
  void add_row(const row& r, const nlohmann::json&) override { rows.push_back(r); }
  void end_experiment(const experiment_footer& f) override { footers.push_back(f); }
  void finish(double) override {}
  std::vector<experiment_header> headers;
  std::vector<row> rows;
  std::vector<experiment_footer> footers;
};

// A method that loses one task's result: a broken executor the harness must catch.
struct lossy_method final : method {
  [[nodiscard]] std::string name() const override { return "lossy"; }
  [[nodiscard]] std::size_t workers() const override { return 2; }
  [[nodiscard]] std::vector<task_result> run(const workload& w) const override {
    auto out = make_sequential()->run(w);
    out.back() = {};
    return out;
  }
};

// The primes experiment with an extra method appended: how a later layer adds a row.
struct primes_plus final : experiment {
  explicit primes_plus(std::unique_ptr<method> (*extra)())
      : inner(make_primes_experiment({.limit = 10'007, .workers = {2}, .processes = {2}})),
        extra_(extra) {}
  [[nodiscard]] std::string name() const override { return inner->name(); }
  [[nodiscard]] std::string summary() const override { return inner->summary(); }
  void add_options(CLI::App& c) override { inner->add_options(c); }
  [[nodiscard]] prepared prepare(std::size_t cores) override { return inner->prepare(cores); }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t cores) const override {
    auto ms = inner->methods(cores);
    ms.push_back(extra_());
    return ms;
  }
  [[nodiscard]] std::vector<column> columns() const override { return inner->columns(); }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override {
    return inner->metrics(r);
  }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    return inner->answer_text(a);
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    return inner->answer_json(a);
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows, std::size_t cores) const override {
    return inner->verdict(rows, cores);
  }
  std::unique_ptr<experiment> inner;
  std::unique_ptr<method> (*extra_)();
};

TEST(LabHarness, RunsEveryMethodAndReportsAgreement) {
  primes_plus e(+[] { return make_thread_pool(3); });
  recording_reporter out;
  auto rows = run_experiment(e, 2, out, 2);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(out.rows.size(), 4u);
  EXPECT_EQ(rows[0].method, "sequential");
  EXPECT_EQ(rows[0].speedup, 1.0);
  EXPECT_EQ(rows[2].method, "process_pool");
  EXPECT_EQ(rows[3].workers, 3u);
  for (const row& r : rows) {
    EXPECT_EQ(r.result.value, count_primes(0, 10'007));
    EXPECT_EQ(r.runs, 2u);
    EXPECT_GT(r.wall_s, 0.0);
    EXPECT_NEAR(r.speedup, rows[0].wall_s / r.wall_s, 1e-9);
    EXPECT_TRUE(find_metric(r, "efficiency").has_value());
  }
  ASSERT_EQ(out.footers.size(), 1u);
  EXPECT_EQ(out.footers[0].methods, 4u);
  EXPECT_EQ(out.footers[0].verdict.rfind("CPU-bound: ", 0), 0u) << out.footers[0].verdict;
  ASSERT_EQ(out.headers.size(), 1u);
  EXPECT_EQ(out.headers[0].cores, 2u);
}

TEST(LabHarness, ADisagreeingMethodIsACheckErrorAfterItsRowIsShown) {
  primes_plus e(+[]() -> std::unique_ptr<method> { return std::make_unique<lossy_method>(); });
  recording_reporter out;
  try {
    (void)run_experiment(e, 2, out, 1);
    FAIL() << "a lost result went unnoticed";
  } catch (const check_error& err) {
    EXPECT_NE(std::string(err.what()).find("disagree"), std::string::npos) << err.what();
  }
  ASSERT_EQ(out.rows.size(), 4u);
  EXPECT_EQ(out.rows.back().method, "lossy");
  EXPECT_TRUE(out.footers.empty());
}

TEST(LabHarness, MeasureCountsCpuTimeOfPoolThreads) {
  auto e = make_primes_experiment({.limit = 300'000, .workers = {}, .processes = {}});
  prepared p = e->prepare(2);
  measurement seq = measure(*make_sequential(), *p.work);
  measurement pool = measure(*make_thread_pool(2), *p.work);
  // The same work costs about the same CPU time wherever it runs; while the pool runs it, the
  // main thread only waits, so counting the main thread alone would report almost nothing.
  EXPECT_GT(seq.cpu_s, 0.0);
  EXPECT_GT(pool.cpu_s, 0.5 * seq.cpu_s);
}

TEST(LabHarness, MeasureCountsCpuTimeOfWorkerProcesses) {
  auto e = make_primes_experiment({.limit = 300'000, .workers = {}, .processes = {}});
  prepared p = e->prepare(2);
  measurement seq = measure(*make_sequential(), *p.work);
  measurement procs = measure(*make_process_pool(2), *p.work);
  // The workers did the counting in other processes; this process only sent and collected.
  // Their CPU time is counted once the pool reaped them, inside the run.
  EXPECT_GT(procs.cpu_s, 0.5 * seq.cpu_s);
}

}  // namespace
// ---------------------------------------------------------------- io

namespace {

TEST(LabIo, EveryRequestIsAnsweredOnceUnderEveryMethod) {
  auto server = std::make_shared<latency_server>(1);
  EXPECT_NE(server->port(), 0);
  auto w = make_io_workload(server, 40);
  answer seq = run_with(*make_sequential(), *w);
  EXPECT_EQ(seq.items, 40u);
  EXPECT_EQ(seq.value, 40u * 41u / 2u);
  EXPECT_EQ(seq.bytes, 40u * io_body_bytes);
  EXPECT_FALSE(w->check(seq).has_value());
  for (std::size_t n : {1u, 4u, 64u})
    EXPECT_EQ(run_with(*make_thread_pool(n), *w), seq) << n << " workers";
  for (std::size_t c : {1u, 8u, 100u})
    EXPECT_EQ(run_with(*make_http_session(c), *w), seq) << c << " in flight";
  answer short_one = seq;
  short_one.items -= 1;
  EXPECT_TRUE(w->check(short_one).has_value());
  answer short_body = seq;
  short_body.bytes -= 1;
  EXPECT_TRUE(w->check(short_body).has_value());
}

TEST(LabIo, TheServerAnswersAKibWithTheNextToken) {
  auto server = std::make_shared<latency_server>(0);
  EXPECT_EQ(server->url(7), fmt::format("http://127.0.0.1:{}/item/7", server->port()));
  auto w = make_io_workload(server, 8);
  task_result r = w->run_task(7);
  EXPECT_EQ(r.value, 8u);
  EXPECT_EQ(r.bytes, io_body_bytes);
}

TEST(LabIo, TheSessionKeepsItsConcurrencyInFlight) {
  // 50 requests of 100 ms at 50 in flight take one round (about 0.1 s), not 50 (5 s): one
  // session on one loop thread waits on every connection at once.
  auto server = std::make_shared<latency_server>(100);
  auto w = make_io_workload(server, 50);
  measurement m = measure(*make_http_session(50), *w);
  EXPECT_EQ(w->reduce(m.results).value, 50u * 51u / 2u);
  EXPECT_LT(m.wall_s, 1.0);
  EXPECT_GE(m.wall_s, 0.1);
}

TEST(LabIo, TheSessionMethodRefusesAWorkloadThatIsNotHttp) {
  auto w = make_sleep_workload(2, 0);
  EXPECT_THROW((void)make_http_session(4)->run(*w), std::invalid_argument);
  EXPECT_THROW((void)make_http_session(0), std::invalid_argument);
  EXPECT_EQ(make_http_session(7)->name(), "http::session");
  EXPECT_EQ(make_http_session(7)->workers(), 7u);
}

TEST(LabIo, TheExperimentRunsEveryMethodAndScalesTheSample) {
  io_options opts;
  opts.requests = 40;
  opts.latency_ms = 5;
  opts.sample = 10;
  opts.workers = {4};
  opts.concurrency = {16};
  auto e = make_io_experiment(opts);
  std::ostringstream text;
  auto report = make_json_reporter(text);
  report->begin_run(2);
  auto rows = run_experiment(*e, 2, *report);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].method, "sequential");
  EXPECT_EQ(rows[0].sample, 10u);
  EXPECT_EQ(rows[0].result.items, 10u);   // the sample's own answer
  EXPECT_EQ(rows[0].result.value, 55u);   // tokens 1..10
  EXPECT_GE(rows[0].wall_s, 40 * 0.005);  // scaled to 40 requests of at least 5 ms
  EXPECT_EQ(rows[1].method, "thread_pool");
  EXPECT_EQ(rows[1].workers, 4u);
  EXPECT_EQ(rows[2].method, "http::session");
  EXPECT_EQ(rows[2].workers, 16u);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(rows[i].sample, 0u);
    EXPECT_EQ(rows[i].result.items, 40u);
    EXPECT_EQ(rows[i].result.value, 40u * 41u / 2u);
    EXPECT_GT(rows[i].peak_rss_bytes, 0u);
    EXPECT_TRUE(find_metric(rows[i], "requests_per_s").has_value());
  }
  report->finish(0);
  auto doc = nlohmann::json::parse(text.str());
  EXPECT_EQ(doc.at("rows").at(0).at("sample"), 10);
  EXPECT_FALSE(doc.at("rows").at(1).contains("sample"));
  const auto& ex = doc.at("experiments").at(0);
  EXPECT_EQ(ex.at("answer"), (nlohmann::json{{"requests", 40}, {"token_sum", 40 * 41 / 2}}));
  EXPECT_EQ(ex.at("verdict").get<std::string>().rfind(
                "I/O-bound (40 requests, 5 ms each at the server): ", 0),
            0u)
      << ex.at("verdict");
}

// The usage_error message read_url_file throws for `content`, or "" if it throws none.
std::string url_file_error(const temp_dir& dir, const std::string& content) {
  auto path = dir.write("urls.txt", content);
  try {
    (void)read_url_file(path.string());
  } catch (const usage_error& e) {
    return e.what();
  }
  return "";
}

TEST(LabIo, AUrlFileSkipsBlankLinesAndComments) {
  temp_dir dir;
  auto path = dir.write("urls.txt",
                        "# my URLs\n\nhttp://example.com/a\r\n  https://h:8443/b?q=1#f \n"
                        "\t# indented comment\nHTTP://[::1]:80/\nhttp://user@host/x");
  EXPECT_EQ(read_url_file(path.string()),
            (std::vector<std::string>{"http://example.com/a", "https://h:8443/b?q=1#f",
                                      "HTTP://[::1]:80/", "http://user@host/x"}));
}

TEST(LabIo, ABadUrlFileIsAUsageErrorNamingTheLine) {
  temp_dir dir;
  std::string p = (dir.path() / "urls.txt").string();
  EXPECT_EQ(url_file_error(dir, "http://a/\n# c\nftp://x\nhttp://b/\n"),
            p + ":3: not an http(s) URL: \"ftp://x\"");
  for (const char* bad : {"http://", "https://", "http:///path", "http://a b/", "http://a\x01/",
                          "http://:80/", "http://h:8x/", "http://u@/x", "http://[::1/", "www.x.org",
                          "httpx://h", "file:///etc/passwd", "http:/h"})
    EXPECT_EQ(url_file_error(dir, fmt::format("\n{}\n", bad)),
              fmt::format("{}:2: not an http(s) URL: \"{}\"", p, bad))
        << bad;
  EXPECT_EQ(url_file_error(dir, "\n# nothing\n"),
            p + ": no URLs (every line is blank or a # comment)");
  std::string missing = (dir.path() / "missing.txt").string();
  try {
    (void)read_url_file(missing);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const usage_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot read the URL file " + missing + ": No such file or directory");
  }
  EXPECT_THROW((void)read_url_file(dir.path().string()), usage_error);  // a directory
}

TEST(LabIo, AUrlFileIsFetchedByEveryMethodAndNon2xxIsCounted) {
  auto server = std::make_shared<latency_server>(2);
  temp_dir dir;
  std::string list = "# the lab's own server\n\n";
  for (std::size_t k = 0; k < 20; ++k) list += server->url(k) + "\n";
  list += fmt::format("http://127.0.0.1:{}/no-such-page\n", server->port());  // 404
  io_options opts;
  opts.url_file = dir.write("urls.txt", list).string();
  opts.sample = 5;
  opts.workers = {4};
  opts.concurrency = {8};
  auto e = make_io_experiment(opts);
  std::ostringstream text;
  auto report = make_json_reporter(text);
  report->begin_run(2);
  auto rows = run_experiment(*e, 2, *report);
  report->finish(0);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].method, "sequential");
  EXPECT_EQ(rows[0].sample, 5u);
  EXPECT_EQ(rows[0].result, (answer{.value = 5, .items = 5, .bytes = 5 * io_body_bytes}));
  EXPECT_EQ(rows[1].method, "thread_pool");
  EXPECT_EQ(rows[2].method, "http::session");
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(rows[i].result.items, 21u);
    EXPECT_EQ(rows[i].result.value, 20u);    // 2xx
    EXPECT_EQ(rows[i].result.failures, 1u);  // the 404
    EXPECT_GE(rows[i].result.bytes, 20 * io_body_bytes);
    EXPECT_EQ(find_metric(rows[i], "not_2xx"), 1.0);
  }
  auto doc = nlohmann::json::parse(text.str());
  const auto& ex = doc.at("experiments").at(0);
  EXPECT_EQ(ex.at("methods_agree"), false);
  EXPECT_EQ(ex.at("answer").at("requests"), 21);
  EXPECT_EQ(doc.at("rows").at(2).at("answer").at("not_2xx"), 1);
  EXPECT_EQ(doc.at("rows").at(2).at("answer").at("ok"), 20);
  std::string verdict = ex.at("verdict");
  EXPECT_EQ(verdict.rfind("I/O-bound (21 requests to the listed URLs): ", 0), 0u) << verdict;
  EXPECT_NE(verdict.find("Not every answer was 2xx"), std::string::npos) << verdict;
}

TEST(LabIo, AUrlThatCannotBeFetchedFailsTheRunNamingIt) {
  // A port nobody listens on: the listener is closed as soon as the server is gone.
  std::string url;
  {
    latency_server gone(0);
    url = fmt::format("http://127.0.0.1:{}/x", gone.port());
  }
  auto w = make_url_list_workload({url});
  try {
    (void)w->run_task(0);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << e.what();
  }
}

}  // namespace

}  // namespace tandem::lab
