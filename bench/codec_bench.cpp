// The process codec beside cereal's binary archive and msgpack-cxx on the messages a process
// pool sends: one encode plus one decode per iteration, each into a fresh buffer the way a pool
// sends one message per task (tandem: byte_buffer; cereal: std::stringstream, as its docs use
// it; msgpack: sbuffer). docs/process.md quotes the results.
//
//   small_task   std::tuple<long, std::string>, 16-char string: a submit() with two arguments
//   ints_8k      std::vector<int> of 8,192 items: one map chunk of ints (auto_chunksize's cap)
//   strings_1k   std::vector<std::string> of 1,000 strings of 8 to 23 chars
//   map_100      std::map<std::string, int> of 100 entries
//
// Build: the CMake target tandem_codec_bench (needs libcereal-dev and libmsgpack-cxx-dev), or
//   g++ -std=c++20 -O2 -DNDEBUG -Iinclude bench/codec_bench.cpp src/process/codec.cpp
//       -lbenchmark -lpthread -o codec_bench
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tandem/process/codec.hpp"

// Third-party headers: their own warnings are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <cereal/archives/binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/vector.hpp>
#if __has_include(<msgpack.hpp>)
#define TANDEM_BENCH_MSGPACK 1
#define MSGPACK_NO_BOOST 1  // msgpack-cxx 4 otherwise needs Boost headers
#include <msgpack.hpp>
#endif
#pragma GCC diagnostic pop

namespace {

using small_task = std::tuple<long, std::string>;

small_task make_small() { return {42, std::string("0123456789abcdef")}; }

std::vector<int> make_ints() {
  std::vector<int> v(8192);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i * 7919u);
  return v;
}

std::vector<std::string> make_strings() {
  std::vector<std::string> v;
  for (int i = 0; i < 1000; ++i)
    v.push_back("item-" + std::to_string(i * 7919) + "-" +
                std::string(static_cast<std::size_t>(i % 10), 'x'));
  return v;
}

std::map<std::string, int> make_map() {
  std::map<std::string, int> m;
  for (int i = 0; i < 100; ++i) m.emplace("key-" + std::to_string(i * 31), i);
  return m;
}

// One encode + decode, each into a fresh buffer; returns the decoded value and the encoded size.
template <class T>
T tandem_once(const T& value, std::size_t& bytes) {
  tandem::byte_buffer buf;
  tandem::encoder e(buf);
  tandem::encode(e, value);
  tandem::decoder d(buf.data(), buf.size());
  bytes = buf.size();
  return tandem::decode<T>(d);
}

template <class T>
T cereal_once(const T& value, std::size_t& bytes) {
  std::stringstream ss;
  {
    cereal::BinaryOutputArchive ar(ss);
    ar(value);
  }
  bytes = static_cast<std::size_t>(ss.tellp());
  T out;
  {
    cereal::BinaryInputArchive ar(ss);
    ar(out);
  }
  return out;
}

#ifdef TANDEM_BENCH_MSGPACK
template <class T>
T msgpack_once(const T& value, std::size_t& bytes) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  bytes = buf.size();
  msgpack::object_handle oh = msgpack::unpack(buf.data(), buf.size());
  return oh.get().as<T>();
}
#endif

// Runs `once` in the timed loop after checking its round trip, so a fast wrong codec cannot win.
template <class T, class Once>
void run(benchmark::State& state, const T& value, Once once) {
  std::size_t bytes = 0;
  if (!(once(value, bytes) == value)) {
    state.SkipWithError("round trip changed the value");
    return;
  }
  for (auto _ : state) {
    T out = once(value, bytes);
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

#define TANDEM_CODEC_CASE(name, make)                                                             \
  void BM_##name##_tandem(benchmark::State& s) { run(s, make(), tandem_once<decltype(make())>); } \
  void BM_##name##_cereal(benchmark::State& s) { run(s, make(), cereal_once<decltype(make())>); } \
  BENCHMARK(BM_##name##_tandem);                                                                  \
  BENCHMARK(BM_##name##_cereal)

TANDEM_CODEC_CASE(small_task, make_small);
TANDEM_CODEC_CASE(ints_8k, make_ints);
TANDEM_CODEC_CASE(strings_1k, make_strings);
TANDEM_CODEC_CASE(map_100, make_map);

#ifdef TANDEM_BENCH_MSGPACK
void BM_small_task_msgpack(benchmark::State& s) { run(s, make_small(), msgpack_once<small_task>); }
void BM_ints_8k_msgpack(benchmark::State& s) {
  run(s, make_ints(), msgpack_once<std::vector<int>>);
}
void BM_strings_1k_msgpack(benchmark::State& s) {
  run(s, make_strings(), msgpack_once<std::vector<std::string>>);
}
void BM_map_100_msgpack(benchmark::State& s) {
  run(s, make_map(), msgpack_once<std::map<std::string, int>>);
}
BENCHMARK(BM_small_task_msgpack);
BENCHMARK(BM_ints_8k_msgpack);
BENCHMARK(BM_strings_1k_msgpack);
BENCHMARK(BM_map_100_msgpack);
#endif

}  // namespace

BENCHMARK_MAIN();
