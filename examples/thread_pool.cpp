// thread_pool: the everyday moves. Submit one call and get its result, map a function over a
// range, wait for a batch of futures, and see an exception come back through a future.
//
// Python:  with ThreadPoolExecutor(max_workers=4) as pool:
//              f = pool.submit(pow, 2, 10); f.result()
//              sum(pool.map(lambda x: x * x, range(1, 1001)))
#include <tandem/thread_pool.hpp>
#include <tandem/wait.hpp>

#include <cstdio>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

int main() {
  // Four worker threads. With no options the pool starts tandem::cpu_count() of them.
  tandem::thread_pool pool({.max_workers = 4});

  // 1. submit(f, args...) runs f(args...) on a worker and returns a tandem::future at once.
  tandem::future<long> power = pool.submit(
      [](long base, int exp) {
        long r = 1;
        for (int i = 0; i < exp; ++i) r *= base;
        return r;
      },
      2L, 10);
  long p = power.get();  // blocks until the result is there

  // 2. map(f, range): results come back in input order, computed a chunk at a time on workers.
  long squares = 0;
  for (long sq : pool.map([](long x) { return x * x; }, std::views::iota(1L, 1001L))) squares += sq;

  // 3. A batch: submit several, then wait for all of them (concurrent.futures.wait).
  std::vector<tandem::future<std::size_t>> lengths;
  for (std::string word : {"submit", "map", "wait", "shutdown"})
    lengths.push_back(pool.submit([word] { return word.size(); }));
  auto [done, not_done] = tandem::wait(lengths);  // return_when::all_completed by default
  std::size_t letters = 0;
  for (const auto& f : done) letters += f.get();

  // 4. An exception thrown by the task is stored in its future and rethrown by get().
  auto failing = pool.submit([]() -> int { throw std::invalid_argument("bad input"); });
  std::string message;
  try {
    (void)failing.get();
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }

  // Optional: the destructor does the same (runs what is queued, then joins the threads).
  pool.shutdown();

  std::printf("2^10 = %ld, sum of squares 1..1000 = %ld, letters = %zu, error = \"%s\"\n", p,
              squares, letters, message.c_str());
  bool ok = p == 1024 && squares == 333833500 && done.size() == 4 && not_done.empty() &&
            letters == 21 && message == "bad input";
  return ok ? 0 : 1;
}
