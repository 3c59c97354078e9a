// http::server over real sockets on 127.0.0.1, spoken to with raw aio streams: routing, path and
// query parameters, JSON, 404/405/413/400/500, HEAD, keep-alive, pipelining, HTTP/1.0,
// Connection: close, chunked bodies, 100-continue, read timeout, graceful shutdown.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
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
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

using tandem::test::seconds_since;
using tandem::test::tolerance_s;

// ---------------------------------------------------------------- a raw client

// One parsed response: status, header fields, body.
struct reply {
  int status = 0;
  std::string status_line;
  http::headers headers;
  std::string body;
  [[nodiscard]] std::string header(std::string_view name) const {
    return std::string(headers.get(name).value_or(""));
  }
};

// Reads one response (head, then Content-Length bytes of body unless `head_only`), within 5 s.
aio::task<reply> read_reply(aio::stream_reader r, bool head_only = false) {
  std::string head = co_await aio::wait_for(r.readuntil("\r\n\r\n"), 5.0);
  reply out;
  std::size_t eol = head.find("\r\n");
  out.status_line = head.substr(0, eol);
  out.status = std::stoi(out.status_line.substr(9, 3));
  std::size_t pos = eol + 2;
  while (pos + 2 < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end - pos);
    std::size_t colon = line.find(':');
    out.headers.add(line.substr(0, colon), line.substr(colon + 2));
    pos = end + 2;
  }
  std::size_t length = std::stoul(
      out.header("Content-Length").empty() ? std::string("0") : out.header("Content-Length"));
  if (!head_only && length > 0) out.body = co_await aio::wait_for(r.readexactly(length), 5.0);
  co_return out;
}

// Everything until the server closes, within 5 s.
aio::task<std::string> read_to_eof(aio::stream_reader r) {
  co_return co_await aio::wait_for(r.read(-1), 5.0);
}

// Sends `bytes` on a fresh connection and reads one response.
aio::task<reply> exchange(std::uint16_t port, std::string bytes) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", port);
  c.writer.write(bytes);
  reply r = co_await read_reply(c.reader);
  c.writer.close();
  co_await c.writer.wait_closed();
  co_return r;
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

// ---------------------------------------------------------------- handlers

aio::task<http::response> item(http::request rq) {
  json j = {{"id", rq.param("id")},
            {"missing", rq.param("nope")},
            {"full", rq.query_param("full").value_or("-")},
            {"name", rq.query_param("name").value_or("-")},
            {"absent", rq.query_param("absent").has_value()},
            {"path", rq.path},
            {"query", rq.query},
            {"target", rq.target},
            {"version", rq.version}};
  co_return http::json_response(j);
}

aio::task<http::response> post_item(http::request rq) {
  json in = rq.json();
  co_return http::json_response({{"got", in}, {"owner", rq.param("owner")}}, 201);
}

aio::task<http::response> hello(http::request) {
  co_return http::response(200, std::string(1024, 'h'));
}

aio::task<http::response> echo_body(http::request rq) {
  http::response r(200, rq.body);
  r.headers().add("X-Method", rq.method);
  co_return r;
}

// Handlers of /slow/{seconds} that have begun, so that tests wait for a handler instead of
// guessing how long it takes to start.
int g_slow_started = 0;

// Waits (at most 5 s) until `n` /slow handlers have begun.
aio::task<void> until_slow_started(int n) {
  auto t0 = clock_type::now();
  while (g_slow_started < n && seconds_since(t0) < 5) co_await aio::sleep(0.002);
  EXPECT_GE(g_slow_started, n);
}

aio::task<http::response> slow(http::request rq) {
  ++g_slow_started;
  co_await aio::sleep(std::stod(std::string(rq.param("seconds"))));
  co_return http::response(200, "slept " + std::string(rq.param("seconds")));
}

aio::task<http::response> boom(http::request) {
  throw std::runtime_error("boom in handler");
  co_return http::response(200);
}

void add_routes(http::server& app) {
  app.get("/", hello)
      .get("/items/{id}", item)
      .post("/users/{owner}/items", post_item)
      .post("/echo", echo_body)
      .put("/echo", echo_body)
      .get("/slow/{seconds}", slow)
      .get("/boom", boom)
      .delete_("/items/{id}", item)
      .patch("/items/{id}", item);
}

class Server : public tandem::test::fd_leak_check {};

// Runs `body(app)` on a fresh loop against a started server with the routes above, then shuts
// the server down and checks that no connection is left.
template <class Body>
void with_server(Body body, http::server_options opts = {}) {
  aio::run([](Body b, http::server_options o) -> aio::task<void> {
    http::server app(o);
    add_routes(app);
    co_await app.start("127.0.0.1", 0);
    EXPECT_NE(app.port(), 0);
    std::exception_ptr err;
    try {
      co_await b(app);
    } catch (...) {
      err = std::current_exception();
    }
    co_await app.shutdown();
    EXPECT_EQ(app.active_connections(), 0u);
    if (err) std::rethrow_exception(err);
  }(std::move(body), opts));
}

// ---------------------------------------------------------------- routing

aio::task<void> routes_params_query_json(http::server& app) {
  reply r = co_await exchange(app.port(), get("/items/7?full=1&name=a%20b+c%26d&empty="));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Server"), "tandem");
  json j = json::parse(r.body);
  EXPECT_EQ(j["id"], "7");
  EXPECT_EQ(j["missing"], "");
  EXPECT_EQ(j["full"], "1");
  EXPECT_EQ(j["name"], "a b c&d");
  EXPECT_EQ(j["absent"], false);
  EXPECT_EQ(j["path"], "/items/7");
  EXPECT_EQ(j["query"], "full=1&name=a%20b+c%26d&empty=");
  EXPECT_EQ(j["target"], "/items/7?full=1&name=a%20b+c%26d&empty=");
  EXPECT_EQ(j["version"], "HTTP/1.1");

  // The path is percent-decoded before matching; parameters come out decoded.
  r = co_await exchange(app.port(), get("/items/caf%C3%A9%20x"));
  EXPECT_EQ(json::parse(r.body)["id"], "caf\xC3\xA9 x");

  std::string body = R"({"name":"pen","n":3})";
  r = co_await exchange(app.port(),
                        "POST /users/ann/items HTTP/1.1\r\nHost: t\r\n"
                        "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.status_line, "HTTP/1.1 201 Created");
  j = json::parse(r.body);
  EXPECT_EQ(j["got"]["name"], "pen");
  EXPECT_EQ(j["got"]["n"], 3);
  EXPECT_EQ(j["owner"], "ann");

  r = co_await exchange(app.port(), "DELETE /items/9 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(json::parse(r.body)["id"], "9");
  r = co_await exchange(app.port(), "PATCH /items/10 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(json::parse(r.body)["id"], "10");
}
TEST_F(Server, RoutesPathParamsQueryAndJson) { with_server(routes_params_query_json); }

aio::task<void> not_found(http::server& app) {
  for (const char* target : {"/nope", "/items", "/items/", "/items/7/extra", "//"}) {
    reply r = co_await exchange(app.port(), get(target));
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.body, "404 Not Found\n") << target;
    EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(app.stats().requests, 5u);
  EXPECT_EQ(app.stats().bad_requests, 0u);
}
TEST_F(Server, UnknownPathIs404) { with_server(not_found); }

aio::task<void> not_allowed(http::server& app) {
  reply r = co_await exchange(app.port(), "POST /items/3 HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "405 Method Not Allowed\n");
  EXPECT_EQ(r.header("Allow"), "GET, HEAD, DELETE, PATCH");
  r = co_await exchange(app.port(), get("/echo"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "POST, PUT");
}
TEST_F(Server, KnownPathOtherMethodIs405WithAllow) { with_server(not_allowed); }

aio::task<void> head_request(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  // HEAD, then GET on the same connection: had HEAD sent a body, the GET's reply would be
  // read from the middle of it.
  c.writer.write("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
  reply h = co_await read_reply(c.reader, true);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length"), "1024");
  c.writer.write(get("/"));
  reply g = co_await read_reply(c.reader);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, std::string(1024, 'h'));
  c.writer.close();
  co_await c.writer.wait_closed();
}
TEST_F(Server, HeadIsServedByGetWithoutBody) { with_server(head_request); }

TEST_F(Server, PatternErrors) {
  http::server app;
  EXPECT_THROW(app.get("items", hello), std::invalid_argument);
  EXPECT_THROW(app.get("/items/{id", hello), std::invalid_argument);
  EXPECT_THROW(app.get("/items/x{id}", hello), std::invalid_argument);
  EXPECT_THROW(app.get("/items/{}", hello), std::invalid_argument);
  EXPECT_NO_THROW(app.get("/items/{id}/{part}", hello));
  EXPECT_EQ(app.port(), 0);
  EXPECT_EQ(app.active_connections(), 0u);
}

aio::task<void> start_twice(http::server& app) {
  EXPECT_THROW(co_await app.start("127.0.0.1", 0), tandem::invalid_state_error);
  // Another server cannot take the same port.
  http::server other;
  EXPECT_THROW(co_await other.start("127.0.0.1", app.port()), std::system_error);
  // shutdown() of a server that never started returns at once.
  co_await other.shutdown();
}
TEST_F(Server, StartTwiceAndPortInUse) { with_server(start_twice); }

// ---------------------------------------------------------------- connections

aio::task<void> keep_alive(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  for (int i = 0; i < 3; ++i) {
    c.writer.write(get("/items/" + std::to_string(i)));
    reply r = co_await read_reply(c.reader);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Connection"), "");  // HTTP/1.1: keep-alive goes without saying
    EXPECT_EQ(json::parse(r.body)["id"], std::to_string(i));
  }
  EXPECT_EQ(app.stats().connections, 1u);
  EXPECT_EQ(app.stats().requests, 3u);
  EXPECT_EQ(app.active_connections(), 1u);
  c.writer.close();
  co_await c.writer.wait_closed();
}
TEST_F(Server, KeepAliveServesManyRequestsOnOneConnection) { with_server(keep_alive); }

aio::task<void> pipelining(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  // The first is slow and the second fast: the answers still come in request order.
  std::string body = "payload";
  c.writer.write(get("/slow/0.1") + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body + get("/items/3"));
  reply a = co_await read_reply(c.reader);
  reply b = co_await read_reply(c.reader);
  reply d = co_await read_reply(c.reader);
  EXPECT_EQ(a.body, "slept 0.1");
  EXPECT_EQ(b.body, "payload");
  EXPECT_EQ(b.header("X-Method"), "POST");
  EXPECT_EQ(json::parse(d.body)["id"], "3");
  EXPECT_EQ(app.stats().connections, 1u);
  c.writer.close();
  co_await c.writer.wait_closed();
}
TEST_F(Server, PipelinedRequestsAreAnsweredInOrder) { with_server(pipelining); }

aio::task<void> http10(http::server& app) {
  {
    aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
    c.writer.write("GET /items/1 HTTP/1.0\r\n\r\n");
    reply r = co_await read_reply(c.reader);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_EQ(json::parse(r.body)["version"], "HTTP/1.0");
    EXPECT_EQ(co_await read_to_eof(c.reader), "");  // then the server closes
  }
  {
    aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
    for (int i = 0; i < 2; ++i) {
      c.writer.write("GET /items/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      reply r = co_await read_reply(c.reader);
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.header("Connection"), "keep-alive");
    }
    c.writer.close();
    co_await c.writer.wait_closed();
  }
  EXPECT_EQ(app.stats().connections, 2u);
}
TEST_F(Server, Http10ClosesUnlessKeepAlive) { with_server(http10); }

aio::task<void> connection_close(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  // A request after the one that says close is never answered.
  c.writer.write(get("/items/1", "Connection: close\r\n") + get("/items/2"));
  reply r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_EQ(co_await read_to_eof(c.reader), "");
  EXPECT_EQ(app.stats().requests, 1u);
}
TEST_F(Server, ConnectionCloseIsHonoured) { with_server(connection_close); }

aio::task<void> chunked_body(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  c.writer.write(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n");
  co_await aio::sleep(0.02);  // the rest in a later segment: the parser resumes mid-body
  c.writer.write("1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n");
  reply r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world!");
  // The connection goes on after a chunked body.
  c.writer.write(get("/items/5"));
  r = co_await read_reply(c.reader);
  EXPECT_EQ(json::parse(r.body)["id"], "5");
  c.writer.close();
  co_await c.writer.wait_closed();
}
TEST_F(Server, ChunkedRequestBody) { with_server(chunked_body); }

aio::task<void> too_large(http::server& app) {
  // By Content-Length: refused before the body is read.
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  c.writer.write("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n" +
                 std::string(1001, 'x'));
  reply r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "413 Content Too Large\n");
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_EQ(co_await read_to_eof(c.reader), "");

  // Chunked: refused once the chunks add up to more than the limit.
  aio::connection d = co_await aio::open_connection("127.0.0.1", app.port());
  d.writer.write("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) d.writer.write("190\r\n" + std::string(400, 'y') + "\r\n");
  r = co_await read_reply(d.reader);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(co_await read_to_eof(d.reader), "");

  // Exactly at the limit is fine.
  r = co_await exchange(
      app.port(),
      "PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'z'));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 1000u);
  EXPECT_EQ(app.stats().bad_requests, 2u);
}
TEST_F(Server, BodyOverTheLimitIs413) { with_server(too_large, {.max_body_size = 1000}); }

aio::task<void> expect_continue(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  c.writer.write(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = co_await aio::wait_for(c.reader.readuntil("\r\n\r\n"), 5.0);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.writer.write("12345");
  reply r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "12345");

  // Too large: 413 at once, no 100 Continue.
  c.writer.write(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(co_await read_to_eof(c.reader), "");
}
TEST_F(Server, ExpectContinue) { with_server(expect_continue, {.max_body_size = 1000}); }

aio::task<void> garbage(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  c.writer.write("this is not HTTP\r\n\r\n");
  reply r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "400 Bad Request\n");
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_EQ(co_await read_to_eof(c.reader), "");
  EXPECT_EQ(app.stats().bad_requests, 1u);
  // A good request after a bad one's answer on the same connection is not served (it closed);
  // on a new one it is.
  reply ok = co_await exchange(app.port(), get("/"));
  EXPECT_EQ(ok.status, 200);
}
TEST_F(Server, GarbageIs400ThenClosed) { with_server(garbage); }

aio::task<void> handler_throws(http::server& app) {
  tandem::test::unraisable_capture cap;
  reply r = co_await exchange(app.port(), get("/boom"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "500 Internal Server Error\n");
  reply ok = co_await exchange(app.port(), get("/items/4"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(app.stats().handler_errors, 1u);
  auto messages = cap.messages();
  EXPECT_EQ(messages.size(), 1u);
  for (const std::string& m : messages) {
    EXPECT_NE(m.find("boom in handler"), std::string::npos) << m;
    EXPECT_NE(m.find("GET /boom"), std::string::npos) << m;
  }
}
TEST_F(Server, HandlerThatThrowsGives500AndTheServerGoesOn) { with_server(handler_throws); }

// An idle keep-alive connection is closed once it has waited read_timeout for a request.
aio::task<void> idle_timeout(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  c.writer.write(get("/"));
  reply r = co_await read_reply(c.reader);
  EXPECT_EQ(r.status, 200);
  auto t0 = clock_type::now();
  EXPECT_EQ(co_await read_to_eof(c.reader), "");
  double waited = seconds_since(t0);
  EXPECT_GE(waited, 0.5 - 0.02);
  EXPECT_LE(waited, 0.5 + 0.05 + tolerance_s);
}
TEST_F(Server, IdleKeepAliveClosedAtReadTimeout) {
  with_server(idle_timeout, {.read_timeout = 0.5});
}

// ---------------------------------------------------------------- shutdown

aio::task<reply> slow_request(std::uint16_t port) {
  co_return co_await exchange(port, get("/slow/0.3"));
}

aio::task<void> graceful(http::server& app) {
  // An idle keep-alive connection, and a request in flight.
  aio::connection idle = co_await aio::open_connection("127.0.0.1", app.port());
  idle.writer.write(get("/"));
  EXPECT_EQ((co_await read_reply(idle.reader)).status, 200);
  g_slow_started = 0;
  aio::task_handle<reply> inflight = aio::create_task(slow_request(app.port()));
  co_await until_slow_started(1);

  auto t0 = clock_type::now();
  co_await app.shutdown();
  double took = seconds_since(t0);
  // The idle connection was closed without an answer; the slow one finished first.
  EXPECT_EQ(co_await read_to_eof(idle.reader), "");
  reply r = co_await inflight;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slept 0.3");
  EXPECT_EQ(r.header("Connection"), "close");
  EXPECT_GE(took, 0.2);
  EXPECT_LE(took, 0.3 + tolerance_s);
  EXPECT_EQ(app.active_connections(), 0u);
  // No more connections are accepted.
  EXPECT_THROW(co_await aio::open_connection("127.0.0.1", app.port()), std::system_error);
  co_await app.shutdown();  // idempotent
}
TEST_F(Server, GracefulShutdownFinishesInFlightRequests) { with_server(graceful); }

aio::task<void> shutdown_timeout(http::server& app) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
  g_slow_started = 0;
  c.writer.write(get("/slow/3600"));
  co_await until_slow_started(1);
  auto t0 = clock_type::now();
  co_await app.shutdown();
  double took = seconds_since(t0);
  EXPECT_GE(took, 0.2 - 0.02);
  EXPECT_LE(took, 0.2 + tolerance_s);
  EXPECT_EQ(co_await read_to_eof(c.reader), "");  // cut off without an answer
  EXPECT_EQ(app.active_connections(), 0u);
}
TEST_F(Server, ShutdownTimeoutAbortsAHandlerThatNeverFinishes) {
  with_server(shutdown_timeout, {.shutdown_timeout = 0.2});
}

// A handler whose client has already gone away is not waited for: nobody would read its answer.
aio::task<void> abandoned(http::server& app) {
  {
    aio::connection c = co_await aio::open_connection("127.0.0.1", app.port());
    g_slow_started = 0;
    c.writer.write(get("/slow/30"));
    co_await until_slow_started(1);
    c.writer.close();
    co_await c.writer.wait_closed();
  }
  EXPECT_EQ(app.active_connections(), 1u);  // its handler still sleeps
  auto t0 = clock_type::now();
  co_await app.shutdown();
  EXPECT_LE(seconds_since(t0), tolerance_s);
  EXPECT_EQ(app.active_connections(), 0u);
}
TEST_F(Server, ShutdownCancelsAHandlerWhoseClientLeft) { with_server(abandoned); }

// Destroying a server that was not shut down closes everything at once: the listener, idle
// connections, and connections whose handler is still running (the handler is cancelled).
aio::task<void> destroyed_abruptly() {
  std::uint16_t port = 0;
  aio::connection busy;
  aio::connection idle;
  {
    http::server app;
    add_routes(app);
    co_await app.start("127.0.0.1", 0);
    port = app.port();
    busy = co_await aio::open_connection("127.0.0.1", port);
    g_slow_started = 0;
    busy.writer.write(get("/slow/30"));
    idle = co_await aio::open_connection("127.0.0.1", port);
    idle.writer.write(get("/"));
    EXPECT_EQ((co_await read_reply(idle.reader)).status, 200);
    co_await until_slow_started(1);
    EXPECT_EQ(app.active_connections(), 2u);
  }
  EXPECT_EQ(co_await read_to_eof(busy.reader), "");
  EXPECT_EQ(co_await read_to_eof(idle.reader), "");
  EXPECT_THROW(co_await aio::open_connection("127.0.0.1", port), std::system_error);
}
TEST_F(Server, DestroyedWithoutShutdownClosesEverything) { aio::run(destroyed_abruptly()); }

}  // namespace
