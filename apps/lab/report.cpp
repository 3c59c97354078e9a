#include "lab/report.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>

#include <fmt/format.h>

namespace tandem::lab {
namespace {

// Wide enough for "process_pool", the longest method name a later layer plans to add.
constexpr std::size_t method_width = 12;
// Narrowest numeric column: fits "1,234.567" and "123.45x" with room to breathe.
constexpr std::size_t min_value_width = 9;

struct cell {
  std::string header;
  std::size_t width;
};

class table_reporter final : public reporter {
 public:
  explicit table_reporter(std::ostream& out) : out_(out) {}

  // The preamble waits for the first experiment, so an error in preparing it (a missing
  // directory) is all the user sees.
  void begin_run(std::size_t cores) override { cores_ = cores; }

  void begin_experiment(const experiment_header& h) override {
    if (!preamble_done_) {
      preamble_done_ = true;
      out_ << fmt::format(
          "tandem-lab: cpu_count() = {}. Parallel wall times include starting and joining the "
          "pool,\n"
          "as timing Python's `with ThreadPoolExecutor(n) as ex:` does; speedup is relative to "
          "the\n"
          "sequential row; cpu s is user + system CPU time of the whole process during the run\n"
          "(with the worker processes of process_pool rows, reaped inside the run).\n",
          cores_);
    }
    columns_ = h.columns;
    out_ << fmt::format("\n== {} | {} | cpu_count() = {} ==\n", h.name, h.size, h.cores);
    out_ << "   " << h.summary << '\n';
    for (const std::string& n : h.notes) out_ << "   note: " << n << '\n';
    widths_.clear();
    std::string line = fmt::format("  {:<{}}", "method", method_width);
    for (const char* common : {"workers", "wall s", "speedup", "cpu s"}) {
      widths_.push_back(std::max(min_value_width, std::string_view(common).size()));
      line += fmt::format("  {:>{}}", common, widths_.back());
    }
    for (const column& c : columns_) {
      widths_.push_back(std::max(min_value_width, c.header.size()));
      line += fmt::format("  {:>{}}", c.header, widths_.back());
    }
    out_ << line << '\n';
    out_.flush();
  }

  void add_row(const row& r, const nlohmann::json& /*answer*/) override {
    std::string line = fmt::format("  {:<{}}", r.method, method_width);
    std::size_t w = 0;
    line += fmt::format("  {:>{}}", r.workers, widths_[w++]);
    line += fmt::format("  {:>{}.3f}", r.wall_s, widths_[w++]);
    line += fmt::format("  {:>{}}", format_value(r.speedup, column_style::ratio), widths_[w++]);
    line += fmt::format("  {:>{}.2f}", r.cpu_s, widths_[w++]);
    for (const column& c : columns_) {
      auto v = find_metric(r, c.key);
      line += fmt::format("  {:>{}}", v ? format_value(*v, c.style) : "-", widths_[w++]);
    }
    out_ << line << '\n';
    out_.flush();
  }

  void end_experiment(const experiment_footer& f) override {
    if (f.agreement)
      out_ << fmt::format(
          "  answer: {} ({} agree)\n", f.answer_text,
          f.methods == 1 ? std::string("1 method") : fmt::format("all {} methods", f.methods));
    else
      out_ << fmt::format("  expected: {}\n", f.answer_text);
    out_ << "  " << f.verdict << '\n';
    if (auto w = background_warning(f.background_cores, cores_); !w.empty())
      out_ << "  " << w << '\n';
    out_.flush();
  }

  void finish(double total_wall_s) override {
    out_ << fmt::format("\ntotal: {:.1f} s\n", total_wall_s);
    out_.flush();
  }

 private:
  std::ostream& out_;
  std::size_t cores_ = 1;
  bool preamble_done_ = false;
  std::vector<column> columns_;
  std::vector<std::size_t> widths_;
};

class json_reporter final : public reporter {
 public:
  explicit json_reporter(std::ostream& out) : out_(out) {}

  void begin_run(std::size_t cores) override {
    doc_ = {{"tool", "tandem-lab"},
            {"cpu_count", cores},
            {"timing",
             "parallel wall_s includes starting and joining the pool; speedup is "
             "relative to the experiment's first (sequential) row; cpu_s is user + "
             "system CPU seconds of the whole process, process_pool workers included"},
            {"experiments", nlohmann::json::array()},
            {"rows", nlohmann::json::array()}};
  }

  void begin_experiment(const experiment_header& h) override {
    current_ = {{"name", h.name},       {"summary", h.summary},
                {"size", h.size},       {"parameters", h.parameters},
                {"cpu_count", h.cores}, {"notes", h.notes}};
  }

  void add_row(const row& r, const nlohmann::json& answer) override {
    doc_["rows"].push_back(row_json(r, answer));
  }

  void end_experiment(const experiment_footer& f) override {
    current_["answer"] = f.answer;
    current_["methods"] = f.methods;
    if (!f.agreement) current_["methods_agree"] = false;
    current_["verdict"] = f.verdict;
    current_["background_cores"] =
        f.background_cores ? nlohmann::json(*f.background_cores) : nlohmann::json();
    doc_["experiments"].push_back(std::move(current_));
    current_ = nlohmann::json();
  }

  void finish(double total_wall_s) override {
    doc_["total_wall_s"] = total_wall_s;
    out_ << doc_.dump(2) << '\n';
    out_.flush();
  }

 private:
  std::ostream& out_;
  nlohmann::json doc_;
  nlohmann::json current_;
};

}  // namespace

std::unique_ptr<reporter> make_table_reporter(std::ostream& out) {
  return std::make_unique<table_reporter>(out);
}

std::unique_ptr<reporter> make_json_reporter(std::ostream& out) {
  return std::make_unique<json_reporter>(out);
}

nlohmann::json row_json(const row& r, const nlohmann::json& answer) {
  nlohmann::json j = {{"experiment", r.experiment},
                      {"method", r.method},
                      {"workers", r.workers},
                      {"wall_s", r.wall_s},
                      {"cpu_s", r.cpu_s},
                      {"speedup", r.speedup},
                      {"runs", r.runs}};
  if (r.sample != 0) j["sample"] = r.sample;  // wall_s and cpu_s are scaled from this many tasks
  for (const metric& m : r.metrics) j[m.key] = m.value;
  j["answer"] = answer;
  return j;
}

std::string group_digits(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string background_warning(std::optional<double> background_cores, std::size_t cores) {
  if (!background_cores || *background_cores < background_warn_cores) return "";
  return fmt::format(
      "warning: other processes kept {:.1f} of the {} CPUs busy while this ran, so the timings "
      "that need the CPUs (and the verdict above) reflect that load; rerun on a quiet machine.",
      *background_cores, cores);
}

std::string format_value(double v, column_style style) {
  if (!std::isfinite(v)) return "-";
  switch (style) {
    case column_style::ratio:
      return fmt::format("{:.2f}x", v);
    case column_style::percent:
      return fmt::format("{:.0f}%", v * 100.0);
    case column_style::rate:
      return v < 0 ? fmt::format("{:.0f}", v)
                   : group_digits(static_cast<std::uint64_t>(std::llround(v)));
    case column_style::decimal:
      break;
  }
  return fmt::format("{:.1f}", v);
}

}  // namespace tandem::lab
