// An HTTP response: what session requests return and what server handlers produce.
// Follows aiohttp.ClientResponse (status, reason, headers, url, text/read/json, raise_for_status)
// and aiohttp.web.Response (built by a handler from a status and a body).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tandem/aio/task.hpp"
#include "tandem/http/headers.hpp"

namespace tandem::http {

namespace detail {
/// The source of a streamed body: the client's transfer still running in the session.
struct body_stream {
  virtual ~body_stream() = default;
  /// The next chunk of the body (whatever arrived, at least 1 byte), or nullopt at its end.
  virtual aio::task<std::optional<std::string>> next() = 0;
};
}  // namespace detail

/// A status, a reason phrase, header fields and a body.
///
/// A client response is complete when the request returns, unless the request asked for
/// `stream = true`: then the body arrives through read_chunk() only (bytes() stays empty, so a
/// large download is never held in memory). Copies share a streamed body's source.
///
/// Thread safety: a value; a streamed response must be read on its session's loop thread.
class response {
 public:
  /// 200 OK with an empty body.
  response() = default;
  /// A server handler's response: `status`, `body` (bytes) and Content-Type `content_type`.
  explicit response(int status, std::string body = {},
                    std::string content_type = "text/plain; charset=utf-8");

  /// The status code (100..599).
  [[nodiscard]] int status() const noexcept { return status_; }
  /// The reason phrase ("OK"); for HTTP/2, which has none, the standard phrase of the status.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  /// True if status() < 400 (aiohttp's `ok`).
  [[nodiscard]] bool ok() const noexcept { return status_ < 400; }
  /// The header fields of the final response (not those of redirects).
  [[nodiscard]] const http::headers& headers() const noexcept { return headers_; }
  /// The header fields, to add to (server handlers).
  [[nodiscard]] http::headers& headers() noexcept { return headers_; }
  /// The URL that answered, after redirects; empty for a response a server handler built.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// "HTTP/1.1", "HTTP/2" or "HTTP/1.0": the protocol the response came over.
  [[nodiscard]] const std::string& version() const noexcept { return version_; }

  /// The body's bytes.
  [[nodiscard]] const std::string& bytes() const noexcept { return body_; }
  /// The body as text. tandem does not transcode: the bytes are returned as they are (UTF-8 is
  /// what nearly every server sends).
  [[nodiscard]] const std::string& text() const noexcept { return body_; }
  /// The body parsed as JSON. Errors: nlohmann::json::parse_error if it is not JSON.
  [[nodiscard]] nlohmann::json json() const;
  /// Replaces the body (server handlers).
  void set_body(std::string body) { body_ = std::move(body); }

  /// Throws response_error if status() >= 400; otherwise nothing.
  /// Follows aiohttp.ClientResponse.raise_for_status.
  void raise_for_status() const;

  /// The next chunk of a streamed body (at least 1 byte), or nullopt at its end. A response that
  /// is not streamed returns its whole body once, then nullopt.
  /// Suspends: until bytes arrive; a cancellation point (cancelling stops the transfer).
  /// Errors: what the request would have thrown (timeout_error, body_too_large_error,
  /// connection_error...); invalid_state_error if the session was closed.
  /// Follows aiohttp's `response.content.iter_any()`.
  [[nodiscard]] aio::task<std::optional<std::string>> read_chunk();
  /// True while a streamed body has chunks left to read.
  [[nodiscard]] bool streaming() const noexcept { return stream_ != nullptr; }

  // ---- for the layer's client and server; not for users ----
  void set_status(int status, std::string reason);
  void set_url(std::string url) { url_ = std::move(url); }
  void set_version(std::string version) { version_ = std::move(version); }
  void set_stream(std::shared_ptr<detail::body_stream> s) { stream_ = std::move(s); }
  std::string& body() noexcept { return body_; }

 private:
  int status_ = 200;
  std::string reason_ = "OK";
  http::headers headers_;
  std::string body_;
  std::string url_;
  std::string version_ = "HTTP/1.1";
  std::shared_ptr<detail::body_stream> stream_;
  bool body_given_ = false;  // a non-streamed body was handed out by read_chunk()
};

/// A response whose body is `value` serialised as JSON (Content-Type application/json).
/// Follows aiohttp.web.json_response.
[[nodiscard]] response json_response(const nlohmann::json& value, int status = 200);

}  // namespace tandem::http
