// The blocking client, http::get / http::fetch, called from threads against a loopback server
// on its own thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/raw_server.hpp"
#include "tandem/http.hpp"
#include "tandem/thread_pool.hpp"
#include "test_support.hpp"

namespace {

namespace http = tandem::http;
using http_test::url;

TEST(Fetch, GetReturnsTheWholeResponse) {
  http_test::server_thread srv(std::bind_front(http_test::answer_ok, 1024));
  http::response r = http::get(url(srv.port(), "/x"));
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.reason(), "OK");
  EXPECT_EQ(r.bytes(), std::string(1024, 'x'));
  EXPECT_EQ(r.url(), url(srv.port(), "/x"));
  EXPECT_EQ(r.headers().get("content-length").value_or(""), "1024");
}

TEST(Fetch, EachThreadReusesItsConnection) {
  http_test::server_thread srv(std::bind_front(http_test::answer_ok, 10));
  http_test::connections_seen = 0;
  tandem::thread_pool pool({.max_workers = 4});
  std::vector<tandem::future<int>> fs;
  for (int i = 0; i < 200; ++i)
    fs.push_back(pool.submit([u = url(srv.port())] { return http::get(u).status(); }));
  for (auto& f : fs) EXPECT_EQ(f.get(), 200);
  pool.shutdown();
  EXPECT_LE(http_test::connections_seen.load(), 4);  // one per worker thread at most
}

TEST(Fetch, PostsABody) {
  http_test::server_thread srv(std::bind_front(http_test::answer_ok, 2));
  http::request_options o;
  o.json = nlohmann::json{{"a", 1}};
  EXPECT_EQ(http::fetch("POST", url(srv.port()), o).bytes(), "xx");
}

TEST(Fetch, ErrorsAreTheSessionsTypes) {
  EXPECT_THROW(http::get(url(http_test::closed_port())), http::connection_refused_error);
  EXPECT_THROW(http::get("gopher://127.0.0.1/"), http::unsupported_scheme_error);
  EXPECT_THROW(http::get("http://"), http::invalid_url_error);
}

TEST(Fetch, SilentServerHitsTheReadTimeout) {
  http_test::server_thread srv(http_test::silent);
  auto t0 = std::chrono::steady_clock::now();
  try {
    (void)http::get(url(srv.port()), {.timeout = http::timeouts{.total = 10, .read = 0.5}});
    FAIL() << "a silent server answered";
  } catch (const http::timeout_error& e) {
    EXPECT_EQ(e.kind(), http::timeout_kind::read);
  }
  // Blocking transfers check the idle limit when curl reports progress, at least once a second.
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(took, 0.5);
  EXPECT_LT(took, 1.5 + std::chrono::duration<double>(tandem::test::tolerance).count());
}

TEST(Fetch, TotalTimeoutIsExact) {
  http_test::server_thread srv(http_test::silent);
  auto t0 = std::chrono::steady_clock::now();
  try {
    (void)http::get(url(srv.port()), {.timeout = http::timeouts{.total = 0.5, .read = 0}});
    FAIL() << "a silent server answered";
  } catch (const http::timeout_error& e) {
    EXPECT_EQ(e.kind(), http::timeout_kind::total);
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NEAR(took, 0.5, std::chrono::duration<double>(tandem::test::tolerance).count());
}

TEST(Fetch, EndlessBodyStopsAtTheCap) {
  http_test::server_thread srv(http_test::endless_body);
  EXPECT_THROW((void)http::get(url(srv.port()), {.max_body_size = 256 * 1024}),
               http::body_too_large_error);
}

}  // namespace

namespace {

TEST(Fetch, RefusesToBlockAnEventLoop) {
  EXPECT_THROW(tandem::aio::run([]() -> tandem::aio::task<void> {
                 (void)http::get("http://127.0.0.1:1/");
                 co_return;
               }()),
               tandem::invalid_state_error);
}

}  // namespace
