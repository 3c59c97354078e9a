#include "tandem/http/fetch.hpp"

#include <chrono>
#include <exception>
#include <new>
#include <thread>

#include "http/detail/easy.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/error.hpp"

namespace tandem::http {

namespace {

// One easy handle per thread, kept between calls so that its connection cache serves the
// thread's next request (keep-alive), as a requests.Session per thread does.
struct thread_handle {
  CURL* easy = nullptr;
  ~thread_handle() {
    if (easy) curl_easy_cleanup(easy);
  }
  CURL* get() {
    if (!easy) {
      detail::curl_global();
      easy = curl_easy_init();
      if (!easy) throw std::bad_alloc();
    } else {
      curl_easy_reset(easy);  // options only: the connection cache and DNS cache stay
    }
    return easy;
  }
};

}  // namespace

response fetch(const std::string& method, const std::string& url, const request_options& options,
               const session_options& defaults) {
  if (aio::loop::current())
    throw invalid_state_error(
        "http::fetch/get block: called on an event loop's thread, they would stall it (use "
        "http::session, or aio::to_thread)");
  thread_local thread_handle handle;
  for (int attempt = 1;; ++attempt) {
    detail::request_state st;
    st.easy = handle.get();
    detail::prepare(st, method, url, options, defaults, true);
    const CURLcode code = curl_easy_perform(st.easy);
    std::exception_ptr error = detail::finish(st, code);
    const int status = error ? 0 : st.resp.status();
    auto delay = detail::retry_delay(defaults.retry, st.method, attempt, error, status);
    if (!delay) {
      if (error) std::rethrow_exception(error);
      return std::move(st.resp);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(*delay));
  }
}

response get(const std::string& url, const request_options& options,
             const session_options& defaults) {
  return fetch("GET", url, options, defaults);
}

}  // namespace tandem::http
