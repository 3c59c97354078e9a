// Blocking HTTP requests for code on threads (a thread_pool's tasks, a plain program), on curl's
// easy API. Follows `requests.get` / `urllib.request.urlopen`.
#pragma once

#include <string>

#include "tandem/http/errors.hpp"
#include "tandem/http/options.hpp"
#include "tandem/http/response.hpp"

namespace tandem::http {

/// Sends `method` to `url` and waits for the whole response, on the calling thread.
///
/// Each thread keeps one curl handle, so consecutive requests from a thread reuse its
/// connection (keep-alive), as a requests.Session per thread does.
/// `defaults` plays the session's part (timeouts, TLS, redirects, body cap, retries); its
/// `limit` and `limit_per_host` do not apply (one request at a time per thread).
/// Thread safety: safe from any number of threads at once. Blocks: yes (never call it on a
/// loop's thread; use session there).
/// Errors: as session's requests (errors.hpp); std::invalid_argument for two bodies;
/// invalid_state_error when called on a thread that runs an aio loop (it would stall the loop
/// for the whole request: use session, or aio::to_thread).
response fetch(const std::string& method, const std::string& url,
               const request_options& options = {}, const session_options& defaults = {});

/// fetch("GET", url, options, defaults). Follows requests.get.
response get(const std::string& url, const request_options& options = {},
             const session_options& defaults = {});

}  // namespace tandem::http
