// The process layer's codec: round trips of every supported type, and hostile input (truncated at
// every byte, bogus counts and tags) that must give decode_error, never a crash or a huge
// allocation.
#include "tandem/process/codec.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "tandem/detail/map_range.hpp"

namespace {

// A user type with a codec of its own.
struct point {
  double x = 0, y = 0;
  std::string label;
  bool operator==(const point&) const = default;
};

// Trivially copyable, but with a codec of its own: the codec must win over the byte copy.
struct tagged {
  int value = 0;
  bool operator==(const tagged&) const = default;
};

// Trivially copyable, no codec: sent byte for byte.
struct pod {
  std::int32_t a;
  double b;
  char c[3];
  bool operator==(const pod& o) const {
    return a == o.a && b == o.b && c[0] == o.c[0] && c[1] == o.c[1] && c[2] == o.c[2];
  }
};

// Trivially copyable but not default-constructible.
struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
  bool operator==(const no_default&) const = default;
};

enum class color : std::uint8_t { red = 1, green = 2 };
enum plain_enum { one = 1, two = 2 };

}  // namespace

template <>
struct tandem::codec<point> {
  static void encode(tandem::encoder& e, const point& p) {
    tandem::encode_all(e, p.x, p.y, p.label);
  }
  static point decode(tandem::decoder& d) {
    point p;
    p.x = tandem::decode<double>(d);
    p.y = tandem::decode<double>(d);
    p.label = tandem::decode<std::string>(d);
    return p;
  }
};

template <>
struct tandem::codec<tagged> {
  // Writes 8 bytes (value, then a marker) where a byte copy would write 4.
  static void encode(tandem::encoder& e, const tagged& t) {
    tandem::encode_all(e, t.value, std::int32_t{0x7a6b});
  }
  static tagged decode(tandem::decoder& d) {
    tagged t{tandem::decode<int>(d)};
    if (tandem::decode<std::int32_t>(d) != 0x7a6b) throw tandem::decode_error("bad tagged marker");
    return t;
  }
};

namespace {

using tandem::byte_buffer;
using tandem::decode_error;
using tandem::decoder;
using tandem::encoder;

template <class T>
byte_buffer encoded(const T& v) {
  byte_buffer b;
  encoder e(b);
  tandem::encode(e, v);
  return b;
}

// Encodes, decodes, and checks that every byte was read.
template <class T>
T round_trip(const T& v) {
  byte_buffer b = encoded(v);
  decoder d(b.data(), b.size());
  T out = tandem::decode<T>(d);
  EXPECT_EQ(d.remaining(), 0u) << "decode<T> left bytes unread";
  return out;
}

template <class T>
void expect_round_trip(const T& v) {
  EXPECT_EQ(round_trip(v), v);
}

// Decoding every strict prefix of the encoding of `v` must throw decode_error.
template <class T>
void expect_every_truncation_throws(const T& v) {
  byte_buffer b = encoded(v);
  ASSERT_GT(b.size(), 0u);
  for (std::size_t len = 0; len < b.size(); ++len) {
    // A fresh copy of exactly `len` bytes, so ASan sees any read past the prefix.
    std::vector<std::byte> prefix(b.data(), b.data() + len);
    decoder d(prefix.data(), prefix.size());
    EXPECT_THROW((void)tandem::decode<T>(d), decode_error) << "prefix of " << len << " bytes";
  }
}

// ------------------------------------------------------------------------------ byte_buffer

TEST(ByteBuffer, GrowsAppendsAndErasesFront) {
  byte_buffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), 0u);
  b.append("hello", 5);
  std::byte* p = b.extend(3);
  std::memcpy(p, "abc", 3);
  EXPECT_EQ(b.size(), 8u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()), "helloabc");
  b.erase_front(5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), b.size()), "abc");
  std::size_t cap = b.capacity();
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), cap);
  b.resize(1000);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_GE(b.capacity(), 1000u);
  b.reserve(5000);
  EXPECT_GE(b.capacity(), 5000u);
  b.erase_front(2000);  // more than size: empties
  EXPECT_TRUE(b.empty());
}

TEST(ByteBuffer, MovesLeaveTheSourceEmpty) {
  byte_buffer a;
  a.append("xyz", 3);
  byte_buffer b(std::move(a));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(a.data(), nullptr);
  byte_buffer c;
  c.append("q", 1);
  c = std::move(b);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(std::memcmp(c.data(), "xyz", 3), 0);
}

TEST(ByteBuffer, ImpossibleGrowthThrowsBadAllocAndKeepsContents) {
  byte_buffer b;
  b.append("ab", 2);
  EXPECT_THROW(b.extend(std::numeric_limits<std::size_t>::max()), std::bad_alloc);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(std::memcmp(b.data(), "ab", 2), 0);
}

// ------------------------------------------------------------------------------ scalars

TEST(Codec, Arithmetic) {
  expect_round_trip(true);
  expect_round_trip(false);
  expect_round_trip('x');
  expect_round_trip(static_cast<signed char>(-5));
  expect_round_trip(static_cast<unsigned char>(250));
  expect_round_trip(u'é');
  expect_round_trip(U'💡');
  expect_round_trip(L'w');
  expect_round_trip(static_cast<short>(-1234));
  expect_round_trip(static_cast<unsigned short>(65000));
  expect_round_trip(-123456789);
  expect_round_trip(4000000000u);
  expect_round_trip(-1234567890123L);
  expect_round_trip(18446744073709551615ull);
  expect_round_trip(std::numeric_limits<long long>::min());
  expect_round_trip(3.5f);
  expect_round_trip(-2.25);
  expect_round_trip(1.0L / 3.0L);
  expect_round_trip(std::numeric_limits<double>::infinity());
  EXPECT_EQ(encoded(std::int32_t{7}).size(), 4u);  // bitwise: no tag, no count
  EXPECT_EQ(encoded(true).size(), 1u);
}

TEST(Codec, EnumsBytesMonostate) {
  expect_round_trip(color::green);
  expect_round_trip(two);
  expect_round_trip(std::byte{0xfe});
  expect_round_trip(std::monostate{});
}

TEST(Codec, BoolByteOtherThanZeroOrOneIsADecodeError) {
  std::byte raw{2};
  decoder d(&raw, 1);
  EXPECT_THROW((void)tandem::decode<bool>(d), decode_error);
}

TEST(Codec, Chrono) {
  using namespace std::chrono_literals;
  expect_round_trip(1500ms);
  expect_round_trip(std::chrono::duration<double>(0.25));
  expect_round_trip(std::chrono::nanoseconds(-42));
  auto now = std::chrono::system_clock::now();
  expect_round_trip(now);
  expect_round_trip(std::chrono::steady_clock::now());
  expect_round_trip(std::chrono::time_point_cast<std::chrono::seconds>(now));
}

TEST(Codec, TriviallyCopyableStructsAreSentByteForByte) {
  pod p{-7, 2.5, {'a', 'b', 'c'}};
  EXPECT_EQ(encoded(p).size(), sizeof(pod));
  expect_round_trip(p);
  expect_round_trip(no_default{42});
  expect_round_trip(std::complex<double>(1.5, -2));
  expect_round_trip(std::vector<pod>{p, p, {1, 0, {}}});
  expect_round_trip(std::vector<no_default>{no_default{1}, no_default{2}});
  expect_round_trip(std::array<no_default, 2>{no_default{3}, no_default{4}});
}

TEST(Codec, UserCodecTakesPriorityOverTheByteCopy) {
  static_assert(std::is_trivially_copyable_v<tagged>);
  EXPECT_EQ(encoded(tagged{5}).size(), 8u);  // the codec's 8 bytes, not sizeof(tagged) == 4
  expect_round_trip(tagged{5});
  // Also inside containers, where the byte copy of a whole vector would otherwise apply.
  EXPECT_EQ(encoded(std::vector<tagged>{{1}, {2}}).size(), 8u + 16u);
  expect_round_trip(std::vector<tagged>{{1}, {2}, {3}});
  expect_round_trip(std::array<tagged, 2>{tagged{1}, tagged{2}});
  auto b = encoded(tagged{9});
  b.data()[4] = std::byte{0};  // break the marker: the user codec's own decode_error
  decoder d(b.data(), b.size());
  EXPECT_THROW((void)tandem::decode<tagged>(d), decode_error);
}

TEST(Codec, UserType) {
  point p{1.5, -2, "origin-ish"};
  expect_round_trip(p);
  expect_round_trip(std::vector<point>{p, {}, {3, 4, std::string(100, 'z')}});
  expect_round_trip(std::map<std::string, point>{{"a", p}, {"b", {}}});
  expect_every_truncation_throws(std::vector<point>{p, p});
}

// ------------------------------------------------------------------------------ strings

TEST(Codec, Strings) {
  expect_round_trip(std::string());
  expect_round_trip(std::string("hello"));
  expect_round_trip(std::string("embedded\0nul", 12));
  expect_round_trip(std::string(100000, 'q'));
  expect_round_trip(std::u16string(u"wide"));
  expect_round_trip(std::wstring(L"wider"));
  EXPECT_EQ(encoded(std::string("abc")).size(), 8u + 3u);
}

TEST(Codec, EncodeStringIsWireCompatibleWithString) {
  byte_buffer b;
  encoder e(b);
  tandem::encode_string(e, std::string_view("from a view"));
  tandem::encode_string(e, "literal");
  decoder d(b.data(), b.size());
  EXPECT_EQ(tandem::decode<std::string>(d), "from a view");
  EXPECT_EQ(tandem::decode<std::string>(d), "literal");
  EXPECT_EQ(d.remaining(), 0u);
}

// ------------------------------------------------------------------------------ containers

TEST(Codec, Vectors) {
  expect_round_trip(std::vector<int>{});
  expect_round_trip(std::vector<int>{1, -2, 3});
  expect_round_trip(std::vector<double>{0.5, 1e300});
  expect_round_trip(std::vector<std::string>{"a", "", "ccc"});
  expect_round_trip(std::vector<std::vector<int>>{{}, {1}, {2, 3}});
  expect_round_trip(std::vector<bool>{});
  expect_round_trip(std::vector<bool>{true});
  std::vector<bool> bits;
  for (int i = 0; i < 1001; ++i) bits.push_back(i % 3 == 0);
  expect_round_trip(bits);
  EXPECT_EQ(encoded(bits).size(), 8u + 126u);  // packed: ceil(1001 / 8) bytes
  expect_round_trip(std::vector<std::array<int, 3>>{{1, 2, 3}, {4, 5, 6}});
}

TEST(Codec, VectorWithAnyAllocator) {
  // The pool's chunk vectors.
  using dvec = std::vector<int, tandem::detail::default_init_allocator<int>>;
  dvec v{1, 2, 3, 4};
  expect_round_trip(v);
  expect_round_trip(dvec{});
  using svec = std::vector<std::string, tandem::detail::default_init_allocator<std::string>>;
  expect_round_trip(svec{"x", "yy"});
  auto slots = round_trip(tandem::detail::chunk_vector<bool>{{true}, {false}, {true}});
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_TRUE(slots[0].value && !slots[1].value && slots[2].value);
  // A vector decodes as the same vector with another allocator (same wire format).
  auto b = encoded(v);
  decoder d(b.data(), b.size());
  EXPECT_EQ(tandem::decode<std::vector<int>>(d), (std::vector<int>{1, 2, 3, 4}));
}

TEST(Codec, MisalignedTrivialVectorStillDecodes) {
  auto b = encoded(std::vector<double>{1.5, 2.5, 3.5});
  std::vector<std::byte> shifted(b.size() + 1);
  std::memcpy(shifted.data() + 1, b.data(), b.size());  // items now at an odd address
  decoder d(shifted.data() + 1, b.size());
  EXPECT_EQ(tandem::decode<std::vector<double>>(d), (std::vector<double>{1.5, 2.5, 3.5}));
}

TEST(Codec, AMillionIntVectorIsOneBlock) {
  std::vector<int> v(1000000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i * 2654435761u);
  auto b = encoded(v);
  EXPECT_EQ(b.size(), 8u + v.size() * sizeof(int));
  EXPECT_EQ(std::memcmp(b.data() + 8, v.data(), v.size() * sizeof(int)), 0);
  EXPECT_EQ(round_trip(v), v);
}

TEST(Codec, OtherContainers) {
  expect_round_trip(std::array<int, 4>{1, 2, 3, 4});
  expect_round_trip(std::array<int, 0>{});
  expect_round_trip(std::array<std::string, 2>{"x", "y"});
  EXPECT_EQ(encoded(std::array<int, 4>{}).size(), 16u);
  expect_round_trip(std::deque<int>{});
  expect_round_trip(std::deque<std::string>{"a", "b"});
  expect_round_trip(std::list<double>{});
  expect_round_trip(std::list<double>{1, 2, 3});
  expect_round_trip(std::map<std::string, int>{});
  expect_round_trip(std::map<std::string, int>{{"one", 1}, {"two", 2}});
  expect_round_trip(std::multimap<int, std::string>{{1, "a"}, {1, "b"}, {0, "c"}});
  expect_round_trip(std::unordered_map<std::string, std::vector<int>>{{"k", {1, 2}}, {"e", {}}});
  expect_round_trip(std::unordered_multimap<int, int>{{1, 1}, {1, 2}});
  expect_round_trip(std::set<std::string>{"b", "a", "c"});
  expect_round_trip(std::multiset<int>{3, 3, 1});
  expect_round_trip(std::unordered_set<long>{5, 6, 7});
  expect_round_trip(std::unordered_multiset<int>{1, 1, 2});
  expect_round_trip(std::set<int, std::greater<>>{1, 2, 3});
}

TEST(Codec, PairsTuplesOptionalsVariants) {
  expect_round_trip(std::pair<int, std::string>{7, "seven"});
  expect_round_trip(std::tuple<>{});
  expect_round_trip(std::tuple<long, std::string, double>{1, "x", 2.5});
  expect_round_trip(std::tuple<std::tuple<int>, std::pair<char, bool>>{{1}, {'c', true}});
  expect_round_trip(std::optional<int>{});
  expect_round_trip(std::optional<int>{0});
  expect_round_trip(std::optional<std::string>{"set"});
  expect_round_trip(std::variant<int, std::string>{5});
  expect_round_trip(std::variant<int, std::string>{"five"});
  expect_round_trip(std::variant<std::monostate, double>{});
  expect_round_trip(std::variant<int, int>{std::in_place_index<1>, 3});  // index, not type
  auto v = round_trip(std::variant<int, int>{std::in_place_index<1>, 3});
  EXPECT_EQ(v.index(), 1u);
}

TEST(Codec, TupleOfReferencesEncodesLikeTheTupleOfValues) {
  int i = 4;
  std::string s = "four";
  std::vector<double> xs{4.0};
  byte_buffer b;
  encoder e(b);
  tandem::encode(e,
                 std::tuple<const int&, const std::string&, const std::vector<double>&>(i, s, xs));
  decoder d(b.data(), b.size());
  auto t = tandem::decode<std::tuple<int, std::string, std::vector<double>>>(d);
  EXPECT_EQ(t, std::make_tuple(i, s, xs));
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Codec, Nested) {
  using inner = std::variant<int, std::string>;
  using nested = std::map<std::string, std::vector<std::optional<inner>>>;
  nested n{{"empty", {}},
           {"mixed", {std::nullopt, inner{1}, inner{"two"}, std::nullopt, inner{-3}}},
           {"", {inner{std::string(40, 'x')}}}};
  expect_round_trip(n);
  expect_round_trip(nested{});
  expect_every_truncation_throws(n);
}

TEST(Codec, EncodeAllReadsBackInOrder) {
  byte_buffer b;
  encoder e(b);
  tandem::encode_all(e, 1, std::string("two"), 3.0, color::red);
  decoder d(b.data(), b.size());
  EXPECT_EQ(tandem::decode<int>(d), 1);
  EXPECT_EQ(tandem::decode<std::string>(d), "two");
  EXPECT_EQ(tandem::decode<double>(d), 3.0);
  EXPECT_EQ(tandem::decode<color>(d), color::red);
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(Codec, ValuelessVariantCannotBeEncoded) {
  // emplace destroys the old alternative, then the conversion throws: valueless. (point, not
  // std::string, because libstdc++ builds a std::string alternative aside first.)
  struct boom {
    operator point() const { throw 1; }  // NOLINT(google-explicit-constructor)
  };
  std::variant<int, point> w;
  try {
    w.emplace<point>(boom{});
  } catch (int) {
  }
  ASSERT_TRUE(w.valueless_by_exception());
  byte_buffer b;
  encoder e(b);
  EXPECT_THROW(tandem::encode(e, w), std::invalid_argument);
}

// ------------------------------------------------------------------------------ hostile input

TEST(Codec, TruncatedAtEveryByteThrowsDecodeError) {
  expect_every_truncation_throws(std::tuple<long, std::string>{7, "sixteen chars..."});
  expect_every_truncation_throws(std::vector<int>{1, 2, 3});
  expect_every_truncation_throws(
      std::vector<bool>{true, false, true, true, false, true, true, false, true});
  expect_every_truncation_throws(std::array<std::string, 2>{"ab", "cd"});
  expect_every_truncation_throws(std::deque<std::string>{"ab", ""});
  expect_every_truncation_throws(std::unordered_map<int, std::string>{{1, "x"}, {2, "y"}});
  expect_every_truncation_throws(std::set<std::string>{"p", "q"});
  expect_every_truncation_throws(std::optional<std::string>{"opt"});
  expect_every_truncation_throws(std::variant<int, std::string>{"var"});
  expect_every_truncation_throws(pod{1, 2, {}});
  expect_every_truncation_throws(std::chrono::milliseconds(5));
}

template <class T>
std::string decode_error_message(const byte_buffer& b, std::size_t len) {
  decoder d(b.data(), len);
  try {
    (void)tandem::decode<T>(d);
  } catch (const decode_error& err) {
    return err.what();
  }
  return "no decode_error";
}

TEST(Codec, DecodeErrorsSayWhatWasWrong) {
  auto i = encoded(std::int64_t{1});
  EXPECT_EQ(decode_error_message<std::int64_t>(i, 3),
            "tandem::decode: message truncated: needed 8 bytes, 3 left");
  auto s = encoded(std::string("abcdef"));
  EXPECT_EQ(decode_error_message<std::string>(s, s.size() - 2),
            "tandem::decode: container count 6 cannot fit in the 4 bytes left (at least 1 bytes "
            "per item): corrupt or truncated message");
}

// A count field followed by `tail` bytes.
byte_buffer with_count(std::uint64_t count, std::size_t tail = 0) {
  byte_buffer b;
  b.append(&count, sizeof count);
  std::memset(b.extend(tail), 0, tail);
  return b;
}

template <class T>
void expect_bogus_count_throws(std::uint64_t count, std::size_t tail = 0) {
  auto b = with_count(count, tail);
  decoder d(b.data(), b.size());
  EXPECT_THROW((void)tandem::decode<T>(d), decode_error) << "count " << count;
}

TEST(Codec, HugeBogusCountsThrowBeforeAllocating) {
  // Each would try to allocate far more than any machine has if the count were trusted; ASan
  // (allocator_may_return_null=0) would abort on such a request, so passing here under ASan also
  // shows nothing was attempted.
  // 2^62 and 2^61 + 1 are counts whose byte size (x 4, x 8) wraps around to 0 or 8: a decoder
  // that only checked n * sizeof(T) against the bytes left would accept them.
  for (std::uint64_t n :
       {std::uint64_t{1} << 60, ~std::uint64_t{0}, std::uint64_t{1} << 33, std::uint64_t{17},
        std::uint64_t{1} << 62, (std::uint64_t{1} << 61) + 1}) {
    expect_bogus_count_throws<std::vector<double>>(n, 16);
    expect_bogus_count_throws<std::string>(n, 16);
    expect_bogus_count_throws<std::vector<int>>(n, 16);
    expect_bogus_count_throws<std::vector<std::string>>(n, 16);
    expect_bogus_count_throws<std::vector<bool>>(n, 1);
    expect_bogus_count_throws<std::vector<point>>(n, 16);  // user codec: no minimum size known
    expect_bogus_count_throws<std::deque<int>>(n, 16);
    expect_bogus_count_throws<std::map<std::string, int>>(n, 16);
    expect_bogus_count_throws<std::unordered_map<int, int>>(n, 16);
    expect_bogus_count_throws<std::unordered_set<int>>(n, 16);
  }
}

TEST(Codec, VariantIndexOutOfRangeIsADecodeError) {
  std::uint32_t index = 2;
  byte_buffer b;
  b.append(&index, sizeof index);
  b.append("\0\0\0\0\0\0\0\0", 8);
  decoder d(b.data(), b.size());
  EXPECT_THROW((void)(tandem::decode<std::variant<int, std::string>>(d)), decode_error);
}

TEST(Codec, OptionalFlagOtherThanZeroOrOneIsADecodeError) {
  std::byte raw[5] = {std::byte{7}};
  decoder d(raw, sizeof raw);
  EXPECT_THROW((void)tandem::decode<std::optional<int>>(d), decode_error);
}

// ------------------------------------------------------------------------------ the concept

static_assert(tandem::encodable<int>);
static_assert(tandem::encodable<const int>);
static_assert(tandem::encodable<pod>);
static_assert(tandem::encodable<point>);
static_assert(tandem::encodable<std::map<std::string, std::vector<std::optional<point>>>>);
static_assert(tandem::encodable<std::tuple<const int&, const std::string&>>);
static_assert(!tandem::encodable<int*>);
static_assert(!tandem::encodable<const char*>);
static_assert(!tandem::encodable<int&>);
static_assert(!tandem::encodable<int pod::*>);
static_assert(!tandem::encodable<std::nullptr_t>);
static_assert(!tandem::encodable<int[3]>);
static_assert(!tandem::encodable<void>);
static_assert(!tandem::encodable<std::string_view>);
static_assert(!tandem::encodable<std::span<int>>);
static_assert(!tandem::encodable<std::reference_wrapper<int>>);
static_assert(!tandem::encodable<std::thread>);
static_assert(!tandem::encodable<std::mutex>);
static_assert(!tandem::encodable<std::atomic<int>>);
static_assert(!tandem::encodable<std::function<void()>>);
static_assert(!tandem::encodable<std::unique_ptr<int>>);
static_assert(!tandem::encodable<std::shared_ptr<int>>);
static_assert(!tandem::encodable<std::vector<int*>>);
static_assert(!tandem::encodable<std::map<std::string, std::unique_ptr<int>>>);
static_assert(!tandem::encodable<std::optional<std::string_view>>);
static_assert(!tandem::encodable<std::variant<int, std::function<int()>>>);
static_assert(!tandem::encodable<std::pair<int, int*>>);
static_assert(!tandem::encodable<std::array<int*, 2>>);
static_assert(std::is_same_v<tandem::detail::culprit_t<std::vector<std::optional<std::thread>>>,
                             std::thread>);
static_assert(std::is_same_v<tandem::detail::culprit_t<std::map<int, std::vector<int*>>>, int*>);

}  // namespace
