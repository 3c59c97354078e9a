// apply_async: fire off calls with callbacks instead of waiting on each result, as
// multiprocessing.pool.ThreadPool.apply_async(func, args, callback, error_callback) does.
//
// Callbacks run on the worker thread that ran the task, so whatever they touch must be
// thread-safe (here: a mutex). The future completes only after its callback has run.
#include <tandem/error.hpp>
#include <tandem/thread_pool.hpp>

#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

int main() {
  tandem::thread_pool pool({.max_workers = 2});

  std::mutex mu;
  std::vector<int> results;         // filled by callbacks, under mu
  std::vector<std::string> errors;  // filled by error callbacks, under mu

  auto on_result = [&](int r) {
    std::lock_guard lock(mu);
    results.push_back(r);
  };
  auto on_error = [&](std::exception_ptr e) {
    std::lock_guard lock(mu);
    errors.push_back(tandem::describe(e));  // the exception's what()
  };
  auto safe_divide = [](int a, int b) {
    if (b == 0) throw std::domain_error("division by zero");
    return a / b;
  };

  // Arguments travel as a tuple, like Python's args=(a, b).
  std::vector<tandem::future<int>> pending;
  for (int b : {1, 2, 0, 4})
    pending.push_back(pool.apply_async(safe_divide, std::tuple{100, b}, on_result, on_error));

  // get() still works and rethrows the task's own exception; by the time it returns, the callback
  // for that task has run, so results and errors are complete once every future is done.
  int failed = 0;
  for (auto& f : pending) {
    try {
      (void)f.get();
    } catch (const std::domain_error&) {
      ++failed;
    }
  }

  std::lock_guard lock(mu);
  int sum = 0;
  for (int r : results) sum += r;
  std::printf("callbacks saw %zu results (sum %d) and %zu error(s): %s\n", results.size(), sum,
              errors.size(), errors.empty() ? "" : errors.front().c_str());
  bool ok = results.size() == 3 && sum == 100 + 50 + 25 && failed == 1 && errors.size() == 1 &&
            errors.front() == "division by zero";
  return ok ? 0 : 1;
}
