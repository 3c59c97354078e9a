#include "tandem/http/headers.hpp"

#include <algorithm>

namespace tandem::http {

namespace {
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

headers::headers(std::initializer_list<value_type> fields) : fields_(fields) {}

void headers::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

std::size_t headers::remove(std::string_view name) {
  return std::erase_if(fields_, [name](const value_type& f) { return iequals(f.first, name); });
}

std::optional<std::string_view> headers::get(std::string_view name) const noexcept {
  for (const auto& [n, v] : fields_)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : fields_)
    if (iequals(n, name)) out.emplace_back(v);
  return out;
}

bool headers::contains(std::string_view name) const noexcept { return get(name).has_value(); }

}  // namespace tandem::http
