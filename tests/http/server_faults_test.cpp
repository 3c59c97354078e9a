// http::server against misbehaving clients on 127.0.0.1: a thousand malformed requests,
// slowloris (headers dribbled in) and silent connections, clients that leave mid-response or
// stop reading, hundreds of idle connections at shutdown. After each, the server still answers,
// holds no connection and no fd has leaked.
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "fd_leak_check.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/aio/timeout.hpp"
#include "tandem/http/server.hpp"
#include "test_support.hpp"

namespace {

namespace aio = tandem::aio;
namespace http = tandem::http;
using clock_type = std::chrono::steady_clock;

using tandem::test::seconds_since;
using tandem::test::tolerance_s;

aio::task<http::response> hello(http::request) { co_return http::response(200, "hello"); }

// 8 MiB: far more than the socket buffers hold, so the server is still writing when the client
// goes away or stops reading.
aio::task<http::response> huge(http::request) {
  co_return http::response(200, std::string(std::size_t{8} << 20, 'h'), "application/octet-stream");
}

const std::string good_request = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// Everything until the server closes, within 5 s.
aio::task<std::string> read_to_eof(aio::stream_reader r) {
  co_return co_await aio::wait_for(r.read(-1), 5.0);
}

// What arrives until the server closes the connection (end of stream, or a reset: a server that
// closes with our bytes unread sends RST), within 5 s.
aio::task<std::string> read_until_closed(aio::stream_reader r) {
  std::string got;
  try {
    for (;;) {
      std::string more = co_await aio::wait_for(r.read(64 * 1024), 5.0);
      if (more.empty()) break;
      got += more;
    }
  } catch (const std::system_error&) {
  }
  co_return got;
}

// A good request on a fresh connection gets its answer.
aio::task<bool> still_serves(std::uint16_t port) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", port);
  c.writer.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string reply = co_await read_to_eof(c.reader);
  co_return reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("\r\n\r\nhello");
}

// Waits (at most 5 s) until the server holds no connection.
aio::task<void> until_no_connections(const http::server& app) {
  for (int i = 0; i < 500 && app.active_connections() != 0; ++i) co_await aio::sleep(0.01);
}

class ServerFaults : public tandem::test::fd_leak_check {};

// ---------------------------------------------------------------- malformed requests

// Kinds of garbage, each rejected by the parser as soon as it arrives (none waits for more).
std::vector<std::string> garbage_kinds() {
  return {
      "GARBAGE\r\n\r\n",                                                   // no such method
      std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11),     // a TLS ClientHello
      "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",          // bad length
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",  // two lengths
      "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",                           // bad header line
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",       // bad chunk size
      "GET /\x01 HTTP/1.1\r\n\r\n",                                        // control char in URL
      "GET / HTTP/1.1\r\nX-Big: " + std::string(100 * 1024, 'a'),          // headers > 80 KiB
  };
}

struct garbage_tally {
  int answered_400 = 0;
  int other = 0;
};

// Sends garbage kinds[first], kinds[first + step]... on a connection each, `count` times.
aio::task<void> send_garbage(std::uint16_t port, int first, int step, int count,
                             garbage_tally* tally) {
  const std::vector<std::string> kinds = garbage_kinds();
  for (int i = 0; i < count; ++i) {
    const std::string& bytes = kinds[static_cast<std::size_t>(first + i * step) % kinds.size()];
    aio::connection c = co_await aio::open_connection("127.0.0.1", port);
    c.writer.write(bytes);
    std::string reply = co_await read_to_eof(c.reader);
    if (reply.starts_with("HTTP/1.1 400 Bad Request\r\n") &&
        reply.find("Connection: close\r\n") != std::string::npos &&
        reply.ends_with("\r\n\r\n400 Bad Request\n"))
      ++tally->answered_400;
    else
      ++tally->other;
  }
}

aio::task<void> thousand_malformed() {
  http::server app;
  app.get("/", hello);
  co_await app.start("127.0.0.1", 0);
  // 1,000 connections, at most 25 at once.
  constexpr int workers = 25;
  constexpr int each = 40;
  garbage_tally tally;
  std::vector<aio::task_handle<void>> tasks;
  for (int w = 0; w < workers; ++w)
    tasks.push_back(aio::create_task(send_garbage(app.port(), w, workers, each, &tally)));
  for (auto& t : tasks) co_await t;
  EXPECT_EQ(tally.answered_400, workers * each);
  EXPECT_EQ(tally.other, 0);
  EXPECT_TRUE(co_await still_serves(app.port()));
  http::server_stats st = app.stats();
  EXPECT_EQ(st.bad_requests, std::uint64_t{workers * each});
  EXPECT_EQ(st.connections, std::uint64_t{workers * each + 1});
  EXPECT_EQ(st.requests, std::uint64_t{workers * each + 1});
  co_await until_no_connections(app);
  EXPECT_EQ(app.active_connections(), 0u);
  co_await app.shutdown();
}
TEST_F(ServerFaults, SurvivesAThousandMalformedRequests) { aio::run(thousand_malformed()); }

// ---------------------------------------------------------------- slowloris

// Dribbles a header line every 50 ms, never finishing the request, until the server cuts it
// off (or 3 s pass).
aio::task<void> dribble(aio::stream_writer w) {
  w.write("GET / HTTP/1.1\r\nHost: t\r\n");
  for (int i = 0; i < 60 && !w.is_closing(); ++i) {
    co_await aio::sleep(0.05);
    if (!w.is_closing()) w.write("X-Slow: " + std::to_string(i) + "\r\n");
  }
}

// Seconds until the server closes a connection that dribbles (or, `silent`, sends nothing).
aio::task<double> time_to_cutoff(std::uint16_t port, bool silent) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", port);
  auto t0 = clock_type::now();
  aio::task_handle<void> d;
  if (!silent) d = aio::create_task(dribble(c.writer));
  std::string got = co_await read_until_closed(c.reader);
  double took = seconds_since(t0);
  EXPECT_EQ(got, "");  // no answer: the request never completed
  if (d.valid()) {
    d.cancel();
    try {
      co_await d;
    } catch (const tandem::cancelled_error&) {
    }
  }
  co_return took;
}

aio::task<void> slowloris() {
  http::server app({.read_timeout = 0.5});
  app.get("/", hello);
  co_await app.start("127.0.0.1", 0);
  std::vector<aio::task_handle<double>> conns;
  for (int i = 0; i < 20; ++i)
    conns.push_back(aio::create_task(time_to_cutoff(app.port(), i % 4 == 0)));
  // Meanwhile, others are served at once.
  co_await aio::sleep(0.1);
  auto t0 = clock_type::now();
  EXPECT_TRUE(co_await still_serves(app.port()));
  EXPECT_LT(seconds_since(t0), tolerance_s);
  EXPECT_EQ(app.active_connections(), 20u);
  // Each is cut off at read_timeout, give or take the sweep's period (read_timeout / 10).
  for (auto& c : conns) {
    double took = co_await c;
    EXPECT_GE(took, 0.5 - 0.02);
    EXPECT_LE(took, 0.5 + 0.05 + tolerance_s);
  }
  co_await until_no_connections(app);
  EXPECT_EQ(app.active_connections(), 0u);
  EXPECT_EQ(app.stats().requests, 1u);
  co_await app.shutdown();
}
TEST_F(ServerFaults, SlowlorisAndSilentConnectionsAreClosedAtReadTimeout) { aio::run(slowloris()); }

// ---------------------------------------------------------------- clients that go away

// Asks for 8 MiB, reads 64 KiB of it and leaves: closing (FIN, then RST for the unread data)
// or aborting (RST at once).
aio::task<void> leave_mid_response(std::uint16_t port, bool abort) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", port);
  c.writer.write("GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string some = co_await aio::wait_for(c.reader.readexactly(64 * 1024), 5.0);
  EXPECT_TRUE(some.starts_with("HTTP/1.1 200 OK\r\n"));
  if (abort) {
    c.writer.abort();
  } else {
    c.writer.close();
    co_await c.writer.wait_closed();
  }
}

aio::task<void> disconnect_mid_response() {
  http::server app;
  app.get("/", hello).get("/huge", huge);
  co_await app.start("127.0.0.1", 0);
  for (int round = 0; round < 3; ++round) {
    std::vector<aio::task_handle<void>> leaving;
    for (int i = 0; i < 8; ++i)
      leaving.push_back(aio::create_task(leave_mid_response(app.port(), i % 2 == 0)));
    for (auto& t : leaving) co_await t;
    EXPECT_TRUE(co_await still_serves(app.port()));  // and the process did not die of SIGPIPE
  }
  co_await until_no_connections(app);
  EXPECT_EQ(app.active_connections(), 0u);
  EXPECT_EQ(app.stats().handler_errors, 0u);
  co_await app.shutdown();
}
TEST_F(ServerFaults, ClientsThatLeaveMidResponse) { aio::run(disconnect_mid_response()); }

// A client that asks for 8 MiB and never reads: the write waits on it for read_timeout, then
// the server gives up on the connection.
aio::task<void> stops_reading() {
  http::server app({.read_timeout = 0.5});
  app.get("/", hello).get("/huge", huge);
  co_await app.start("127.0.0.1", 0);
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  c.writer.write("GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
  auto t0 = clock_type::now();
  while (app.stats().requests < 1 && seconds_since(t0) < 5) co_await aio::sleep(0.005);
  EXPECT_EQ(app.active_connections(), 1u);
  co_await until_no_connections(app);
  double took = seconds_since(t0);
  EXPECT_EQ(app.active_connections(), 0u);
  EXPECT_GE(took, 0.5 - 0.02);
  EXPECT_LE(took, 0.5 + 0.05 + tolerance_s);
  EXPECT_TRUE(co_await still_serves(app.port()));
  co_await app.shutdown();
}
TEST_F(ServerFaults, AClientThatStopsReadingIsCutOffAtReadTimeout) { aio::run(stops_reading()); }

// ---------------------------------------------------------------- many connections

aio::task<void> one_request_then_idle(std::uint16_t port, aio::connection* out) {
  *out = co_await aio::open_connection("127.0.0.1", port);
  out->writer.write(good_request);
  std::string head = co_await aio::wait_for(out->reader.readuntil("\r\n\r\nhello"), 5.0);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n"));
}

aio::task<void> many_idle_at_shutdown() {
  http::server app;
  app.get("/", hello);
  co_await app.start("127.0.0.1", 0);
  constexpr std::size_t n = 300;
  std::vector<aio::connection> conns(n);
  std::vector<aio::task_handle<void>> tasks;
  for (std::size_t i = 0; i < n; ++i)
    tasks.push_back(aio::create_task(one_request_then_idle(app.port(), &conns[i])));
  for (auto& t : tasks) co_await t;
  EXPECT_EQ(app.active_connections(), n);
  auto t0 = clock_type::now();
  co_await app.shutdown();
  EXPECT_LT(seconds_since(t0), tolerance_s);  // idle connections are closed, not waited for
  EXPECT_EQ(app.active_connections(), 0u);
  for (auto& c : conns) EXPECT_EQ(co_await read_to_eof(c.reader), "");
  EXPECT_EQ(app.stats().connections, n);
  EXPECT_EQ(app.stats().requests, n);
}
TEST_F(ServerFaults, ShutdownClosesHundredsOfIdleConnections) { aio::run(many_idle_at_shutdown()); }

}  // namespace
