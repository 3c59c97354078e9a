// W9 (shared/bench/WORKLOADS.md): fetch N URLs (BASE?i=<k>, a 1 KiB static file from a local
// nginx with one worker) with one http::session at concurrency C, checking every response
// (status 200, 1,024 bytes). Prints one JSON line, the peers' format (w9_http.py).
// Usage: tandem_http_client_bench BASE_URL [N=10000] [C=100]
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "tandem/aio.hpp"
#include "tandem/http.hpp"

namespace aio = tandem::aio;
namespace http = tandem::http;

namespace {

struct job {
  std::string base;
  std::size_t n = 0;
  std::size_t next = 0;
  std::size_t bytes = 0;
  std::size_t bad = 0;
};

// One of C coroutines, each with one request in flight, taking the next index until none are
// left: what aiohttp's Semaphore(100) + gather does, without a task per URL.
aio::task<void> worker(http::session* s, job* j) {
  while (j->next < j->n) {
    std::size_t k = j->next++;
    http::response r = co_await s->get(j->base + "?i=" + std::to_string(k));
    if (r.status() == 200 && r.bytes().size() == 1024)
      j->bytes += r.bytes().size();
    else
      ++j->bad;
  }
}

aio::task<double> run(job* j, std::size_t concurrency) {
  http::session s({.limit = concurrency});  // aiohttp: TCPConnector(limit=100)
  auto t0 = std::chrono::steady_clock::now();
  std::vector<aio::task<void>> ws;
  for (std::size_t i = 0; i < concurrency; ++i) ws.push_back(worker(&s, j));
  (void)co_await aio::gather(std::move(ws));
  co_return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BASE_URL [N] [CONCURRENCY]\n", argv[0]);
    return 2;
  }
  job j{.base = argv[1], .n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 10'000};
  std::size_t c = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 100;
  double wall = 0;
  try {
    wall = aio::run(run(&j, c));
  } catch (const std::exception& e) {  // the server is down or misbehaves: say so, fail the run
    std::fprintf(stderr, "W9: %s\n", e.what());
    return 1;
  }
  if (j.bad != 0 || j.bytes != j.n * 1024) {
    std::fprintf(stderr, "W9: %zu bad responses, %zu bytes\n", j.bad, j.bytes);
    return 1;
  }
  std::printf(
      "{\"workload\": \"W9\", \"method\": \"tandem_session\", \"n\": %zu, \"concurrency\": %zu, "
      "\"wall_s\": %.4f, \"rate\": %.1f, \"unit\": \"req/s\"}\n",
      j.n, c, wall, static_cast<double>(j.n) / wall);
  return 0;
}
