#include "tandem/http/response.hpp"

#include <string>
#include <utility>

#include "tandem/http/errors.hpp"
#include "tandem/http/status.hpp"

namespace tandem::http {

response::response(int status, std::string body, std::string content_type)
    : status_(status), reason_(reason_phrase(status)), body_(std::move(body)) {
  headers_.add("Content-Type", std::move(content_type));
}

nlohmann::json response::json() const { return nlohmann::json::parse(body_); }

void response::raise_for_status() const {
  if (status_ >= 400) throw response_error(status_, reason_, url_);
}

void response::set_status(int status, std::string reason) {
  status_ = status;
  reason_ = reason.empty() ? std::string(reason_phrase(status)) : std::move(reason);
}

aio::task<std::optional<std::string>> response::read_chunk() {
  if (stream_) {
    std::optional<std::string> chunk = co_await stream_->next();
    if (!chunk) stream_.reset();  // the transfer is over: let its handle go now
    co_return chunk;
  }
  if (body_given_ || body_.empty()) co_return std::nullopt;
  body_given_ = true;
  co_return body_;
}

response json_response(const nlohmann::json& value, int status) {
  return response(status, value.dump(), "application/json");
}

}  // namespace tandem::http
