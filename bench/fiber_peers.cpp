// W4 queue (shared/bench/WORKLOADS.md) on Boost.Fiber (Debian's libboost-fiber-dev, 1.74): the
// peer of tandem::aio::queue in bench/run.sh's table, and its target (W4 >= this).
//
//   tandem_fiber_peers w4
//
// Fibers on one thread (the main thread, Boost.Fiber's default round_robin scheduler): 4 producer
// fibers each push 250,000 ints into a buffered_channel of capacity 1024, 4 consumer fibers pop
// until they see the sentinel -1, one per consumer, pushed by the main fiber after joining every
// producer (as the Python peer puts one None per consumer). buffered_channel's capacity must be a
// power of two, and its ring keeps one slot free, so it holds at most 1023 items at once.
// Prints one JSON line (loop_peer.hpp) and checks the count and sum; a wrong answer exits non-zero.
#include <boost/fiber/buffered_channel.hpp>
#include <boost/fiber/channel_op_status.hpp>
#include <boost/fiber/fiber.hpp>
#include <boost/version.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "loop_peer.hpp"

namespace {

namespace tb = tandem_bench;
namespace fibers = boost::fibers;

struct w4_totals {
  long long sum = 0;
  long long count = 0;
};

int w4() {
  fibers::buffered_channel<int> ch(tb::w4_capacity);
  w4_totals totals;
  const tb::run_meter meter;
  std::vector<fibers::fiber> consumers;
  for (int c = 0; c < tb::w4_consumers; ++c) {
    consumers.emplace_back([&ch, &totals] {
      int v = 0;
      while (ch.pop(v) == fibers::channel_op_status::success && v >= 0) {
        totals.sum += v;
        ++totals.count;
      }
    });
  }
  std::vector<fibers::fiber> producers;
  for (int k = 0; k < tb::w4_producers; ++k) {
    producers.emplace_back([&ch, k] {
      const int first = k * tb::w4_per_producer;
      for (int i = first; i < first + tb::w4_per_producer; ++i) {
        if (ch.push(i) != fibers::channel_op_status::success) tb::fail("W4/fiber: push failed");
      }
    });
  }
  for (auto& p : producers) p.join();
  for (int c = 0; c < tb::w4_consumers; ++c) {
    if (ch.push(-1) != fibers::channel_op_status::success) tb::fail("W4/fiber: push failed");
  }
  for (auto& c : consumers) c.join();
  const double wall = meter.elapsed();
  if (totals.count != tb::w4_items || totals.sum != tb::w4_sum)
    tb::fail("W4/fiber: " + std::to_string(totals.count) + " items summing to " +
             std::to_string(totals.sum));
  tb::json_line out;
  out.add("workload", "W4")
      .add("method", "boost_fiber_buffered_channel")
      .add("boost_version", BOOST_VERSION)
      .add("n", tb::w4_items);
  meter.add_to(out, wall);
  out.add("capacity", tb::w4_capacity)
      .add("rate", static_cast<double>(tb::w4_items) / wall)
      .add("unit", "items/s")
      .add("check", totals.sum)
      .print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "w4") return w4();
  std::fprintf(stderr, "usage: %s w4   (shared/bench/WORKLOADS.md W4 on Boost.Fiber)\n", argv[0]);
  return 2;
}
