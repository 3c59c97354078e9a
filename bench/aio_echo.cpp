// The loopback echo on tandem::aio streams (start_server, open_connection): tandem's side of the
// echo row, beside Asio's pair (bench/asio_peers.cpp) and asyncio's/uvloop's
// (bench/echo_asyncio.py). The same work as theirs:
//
//   tandem_aio_echo echo [conns] [msgs] [bytes]      default 100 connections x 1,000 x 64 bytes
//
// One process, one loop (aio::run on the main thread) for both ends: aio::start_server on
// 127.0.0.1 port 0 (a free port) echoes what each connection sends until EOF; `conns` client tasks
// (create_task) each open_connection, then `msgs` times write a message, drain, and readexactly
// its echo, checking every byte (message i of connection c is loop_peer.hpp's echo_byte pattern);
// each client closes after its last message, which ends its server session. The clock runs from
// before the first connection until every client and session is done and the server is closed.
// Prints one JSON line (loop_peer.hpp); a wrong echo exits non-zero.
//
// Uses aio's asyncio-shaped streams (include/tandem/aio/streams.hpp): start_server(handler, host,
// port) with handler(stream_reader, stream_writer) and server::port(); open_connection(host, port)
// giving a reader and a writer; read(n) (empty at EOF), readexactly(n), write(bytes), drain(),
// close(), wait_closed(); server::wait_closed() waits for every handler. Built outside the default
// build (EXCLUDE_FROM_ALL in bench/CMakeLists.txt, and only once include/tandem/aio/streams.hpp
// exists); bench/run.sh builds it and leaves the tandem cell empty, with the build log's name, if
// it does not build.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loop_peer.hpp"
#include "tandem/aio.hpp"
#include "tandem/aio/streams.hpp"

namespace {

namespace tb = tandem_bench;
namespace aio = tandem::aio;

struct echo_stats {
  long long messages = 0;  // round trips whose echo matched
  long sessions_done = 0;
};

echo_stats* stats_of_run = nullptr;  // the run's stats, for the handler (a plain function)

/// The server's side of one connection: echoes until EOF.
aio::task<void> session(aio::stream_reader reader, aio::stream_writer writer) {
  for (;;) {
    auto data = co_await reader.read(4096);
    if (data.empty()) break;
    writer.write(data);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
  ++stats_of_run->sessions_done;
}

/// Client c: `msgs` round trips of `bytes` bytes, each echo checked.
aio::task<int> client(std::uint16_t port, long c, long msgs, long bytes, echo_stats* stats) {
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
  const auto size = static_cast<std::size_t>(bytes);
  std::string msg(size, '\0');
  for (long i = 0; i < msgs; ++i) {
    for (std::size_t j = 0; j < size; ++j) msg[j] = tb::echo_byte(c, i, static_cast<long>(j));
    writer.write(msg);
    co_await writer.drain();
    auto got = co_await reader.readexactly(size);
    if (got.size() != size || !std::equal(got.begin(), got.end(), msg.begin(),
                                          [](auto a, char b) { return static_cast<char>(a) == b; }))
      tb::fail("echo/aio: connection " + std::to_string(c) + " got a wrong echo");
    ++stats->messages;
  }
  writer.close();
  co_await writer.wait_closed();
  co_return 0;
}

aio::task<double> echo_main(long conns, long msgs, long bytes, echo_stats* stats) {
  auto server = co_await aio::start_server(session, "127.0.0.1", 0);
  const std::uint16_t port = server.port();
  const tb::run_meter meter;
  std::vector<aio::task_handle<int>> clients;
  for (long c = 0; c < conns; ++c)
    clients.push_back(aio::create_task(client(port, c, msgs, bytes, stats)));
  for (auto& h : clients) co_await std::move(h);
  // Bounded: every client has closed, so every session ends at EOF; wait_closed() waits for
  // their handlers.
  server.close();
  co_await server.wait_closed();
  co_return meter.elapsed();
}

int echo(long conns, long msgs, long bytes) {
  if (conns < 1 || msgs < 1 || bytes < 1) tb::fail("echo: conns, msgs and bytes must be >= 1");
  echo_stats stats;
  stats_of_run = &stats;
  const tb::run_meter meter;
  const double wall = aio::run(echo_main(conns, msgs, bytes, &stats));
  if (stats.messages != conns * msgs || stats.sessions_done != conns)
    tb::fail("echo/aio: " + std::to_string(stats.messages) + " round trips, " +
             std::to_string(stats.sessions_done) + " sessions closed");
  tb::json_line out;
  out.add("workload", "echo").add("method", "aio").add("n", stats.messages);
  out.add("connections", conns).add("messages", msgs).add("bytes", bytes);
  meter.add_to(out, wall);
  out.add("rate", static_cast<double>(stats.messages) / wall)
      .add("unit", "messages/s")
      .add("check", stats.messages)
      .print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "echo")
    return echo(tb::arg_long(argc, argv, 2, tb::echo_connections),
                tb::arg_long(argc, argv, 3, tb::echo_messages),
                tb::arg_long(argc, argv, 4, tb::echo_message_bytes));
  std::fprintf(stderr, "usage: %s echo [conns] [msgs] [bytes]   (loopback echo on tandem::aio)\n",
               argv[0]);
  return 2;
}
