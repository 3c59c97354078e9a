// http::server's route table: patterns split into segments once, matched against a request's
// path without allocating (captures are copied into request::params only for the route chosen).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/http/server.hpp"

namespace tandem::http::detail {

/// What the router decided for one request.
struct route_match {
  /// The handler to call, or null (then `status` says why). Points into the router's table:
  /// valid until the next add(), so it is called at once and never held across a suspension.
  const handler* h = nullptr;
  /// 404 (no route's path matches) or 405 (a path matches, not the method); 0 when h is set.
  int status = 0;
  /// For 405: the methods the path allows, "GET, HEAD, POST" (HEAD wherever GET is).
  std::string allow;
};

/// Routes by method and path. Routes are tried in the order added; a HEAD request is served by
/// the first route whose method is HEAD or GET.
class router {
 public:
  /// Adds a route. Errors: std::invalid_argument for a pattern not starting with '/', with an
  /// unclosed '{', or with a '{name}' that is not a whole segment ("/a/{x}.txt").
  void add(std::string method, std::string_view pattern, handler h);
  /// Finds the route of `method` + `path` (percent-decoded); on a match, appends the captured
  /// path parameters to `params`.
  [[nodiscard]] route_match match(std::string_view method, std::string_view path,
                                  std::vector<std::pair<std::string, std::string>>& params) const;

 private:
  struct segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
  };
  struct route {
    std::string method;
    std::vector<segment> segments;  // "/items/{id}" -> {"items"}, {"id", param}
    handler h;
  };
  static bool path_matches(const route& r, std::string_view path) noexcept;
  std::vector<route> routes_;
};

}  // namespace tandem::http::detail
