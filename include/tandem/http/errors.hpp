// The errors of the http layer: one type per outcome a caller would catch, each carrying the URL.
//
//   tandem::error
//     http::error                      url()
//       invalid_url_error              the URL does not parse (curl: CURLE_URL_MALFORMAT)
//       unsupported_scheme_error       not http:// or https:// (also as a redirect's target)
//       connection_error               could not connect, or the connection broke mid-transfer
//         connection_refused_error     nothing listens there (ECONNREFUSED)
//         dns_error                    the host name does not resolve
//         tls_error                    TLS handshake or certificate verification failed
//       timeout_error                  connect, total or idle-read timeout; kind() says which
//       too_many_redirects_error       more redirects than max_redirects
//       body_too_large_error           the body passed max_body_size (bytes)
//       protocol_error                 the server's reply is not valid HTTP
//       response_error                 raise_for_status() on a 4xx/5xx; status()
//
// Follows aiohttp's client exceptions (ClientConnectorError, ClientConnectorDNSError,
// ServerTimeoutError, TooManyRedirects, InvalidURL, ClientResponseError), flattened to what a
// caller tells apart. http::timeout_error is not a tandem::timeout_error: two bases that both
// derive from tandem::error would make `catch (const tandem::error&)` ambiguous, so it never
// matched; catch http::timeout_error (or http::error) around HTTP calls.
#pragma once

#include <string>

#include "tandem/error.hpp"

namespace tandem::http {

/// Base of every HTTP failure; what() is "<description>: <url>".
class error : public tandem::error {
 public:
  /// `message` describes the failure; `url` is the request's URL (the last one, after redirects).
  error(const std::string& message, std::string url);
  /// The URL the failure belongs to.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  std::string url_;
};

/// The URL does not parse, or has no host. Raised before anything is sent.
class invalid_url_error : public error {
 public:
  using error::error;
};

/// The URL's scheme is not http or https; also a redirect to such a URL (file://, ftp://...),
/// which is refused rather than followed.
class unsupported_scheme_error : public error {
 public:
  using error::error;
};

/// The connection could not be made or broke during the transfer: reset, or closed before the
/// reply or before the end of the body it announced.
class connection_error : public error {
 public:
  using error::error;
};

/// The server refused the connection (ECONNREFUSED: nothing listens on that port).
class connection_refused_error : public connection_error {
 public:
  using connection_error::connection_error;
};

/// The host name did not resolve. Follows aiohttp.ClientConnectorDNSError.
class dns_error : public connection_error {
 public:
  using connection_error::connection_error;
};

/// The TLS handshake failed or the server's certificate did not verify.
class tls_error : public connection_error {
 public:
  using connection_error::connection_error;
};

/// Which limit a timeout_error hit.
enum class timeout_kind {
  connect,  ///< the connection (TCP + TLS) was not up within timeouts::connect
  total,    ///< the whole request, redirects and body included, passed timeouts::total
  read,     ///< no byte arrived for timeouts::read seconds (a silent or slow-drip server)
};

/// A request ran past one of its timeouts. Follows aiohttp.ServerTimeoutError.
class timeout_error : public error {
 public:
  timeout_error(const std::string& message, std::string url, timeout_kind kind);
  /// Which limit was hit.
  [[nodiscard]] timeout_kind kind() const noexcept { return kind_; }

 private:
  timeout_kind kind_;
};

/// The redirect chain was longer than max_redirects (a redirect loop).
/// Follows aiohttp.TooManyRedirects.
class too_many_redirects_error : public error {
 public:
  using error::error;
};

/// The response body passed max_body_size bytes; the transfer was stopped there.
class body_too_large_error : public error {
 public:
  using error::error;
};

/// The server's reply is not valid HTTP (a malformed status line or headers, an HTTP/2 protocol
/// error, a body that cannot be decoded).
class protocol_error : public error {
 public:
  using error::error;
};

/// raise_for_status() on a response whose status is 400 or more.
/// Follows aiohttp.ClientResponseError.
class response_error : public error {
 public:
  /// what() is "<status> <reason>: <url>".
  response_error(int status, const std::string& reason, std::string url);
  /// The HTTP status code (400..599).
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace tandem::http
