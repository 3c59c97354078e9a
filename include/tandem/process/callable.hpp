// What a worker process can be asked to run: plain functions, capture-less lambdas, empty function
// objects, and tandem::bind(f, data...) for a callable with bound data.
//
// A worker runs the same program, so code travels as an address: the address of a "trampoline",
// one function instantiated per (callable type, argument types), which decodes the callable and
// the arguments, calls, and encodes the result. Addresses are sent relative to the executable (or
// shared library) that holds them, so they stay valid in a worker started by `spawn`, where
// address-space randomisation loads the program at another base.
#pragma once

#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/detail/map_range.hpp"
#include "tandem/process/codec.hpp"

namespace tandem {

/// A callable `f` with data bound to its first parameters: calling it with `rest...` calls
/// `f(bound..., rest...)`. The way to send data along with a function to a worker process,
/// where a lambda's captures cannot go (they may hold pointers into this process).
/// Example: `pool.map(tandem::bind(scale, 2.5), xs)` runs `scale(2.5, x)` for each x.
template <class F, class... Bound>
struct bound {
  F f;                          ///< the callable (sendable itself)
  std::tuple<Bound...> values;  ///< the bound leading arguments

  /// Calls `f(bound..., rest...)`; the bound values are passed as const lvalues.
  template <class... Rest>
  decltype(auto) operator()(Rest&&... rest) const {
    return std::apply(
        [&](const Bound&... b) -> decltype(auto) {
          return std::invoke(f, b..., std::forward<Rest>(rest)...);
        },
        values);
  }
};

/// Binds `values...` (copied or moved, decayed) to the first parameters of `f`.
/// Follows functools.partial, which is how Python sends data along with a function to a pool.
template <class F, class... A>
[[nodiscard]] bound<std::decay_t<F>, std::decay_t<A>...> bind(F&& f, A&&... values) {
  return {std::forward<F>(f), {std::forward<A>(values)...}};
}

namespace detail {

/// An address in this program's code, relative to the module (executable or shared library)
/// that holds it; see the comment at the top of this file.
struct code_address {
  std::uint64_t offset = 0;  ///< from the module's load address
  std::string module;        ///< empty: the main executable; else the shared library's path
};
/// Where `fn` lives. Errors: std::invalid_argument if it is not in any loaded module.
code_address locate_code(const void* fn);
/// The address of `a` in this process. Errors: decode_error if its module is not loaded here.
const void* resolve_code(const code_address& a);

template <class T>
struct is_bound : std::false_type {};
template <class F, class... B>
struct is_bound<bound<F, B...>> : std::true_type {};

/// True for what can be sent: a function pointer; an empty, default-constructible, trivially
/// copyable class (a capture-less lambda or a stateless function object), rebuilt in the worker
/// as `F{}`; bound<F, B...> of a sendable F and encodable B...; starmap's wrapper of one.
template <class F>
struct is_sendable
    : std::bool_constant<(std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>) ||
                         (std::is_class_v<F> && std::is_empty_v<F> &&
                          std::is_default_constructible_v<F> && std::is_trivially_copyable_v<F>)> {
};
template <class F, class... B>
struct is_sendable<bound<F, B...>>
    : std::bool_constant<is_sendable<F>::value && (encodable<B> && ...)> {};
template <class F>
struct is_sendable<apply_fn<F>> : is_sendable<F> {};

/// Names the callable type in the compiler's "required from" notes when it cannot be sent.
template <class F>
struct callable_cannot_cross_a_process_boundary {
  static_assert(is_sendable<F>::value,
                "tandem::process_pool: this callable cannot be sent to a worker process. Send a "
                "plain function, a capture-less lambda or an empty function object; pass data "
                "along with tandem::bind(f, values...) or as arguments (lambda captures may hold "
                "pointers into this process, so they cannot travel)");
  static constexpr bool ok = true;
};

/// Encodes and rebuilds a sendable callable.
template <class F>
struct callable_codec {
  static void encode(encoder& e, const F& f) {
    if constexpr (std::is_pointer_v<F>) {
      auto a = locate_code(reinterpret_cast<const void*>(f));
      tandem::encode(e, a.offset);
      tandem::encode(e, a.module);
    }
  }
  static F decode(decoder& d) {
    if constexpr (std::is_pointer_v<F>) {
      code_address a;
      a.offset = tandem::decode<std::uint64_t>(d);
      a.module = tandem::decode<std::string>(d);
      return reinterpret_cast<F>(const_cast<void*>(resolve_code(a)));
    } else {
      return F{};
    }
  }
};
template <class F, class... B>
struct callable_codec<bound<F, B...>> {
  static void encode(encoder& e, const bound<F, B...>& b) {
    callable_codec<F>::encode(e, b.f);
    tandem::encode(e, b.values);
  }
  static bound<F, B...> decode(decoder& d) {
    F f = callable_codec<F>::decode(d);
    return {std::move(f), tandem::decode<std::tuple<B...>>(d)};
  }
};
template <class F>
struct callable_codec<apply_fn<F>> {
  static void encode(encoder& e, const apply_fn<F>& a) { callable_codec<F>::encode(e, a.f); }
  static apply_fn<F> decode(decoder& d) { return {callable_codec<F>::decode(d)}; }
};

/// What a worker calls for one task: reads the callable and its arguments from `in`, runs it,
/// appends the encoded result to `out`. Exceptions propagate to the worker's loop.
using trampoline = void (*)(decoder& in, encoder& out);

/// The trampoline of `f(args...)` with the decayed types F and A...
template <class F, class... A>
void call_trampoline(decoder& in, encoder& out) {
  F f = callable_codec<F>::decode(in);
  auto args = tandem::decode<std::tuple<A...>>(in);
  using R = std::invoke_result_t<F&, A...>;
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(args));
  } else {
    tandem::encode(out, std::apply(f, std::move(args)));
  }
}

/// The trampoline of one map chunk: `f` over a vector of items, results as a chunk_vector.
template <class F, class Item>
void chunk_trampoline(decoder& in, encoder& out) {
  F f = callable_codec<F>::decode(in);
  auto items = tandem::decode<std::vector<Item>>(in);
  using R = std::invoke_result_t<const F&, Item&>;
  tandem::encode(out, apply_chunk<R>(f, items.begin(), items.end(), items.size()));
}

/// Appends the trampoline's address, then the callable, to a task message.
template <class F>
void encode_call_head(encoder& e, trampoline t, const F& f) {
  static_assert(callable_cannot_cross_a_process_boundary<F>::ok);
  auto a = locate_code(reinterpret_cast<const void*>(t));
  tandem::encode(e, a.offset);
  tandem::encode(e, a.module);
  callable_codec<F>::encode(e, f);
}

/// Reads the trampoline address at the start of a task message.
inline trampoline decode_trampoline(decoder& d) {
  code_address a;
  a.offset = tandem::decode<std::uint64_t>(d);
  a.module = tandem::decode<std::string>(d);
  return reinterpret_cast<trampoline>(const_cast<void*>(resolve_code(a)));
}

}  // namespace detail
}  // namespace tandem
