// The built-in codecs of the standard templates: detail::std_codec specialisations for
// std::basic_string, std::vector (and std::vector<bool>), std::array, the sequences and sets
// (deque, list, set, multiset, unordered_set, unordered_multiset), the maps (map, multimap,
// unordered_map, unordered_multimap), std::pair, std::tuple, std::optional and std::variant.
// Their wire format is the one at the top of tandem/process/codec.hpp.
//
// Separate from codec.hpp so that codec.hpp stays the codec's machinery (byte_buffer,
// encoder/decoder, decode_error, the codec<T> customisation point, the encodable concept,
// encode/decode and the bitwise path) and this file is the list of standard types it knows,
// which grows on its own. Types with no code here still encode: std::chrono::duration and
// time_point, std::monostate and other trivially copyable classes take codec.hpp's bitwise path.
//
// Users include tandem/process/codec.hpp, which includes this file at its end. The dispatch in
// codec.hpp names std_codec<U> only inside templates, so these specialisations need only be
// declared before user code instantiates anything. This file includes codec.hpp itself, so it
// also parses on its own (tools); either way it comes after all of codec.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "tandem/process/codec.hpp"

namespace tandem::detail {

template <class CharT, class Traits, class Alloc>
struct std_codec<std::basic_string<CharT, Traits, Alloc>> {
  using S = std::basic_string<CharT, Traits, Alloc>;
  static constexpr bool matched = true;
  static constexpr bool ok = bitwise_v<CharT>;
  static constexpr std::size_t min_size = 8;
  static void encode(encoder& e, const S& s) {
    encode_count(e, s.size());
    e.write(s.data(), s.size() * sizeof(CharT));
  }
  static S decode(decoder& d) {
    std::size_t n = decode_count(d, sizeof(CharT));
    const std::byte* p = d.take(n * sizeof(CharT));
    if constexpr (sizeof(CharT) == 1) {
      return S(reinterpret_cast<const CharT*>(p), n);  // one allocation, one memcpy
    } else {
      S s(n, CharT{});
      if (n != 0) std::memcpy(s.data(), p, n * sizeof(CharT));  // p may be misaligned for CharT
      return s;
    }
  }
};

template <class T, class Alloc>
struct std_codec<std::vector<T, Alloc>> {
  using V = std::vector<T, Alloc>;
  static constexpr bool matched = true;
  static constexpr bool ok = encodable<T>;
  static constexpr std::size_t min_size = 8;
  static void encode(encoder& e, const V& v) {
    if constexpr (bitwise_v<T>) {
      encode_count(e, v.size());
      e.write(v.data(), v.size() * sizeof(T));  // one memcpy
    } else {
      encode_range(e, v);
    }
  }
  static V decode(decoder& d) {
    std::size_t n = decode_count(d, min_wire_size<T>());
    if constexpr (bitwise_v<T>) {
      const std::byte* p = d.take(n * sizeof(T));
      if constexpr (std::is_same_v<Alloc, std::allocator<T>>) {
        // Constructing from a T range allocates once and copies with one memmove (libstdc++'s
        // uninitialized_copy of a trivial type), where resize() would zero-fill first. The bytes
        // are a T array the encoder copied out; they are usable as T only where aligned for it.
        if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) == 0) {
          const T* first = reinterpret_cast<const T*>(p);
          return V(first, first + n);
        }
      }
      V v;
      if constexpr (std::is_default_constructible_v<T>) {
        // Allocators whose value-less construct() default-initialises (the pool's chunk vectors,
        // detail::default_init_allocator) make resize() skip the fill; others, and misaligned
        // bytes with std::allocator, pay a zero-fill before the one copy.
        v.resize(n);
        if (n != 0) std::memcpy(static_cast<void*>(v.data()), p, n * sizeof(T));
      } else {
        v.reserve(n);  // the bytes are taken already, so n is not a bogus count
        decoder items(p, n * sizeof(T));
        for (std::size_t i = 0; i < n; ++i) v.push_back(decode_item<T>(items));
      }
      return v;
    } else {
      V v;
      v.reserve(plausible_count(d, n));
      for (std::size_t i = 0; i < n; ++i) v.push_back(decode_item<T>(d));
      return v;
    }
  }
};

template <class Alloc>
struct std_codec<std::vector<bool, Alloc>> {
  using V = std::vector<bool, Alloc>;
  static constexpr bool matched = true;
  static constexpr bool ok = true;
  static constexpr std::size_t min_size = 8;
  static void encode(encoder& e, const V& v) {
    encode_count(e, v.size());
    std::byte* out = e.buffer().extend((v.size() + 7) / 8);
    std::size_t i = 0;
    for (std::size_t byte = 0; i < v.size(); ++byte) {
      unsigned bits = 0;
      for (unsigned bit = 0; bit < 8 && i < v.size(); ++bit, ++i)
        bits |= static_cast<unsigned>(static_cast<bool>(v[i])) << bit;
      out[byte] = static_cast<std::byte>(bits);
    }
  }
  static V decode(decoder& d) {
    std::uint64_t n;
    d.read(&n, sizeof n);
    // Bits, not bytes: a count the bytes left cannot hold is rejected before allocating.
    if (n / 8 > d.remaining()) throw_bad_count(n, 0, d.remaining());
    auto bits = static_cast<std::size_t>(n);
    const std::byte* in = d.take((bits + 7) / 8);
    V v(bits);
    for (std::size_t i = 0; i < bits; ++i)
      v[i] = ((std::to_integer<unsigned>(in[i / 8]) >> (i % 8)) & 1u) != 0;
    return v;
  }
};

template <class T, std::size_t N>
struct std_codec<std::array<T, N>> {
  using A = std::array<T, N>;
  static constexpr bool matched = true;
  static constexpr bool ok = encodable<T>;
  static constexpr std::size_t min_size = N * min_wire_size<T>();
  static void encode(encoder& e, const A& a) {
    for (const auto& x : a) encode_item(e, x);
  }
  static A decode(decoder& d) {
    if constexpr (std::is_default_constructible_v<T>) {
      A a;
      for (auto& x : a) x = decode_item<T>(d);
      return a;
    } else {
      // Braced initialisation evaluates its elements left to right, so they are read in order.
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return A{{(static_cast<void>(I), decode_item<T>(d))...}};
      }
      (std::make_index_sequence<N>{});
    }
  }
};

/// deque, list, set, multiset, unordered_set, unordered_multiset: a count, then the items;
/// decoding inserts at the end (sequences) or with an end() hint (ordered sets, in order: O(n)).
template <class C, class T>
struct sequence_codec {
  static constexpr bool matched = true;
  static constexpr bool ok = encodable<T>;
  static constexpr std::size_t min_size = 8;
  static void encode(encoder& e, const C& c) { encode_range(e, c); }
  static C decode(decoder& d) {
    std::size_t n = decode_count(d, min_wire_size<T>());
    C c;
    if constexpr (requires { c.reserve(n); }) c.reserve(plausible_count(d, n));
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (requires { c.push_back(decode_item<T>(d)); }) {
        c.push_back(decode_item<T>(d));
      } else {
        c.emplace_hint(c.end(), decode_item<T>(d));
      }
    }
    return c;
  }
};

template <class T, class A>
struct std_codec<std::deque<T, A>> : sequence_codec<std::deque<T, A>, T> {};
template <class T, class A>
struct std_codec<std::list<T, A>> : sequence_codec<std::list<T, A>, T> {};
template <class K, class C, class A>
struct std_codec<std::set<K, C, A>> : sequence_codec<std::set<K, C, A>, K> {};
template <class K, class C, class A>
struct std_codec<std::multiset<K, C, A>> : sequence_codec<std::multiset<K, C, A>, K> {};
template <class K, class H, class E, class A>
struct std_codec<std::unordered_set<K, H, E, A>>
    : sequence_codec<std::unordered_set<K, H, E, A>, K> {};
template <class K, class H, class E, class A>
struct std_codec<std::unordered_multiset<K, H, E, A>>
    : sequence_codec<std::unordered_multiset<K, H, E, A>, K> {};

/// map, multimap, unordered_map, unordered_multimap: a count, then key, value, key, value...
template <class M, class K, class V>
struct map_codec {
  static constexpr bool matched = true;
  static constexpr bool ok = encodable<K> && encodable<V>;
  static constexpr std::size_t min_size = 8;
  static void encode(encoder& e, const M& m) {
    encode_count(e, m.size());
    for (const auto& [k, v] : m) {
      encode_item(e, k);
      encode_item(e, v);
    }
  }
  static M decode(decoder& d) {
    std::size_t n = decode_count(d, min_wire_size<K>() + min_wire_size<V>());
    M m;
    if constexpr (requires { m.reserve(n); }) m.reserve(plausible_count(d, n));
    for (std::size_t i = 0; i < n; ++i) {
      K k = decode_item<K>(d);  // two statements: the key is read before the value
      V v = decode_item<V>(d);
      m.emplace_hint(m.end(), std::move(k), std::move(v));
    }
    return m;
  }
};

template <class K, class V, class C, class A>
struct std_codec<std::map<K, V, C, A>> : map_codec<std::map<K, V, C, A>, K, V> {};
template <class K, class V, class C, class A>
struct std_codec<std::multimap<K, V, C, A>> : map_codec<std::multimap<K, V, C, A>, K, V> {};
template <class K, class V, class H, class E, class A>
struct std_codec<std::unordered_map<K, V, H, E, A>>
    : map_codec<std::unordered_map<K, V, H, E, A>, K, V> {};
template <class K, class V, class H, class E, class A>
struct std_codec<std::unordered_multimap<K, V, H, E, A>>
    : map_codec<std::unordered_multimap<K, V, H, E, A>, K, V> {};

template <class A, class B>
struct std_codec<std::pair<A, B>> {
  static constexpr bool matched = true;
  static constexpr bool ok = encodable<A> && encodable<B>;
  static constexpr std::size_t min_size = min_wire_size<A>() + min_wire_size<B>();
  static void encode(encoder& e, const std::pair<A, B>& p) {
    encode_item(e, p.first);
    encode_item(e, p.second);
  }
  static std::pair<A, B> decode(decoder& d) {
    A a = decode_item<A>(d);
    B b = decode_item<B>(d);
    return {std::move(a), std::move(b)};
  }
};

/// A tuple's elements in order. A tuple of references, such as the pool's
/// std::tuple<const Args&...>, encodes like the tuple of values, so the worker decodes it as
/// std::tuple<Args...>; only the values can be decoded.
template <class... Ts>
struct std_codec<std::tuple<Ts...>> {
  static constexpr bool matched = true;
  static constexpr bool ok = (encodable<std::remove_cvref_t<Ts>> && ...);
  static constexpr std::size_t min_size =
      (std::size_t{0} + ... + min_wire_size<std::remove_cvref_t<Ts>>());
  static void encode(encoder& e, const std::tuple<Ts...>& t) {
    std::apply([&](const auto&... x) { (encode_item(e, x), ...); }, t);
  }
  static std::tuple<Ts...> decode(decoder& d) {
    static_assert((!std::is_reference_v<Ts> && ...),
                  "tandem::decode: a tuple of references cannot be decoded; decode the tuple of "
                  "values (std::tuple<std::decay_t<Ts>...>)");
    // Braced initialisation evaluates its elements left to right, so they are read in order.
    return std::tuple<Ts...>{decode_item<Ts>(d)...};
  }
};

template <class T>
struct std_codec<std::optional<T>> {
  static constexpr bool matched = true;
  static constexpr bool ok = encodable<T>;
  static constexpr std::size_t min_size = 1;
  static void encode(encoder& e, const std::optional<T>& o) {
    encode_item(e, o.has_value());
    if (o) encode_item(e, *o);
  }
  static std::optional<T> decode(decoder& d) {
    if (!decode_item<bool>(d)) return std::nullopt;
    return std::optional<T>(std::in_place, decode_item<T>(d));
  }
};

template <class... Ts>
struct std_codec<std::variant<Ts...>> {
  using V = std::variant<Ts...>;
  static constexpr bool matched = true;
  static constexpr bool ok = (encodable<Ts> && ...);
  static constexpr std::size_t min_size = 4;
  static void encode(encoder& e, const V& v) {
    if (v.valueless_by_exception())
      throw std::invalid_argument(
          "tandem::encode: a variant that is valueless_by_exception cannot be encoded");
    auto index = static_cast<std::uint32_t>(v.index());
    e.write(&index, sizeof index);
    std::visit([&](const auto& x) { encode_item(e, x); }, v);
  }
  static V decode(decoder& d) {
    std::uint32_t index;
    d.read(&index, sizeof index);
    if (index >= sizeof...(Ts)) throw_bad_value("variant alternative index out of range");
    // One decoding function per alternative, picked by the index read.
    constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<V (*)(decoder&), sizeof...(Ts)>{+[](decoder& dd) {
        return V(std::in_place_index<I>, decode_item<std::variant_alternative_t<I, V>>(dd));
      }...};
    }
    (std::index_sequence_for<Ts...>{});
    return table[index](d);
  }
};

}  // namespace tandem::detail
