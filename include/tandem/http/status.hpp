// HTTP status codes and their reason phrases (RFC 9110 section 15), shared by the client (HTTP/2
// responses carry no reason phrase) and the server (which writes one on every status line).
#pragma once

#include <string_view>

namespace tandem::http {

/// The standard reason phrase of `status` ("Not Found" for 404), or "" for a code RFC 9110 does
/// not name. Follows Python's http.HTTPStatus phrases.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace tandem::http
