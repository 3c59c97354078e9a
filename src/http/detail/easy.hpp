// One request on a curl easy handle: what the async session and the blocking fetch() share.
// Setting the handle up from the options, collecting the response as curl delivers it, turning
// curl's outcome into a response or one of errors.hpp's types, and the retry policy.
// Private to src/http/.
//
//   prepare() --> curl runs the transfer, calling on_header() / on_body() --> finish(code)
//                                                                    |
//                          response (status, headers, body, url) <---+---> exception_ptr
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include "tandem/http/options.hpp"
#include "tandem/http/response.hpp"

namespace tandem::http::detail {

/// Initialises libcurl once per process (curl_global_init; thread-safe since 7.84).
void curl_global();

/// A request's state from prepare() to finish(). Owned by whoever drives the handle (the
/// session's transfer, or fetch() on the stack); `easy` is borrowed.
struct request_state {
  request_state() = default;
  request_state(const request_state&) = delete;
  request_state& operator=(const request_state&) = delete;
  ~request_state();

  CURL* easy = nullptr;
  std::string method;  // upper case ("get" is sent as GET, as aiohttp does)
  std::string url;     // with the query parameters appended
  std::string body;    // the request body; curl reads it in place (CURLOPT_POSTFIELDS)
  curl_slist* header_list = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};

  // Limits, resolved from the request's and the session's options.
  http::timeouts timeout;
  std::size_t max_body = 0;
  bool follow = true;
  int max_redirects = 30;
  bool stream = false;

  // The response as it arrives. Headers of a redirect or a 1xx are dropped when the next status
  // line comes; `final_headers` is set at the blank line ending the headers of the response that
  // is returned (not a 1xx, not a redirect that will be followed).
  http::response resp;
  std::size_t received = 0;  // body bytes delivered by curl (after decoding)
  bool final_headers = false;
  bool cap_hit = false;           // the body passed max_body: on_body() stopped the transfer
  bool read_timeout_hit = false;  // no byte for timeout.read seconds
  std::int64_t last_byte_ns = 0;  // CLOCK_MONOTONIC of the last byte received (or the start)

  // Streaming: bytes received and not yet taken; above `stream_high` on_body pauses curl.
  std::string pending;
  bool paused = false;
  static constexpr std::size_t stream_high = std::size_t{1} << 20;  // 1 MiB of read-ahead

  /// Called (when set) after on_header() completed the final headers and after on_body()
  /// received bytes of a streamed body: the session wakes the reader there.
  void (*on_progress)(request_state*) noexcept = nullptr;
  void* owner = nullptr;  // for on_progress: the object this state belongs to
};

/// Sets `st.easy` up for `method` `url` with `o` over the defaults `s`: URL (with params), body
/// and its Content-Type, headers, timeouts, redirects (http and https only), TLS, proxy off,
/// callbacks. `blocking`: fetch() on curl's easy API, where the idle-read limit is checked from
/// curl's progress callback (the session uses a loop timer instead).
/// Errors: invalid_url_error, unsupported_scheme_error (checked here, before anything is sent);
/// std::invalid_argument for two bodies.
void prepare(request_state& st, const std::string& method, const std::string& url,
             const request_options& o, const session_options& s, bool blocking);

/// Ends the request: on success fills st.resp's url and version and returns null; otherwise
/// returns the error (errors.hpp) that `code` and the state mean, naming the URL.
std::exception_ptr finish(request_state& st, CURLcode code);

/// How long to wait before try `attempt + 1` (attempt counts from 1), or nullopt to stop: the
/// policy of retry_options for a request that ended with `error` (null: with a response of
/// `status`). `method` as prepare() left it in request_state::method (upper case).
std::optional<double> retry_delay(const retry_options& r, const std::string& method, int attempt,
                                  const std::exception_ptr& error, int status);

/// Monotonic nanoseconds (the aio loop's clock).
std::int64_t now_ns() noexcept;

}  // namespace tandem::http::detail
