// Fetching several things at once on one event loop: asyncio.gather, asyncio.timeout and
// asyncio.wait_for.
//
// Each "fetch" stands in for network I/O with aio::sleep, so the example needs no network and
// its timings are known; echo_server.cpp shows real sockets (aio::open_connection).
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "tandem/aio/gather.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/timeout.hpp"
#include "tandem/error.hpp"

namespace aio = tandem::aio;

namespace {

// Python: `async def fetch(url, delay)`. Parameters are taken by value: a coroutine's reference
// parameters would dangle once the caller's temporaries are gone (the frame outlives them).
aio::task<std::size_t> fetch(std::string url, double delay) {
  co_await aio::sleep(delay);  // a suspension point: the loop runs the other fetches meanwhile
  if (url.starts_with("bad:")) throw std::runtime_error("cannot fetch " + url);
  co_return url.size() * 100;  // "bytes received"
}

aio::task<bool> demo() {
  aio::loop& loop = aio::get_running_loop();
  bool ok = true;

  // 1. gather: three fetches at once. They take 0.05 + 0.10 + 0.15 s one after the other, but
  //    together they take as long as the slowest. Results come back in input order.
  std::vector<aio::task<std::size_t>> fetches;
  fetches.push_back(fetch("https://a.example", 0.05));
  fetches.push_back(fetch("https://bb.example", 0.10));
  fetches.push_back(fetch("https://ccc.example", 0.15));
  double start = loop.time();
  std::vector<std::size_t> sizes = co_await aio::gather(std::move(fetches));
  double took = loop.time() - start;
  std::printf("gather: %zu, %zu, %zu bytes in %.2f s\n", sizes[0], sizes[1], sizes[2], took);
  ok = ok && sizes[0] == 1700 && sizes[2] == 1900 && took < 0.25;

  // The variadic form returns a tuple, so results of different types fit too.
  auto [x, y] = co_await aio::gather(fetch("x", 0.01), fetch("yy", 0.02));
  ok = ok && x == 100 && y == 200;

  // 2. timeout: one deadline for a whole block (asyncio.timeout). When it passes, the block's
  //    task is cancelled; gather forwards the cancel to the fetches it runs and waits for them,
  //    and the scope turns the cancellation into timeout_error.
  std::vector<aio::task<std::size_t>> slow;
  slow.push_back(fetch("https://fast.example", 0.01));
  slow.push_back(fetch("https://slow.example", 10));
  try {
    (void)co_await aio::timeout(0.1, aio::gather(std::move(slow)));
    ok = false;
  } catch (const tandem::timeout_error&) {
    std::printf("timeout: the slow fetch was cancelled after 0.1 s\n");
  }

  // 3. wait_for: a limit for one awaitable (asyncio.wait_for). The fetch runs inline in this
  //    task, so when timeout_error arrives its cleanup has already run.
  try {
    (void)co_await aio::wait_for(fetch("https://slow.example", 10), 0.05);
    ok = false;
  } catch (const tandem::timeout_error&) {
    std::printf("wait_for: gave up after 0.05 s\n");
  }
  std::size_t quick = co_await aio::wait_for(fetch("https://quick.example", 0.01), 1.0);
  ok = ok && quick == 2100;

  // 4. return_exceptions: every outcome, failures included, instead of the first exception.
  std::vector<aio::task<std::size_t>> mixed;
  mixed.push_back(fetch("https://ok.example", 0.01));
  mixed.push_back(fetch("bad://broken.example", 0.01));
  auto outcomes = co_await aio::gather(aio::return_exceptions, std::move(mixed));
  for (const auto& o : outcomes) {
    if (const auto* bytes = std::get_if<0>(&o))
      std::printf("  ok: %zu bytes\n", *bytes);
    else
      std::printf("  failed: %s\n", tandem::describe(std::get<1>(o)).c_str());
  }
  ok = ok && outcomes[0].index() == 0 && outcomes[1].index() == 1;

  co_return ok;
}

}  // namespace

int main() {
  bool ok = aio::run(demo());
  std::printf(ok ? "aio_gather example: ok\n" : "aio_gather example: FAILED\n");
  return ok ? 0 : 1;
}
