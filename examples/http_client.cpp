// Fetching many URLs at once: the classic aiohttp example. Python:
//     async with aiohttp.ClientSession() as s:
//         pages = await asyncio.gather(*(fetch(s, u) for u in urls))
//
// The program serves its own pages (an http::server on 127.0.0.1, each answer 50 ms late), then
// fetches 200 of them with one session: all in flight at once, so it takes ~50 ms, not 10 s.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tandem/aio.hpp"
#include "tandem/http.hpp"

namespace aio = tandem::aio;
namespace http = tandem::http;

namespace {

// The page /items/<id>: a JSON document, 50 ms late (a slow backend).
aio::task<http::response> item(http::request rq) {
  co_await aio::sleep(0.05);
  co_return http::json_response({{"id", std::stoi(std::string(rq.param("id")))}});
}

// One fetch (aiohttp: `async with s.get(url) as r: r.raise_for_status(); return await r.json()`).
aio::task<int> fetch(http::session& s, std::string url) {
  http::response r = co_await s.get(std::move(url));
  r.raise_for_status();
  co_return r.json()["id"].get<int>();
}

aio::task<int> main_task() {
  http::server app;
  app.get("/items/{id}", item);
  co_await app.start("127.0.0.1", 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(app.port());

  http::session s({.limit = 200});  // aiohttp: TCPConnector(limit=200)
  std::vector<aio::task<int>> fetches;
  for (int i = 0; i < 200; ++i) fetches.push_back(fetch(s, base + "/items/" + std::to_string(i)));
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int> ids = co_await aio::gather(std::move(fetches));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  long sum = 0;
  for (int id : ids) sum += id;
  std::printf("fetched %zu pages in %.3f s (one after another: %.1f s); ids sum to %ld\n",
              ids.size(), took, 0.05 * static_cast<double>(ids.size()), sum);
  co_await app.shutdown();
  co_return sum == 199 * 200 / 2 && took < 2.0 ? 0 : 1;
}

}  // namespace

int main() { return aio::run(main_task()); }
