// http::session: an async HTTP client on libcurl's multi-socket API, driven by the aio loop.
// Follows aiohttp.ClientSession; the way it drives libcurl follows tornado's CurlAsyncHTTPClient.
//
//   co_await s.get(url) --> easy handle --curl_multi_add_handle--> libcurl (connections, HTTP/1.1
//        ^                                                          and HTTP/2, TLS, redirects)
//        |                                        socket callback --> loop watches the fd
//        |                                        timer callback  --> one loop timer
//   task woken <-- curl_multi_info_read <-- curl_multi_socket_action <-- fd ready / timer due
//
// One session per loop, used from that loop's thread; it owns a connection pool that requests
// share (keep-alive, at most `limit` connections, HTTP/2 multiplexing when the server offers it).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "tandem/aio/task.hpp"
#include "tandem/http/errors.hpp"
#include "tandem/http/headers.hpp"
#include "tandem/http/options.hpp"
#include "tandem/http/response.hpp"

namespace tandem::http {

namespace detail {
class client;
}

/// An HTTP client with a connection pool. Follows aiohttp.ClientSession.
///
///     http::session s;
///     http::request_options o{.params = {{"q", "x"}}};  // GCC 12: not inside the co_await
///     http::response r = co_await s.get("http://127.0.0.1:8080/items", o);
///     r.raise_for_status();
///
/// Every request method returns when the response (headers and body) is in, or with
/// `stream = true` when the headers are in.
///
/// Thread safety: a session belongs to the loop running on the thread that created it; use it
/// from that thread only. Lifetime: the session must outlive its requests; destroying it (or
/// close()) ends requests still running with invalid_state_error.
/// Suspends: every request; a cancellation point. Cancelling the awaiting task stops the transfer
/// and frees its handle at once (its connection is closed if it was mid-response).
/// Errors (every request): invalid_url_error, unsupported_scheme_error, connection_refused_error,
/// dns_error, tls_error, connection_error, timeout_error, too_many_redirects_error,
/// body_too_large_error, protocol_error (errors.hpp); std::invalid_argument for two bodies in one
/// request_options; invalid_state_error after close() or from a thread without the session's loop.
/// A 4xx/5xx status is a response, not an error: see response::raise_for_status().
class session {
 public:
  /// A session on the loop running on this thread.
  /// Errors: invalid_state_error if no loop runs on this thread; std::runtime_error if libcurl
  /// cannot be initialised.
  explicit session(session_options options = {});
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// GET `url`. Follows ClientSession.get.
  [[nodiscard]] aio::task<response> get(std::string url, request_options options = {});
  /// POST `url` with the body in `options` (data, text, json or form).
  [[nodiscard]] aio::task<response> post(std::string url, request_options options = {});
  /// PUT `url`.
  [[nodiscard]] aio::task<response> put(std::string url, request_options options = {});
  /// PATCH `url`.
  [[nodiscard]] aio::task<response> patch(std::string url, request_options options = {});
  /// DELETE `url` (`delete` is a C++ keyword).
  [[nodiscard]] aio::task<response> delete_(std::string url, request_options options = {});
  /// HEAD `url`: headers only, the body is empty.
  [[nodiscard]] aio::task<response> head(std::string url, request_options options = {});
  /// Any method ("OPTIONS", "PROPFIND"...). Follows ClientSession.request.
  [[nodiscard]] aio::task<response> request(std::string method, std::string url,
                                            request_options options = {});

  /// Ends the session: requests still running end with invalid_state_error and connections are
  /// closed. Idempotent; the destructor calls it. Follows ClientSession.close.
  void close() noexcept;
  /// True after close().
  [[nodiscard]] bool closed() const noexcept;
  /// Requests started and not yet finished (streams being read included).
  [[nodiscard]] std::size_t active_requests() const noexcept;
  /// The options the session was made with.
  [[nodiscard]] const session_options& options() const noexcept;

 private:
  std::shared_ptr<detail::client> c_;
};

}  // namespace tandem::http
