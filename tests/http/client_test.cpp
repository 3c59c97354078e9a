// http::session against a real http::server on 127.0.0.1 (started by each test on its loop):
// methods, bodies, headers, redirects, streaming, connection reuse and limits, retries,
// cancellation and closing.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fd_leak_check.hpp"
#include "http/raw_server.hpp"
#include "tandem/http.hpp"
#include "test_support.hpp"

namespace {

namespace aio = tandem::aio;
namespace http = tandem::http;
using nlohmann::json;

// ---------------------------------------------------------------- the server's routes

// Describes the request it got, as JSON.
aio::task<http::response> echo(http::request rq) {
  json headers = json::object();
  for (const auto& [name, value] : rq.headers) headers[name] = value;
  co_return http::json_response({{"method", rq.method},
                                 {"path", rq.path},
                                 {"query", rq.query},
                                 {"body", rq.body},
                                 {"headers", headers},
                                 {"content_type", rq.headers.get("content-type").value_or("")}});
}

aio::task<http::response> cookies(http::request) {
  http::response r(200, "two cookies");
  r.headers().add("Set-Cookie", "a=1");
  r.headers().add("Set-Cookie", "b=2");
  co_return r;
}

aio::task<http::response> missing(http::request) { co_return http::response(404, "no such item"); }

aio::task<http::response> redirect(http::request) {
  http::response r(302);
  r.headers().add("Location", "/echo");
  co_return r;
}

aio::task<http::response> big(http::request rq) {
  std::size_t n = std::stoul(std::string(rq.param("bytes")));
  co_return http::response(200, std::string(n, 'b'), "application/octet-stream");
}

aio::task<http::response> slow(http::request rq) {
  co_await aio::sleep(std::stod(std::string(rq.param("seconds"))));
  co_return http::response(200, "slept");
}

// Answers 503 to the first `fails` requests, then 200; counts them.
struct flaky_state {
  int fails = 0;
  int seen = 0;
};
aio::task<http::response> flaky(std::shared_ptr<flaky_state> st, http::request) {
  ++st->seen;
  co_return http::response(st->seen <= st->fails ? 503 : 200, "try " + std::to_string(st->seen));
}

// Counts requests in flight on the server; remembers the most at once.
struct load_gauge {
  int now = 0;
  int peak = 0;
};
aio::task<http::response> gauged(std::shared_ptr<load_gauge> g, http::request) {
  g->peak = std::max(g->peak, ++g->now);
  co_await aio::sleep(0.05);
  --g->now;
  co_return http::response(200, "ok");
}

struct fixture {
  std::shared_ptr<flaky_state> flaky = std::make_shared<flaky_state>();
  std::shared_ptr<load_gauge> gauge = std::make_shared<load_gauge>();
  std::unique_ptr<http::server> srv =
      std::make_unique<http::server>(http::server_options{.max_body_size = std::size_t{4} << 20});
  std::string base;
};

aio::task<std::shared_ptr<fixture>> serve() {
  auto f = std::make_shared<fixture>();
  f->srv->route("GET", "/echo", echo)
      .route("POST", "/echo", echo)
      .route("PUT", "/echo", echo)
      .route("PATCH", "/echo", echo)
      .route("DELETE", "/echo", echo)
      .route("OPTIONS", "/echo", echo)
      .get("/cookies", cookies)
      .get("/missing", missing)
      .get("/redirect", redirect)
      .get("/big/{bytes}", big)
      .get("/slow/{seconds}", slow)
      .get("/flaky", std::bind_front(flaky, f->flaky))
      .post("/flaky", std::bind_front(flaky, f->flaky))
      .get("/gauged", std::bind_front(gauged, f->gauge));
  co_await f->srv->start("127.0.0.1", 0);
  f->base = "http://127.0.0.1:" + std::to_string(f->srv->port());
  co_return f;
}

aio::task<void> stop(std::shared_ptr<fixture> f) { co_await f->srv->shutdown(); }

// Runs `body(fixture, session)` on a fresh loop with a server and a session.
template <class Body>
void with_server(Body body, http::session_options so = {}) {
  aio::run([](Body b, http::session_options o) -> aio::task<void> {
    std::shared_ptr<fixture> f = co_await serve();
    std::exception_ptr err;
    {
      http::session s(std::move(o));
      try {
        co_await b(f, s);
      } catch (...) {
        err = std::current_exception();
      }
    }
    co_await stop(f);
    if (err) std::rethrow_exception(err);
  }(std::move(body), std::move(so)));
}

class Client : public tandem::test::fd_leak_check {};

// ---------------------------------------------------------------- requests and responses

aio::task<void> get_with_params(std::shared_ptr<fixture> f, http::session& s) {
  http::request_options o{.params = {{"q", "a b&c"}, {"n", "1"}}};
  http::response r = co_await s.get(f->base + "/echo", o);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.reason(), "OK");
  EXPECT_EQ(r.version(), "HTTP/1.1");
  EXPECT_EQ(r.url(), f->base + "/echo?q=a+b%26c&n=1");
  json j = r.json();
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/echo");
  EXPECT_EQ(j["query"], "q=a+b%26c&n=1");
  EXPECT_EQ(r.headers().get("content-type").value_or(""), "application/json");
  EXPECT_EQ(r.headers().get("CONTENT-TYPE"), r.headers().get("Content-Type"));
}
TEST_F(Client, GetWithQueryParameters) { with_server(get_with_params); }

aio::task<void> every_method(std::shared_ptr<fixture> f, http::session& s) {
  const std::string u = f->base + "/echo";
  EXPECT_EQ((co_await s.post(u)).json()["method"], "POST");
  EXPECT_EQ((co_await s.put(u)).json()["method"], "PUT");
  EXPECT_EQ((co_await s.patch(u)).json()["method"], "PATCH");
  EXPECT_EQ((co_await s.delete_(u)).json()["method"], "DELETE");
  EXPECT_EQ((co_await s.request("OPTIONS", u)).json()["method"], "OPTIONS");
  http::response h = co_await s.head(u);
  EXPECT_EQ(h.status(), 200);
  EXPECT_TRUE(h.bytes().empty());
  EXPECT_EQ(h.headers().get("content-type").value_or(""), "application/json");
}
TEST_F(Client, EveryMethod) { with_server(every_method); }

aio::task<void> bodies(std::shared_ptr<fixture> f, http::session& s) {
  const std::string u = f->base + "/echo";
  http::request_options o;
  o.json = json{{"x", 1}, {"y", {1, 2}}};
  json j = (co_await s.post(u, o)).json();
  EXPECT_EQ(json::parse(j["body"].get<std::string>()), (json{{"x", 1}, {"y", {1, 2}}}));
  EXPECT_EQ(j["content_type"], "application/json");

  o = {};
  o.form = {{"name", "Ada Lovelace"}, {"lang", "c++&py"}};
  j = (co_await s.post(u, o)).json();
  EXPECT_EQ(j["body"], "name=Ada%20Lovelace&lang=c%2B%2B%26py");
  EXPECT_EQ(j["content_type"], "application/x-www-form-urlencoded");

  o = {};
  o.text = "héllo";
  j = (co_await s.put(u, o)).json();
  EXPECT_EQ(j["body"], "héllo");
  EXPECT_EQ(j["content_type"], "text/plain; charset=utf-8");

  o = {};
  o.data = std::string("\0\x01\x02", 3);
  o.headers = {{"Content-Type", "application/x-custom"}};
  j = (co_await s.patch(u, o)).json();
  EXPECT_EQ(j["body"], std::string("\0\x01\x02", 3));
  EXPECT_EQ(j["content_type"], "application/x-custom");

  // A body of 2 MiB: curl sends `Expect: 100-continue` above 1 MiB.
  o = {};
  o.data = std::string(std::size_t{2} << 20, 'd');
  j = (co_await s.post(u, o)).json();
  EXPECT_EQ(j["body"].get<std::string>().size(), std::size_t{2} << 20);
}
TEST_F(Client, JsonFormTextAndBytesBodies) { with_server(bodies); }

TEST_F(Client, TwoBodiesAreRejected) {
  with_server([](std::shared_ptr<fixture> f, http::session& s) -> aio::task<void> {
    http::request_options o;
    o.text = "a";
    o.json = json(1);
    EXPECT_THROW((void)co_await s.post(f->base + "/echo", o), std::invalid_argument);
  });
}

aio::task<void> headers_case_and_repeats(std::shared_ptr<fixture> f, http::session& s) {
  http::request_options o{.headers = {{"X-Trace", "request"}, {"X-Only-Request", "1"}}};
  json j = (co_await s.get(f->base + "/echo", o)).json();
  EXPECT_EQ(j["headers"]["X-Trace"], "request");  // the request's field wins over the session's
  EXPECT_EQ(j["headers"]["X-Session"], "yes");
  EXPECT_EQ(j["headers"]["X-Only-Request"], "1");
  http::response r = co_await s.get(f->base + "/cookies");
  auto all = r.headers().get_all("set-cookie");
  EXPECT_EQ(all, (std::vector<std::string_view>{"a=1", "b=2"}));
}
TEST_F(Client, HeadersAreCaseInsensitiveAndRepeatsKept) {
  with_server(headers_case_and_repeats,
              {.headers = {{"X-Trace", "session"}, {"X-Session", "yes"}}});
}

aio::task<void> raise_for_status(std::shared_ptr<fixture> f, http::session& s) {
  http::response r = co_await s.get(f->base + "/missing");
  EXPECT_EQ(r.status(), 404);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.text(), "no such item");
  try {
    r.raise_for_status();
    ADD_FAILURE() << "404 did not raise";
  } catch (const http::response_error& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(std::string(e.what()), "404 Not Found: " + f->base + "/missing");
  }
  (co_await s.get(f->base + "/echo")).raise_for_status();  // 200: nothing
}
TEST_F(Client, RaiseForStatus) { with_server(raise_for_status); }

aio::task<void> redirects(std::shared_ptr<fixture> f, http::session& s) {
  http::response r = co_await s.get(f->base + "/redirect");
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.url(), f->base + "/echo");
  EXPECT_EQ(r.json()["path"], "/echo");
  r = co_await s.get(f->base + "/redirect", {.allow_redirects = false});
  EXPECT_EQ(r.status(), 302);
  EXPECT_EQ(r.headers().get("location").value_or(""), "/echo");
}
TEST_F(Client, FollowsRedirects) { with_server(redirects); }

aio::task<void> streamed(std::shared_ptr<fixture> f, http::session& s) {
  const std::size_t n = std::size_t{8} << 20;
  http::response r = co_await s.get(f->base + "/big/" + std::to_string(n), {.stream = true});
  EXPECT_EQ(r.status(), 200);
  EXPECT_TRUE(r.streaming());
  std::size_t total = 0, chunks = 0;
  while (auto chunk = co_await r.read_chunk()) {
    EXPECT_FALSE(chunk->empty());
    total += chunk->size();
    ++chunks;
    if (chunks % 16 == 0) co_await aio::sleep(0.001);  // a slow reader: curl pauses, then resumes
  }
  EXPECT_EQ(total, n);
  EXPECT_GT(chunks, 8u);
  EXPECT_TRUE(r.bytes().empty());
  EXPECT_FALSE(r.streaming());
  // Not streamed: read_chunk() gives the whole body once.
  http::response whole = co_await s.get(f->base + "/big/10");
  EXPECT_EQ(*co_await whole.read_chunk(), std::string(10, 'b'));
  EXPECT_FALSE(co_await whole.read_chunk());
}
TEST_F(Client, StreamsALargeBodyInChunks) { with_server(streamed); }

// ---------------------------------------------------------------- connections

aio::task<void> reuse(std::shared_ptr<fixture> f, http::session& s) {
  for (int i = 0; i < 50; ++i) (void)co_await s.get(f->base + "/echo");
  EXPECT_EQ(f->srv->stats().connections, 1u);
  EXPECT_EQ(f->srv->stats().requests, 50u);
}
TEST_F(Client, ReusesItsConnection) { with_server(reuse); }

aio::task<void> per_host_limit(std::shared_ptr<fixture> f, http::session& s) {
  std::vector<aio::task_handle<http::response>> ts;
  for (int i = 0; i < 10; ++i) ts.push_back(aio::create_task(s.get(f->base + "/gauged")));
  for (auto& t : ts) EXPECT_EQ((co_await t).status(), 200);
  EXPECT_EQ(f->gauge->peak, 2);
  EXPECT_EQ(f->srv->stats().connections, 2u);
}
TEST_F(Client, PerHostConnectionLimit) { with_server(per_host_limit, {.limit_per_host = 2}); }

aio::task<void> total_limit(std::shared_ptr<fixture> f, http::session& s) {
  std::vector<aio::task_handle<http::response>> ts;
  for (int i = 0; i < 12; ++i) ts.push_back(aio::create_task(s.get(f->base + "/gauged")));
  for (auto& t : ts) EXPECT_EQ((co_await t).status(), 200);
  EXPECT_EQ(f->gauge->peak, 3);
}
TEST_F(Client, TotalConnectionLimit) { with_server(total_limit, {.limit = 3}); }

// ---------------------------------------------------------------- retries

aio::task<void> retries_statuses(std::shared_ptr<fixture> f, http::session& s) {
  f->flaky->fails = 2;
  http::response r = co_await s.get(f->base + "/flaky");
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(f->flaky->seen, 3);
  // The method's case does not matter to the policy.
  f->flaky->seen = 0;
  f->flaky->fails = 2;
  EXPECT_EQ((co_await s.request("get", f->base + "/flaky")).status(), 200);
  EXPECT_EQ(f->flaky->seen, 3);
  // POST is not idempotent: one try, the 503 is returned.
  f->flaky->seen = 0;
  r = co_await s.post(f->base + "/flaky");
  EXPECT_EQ(r.status(), 503);
  EXPECT_EQ(f->flaky->seen, 1);
  // Out of tries: the last response is returned.
  f->flaky->seen = 0;
  f->flaky->fails = 10;
  r = co_await s.get(f->base + "/flaky");
  EXPECT_EQ(r.status(), 503);
  EXPECT_EQ(f->flaky->seen, 3);
}
TEST_F(Client, RetriesWithBackoff) {
  with_server(retries_statuses, {.retry = {.attempts = 3, .backoff = 0.01, .jitter = 0.5}});
}

TEST_F(Client, RetriesConnectionErrorsWithGrowingDelays) {
  std::uint16_t port = http_test::closed_port();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(aio::run([](std::uint16_t p) -> aio::task<void> {
                 http::session s({.retry = {.attempts = 4, .backoff = 0.1, .jitter = 0}});
                 (void)co_await s.get(http_test::url(p));
               }(port)),
               http::connection_refused_error);
  // Delays 0.1, 0.2, 0.4 s between the four tries.
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(took, 0.7);
  EXPECT_LT(took, 0.7 + std::chrono::duration<double>(tandem::test::tolerance).count());
}

// ---------------------------------------------------------------- cancellation and closing

aio::task<void> cancel_frees_at_once(std::shared_ptr<fixture> f, http::session& s) {
  auto t = aio::create_task(s.get(f->base + "/slow/30"));
  co_await aio::sleep(0.05);
  EXPECT_EQ(s.active_requests(), 1u);
  t.cancel();
  EXPECT_THROW((void)co_await t, tandem::cancelled_error);
  EXPECT_EQ(s.active_requests(), 0u);
  // The session goes on.
  EXPECT_EQ((co_await s.get(f->base + "/echo")).status(), 200);
}
TEST_F(Client, CancellingTheTaskAbortsTheTransfer) { with_server(cancel_frees_at_once); }

aio::task<void> close_ends_requests(std::shared_ptr<fixture> f, http::session& s) {
  auto t = aio::create_task(s.get(f->base + "/slow/30"));
  co_await aio::sleep(0.05);
  s.close();
  EXPECT_TRUE(s.closed());
  EXPECT_THROW((void)co_await t, tandem::invalid_state_error);
  EXPECT_THROW((void)co_await s.get(f->base + "/echo"), tandem::invalid_state_error);
}
TEST_F(Client, CloseEndsRequestsInFlight) { with_server(close_ends_requests); }

aio::task<void> other_thread(std::shared_ptr<fixture> f, http::session& s) {
  bool refused = false;
  std::thread([&] {
    try {
      auto t = s.get(f->base + "/echo");
      aio::run(std::move(t));
    } catch (const tandem::invalid_state_error&) {
      refused = true;
    }
  }).join();
  EXPECT_TRUE(refused);
  co_return;
}
TEST_F(Client, RefusesUseFromAnotherThread) { with_server(other_thread); }

TEST(ClientOptions, NoRequestCanHangForever) {
  http::session_options o;
  EXPECT_GT(o.timeout.total, 0);
  EXPECT_GT(o.timeout.connect, 0);
  EXPECT_GT(o.timeout.read, 0);
  EXPECT_TRUE(o.verify_tls);
  EXPECT_EQ(o.max_redirects, 30);
}

}  // namespace
