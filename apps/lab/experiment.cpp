#include "lab/experiment.hpp"

namespace tandem::lab {

answer workload::reduce(std::span<const task_result> results) const {
  answer a;
  for (const task_result& r : results) {
    a.value += r.value;
    a.bytes += r.bytes;
    a.failures += r.failures;
  }
  a.items = results.size();
  return a;
}

std::optional<std::string> workload::check(const answer& /*a*/) const { return std::nullopt; }

std::optional<double> find_metric(const row& r, const std::string& key) {
  for (const metric& m : r.metrics)
    if (m.key == key) return m.value;
  return std::nullopt;
}

}  // namespace tandem::lab
