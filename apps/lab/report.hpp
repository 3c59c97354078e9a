// How tandem-lab shows its results: an aligned table per experiment for people, one JSON
// document for programs. Both are reporters fed by the harness as rows are measured.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// What a report says before an experiment's rows.
struct experiment_header {
  std::string name;                ///< experiment::name()
  std::string summary;             ///< experiment::summary()
  std::string size;                ///< prepared::size
  nlohmann::json parameters;       ///< prepared::parameters
  std::size_t cores = 1;           ///< tandem::cpu_count()
  std::vector<std::string> notes;  ///< prepared::notes
  std::vector<column> columns;     ///< experiment::columns()
};

/// What a report says after an experiment's rows.
struct experiment_footer {
  std::string answer_text;  ///< experiment::answer_text() of the agreed answer
  nlohmann::json answer;    ///< experiment::answer_json() of the agreed answer
  std::size_t methods = 0;  ///< how many methods ran (and agreed, unless `agreement` is false)
  std::string verdict;      ///< experiment::verdict()
  /// CPUs' worth of work other processes did while the methods ran (e.g. 0.9 = most of a core),
  /// from /proc/stat; nothing if it could not be read. Timings are disturbed when this is large.
  std::optional<double> background_cores;
  /// False for an experiment whose methods differ in outcome by design (isolation): `answer` is
  /// then what the workload asks for, each row's answer is that row's own outcome, and the table
  /// prints "expected:" instead of "answer: ... (all N methods agree)"; JSON adds
  /// "methods_agree": false.
  bool agreement = true;
};

/// Receives results as they are measured, in this order: begin_run, then per experiment
/// begin_experiment, add_row..., end_experiment; finally finish.
/// Thread safety: used from one thread.
class reporter {
 public:
  virtual ~reporter() = default;
  /// Called once before anything else; `cores` is tandem::cpu_count().
  virtual void begin_run(std::size_t cores) = 0;
  /// Starts an experiment's section.
  virtual void begin_experiment(const experiment_header& h) = 0;
  /// One measured row; `answer` is experiment::answer_json(r.result).
  virtual void add_row(const row& r, const nlohmann::json& answer) = 0;
  /// Ends the section started by begin_experiment.
  virtual void end_experiment(const experiment_footer& f) = 0;
  /// Called once after the last experiment; `total_wall_s` is the whole run in seconds.
  virtual void finish(double total_wall_s) = 0;
};

/// A reporter that prints aligned tables to `out`, each row as soon as it is measured (the lab
/// takes ~30 s, and a silent terminal would look hung). `out` must outlive the reporter.
[[nodiscard]] std::unique_ptr<reporter> make_table_reporter(std::ostream& out);

/// A reporter that prints one JSON document to `out` at finish():
/// {"tool", "cpu_count", "experiments": [{name, summary, size, parameters, notes, answer,
/// methods, verdict, background_cores}], "rows": [{experiment, method, workers, wall_s, cpu_s,
/// speedup, <metrics>, runs, answer}], "total_wall_s"}. `out` must outlive the reporter.
[[nodiscard]] std::unique_ptr<reporter> make_json_reporter(std::ostream& out);

/// A row as the JSON reporter writes it.
[[nodiscard]] nlohmann::json row_json(const row& r, const nlohmann::json& answer);

/// `n` with its digits grouped in threes: 5000000 -> "5,000,000".
[[nodiscard]] std::string group_digits(std::uint64_t n);

/// The warning printed under a table when other processes kept at least `background_warn_cores`
/// CPUs busy during the experiment, or "" when they did not.
[[nodiscard]] std::string background_warning(std::optional<double> background_cores,
                                             std::size_t cores);

/// Background load (in CPUs) from which a report warns that timings are disturbed: a tenth of a
/// core is already a 5% error on a 2-core speedup.
inline constexpr double background_warn_cores = 0.10;

/// `v` printed in a column's style: ratio "1.93x", percent "97%", rate "12,345", decimal "12.3".
[[nodiscard]] std::string format_value(double v, column_style style);

}  // namespace tandem::lab
