#include "lab/methods.hpp"

#include <ranges>
#include <stdexcept>
#include <vector>

#include "tandem/thread_pool.hpp"

namespace tandem::lab {
namespace {

class sequential final : public method {
 public:
  [[nodiscard]] std::string name() const override { return "sequential"; }
  [[nodiscard]] std::size_t workers() const override { return 1; }
  [[nodiscard]] std::vector<task_result> run(const workload& w) const override {
    std::vector<task_result> out;
    out.reserve(w.task_count());
    for (std::size_t i = 0; i < w.task_count(); ++i) out.push_back(w.run_task(i));
    return out;
  }
};

class thread_pool_method final : public method {
 public:
  explicit thread_pool_method(std::size_t workers) : workers_(workers) {}
  [[nodiscard]] std::string name() const override { return "thread_pool"; }
  [[nodiscard]] std::size_t workers() const override { return workers_; }
  [[nodiscard]] std::vector<task_result> run(const workload& w) const override {
    // Written the way a user would: a pool per job, map over the task indices, results in order.
    tandem::thread_pool pool({.max_workers = workers_, .thread_name_prefix = "tandem-lab"});
    std::vector<task_result> out;
    out.reserve(w.task_count());
    auto tasks = std::views::iota(std::size_t{0}, w.task_count());
    for (const task_result& r : pool.map([&w](std::size_t i) { return w.run_task(i); }, tasks,
                                         {.chunksize = w.chunksize()}))
      out.push_back(r);
    return out;
  }

 private:
  std::size_t workers_;
};

}  // namespace

std::unique_ptr<method> make_sequential() { return std::make_unique<sequential>(); }

std::unique_ptr<method> make_thread_pool(std::size_t workers) {
  if (workers == 0) throw std::invalid_argument("make_thread_pool: workers must be at least 1");
  return std::make_unique<thread_pool_method>(workers);
}

}  // namespace tandem::lab
