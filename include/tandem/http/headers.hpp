// HTTP header fields: an ordered list of (name, value) pairs, looked up case-insensitively, with
// repeated names kept (Set-Cookie). Follows multidict.CIMultiDict, which aiohttp uses.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::http {

/// Case-insensitive ASCII comparison of two header names.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// Header fields in the order they were added. Names compare case-insensitively and keep the
/// spelling they were added with. Lookup is a linear scan: requests carry a handful of fields.
///
/// Thread safety: as a std::vector (const methods from many threads, writes from one).
class headers {
 public:
  using value_type = std::pair<std::string, std::string>;
  using const_iterator = std::vector<value_type>::const_iterator;

  /// No fields.
  headers() = default;
  /// `{{"Accept", "application/json"}, {"X-Id", "7"}}`.
  headers(std::initializer_list<value_type> fields);

  /// Appends a field, keeping earlier ones of the same name (aiohttp's `add`).
  void add(std::string name, std::string value);
  /// Replaces every field named `name` by one (aiohttp's `__setitem__`).
  void set(std::string name, std::string value);
  /// Removes every field named `name`; returns how many were removed.
  std::size_t remove(std::string_view name);

  /// The first value of `name`, or nullopt. The view lives as long as the field.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept;
  /// Every value of `name`, in order (empty if none).
  [[nodiscard]] std::vector<std::string_view> get_all(std::string_view name) const;
  /// True if a field named `name` exists.
  [[nodiscard]] bool contains(std::string_view name) const noexcept;

  /// Fields in all, repeats counted.
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  /// True when there are no fields.
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  /// The (name, value) pairs in the order added.
  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }
  /// Removes every field.
  void clear() noexcept { fields_.clear(); }

 private:
  std::vector<value_type> fields_;
};

}  // namespace tandem::http
