// http::server's route table: patterns split into segments once, matched against a request's
// path without allocating (captures are copied into request::params only for the route chosen).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/http/server.hpp"

namespace tandem::http::detail {

/// What the router decided for one request.
struct route_match {
  /// The handler to call, or null (then `status` says why). Points into the router's table,
  /// whose entries never move (a handler may add routes while another request is handled).
  const handler* h = nullptr;
  /// 404 (no route's path matches) or 405 (a path matches, not the method); 0 when h is set.
  int status = 0;
  /// For 405: the methods the path allows, "GET, HEAD, POST" (HEAD wherever GET is).
  std::string allow;
  /// With h: "http::server handler of GET /items/{id}", for reporting what the handler throws.
  /// Made once when the route is added, so a request does not build it. Stable as h is.
  const std::string* where = nullptr;
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
    std::string where;  // route_match::where
  };
  // True if `path` matches the route's segments; then, if `params` is given, appends the
  // captured parameters to it.
  static bool walk(const route& r, std::string_view path,
                   std::vector<std::pair<std::string, std::string>>* params);
  std::deque<route> routes_;  // a deque: push_back never moves the routes route_match points at
};

}  // namespace tandem::http::detail
