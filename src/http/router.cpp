// http::server's router: patterns are split into segments when added; a request's path is walked
// once per candidate route, comparing segment views in place (no allocation unless a route with
// parameters matches, or the answer is 405 and needs its Allow list).
#include "http/detail/router.hpp"

#include <stdexcept>

namespace tandem::http::detail {

void router::add(std::string method, std::string_view pattern, handler h) {
  if (pattern.empty() || pattern[0] != '/')
    throw std::invalid_argument("http::server route: pattern must start with '/': " +
                                std::string(pattern));
  if (!h) throw std::invalid_argument("http::server route: empty handler");
  std::string where = "http::server handler of " + method + " " + std::string(pattern);
  route r{std::move(method), {}, std::move(h), std::move(where)};
  std::size_t i = 1;
  for (;;) {
    std::size_t end = pattern.find('/', i);
    if (end == std::string_view::npos) end = pattern.size();
    std::string_view part = pattern.substr(i, end - i);
    std::size_t open = part.find('{');
    if (open == std::string_view::npos) {
      if (part.find('}') != std::string_view::npos)
        throw std::invalid_argument("http::server route: stray '}' in " + std::string(pattern));
      r.segments.push_back({std::string(part), false});
    } else {
      std::size_t close = part.find('}');
      if (close == std::string_view::npos)
        throw std::invalid_argument("http::server route: unclosed '{' in " + std::string(pattern));
      if (open != 0 || close != part.size() - 1 || part.size() < 3)
        throw std::invalid_argument(
            "http::server route: a parameter must be a whole, named segment ('/{name}'): " +
            std::string(pattern));
      r.segments.push_back({std::string(part.substr(1, part.size() - 2)), true});
    }
    if (end == pattern.size()) break;
    i = end + 1;
  }
  routes_.push_back(std::move(r));
}

// Walks `path` ("/a/b") segment by segment against the route's segments. A parameter matches
// one non-empty segment (aiohttp's `{name}` is `[^{}/]+`); the path must be used up exactly.
// Captures are taken only when asked for (the route chosen), so trying routes never allocates.
bool router::walk(const route& r, std::string_view path,
                  std::vector<std::pair<std::string, std::string>>* params) {
  if (path.empty() || path[0] != '/') return false;
  std::size_t i = 1;
  for (const segment& seg : r.segments) {
    if (i > path.size()) return false;  // the path ran out of segments
    std::size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(i, end - i);
    if (seg.param ? part.empty() : part != seg.text) return false;
    if (seg.param && params) params->emplace_back(seg.text, std::string(part));
    i = end + 1;
  }
  return i == path.size() + 1;
}

route_match router::match(std::string_view method, std::string_view path,
                          std::vector<std::pair<std::string, std::string>>& params) const {
  const route* found = nullptr;
  bool path_found = false;
  for (const route& r : routes_) {
    if (!walk(r, path, nullptr)) continue;
    path_found = true;
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      found = &r;
      break;
    }
  }
  route_match m;
  if (found) {
    m.h = &found->h;
    m.where = &found->where;
    walk(*found, path, &params);
    return m;
  }
  if (!path_found) {
    m.status = 404;
    return m;
  }
  // 405: the methods of every route of this path, each once, HEAD after GET (a GET route serves
  // HEAD, and aiohttp's Allow lists it).
  m.status = 405;
  std::vector<std::string_view> methods;
  auto add_method = [&methods](std::string_view name) {
    for (std::string_view have : methods)
      if (have == name) return;
    methods.push_back(name);
  };
  for (const route& r : routes_) {
    if (!walk(r, path, nullptr)) continue;
    add_method(r.method);
    if (r.method == "GET") add_method("HEAD");
  }
  for (std::string_view name : methods) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += name;
  }
  return m;
}

}  // namespace tandem::http::detail
