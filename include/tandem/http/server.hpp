// http::server: a small async HTTP/1.1 server on aio streams, with routes and coroutine handlers.
// Follows aiohttp.web (Application + router + AppRunner), in the shape FastAPI users know:
//
//   accept (aio::start_server) --> one task per connection:
//     read --> http_parser --> request --> route by method + path --> co_await handler(request)
//      ^                                                                      |
//      +------ keep-alive: next request <-- write status line, headers, body <-+
//
// Requests on one connection are answered in order (HTTP/1.1 pipelining included). The parser is
// Node's http-parser (Debian's libhttp-parser-dev).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tandem/aio/task.hpp"
#include "tandem/http/headers.hpp"
#include "tandem/http/response.hpp"

namespace tandem::http {

namespace detail {
struct server_state;
}

/// A request as a handler sees it. Follows aiohttp.web.Request.
struct request {
  std::string method;   ///< "GET", "POST"...
  std::string target;   ///< the request target as sent: "/items/7?full=1"
  std::string path;     ///< percent-decoded path: "/items/7"
  std::string query;    ///< the raw query string after '?': "full=1"
  std::string version;  ///< "HTTP/1.1" or "HTTP/1.0"
  http::headers headers;
  std::string body;  ///< the whole body (at most server_options::max_body_size bytes)
  /// Path parameters captured by the route: {"id", "7"} for "/items/{id}".
  std::vector<std::pair<std::string, std::string>> params;

  /// The path parameter `name` ("" if the route has none of that name).
  /// Follows aiohttp's `request.match_info[name]`.
  [[nodiscard]] std::string_view param(std::string_view name) const noexcept;
  /// The first query parameter `name`, percent-decoded, or nullopt.
  /// Follows aiohttp's `request.query.get(name)`.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  /// The body parsed as JSON. Errors: nlohmann::json::parse_error.
  [[nodiscard]] nlohmann::json json() const;
};

/// A route's handler: a coroutine from the request to the response. Its exceptions become a 500
/// response (and are reported through tandem's unraisable hook); the server goes on.
/// Pass plain functions or std::bind_front with state by value: a capturing lambda coroutine's
/// captures die at its first suspension (STYLE.md).
using handler = std::function<aio::task<response>(request)>;

/// Options of a server. Follows aiohttp.web's client_max_size and keepalive_timeout.
struct server_options {
  /// Largest request body accepted, in bytes; a larger one gets 413. aiohttp's default (1 MiB).
  std::size_t max_body_size = std::size_t{1} << 20;
  /// Seconds a connection may wait for its next complete request (idle keep-alive, or headers
  /// and body arriving too slowly) before the server closes it. Guards against slowloris. Also
  /// how long a response may wait for a client that stops reading it. Checked every
  /// min(1 s, read_timeout / 10), so a connection closes up to that much late.
  double read_timeout = 60.0;
  /// Seconds shutdown() lets in-flight requests finish before closing their connections.
  double shutdown_timeout = 30.0;
  /// listen() backlog; 4096 is Linux's default somaxconn, so bursts of connections queue.
  int backlog = 4096;
};

/// Counters of a server's life so far (a snapshot).
struct server_stats {
  std::uint64_t connections = 0;     ///< connections accepted
  std::uint64_t requests = 0;        ///< responses written (every status)
  std::uint64_t bad_requests = 0;    ///< 400 and 413 answers to requests that did not parse or fit
  std::uint64_t handler_errors = 0;  ///< handlers that threw (answered 500)
};

/// An HTTP/1.1 server. Follows aiohttp.web.Application + web.AppRunner/TCPSite.
///
///     http::server app;
///     app.get("/items/{id}", get_item);   // aio::task<http::response> get_item(http::request)
///     co_await app.start("127.0.0.1", 8080);
///     ...
///     co_await app.shutdown();
///
/// Answers: the handler's response; 404 when no route's path matches; 405 (with Allow) when the
/// path matches but not the method; 400 for a request that does not parse; 413 for a body over
/// max_body_size; 500 when the handler throws. HEAD is answered by the GET route, without body.
/// Connections are kept alive unless the client asks otherwise (HTTP/1.0 without keep-alive,
/// `Connection: close`) or the server is shutting down.
///
/// Thread safety: the loop thread that started it only. Lifetime: shutdown() before destroying
/// it; the destructor closes what is left abruptly.
class server {
 public:
  /// A server with no routes yet, not listening until start().
  explicit server(server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Adds a route: `method` ("GET"...) and a path pattern whose `{name}` segments capture a path
  /// segment into request::params ("/users/{id}/posts/{post}"). Routes are tried in the order
  /// added. Returns *this. Errors: std::invalid_argument for a pattern not starting with '/',
  /// with an unclosed '{', or with a `{name}` that is not a whole segment ("/f/{name}.txt").
  server& route(std::string method, std::string pattern, handler h);
  /// route("GET", ...). Follows aiohttp's router.add_get (which serves HEAD too).
  server& get(std::string pattern, handler h);
  /// route("POST", ...).
  server& post(std::string pattern, handler h);
  /// route("PUT", ...).
  server& put(std::string pattern, handler h);
  /// route("PATCH", ...).
  server& patch(std::string pattern, handler h);
  /// route("DELETE", ...).
  server& delete_(std::string pattern, handler h);

  /// Listens on `host`:`port` (port 0: the kernel picks; see port()) and serves in the
  /// background on the running loop. Suspends: for name resolution only.
  /// Errors: std::system_error (EADDRINUSE...); invalid_state_error if already started.
  [[nodiscard]] aio::task<void> start(std::string host = "127.0.0.1", std::uint16_t port = 0);
  /// The TCP port it listens on (0 before start()).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Graceful shutdown: stops accepting, closes idle connections, lets requests in flight finish
  /// (their connections close after the response), and after options.shutdown_timeout closes
  /// whatever is left (cancelling its handler). A handler whose client has already closed its
  /// connection is cancelled at once: nobody is left to read its answer. Returns when every
  /// connection is closed. Idempotent.
  /// Follows aiohttp's AppRunner.cleanup (shutdown_timeout).
  [[nodiscard]] aio::task<void> shutdown();
  /// Connections open now.
  [[nodiscard]] std::size_t active_connections() const noexcept;
  /// Counters so far.
  [[nodiscard]] server_stats stats() const noexcept;

 private:
  std::shared_ptr<detail::server_state> s_;
};

}  // namespace tandem::http
