// as_completed: start several slow jobs (sleeps standing in for downloads) and handle each one
// as soon as it finishes, not in the order they were started.
//
// Python:  futures = [pool.submit(download, url) for url in urls]
//          for f in as_completed(futures, timeout=5): print(f.result())
#include <tandem/thread_pool.hpp>
#include <tandem/wait.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

struct download {
  std::string name;
  std::chrono::milliseconds delay;  // how long the "server" takes to answer
};

int main() {
  // Started in this order; they will finish in order of delay (150 ms apart, a wide margin).
  const std::vector<download> jobs = {
      {"c.txt", 350ms}, {"a.txt", 50ms}, {"e.txt", 650ms}, {"b.txt", 200ms}, {"d.txt", 500ms}};

  // Waiting threads do not use a CPU, so an I/O-bound pool may have more workers than cores.
  tandem::thread_pool pool({.max_workers = jobs.size()});
  const auto start = std::chrono::steady_clock::now();

  std::vector<tandem::future<std::string>> futures;
  for (const download& d : jobs)
    futures.push_back(pool.submit([d] {
      std::this_thread::sleep_for(d.delay);  // stands in for network I/O
      return d.name;
    }));

  // Each future comes out of as_completed once, when it is done. Past 5 s it would throw
  // tandem::timeout_error instead of waiting forever.
  std::string order;
  for (const auto& f : tandem::as_completed(futures, 5s)) {
    std::printf("finished: %s\n", f.get().c_str());
    order += f.get().substr(0, 1);
  }

  // They ran side by side: the total is close to the longest delay (0.65 s), not the sum (1.75 s).
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::printf("completion order %s, %.2f s in all\n", order.c_str(), elapsed.count());
  return order == "abcde" && elapsed < 1.5s ? 0 : 1;
}
