#include "lab/methods.hpp"

#include <algorithm>
#include <ranges>
#include <stdexcept>
#include <vector>

#include "lab/process_workload.hpp"
#include "tandem/process/process_pool.hpp"
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

class process_pool_method final : public method {
 public:
  explicit process_pool_method(std::size_t workers) : workers_(workers) {}
  [[nodiscard]] std::string name() const override { return "process_pool"; }
  [[nodiscard]] std::size_t workers() const override { return workers_; }
  [[nodiscard]] std::vector<task_result> run(const workload& w) const override {
    const auto* pw = dynamic_cast<const process_workload*>(&w);
    if (!pw)
      throw std::invalid_argument("the process_pool method needs a workload with a process form");
    // As the thread_pool row: a pool per job, so starting the processes is part of the price.
    tandem::process_pool pool({.processes = workers_});
    std::vector<task_result> out = pw->map_on(pool);
    pool.shutdown();  // waits for the workers to exit and reaps them: their CPU time is counted
    return out;
  }

 private:
  std::size_t workers_;
};

class sampled_method final : public method {
 public:
  sampled_method(std::unique_ptr<method> inner, std::size_t tasks)
      : inner_(std::move(inner)), tasks_(tasks) {}
  [[nodiscard]] std::string name() const override { return inner_->name(); }
  [[nodiscard]] std::size_t workers() const override { return inner_->workers(); }
  [[nodiscard]] std::size_t sample() const override { return tasks_; }
  [[nodiscard]] std::vector<task_result> run(const workload& w) const override {
    return inner_->run(w);
  }

 private:
  std::unique_ptr<method> inner_;
  std::size_t tasks_;
};

}  // namespace

std::unique_ptr<method> make_sampled(std::unique_ptr<method> inner, std::size_t tasks) {
  if (!inner || tasks == 0) throw std::invalid_argument("make_sampled: no method or no tasks");
  return std::make_unique<sampled_method>(std::move(inner), tasks);
}

std::unique_ptr<method> make_process_pool(std::size_t workers) {
  if (workers == 0) throw std::invalid_argument("make_process_pool: workers must be at least 1");
  return std::make_unique<process_pool_method>(workers);
}

std::unique_ptr<method> make_sequential() { return std::make_unique<sequential>(); }

std::unique_ptr<method> make_thread_pool(std::size_t workers) {
  if (workers == 0) throw std::invalid_argument("make_thread_pool: workers must be at least 1");
  return std::make_unique<thread_pool_method>(workers);
}

}  // namespace tandem::lab
