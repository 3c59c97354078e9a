#include "tandem/http/errors.hpp"

#include <string>
#include <utility>

namespace tandem::http {

error::error(const std::string& message, std::string url)
    : tandem::error(message + ": " + url), url_(std::move(url)) {}

timeout_error::timeout_error(const std::string& message, std::string url, timeout_kind kind)
    : error(message, std::move(url)), kind_(kind) {}

response_error::response_error(int status, const std::string& reason, std::string url)
    : error(std::to_string(status) + " " + reason, std::move(url)), status_(status) {}

}  // namespace tandem::http
