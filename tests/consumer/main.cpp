// Links against an *installed* tandem (see CMakeLists.txt) and exercises each core header once.
// Exits 0 when every check passes, 1 (with a message on stderr) otherwise.
#include <tandem/cpu_count.hpp>
#include <tandem/error.hpp>
#include <tandem/future.hpp>
#include <tandem/thread_pool.hpp>
#include <tandem/wait.hpp>

#include <cstdio>
#include <ranges>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tandem_consumer: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  // cpu_count: always at least one CPU.
  const std::size_t cpus = tandem::cpu_count();
  check(cpus >= 1, "cpu_count() >= 1");

  // promise/future without a pool.
  tandem::promise<int> p;
  tandem::future<int> pf = p.get_future();
  check(!pf.done(), "a fresh promise's future is not done");
  p.set_result(7);
  check(pf.done() && pf.get() == 7, "promise::set_result reaches the future");

  {
    tandem::thread_pool pool({.max_workers = 2});
    check(pool.max_workers() == 2, "max_workers() is what was asked for");

    // submit + get
    tandem::future<int> f = pool.submit([](int a, int b) { return a * b; }, 6, 7);
    check(f.get() == 42, "submit(...).get() == 42");

    // map: ordered results
    long sum = 0;
    for (long x : pool.map([](long v) { return v * v; }, std::views::iota(1L, 101L))) sum += x;
    check(sum == 338350, "map: sum of squares 1..100 == 338350");

    // as_completed: every future comes back once
    std::vector<tandem::future<int>> futs;
    for (int i = 0; i < 8; ++i) futs.push_back(pool.submit([i] { return i; }));
    int seen = 0;
    for (const auto& done : tandem::as_completed(futs)) seen += done.get();
    check(seen == 28, "as_completed: 0 + 1 + ... + 7 == 28");

    // an exception travels inside the future
    auto bad = pool.submit([]() -> int { throw tandem::invalid_state_error("boom"); });
    bool caught = false;
    try {
      (void)bad.get();
    } catch (const tandem::error&) {
      caught = true;
    }
    check(caught, "a task's exception is rethrown by get()");

    pool.shutdown();
    bool refused = false;
    try {
      (void)pool.submit([] { return 0; });
    } catch (const tandem::invalid_state_error&) {
      refused = true;
    }
    check(refused, "submit after shutdown throws invalid_state_error");
  }

  if (failures) return 1;
  std::printf("tandem_consumer: ok (cpu_count = %zu)\n", cpus);
  return 0;
}
