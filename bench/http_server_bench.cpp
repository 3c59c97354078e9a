// The server benchmark: an http::server on 127.0.0.1 (port chosen by the kernel, printed on
// stdout) whose GET / answers a 1 KiB static body; bench/run.sh points wrk at it. Serves until
// SIGTERM or SIGINT, then shuts down gracefully.
#include <signal.h>

#include <cstdio>
#include <string>

#include "tandem/aio.hpp"
#include "tandem/http.hpp"

namespace aio = tandem::aio;
namespace http = tandem::http;

namespace {

aio::task<http::response> static_kib(http::request) {
  static const std::string body(1024, 'x');
  co_return http::response(200, body, "application/octet-stream");
}

aio::task<void> serve() {
  http::server app;
  app.get("/", static_kib);
  co_await app.start("127.0.0.1", 0);
  std::printf("%u\n", static_cast<unsigned>(app.port()));
  std::fflush(stdout);
  aio::event stop;
  aio::loop& l = aio::get_running_loop();
  l.add_signal_handler(SIGTERM, [&stop] { stop.set(); });
  l.add_signal_handler(SIGINT, [&stop] { stop.set(); });
  co_await stop.wait();
  co_await app.shutdown();
}

}  // namespace

int main() { aio::run(serve()); }
