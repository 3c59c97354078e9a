// http::request's accessors (path parameters, query parameters, JSON body) and the
// percent-decoding the server also uses for paths.
#include <string>
#include <string_view>

#include "http/detail/server_state.hpp"
#include "tandem/http/server.hpp"

namespace tandem::http {

namespace detail {
namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}
}  // namespace detail

std::string_view request::param(std::string_view name) const noexcept {
  for (const auto& [n, v] : params)
    if (n == name) return v;
  return {};
}

std::optional<std::string> request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    // Keys are nearly always plain ASCII: compare in place when there is nothing to decode.
    bool plain = key.find_first_of("%+") == std::string_view::npos;
    if (plain ? key == name : detail::percent_decode(key, true) == name)
      return detail::percent_decode(value, true);
  }
  return std::nullopt;
}

nlohmann::json request::json() const { return nlohmann::json::parse(body); }

}  // namespace tandem::http
