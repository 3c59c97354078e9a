// The client's options: per session (session_options) and per request (request_options), shared
// by the async session and the blocking fetch(). Follows aiohttp.ClientSession's and
// ClientTimeout's parameters, with defaults so that no request can hang forever.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tandem/http/headers.hpp"

namespace tandem::http {

/// Time limits of a request, in seconds; 0 turns one off (the others still apply).
/// Follows aiohttp.ClientTimeout (total 300 s, sock_connect 30 s); aiohttp has no read limit by
/// default, tandem has one so that a server that stops sending cannot hold a request forever.
struct timeouts {
  double connect = 30.0;  ///< TCP connect plus TLS handshake
  double total = 300.0;   ///< the whole request: connect, redirects, upload and body
  double read = 60.0;     ///< longest wait for the next byte of the response (idle read)
};

/// Opt-in retries of failed requests, with exponential backoff and jitter. The delay before try
/// k (k = 1, 2, ...) is min(max_backoff, backoff * 2^(k-1)), then multiplied by a uniform random
/// factor in [1 - jitter, 1 + jitter] so that many clients do not retry in step.
/// Follows urllib3's Retry (status_forcelist, backoff_factor, allowed_methods) and
/// aiohttp-retry's ExponentialRetry.
/// Each try has the request's own timeouts, so the longest a request with retries can take is
/// attempts x timeouts::total plus the delays.
struct retry_options {
  int attempts = 1;         ///< tries in all; 1 means no retry
  double backoff = 0.1;     ///< seconds before the first retry
  double max_backoff = 10;  ///< ceiling of one delay, seconds
  double jitter = 0.5;      ///< spread of each delay, as a fraction of it (0..1)
  /// Responses retried (the last one is returned if every try gets one of them).
  std::vector<int> statuses = {429, 500, 502, 503, 504};
  /// Connection failures and timeouts are retried too (not invalid URLs or body limits).
  bool on_connection_errors = true;
  /// Only GET, HEAD, PUT, DELETE, OPTIONS and TRACE are retried: repeating a POST or PATCH may do
  /// its work twice (urllib3's allowed_methods).
  bool idempotent_only = true;
};

/// Options of a session (and the defaults of the blocking fetch()).
struct session_options {
  /// Header fields sent with every request; a request's own fields of the same name win.
  http::headers headers = {};
  /// Default time limits of every request.
  http::timeouts timeout = {};
  /// Most connections open at once, over all hosts; more requests wait for one. 0: no limit
  /// (as aiohttp's limit=0). Follows aiohttp.TCPConnector(limit=100).
  std::size_t limit = 100;
  /// Most connections open at once to one host:port; 0: only `limit` applies (aiohttp's default).
  std::size_t limit_per_host = 0;
  /// Verify the server's TLS certificate and host name (never turn off against the internet).
  bool verify_tls = true;
  /// A PEM file of trusted CA certificates, in place of the system's bundle (CURLOPT_CAINFO);
  /// empty: the system's bundle. Debian's libcurl also looks in its CA directory
  /// (/etc/ssl/certs, CURLOPT_CAPATH) either way, so the system's CAs stay trusted.
  std::string ca_file = {};
  /// Negotiate HTTP/2 over TLS (ALPN) and multiplex requests over one connection to an HTTP/2
  /// server; cleartext http:// stays HTTP/1.1.
  bool http2 = true;
  /// Redirects followed per request, http:// and https:// targets only.
  int max_redirects = 30;
  /// Cap on the received body of each request, in bytes, enforced as bytes arrive.
  std::size_t max_body_size = std::size_t{256} << 20;
  /// Retries; off unless attempts > 1.
  retry_options retry = {};
  /// The User-Agent header; empty: "tandem/<version> libcurl/<version>".
  std::string user_agent = {};
};

/// Options of one request. Unset optionals take the session's value. At most one body field
/// (data, text, json, form) may be set.
struct request_options {
  /// Header fields of this request, added to (and overriding) the session's.
  http::headers headers = {};
  /// Query parameters, percent-encoded and appended to the URL (after any query it has).
  std::vector<std::pair<std::string, std::string>> params = {};
  /// Body bytes; Content-Type application/octet-stream unless `headers` set one.
  std::optional<std::string> data = std::nullopt;
  /// Body text; Content-Type text/plain; charset=utf-8.
  std::optional<std::string> text = std::nullopt;
  /// Body serialised as JSON; Content-Type application/json.
  std::optional<nlohmann::json> json = std::nullopt;
  /// Body as an HTML form; Content-Type application/x-www-form-urlencoded.
  std::optional<std::vector<std::pair<std::string, std::string>>> form = std::nullopt;
  /// Time limits of this request.
  std::optional<http::timeouts> timeout = std::nullopt;
  /// Follow redirects (true by default).
  bool allow_redirects = true;
  /// Redirects followed, overriding the session's max_redirects.
  std::optional<int> max_redirects = std::nullopt;
  /// Body cap in bytes, overriding the session's max_body_size.
  std::optional<std::size_t> max_body_size = std::nullopt;
  /// Return once the headers are in and deliver the body through response::read_chunk().
  bool stream = false;
};

}  // namespace tandem::http
