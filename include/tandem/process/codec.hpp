// The binary codec of the process layer: turns task arguments and results into bytes that cross a
// pipe to a worker process of the same binary on the same machine, and back.
//
//   parent                                       worker (same executable, same machine)
//   ------                                       ------
//   encode(e, args) -> byte_buffer --pipe-->     decoder(bytes) -> decode<tuple<Args...>>(d)
//   decode<R>(d) <- decoder(bytes) <--pipe--     encode(e, result) -> byte_buffer
//
// Both ends run the same code compiled by the same compiler, so the format is host byte order and
// host layout, with no versioning and no type tags: a trivially copyable value is its bytes (a
// vector of a million ints is one memcpy each way), a container is a u64 count then its items.
// The decoder is still bounds-checked everywhere, because a worker that dies mid-write or a bug
// must give a decode_error, never a crash or a 2^60-byte allocation.
//
// Wire format (all integers in host byte order):
//   bitwise types (arithmetic except bool, enums, std::byte, trivially copyable classes without a
//     codec of their own, std::array of bitwise types): their sizeof(T) bytes
//   bool: one byte, 0 or 1              std::optional: one byte (0 or 1), then the value if 1
//   std::string, std::vector, containers: u64 item count, then the items (bitwise items: one block)
//   std::vector<bool>: u64 bit count, then ceil(count / 8) bytes, least significant bit first
//   std::pair, std::tuple, std::array: their elements in order, no count
//   std::variant: u32 alternative index, then that alternative
//   std::chrono::duration, time_point: bitwise (their count)
//   codec<T>: whatever the user's specialisation writes
//
// The codecs of the standard templates (strings, containers, pair, tuple, optional, variant) are
// in tandem/process/detail/codec_std.hpp, which this file includes at its end.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tandem/error.hpp"

namespace tandem {

/// Growable byte buffer for encoded messages: malloc/realloc storage that is not zero-filled on
/// growth, so encoding writes each byte once. Move-only.
///
/// Thread safety: none; one thread at a time.
/// Errors: growing throws std::bad_alloc when memory (or the size_t range) runs out; the buffer
/// is then unchanged.
class byte_buffer {
 public:
  /// An empty buffer; allocates nothing.
  byte_buffer() noexcept = default;
  ~byte_buffer() { std::free(data_); }
  /// Takes `other`'s storage; `other` is left empty.
  byte_buffer(byte_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  /// Frees this buffer's storage and takes `other`'s; `other` is left empty.
  byte_buffer& operator=(byte_buffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;

  /// The first byte; null while nothing was ever reserved.
  [[nodiscard]] std::byte* data() noexcept { return data_; }
  /// The first byte; null while nothing was ever reserved.
  [[nodiscard]] const std::byte* data() const noexcept { return data_; }
  /// Bytes in use.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Bytes allocated.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// True when size() is 0.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Sets the size to 0 and keeps the capacity, so a reused buffer does not allocate again.
  void clear() noexcept { size_ = 0; }

  /// Makes the capacity at least `bytes`. Errors: std::bad_alloc.
  void reserve(std::size_t bytes) {
    if (bytes > capacity_) grow_to(bytes);
  }

  /// Grows the size by `bytes`, uninitialised, and returns a pointer to the first of them.
  /// Earlier pointers into the buffer are invalidated when it reallocates.
  /// Errors: std::bad_alloc.
  std::byte* extend(std::size_t bytes) {
    if (bytes > capacity_ - size_) grow_for(bytes);
    std::byte* p = data_ + size_;
    size_ += bytes;
    return p;
  }

  /// Appends `bytes` bytes from `p`. Errors: std::bad_alloc.
  void append(const void* p, std::size_t bytes) {
    if (bytes != 0) std::memcpy(extend(bytes), p, bytes);  // memcpy(null, ..., 0) is undefined
  }

  /// Sets the size to `bytes`; the bytes added when growing are uninitialised.
  /// Errors: std::bad_alloc.
  void resize(std::size_t bytes) {
    reserve(bytes);
    size_ = bytes;
  }

  /// Drops the first `bytes` bytes, moving the rest to the front (a memmove of size() - bytes).
  /// Precondition: bytes <= size().
  void erase_front(std::size_t bytes) noexcept {
    if (bytes >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_, data_ + bytes, size_ - bytes);
    size_ -= bytes;
  }

 private:
  void grow_for(std::size_t more);     // capacity for size_ + more, amortised (doubling)
  void grow_to(std::size_t capacity);  // exactly `capacity`

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// A message could not be decoded: it is truncated, or its bytes do not match the type decoded
/// (a bool that is not 0 or 1, a variant index out of range, a count larger than the bytes left
/// could hold). what() says which and, when truncated, how many bytes were needed and left.
class decode_error : public error {
 public:
  using error::error;
};

namespace detail {
/// Throws decode_error("... needed N bytes, M left"). Out of line: it is the cold path of every
/// read.
[[noreturn]] void throw_truncated(std::size_t needed, std::size_t left);
/// Throws decode_error for a container count that cannot fit in the bytes left.
[[noreturn]] void throw_bad_count(std::uint64_t count, std::size_t min_item_bytes,
                                  std::size_t left);
/// Throws decode_error("tandem::decode: " + what).
[[noreturn]] void throw_bad_value(const char* what);
}  // namespace detail

/// Appends encoded values to a byte_buffer. Holds a reference: the buffer must outlive it.
///
/// Thread safety: none; one thread at a time.
class encoder {
 public:
  /// An encoder that appends to `out` (after what is already there).
  explicit encoder(byte_buffer& out) noexcept : out_(&out) {}
  /// Appends `bytes` raw bytes from `p`. Errors: std::bad_alloc.
  void write(const void* p, std::size_t bytes) { out_->append(p, bytes); }
  /// The buffer written to.
  [[nodiscard]] byte_buffer& buffer() noexcept { return *out_; }

 private:
  byte_buffer* out_;
};

/// Reads encoded values from a byte range it does not own. Every read is bounds-checked.
///
/// Thread safety: none; one thread at a time.
/// Errors: reading past the end throws decode_error naming how many bytes were needed and left;
/// the decoder's position is then unchanged.
class decoder {
 public:
  /// A decoder over [p, p + bytes); the range must outlive it.
  decoder(const std::byte* p, std::size_t bytes) noexcept : p_(p), end_(p + bytes) {}
  /// Copies the next `bytes` bytes to `p`. Errors: decode_error if fewer are left.
  void read(void* p, std::size_t bytes) {
    const std::byte* src = take(bytes);
    if (bytes != 0) std::memcpy(p, src, bytes);
  }
  /// Returns a pointer to the next `bytes` bytes and moves past them; the pointer stays valid as
  /// long as the underlying range. Errors: decode_error if fewer are left.
  const std::byte* take(std::size_t bytes) {
    if (bytes > remaining()) detail::throw_truncated(bytes, remaining());
    const std::byte* p = p_;
    p_ += bytes;
    return p;
  }
  /// Bytes not read yet.
  [[nodiscard]] std::size_t remaining() const noexcept {
    return static_cast<std::size_t>(end_ - p_);
  }

 private:
  const std::byte* p_;
  const std::byte* end_;
};

/// The customisation point: specialise it for a type of yours to say how it is encoded. The
/// primary template is "no codec of the user's": built-in types and trivially copyable classes
/// are handled without it, and a specialisation always takes priority over those built-in cases
/// (also over the byte-for-byte copy of a trivially copyable class).
///
/// A specialisation has both members:
///   static void encode(tandem::encoder& e, const T& value);
///   static T decode(tandem::decoder& d);   // reads exactly what encode wrote
/// and usually writes its fields with tandem::encode / tandem::encode_all and reads them back with
/// tandem::decode in the same order.
/// Errors: decode should let decode_error from tandem::decode propagate, and throw decode_error
/// itself for bytes that make no valid T.
/// Example:
///   struct point { double x, y; std::string label; };
///   template <>
///   struct tandem::codec<point> {
///     static void encode(tandem::encoder& e, const point& p) {
///       tandem::encode_all(e, p.x, p.y, p.label);
///     }
///     static point decode(tandem::decoder& d) {
///       point p;
///       p.x = tandem::decode<double>(d);
///       p.y = tandem::decode<double>(d);
///       p.label = tandem::decode<std::string>(d);
///       return p;
///     }
///   };
template <class T, class Enable = void>
struct codec {
  /// Marks the primary template: T has no codec of the user's.
  using not_specialised = void;
};

namespace detail {

// ----------------------------------------------------------------------------- classification

template <class T>
concept user_codec_declared = !requires {
  typename codec<T>::not_specialised;
};

template <class T>
concept user_codec_complete = requires(encoder& e, decoder& d, const T& v) {
  codec<T>::encode(e, v);
  { codec<T>::decode(d) } -> std::convertible_to<T>;
};

template <class T, template <class...> class Tmpl>
struct is_instance_of : std::false_type {};
template <template <class...> class Tmpl, class... A>
struct is_instance_of<Tmpl<A...>, Tmpl> : std::true_type {};

template <class T>
struct is_span : std::false_type {};
template <class T, std::size_t N>
struct is_span<std::span<T, N>> : std::true_type {};

/// Types that are trivially copyable but only hold a pointer into this process (or cannot be
/// returned by value), so byte-for-byte copying them would send an address that means nothing in
/// a worker process.
template <class T>
inline constexpr bool never_bitwise =
    std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_null_pointer_v<T> ||
    std::is_reference_v<T> || std::is_array_v<T> || std::is_function_v<T> || std::is_void_v<T> ||
    is_instance_of<T, std::basic_string_view>::value || is_span<T>::value ||
    is_instance_of<T, std::reference_wrapper>::value;

/// Built-in codecs for standard templates; a specialisation sets `matched`, `ok` (whether its
/// element types are encodable) and `min_size` (see min_wire_size). The specialisations are in
/// detail/codec_std.hpp.
template <class T>
struct std_codec {
  static constexpr bool matched = false;
  static constexpr bool ok = false;
  static constexpr std::size_t min_size = 0;
};

template <class T>
struct array_of_bitwise : std::false_type {};  // specialised for std::array below

/// A class or union copied byte for byte: trivially copyable, and copy-constructible too because
/// g++ (without CWG 1734) calls a class whose copies are all deleted, like std::mutex or
/// std::atomic, trivially copyable. Standard templates with a codec of their own are not.
template <class T>
concept bitwise_class = std::is_class_v<T> || std::is_union_v<T>;
template <class T>
concept bitwise_record = bitwise_class<T> && std::is_trivially_copyable_v<T> &&
    std::is_copy_constructible_v<T> && !std_codec<T>::matched;

/// True when T is sent as its own bytes: arithmetic (bool excepted: it is checked on decode),
/// enums, std::byte, trivially copyable classes and unions without a codec of their own,
/// std::array of such types. Concepts so that the checks short-circuit: the type traits at the
/// end are never asked about functions, references or void.
template <class T>
concept bitwise = !user_codec_declared<T> && !never_bitwise<T> && !std::is_const_v<T> &&
                  !std::is_volatile_v<T> && !std::is_same_v<T, bool> &&
                  (std::is_arithmetic_v<T> || std::is_enum_v<T> || array_of_bitwise<T>::value ||
                   bitwise_record<T>);
template <class T>
inline constexpr bool bitwise_v = bitwise<T>;

template <class T, std::size_t N>
struct array_of_bitwise<std::array<T, N>> : std::bool_constant<bitwise<T>> {};

}  // namespace detail

/// True for every type tandem::encode and tandem::decode accept: those with a tandem::codec
/// specialisation; arithmetic types, enums, std::byte, bool; trivially copyable classes (sent
/// byte for byte); std::string, std::vector (any allocator, std::vector<bool> too), std::array,
/// std::deque, std::list, std::map, std::multimap, std::unordered_map, std::unordered_multimap,
/// std::set, std::multiset, std::unordered_set, std::unordered_multiset, std::pair, std::tuple,
/// std::optional, std::variant, std::monostate, std::chrono::duration and time_point, of
/// encodable types. Pointers, references, std::string_view, std::span, std::reference_wrapper and
/// classes that are not trivially copyable without a codec (std::thread, std::mutex,
/// std::function, std::unique_ptr, std::shared_ptr, ...) are not. cv-qualifiers are ignored.
template <class T>
concept encodable = (detail::user_codec_declared<std::remove_cv_t<T>> &&
                     detail::user_codec_complete<std::remove_cv_t<T>>) ||
                    (!detail::user_codec_declared<std::remove_cv_t<T>> &&
                     (detail::bitwise<std::remove_cv_t<T>> ||
                      std::is_same_v<std::remove_cv_t<T>, bool> ||
                      detail::std_codec<std::remove_cv_t<T>>::ok));

namespace detail {

/// The innermost type that makes T not encodable (std::thread in a vector<optional<thread>>), so
/// the compile-time error names it. Defined with the dispatch below.
template <class T>
struct culprit;

/// False for every T; its name is what g++'s note under the error shows ("'...sendable_by_value
/// <std::thread>' evaluates to false"), so it names the type once more.
template <class T>
inline constexpr bool sendable_by_value = false;
/// Whether T has a tandem::codec specialisation that lacks encode or decode.
template <class T>
inline constexpr bool has_incomplete_codec_specialisation =
    user_codec_declared<T> && !user_codec_complete<T>;

/// Instantiated only for a type that cannot be encoded: its static_assert is the error a user
/// sees, and the compiler's "In instantiation of" line above it names the type. One of the two
/// assertions fails, never both.
template <class T>
struct type_cannot_cross_a_process_boundary {
  static_assert(!has_incomplete_codec_specialisation<T>,
                "tandem::codec<T> is specialised for this type, but it needs both "
                "`static void encode(tandem::encoder&, const T&)` and "
                "`static T decode(tandem::decoder&)`");
  static_assert(has_incomplete_codec_specialisation<T> || sendable_by_value<T>,
                "tandem: this type cannot be sent to a worker process: it is a pointer, a "
                "reference, a view or a class that is not trivially copyable, which cannot be "
                "copied into another process. Send values (std::string, std::vector, ...), or "
                "specialise tandem::codec<T> with static encode(tandem::encoder&, const T&) and "
                "static T decode(tandem::decoder&) (see tandem/process/codec.hpp)");
  static constexpr bool ok = true;
};

template <class T>
void encode_item(encoder& e, const T& v);
template <class T>
T decode_item(decoder& d);

/// The fewest bytes any value of T encodes to: used to reject a container count that the bytes
/// left cannot hold before allocating anything. 0 when unknown (a user codec).
template <class T>
constexpr std::size_t min_wire_size() {
  using U = std::remove_cv_t<T>;
  if constexpr (user_codec_declared<U>) {
    return 0;
  } else if constexpr (bitwise_v<U>) {
    return sizeof(U);
  } else if constexpr (std::is_same_v<U, bool>) {
    return 1;
  } else {
    return std_codec<U>::min_size;
  }
}

/// Reads a u64 container count and checks that the bytes left can hold that many items of at
/// least `min_item` bytes each. Errors: decode_error.
inline std::size_t decode_count(decoder& d, std::size_t min_item) {
  std::uint64_t n;
  d.read(&n, sizeof n);
  if (min_item != 0 ? n > d.remaining() / min_item
                    : n > std::numeric_limits<std::size_t>::max() / 2)
    throw_bad_count(n, min_item, d.remaining());
  return static_cast<std::size_t>(n);
}

/// How many items to reserve for a declared count: never more than the bytes left could hold
/// (each item takes at least one byte unless its encoding is empty), so a corrupt count that
/// passed decode_count cannot make reserve() allocate more than the message could fill.
inline std::size_t plausible_count(const decoder& d, std::size_t n) {
  return n < d.remaining() ? n : d.remaining();
}

inline void encode_count(encoder& e, std::size_t n) {
  auto v = static_cast<std::uint64_t>(n);
  e.write(&v, sizeof v);
}

/// Encodes a range as a count and its items.
template <class R>
void encode_range(encoder& e, const R& r) {
  encode_count(e, r.size());
  for (const auto& x : r) encode_item(e, x);
}

// ------------------------------------------------------------------------------ dispatch

template <class T>
struct culprit {
  using type = T;
};
template <class T>
using culprit_t = typename culprit<std::remove_cvref_t<T>>::type;
/// The first of Ts... that is not encodable (void if all are).
template <class... Ts>
struct first_culprit {
  using type = void;
};
template <class T, class... Ts>
struct first_culprit<T, Ts...> {
  using type = std::conditional_t<encodable<std::remove_cvref_t<T>>,
                                  typename first_culprit<Ts...>::type, culprit_t<T>>;
};
template <template <class...> class Tmpl, class... A>
requires(std_codec<Tmpl<A...>>::matched &&
         !user_codec_declared<Tmpl<A...>>) struct culprit<Tmpl<A...>> {
  using type = std::conditional_t<std::is_void_v<typename first_culprit<A...>::type>, Tmpl<A...>,
                                  typename first_culprit<A...>::type>;
};
template <class T, std::size_t N>
struct culprit<std::array<T, N>> {
  using type = std::conditional_t<encodable<T>, std::array<T, N>, culprit_t<T>>;
};

/// Encodes one value with its codec; T is known encodable.
template <class T>
inline void encode_item(encoder& e, const T& v) {
  using U = std::remove_cv_t<T>;
  if constexpr (user_codec_declared<U>) {
    codec<U>::encode(e, v);
  } else if constexpr (bitwise_v<U>) {
    e.write(std::addressof(v), sizeof(U));
  } else if constexpr (std::is_same_v<U, bool>) {
    auto b = static_cast<std::uint8_t>(v);
    e.write(&b, 1);
  } else {
    std_codec<U>::encode(e, v);
  }
}

/// Decodes one value with its codec; T is known encodable.
template <class T>
inline T decode_item(decoder& d) {
  using U = std::remove_cv_t<T>;
  if constexpr (user_codec_declared<U>) {
    return codec<U>::decode(d);
  } else if constexpr (bitwise_v<U>) {
    const std::byte* p = d.take(sizeof(U));
    if constexpr (std::is_trivially_default_constructible_v<U>) {
      U v;
      std::memcpy(static_cast<void*>(std::addressof(v)), p, sizeof(U));
      return v;
    } else {
      std::array<std::byte, sizeof(U)> raw;
      std::memcpy(raw.data(), p, sizeof(U));
      return std::bit_cast<U>(raw);
    }
  } else if constexpr (std::is_same_v<U, bool>) {
    auto b = std::to_integer<unsigned>(*d.take(1));
    // Any other byte would make a bool with an invalid representation (undefined behaviour).
    if (b > 1) throw_bad_value("bool byte is neither 0 nor 1");
    return b != 0;
  } else {
    return std_codec<U>::decode(d);
  }
}

}  // namespace detail

/// Appends `value` to the encoder's buffer (see the wire format at the top of this file).
///
/// Errors: std::bad_alloc; std::invalid_argument for a variant that is valueless_by_exception;
/// whatever a user codec<T>::encode throws. A type that is not `encodable` is a compile-time
/// error ("this type cannot be sent to a worker process ... specialise tandem::codec<T>") whose
/// "In instantiation of type_cannot_cross_a_process_boundary<X>" note names the culprit X (the
/// innermost one: std::thread in a std::vector<std::thread>).
template <class T>
void encode(encoder& e, const T& value) {
  if constexpr (encodable<T>) {
    detail::encode_item(e, value);
  } else {
    static_assert(detail::type_cannot_cross_a_process_boundary<detail::culprit_t<T>>::ok);
  }
}

/// Reads a T written by encode(e, T).
///
/// Errors: decode_error when the bytes are truncated or do not make a T (see decode_error); a
/// container count is checked against the bytes left before anything is allocated. On error the
/// decoder's position is unspecified. A type that is not `encodable` is a compile-time error, as
/// for encode.
template <class T>
[[nodiscard]] T decode(decoder& d) {
  if constexpr (encodable<T>) {
    return detail::decode_item<T>(d);
  } else {
    static_assert(detail::type_cannot_cross_a_process_boundary<detail::culprit_t<T>>::ok);
    std::abort();  // not reached: the static_assert above fails
  }
}

/// Encodes each of `values` in order, as consecutive encode(e, v) calls would; read them back
/// with decode<T> in the same order (or as one decode<std::tuple<Ts...>>).
/// Errors: as encode.
template <class... Ts>
void encode_all(encoder& e, const Ts&... values) {
  (tandem::encode(e, values), ...);
}

/// Encodes `s` exactly as a std::string holding it, without building one: decode it with
/// decode<std::string>. For string_view and string literals, which encode() itself refuses
/// (a view would decode to a view into a buffer that is gone).
/// Errors: std::bad_alloc.
inline void encode_string(encoder& e, std::string_view s) {
  detail::encode_count(e, s.size());
  e.write(s.data(), s.size());
}

}  // namespace tandem

// Last: the standard-template codecs build on everything above (see that file's top comment).
#include "tandem/process/detail/codec_std.hpp"
