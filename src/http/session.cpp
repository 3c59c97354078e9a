#include "tandem/http/session.hpp"

#include <utility>

#include "http/detail/client.hpp"

namespace tandem::http {

session::session(session_options options)
    : c_(std::make_shared<detail::client>(std::move(options))) {}

session::~session() { c_->close(); }

aio::task<response> session::get(std::string url, request_options options) {
  return request("GET", std::move(url), std::move(options));
}
aio::task<response> session::post(std::string url, request_options options) {
  return request("POST", std::move(url), std::move(options));
}
aio::task<response> session::put(std::string url, request_options options) {
  return request("PUT", std::move(url), std::move(options));
}
aio::task<response> session::patch(std::string url, request_options options) {
  return request("PATCH", std::move(url), std::move(options));
}
aio::task<response> session::delete_(std::string url, request_options options) {
  return request("DELETE", std::move(url), std::move(options));
}
aio::task<response> session::head(std::string url, request_options options) {
  return request("HEAD", std::move(url), std::move(options));
}

aio::task<response> session::request(std::string method, std::string url, request_options options) {
  // The task holds the client, not the session: a request may outlive the session object, and
  // then ends with invalid_state_error when close() runs.
  return detail::client::perform(c_, std::move(method), std::move(url), std::move(options));
}

void session::close() noexcept { c_->close(); }
bool session::closed() const noexcept { return c_->closed(); }
std::size_t session::active_requests() const noexcept { return c_->transfers(); }
const session_options& session::options() const noexcept { return c_->options(); }

}  // namespace tandem::http
