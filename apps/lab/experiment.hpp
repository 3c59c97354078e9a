// tandem-lab's vocabulary. An experiment prepares a workload; a method runs a workload; each run
// becomes a row. The two axes are independent on purpose: a later layer (aio, process_pool,
// parallel, dist) adds a method in methods.cpp and lists it in the experiments' plans, and every
// table, JSON document, check and verdict picks the new rows up unchanged.
//
//   experiment --prepare()--> workload (task_count, run_task(i), reduce, check)
//        |                        ^
//        +--methods()--> method --run(workload)--> task_result per task --reduce--> answer
//                                                   timed by the harness --> row --> reporter
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace tandem::lab {

class reporter;

/// A bad command line or input the user can fix (a missing directory): exit status 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A method produced a wrong answer, or one that disagrees with the baseline: exit status 1.
class check_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What one task produced. Fields a workload does not use stay 0.
struct task_result {
  std::uint64_t value = 0;     ///< the task's own answer: primes in a range, a file's XXH3, a token
  std::uint64_t bytes = 0;     ///< bytes processed (files)
  std::uint64_t failures = 0;  ///< items that could not be processed (unreadable files)
  /// Member-wise equality.
  friend bool operator==(const task_result&, const task_result&) = default;
};

/// A whole run's answer, reduced from its task results. Every method must produce the same one.
struct answer {
  std::uint64_t value = 0;     ///< primes: the count; files: combined checksum; sleep: token sum
  std::uint64_t items = 0;     ///< tasks run (files: files attempted)
  std::uint64_t bytes = 0;     ///< bytes processed (files)
  std::uint64_t failures = 0;  ///< unreadable files
  /// Member-wise equality: "the methods agree".
  friend bool operator==(const answer&, const answer&) = default;
};

/// The work of one experiment: `task_count()` independent tasks, prepared once, then run by
/// every method.
///
/// Thread safety: run_task() is called concurrently from many threads (any i, possibly the same
/// i in different runs) and must not mutate shared state; the rest is called from one thread.
class workload {
 public:
  virtual ~workload() = default;

  /// Number of tasks, indexed 0 .. task_count() - 1.
  [[nodiscard]] virtual std::size_t task_count() const = 0;

  /// Runs task `i` and returns what it produced.
  /// Errors: none expected; an exception fails the whole run (and the lab, with exit status 1).
  [[nodiscard]] virtual task_result run_task(std::size_t i) const = 0;

  /// Tasks a pool should hand a worker at once (map's chunksize). 1 keeps every task separately
  /// schedulable, which latency-bound work needs; tiny tasks amortise dispatch with more.
  [[nodiscard]] virtual std::size_t chunksize() const { return 1; }

  /// A workload of the first `n` tasks only (n < task_count()), sharing whatever this one
  /// prepared, for a method that runs a sample (method::sample()); its check() knows its size.
  /// nullptr (the default): this workload cannot be sampled.
  [[nodiscard]] virtual std::unique_ptr<workload> prefix(std::size_t /*n*/) const {
    return nullptr;
  }

  /// Reduces the per-task results (in task order) to the run's answer.
  /// The default sums value, bytes and failures and counts the tasks.
  [[nodiscard]] virtual answer reduce(std::span<const task_result> results) const;

  /// Checks an answer against what this workload knows independently of any method (a known
  /// prime count, the number of tasks). Returns what is wrong, or nothing if it looks right.
  [[nodiscard]] virtual std::optional<std::string> check(const answer& a) const;
};

/// A way of running a workload: sequentially, on a thread_pool of N workers, later on an event
/// loop, a process pool, a cluster.
///
/// Thread safety: run() is called from one thread at a time.
class method {
 public:
  virtual ~method() = default;

  /// The JSON and table name: "sequential", "thread_pool", later "aio", "process_pool".
  [[nodiscard]] virtual std::string name() const = 0;

  /// Workers this method runs on (threads, processes); 1 for sequential.
  [[nodiscard]] virtual std::size_t workers() const = 0;

  /// Tasks this method runs: 0 (the default) means every task; n > 0 means a sample of the
  /// first n, for a method too slow to run them all in a quick lab (io's sequential row). The
  /// harness then runs it on workload::prefix(n), checks that answer on its own, and scales
  /// wall_s and cpu_s to the whole workload; the row's `sample` says so.
  [[nodiscard]] virtual std::size_t sample() const { return 0; }

  /// Runs every task of `w` exactly once and returns the results in task order.
  /// Everything the method needs (threads, processes, a loop) is created and torn down inside,
  /// so timing this call includes it, as timing Python's `with ThreadPoolExecutor(n) as ex:` does.
  /// Errors: whatever a task throws, or the executor's own errors.
  [[nodiscard]] virtual std::vector<task_result> run(const workload& w) const = 0;
};

/// A named number on a row beyond the common ones: "efficiency", "files_per_s", "mb_per_s" ...
struct metric {
  std::string key;  ///< JSON key and column key; a rate is named `<unit>_per_s`
  double value;     ///< in the unit the key names (a ratio for efficiency)
};

/// One measured run of one method on one experiment's workload.
struct row {
  std::string experiment;   ///< e.g. "primes"
  std::string method;       ///< method::name()
  std::size_t workers = 1;  ///< method::workers()
  double wall_s = 0;        ///< wall-clock seconds of method::run, pool start-up included
  double cpu_s = 0;         ///< user + system CPU seconds the process used meanwhile
  double speedup = 1;       ///< baseline (first row's) wall_s / this wall_s
  std::size_t runs = 1;     ///< runs measured; wall_s and cpu_s are those of the median run
  std::size_t sample = 0;   ///< tasks run if this row is a sample (times scaled); 0: all
  std::uint64_t peak_rss_bytes = 0;  ///< the process's peak RSS during the run; 0: unknown
  std::vector<metric> metrics;       ///< experiment-specific numbers; see experiment::columns()
  answer result;                     ///< what the run computed
};

/// How a report shows a metric.
enum class column_style {
  ratio,    ///< "1.93x"
  percent,  ///< "97%" (value is a fraction)
  rate,     ///< "12,345" (integer, digits grouped)
  decimal,  ///< "123.4"
};

/// A column an experiment adds to its table after the common ones.
struct column {
  std::string key;     ///< metric::key
  std::string header;  ///< table header, e.g. "files/s"
  column_style style;  ///< how to print the value
};

/// A workload ready to run, plus what the reports say about it.
struct prepared {
  std::unique_ptr<workload> work;  ///< never null
  std::string size;                ///< for the header line, e.g. "limit 5,000,000 in 64 ranges"
  nlohmann::json parameters;       ///< the same as JSON, e.g. {"limit": 5000000, "ranges": 64}
  std::vector<std::string> notes;  ///< lines printed under the header (warm-up pass, skips)
};

/// One classic concurrency experiment: a workload, the methods it is run with, and how its
/// results are read.
///
/// Thread safety: used from one thread.
class experiment {
 public:
  virtual ~experiment() = default;

  /// The subcommand and JSON name: "primes", "files", "sleep".
  [[nodiscard]] virtual std::string name() const = 0;

  /// One line for --help: what the experiment does and what kind of work it is.
  [[nodiscard]] virtual std::string summary() const = 0;

  /// How many times each method runs when the user does not say (--repeat); the median run is
  /// reported. Short, noisy runs want 3; long, steady ones 1.
  [[nodiscard]] virtual std::size_t default_repeats() const { return 1; }

  /// Registers this experiment's options (sizes, --workers) on its subcommand.
  virtual void add_options(CLI::App& command) = 0;

  /// Builds the workload from the options (walks a tree, warms a cache).
  /// `cores` is tandem::cpu_count(), passed in so tests can fix it.
  /// Errors: `usage_error` for input the user can fix (a missing directory).
  [[nodiscard]] virtual prepared prepare(std::size_t cores) = 0;

  /// The methods to run, in order; the first is the baseline that speedups are relative to.
  [[nodiscard]] virtual std::vector<std::unique_ptr<method>> methods(std::size_t cores) const = 0;

  /// Columns after the common ones (method, workers, wall s, speedup, cpu s).
  [[nodiscard]] virtual std::vector<column> columns() const = 0;

  /// The values of columns() (and any extra JSON numbers) for a measured row.
  [[nodiscard]] virtual std::vector<metric> metrics(const row& r) const = 0;

  /// The answer in words, e.g. "348,513 primes below 5,000,000".
  [[nodiscard]] virtual std::string answer_text(const answer& a) const = 0;

  /// The answer as JSON, e.g. {"primes": 348513}; put on every row so agreement is visible.
  [[nodiscard]] virtual nlohmann::json answer_json(const answer& a) const = 0;

  /// One plain-words sentence saying which method won and why, computed from `rows`.
  [[nodiscard]] virtual std::string verdict(std::span<const row> rows, std::size_t cores) const = 0;

  /// True (the default) if every method must compute the same answer, which run_experiment
  /// checks; false where the rows' answers may differ by nature (io on a user's URL list: a
  /// server may answer one row's requests differently from another's).
  [[nodiscard]] virtual bool methods_agree() const { return true; }

  /// Runs and reports the whole experiment to `out` instead of run_experiment's loop (time each
  /// method, check that every method computes the same answer), for an experiment whose methods
  /// differ in outcome by design (isolation: one of them crashes). Returns the rows reported, or
  /// nothing (the default) to let run_experiment do it all. `repeats` as run_experiment's.
  [[nodiscard]] virtual std::optional<std::vector<row>> run_itself(std::size_t /*cores*/,
                                                                   reporter& /*out*/,
                                                                   std::size_t /*repeats*/) {
    return std::nullopt;
  }
};

/// The value of metric `key` on `r`, or nothing if the row has no such metric.
[[nodiscard]] std::optional<double> find_metric(const row& r, const std::string& key);

}  // namespace tandem::lab
