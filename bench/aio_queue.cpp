// W4 queue (shared/bench/WORKLOADS.md) on tandem::aio::queue: tandem's side of the row whose peers
// are Asio's channel (bench/asio_peers.cpp), Boost.Fiber's buffered_channel
// (bench/fiber_peers.cpp; the target: W4 >= it) and the Python asyncio/uvloop peers.
//
//   tandem_aio_queue w4
//
// Inside aio::run on the main thread: an aio::queue<int> of capacity 1024; 4 consumer tasks
// (create_task) get until they see the sentinel -1; 4 producer tasks (create_task) each put
// 250,000 ints; the main task awaits every producer, then puts one sentinel per consumer (as the
// Python peer puts one None per consumer after gathering its producers) and awaits the consumers.
// The clock runs from before the first create_task until the last consumer is done. Prints one
// JSON line (loop_peer.hpp); a wrong count or sum exits non-zero.
//
// Built outside the default build (EXCLUDE_FROM_ALL in bench/CMakeLists.txt, and only once
// include/tandem/aio/queue.hpp exists) while aio's API is moving; bench/run.sh builds it and
// leaves the tandem cell empty if it does not build.
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loop_peer.hpp"
#include "tandem/aio.hpp"
#include "tandem/aio/queue.hpp"

namespace {

namespace tb = tandem_bench;
namespace aio = tandem::aio;

struct w4_totals {
  long long sum = 0;
  long long count = 0;
  double wall_s = 0;
};

// The queue and the totals live in w4_main's frame, which outlives every task below (it awaits
// them all), so the tasks take them by pointer.

/// Producer k puts k*250,000 .. (k+1)*250,000-1, waiting whenever the queue is full.
aio::task<int> producer(aio::queue<int>* q, int k) {
  const int first = k * tb::w4_per_producer;
  for (int i = first; i < first + tb::w4_per_producer; ++i) co_await q->put(i);
  co_return 0;
}

/// Gets until the sentinel -1.
aio::task<int> consumer(aio::queue<int>* q, w4_totals* totals) {
  for (;;) {
    const int v = co_await q->get();
    if (v < 0) co_return 0;
    totals->sum += v;
    ++totals->count;
  }
}

aio::task<int> w4_main(w4_totals* totals) {
  aio::queue<int> q(tb::w4_capacity);
  const tb::run_meter meter;
  std::vector<aio::task_handle<int>> consumers;
  for (int c = 0; c < tb::w4_consumers; ++c)
    consumers.push_back(aio::create_task(consumer(&q, totals)));
  std::vector<aio::task_handle<int>> producers;
  for (int k = 0; k < tb::w4_producers; ++k) producers.push_back(aio::create_task(producer(&q, k)));
  for (auto& p : producers) co_await std::move(p);
  for (int c = 0; c < tb::w4_consumers; ++c) co_await q.put(-1);
  for (auto& c : consumers) co_await std::move(c);
  totals->wall_s = meter.elapsed();
  co_return 0;
}

int w4() {
  w4_totals totals;
  const tb::run_meter meter;
  aio::run(w4_main(&totals));
  if (totals.count != tb::w4_items || totals.sum != tb::w4_sum)
    tb::fail("W4/aio: " + std::to_string(totals.count) + " items summing to " +
             std::to_string(totals.sum));
  tb::json_line out;
  out.add("workload", "W4").add("method", "aio_queue").add("n", tb::w4_items);
  meter.add_to(out, totals.wall_s);
  out.add("capacity", tb::w4_capacity)
      .add("rate", static_cast<double>(tb::w4_items) / totals.wall_s)
      .add("unit", "items/s")
      .add("check", totals.sum)
      .print();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "w4") return w4();
  std::fprintf(stderr, "usage: %s w4   (shared/bench/WORKLOADS.md W4 on tandem::aio::queue)\n",
               argv[0]);
  return 2;
}
