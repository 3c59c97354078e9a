// The event-loop workloads on Asio's C++20 coroutines (Debian's libasio-dev, standalone Asio 1.22):
// W3 timers, W3b spawn, W4 queue (shared/bench/WORKLOADS.md) and the loopback echo; the peers of
// tandem::aio in bench/run.sh's table.
//
//   tandem_asio_peers w3 [n]                      n coroutines (default 100,000) sleep 1.0 s each
//   tandem_asio_peers w3b [ret|yield]             1,000,000 coroutines that return at once
//   tandem_asio_peers w4                          4 producers, 4 consumers, channel of 1024
//   tandem_asio_peers echo [conns] [msgs] [bytes] loopback echo, default 100 x 1,000 x 64 bytes
//
// Every workload runs on one io_context run by the main thread alone; the context is built with
// concurrency hint 1, Asio's documented way to say so (it lets the scheduler skip some
// locking). Each run prints one JSON line (loop_peer.hpp) and checks its answer; a wrong answer
// exits non-zero. Asio has no gather() over a vector: "gathered" is each coroutine's completion
// handler adding its result to a sum, and the run ends when io_context::run() returns, which is
// when the last coroutine finished (W4 waits on Asio's awaitable operator && instead).
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/version.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "loop_peer.hpp"

namespace {

namespace tb = tandem_bench;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

/// Completion handler of a co_spawn'ed coroutine without a result: rethrows its exception out of
/// io_context::run(), so a failure ends the program instead of vanishing (asio::detached would
/// swallow it).
void rethrow(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

/// Sums the int results of co_spawn'ed coroutines: Asio's stand-in for gather().
struct int_sum {
  long long sum = 0;
  long done = 0;
  void operator()(const std::exception_ptr& e, int v) {
    rethrow(e);
    sum += v;
    ++done;
  }
};

/// The start of every record.
tb::json_line record(const char* workload, const std::string& method) {
  tb::json_line out;
  out.add("workload", workload).add("method", method).add("asio_version", ASIO_VERSION);
  return out;
}

// ------------------------------------------------------------------------------------ W3 timers

/// W3's coroutine: a steady_timer of 1.0 s in its own frame, awaited once; returns 1.
awaitable<int> w3_sleeper() {
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::duration_cast<asio::steady_timer::duration>(
                               std::chrono::duration<double>(tb::w3_sleep_s)));
  co_await timer.async_wait(use_awaitable);
  co_return 1;
}

/// W3: spawn n sleepers, run until all finished. RSS per task = (VmHWM after - VmRSS before) / n,
/// VmRSS read after the io_context exists and before the first spawn (the Python peer reads it at
/// the same point: inside the running loop, before its first create_task).
int w3(long n) {
  asio::io_context ctx(1);
  const long base_kb = tb::proc_status_kb("VmRSS");
  const tb::run_meter meter;
  int_sum result;
  for (long i = 0; i < n; ++i) asio::co_spawn(ctx, w3_sleeper(), std::ref(result));
  const double spawn_s = meter.elapsed();
  ctx.run();
  const double wall = meter.elapsed();
  const long peak_kb = tb::proc_status_kb("VmHWM");
  if (result.sum != n || result.done != n)
    tb::fail("W3/asio: sum " + std::to_string(result.sum) + ", expected " + std::to_string(n));
  auto out = record("W3", "asio");
  out.add("n", n);
  meter.add_to(out, wall);
  out.add("spawn_s", spawn_s)
      .add("inproc_baseline_rss_kb", base_kb)
      .add("inproc_peak_rss_kb", peak_kb);
  if (n > 0)
    out.add("inproc_rss_per_task_bytes",
            static_cast<double>(peak_kb - base_kb) * 1024.0 / static_cast<double>(n));
  out.add("check", result.sum).print();
  return 0;
}

// ------------------------------------------------------------------------------------ W3b spawn

/// W3b's coroutine, variant "ret": returns at once.
awaitable<int> w3b_ret() { co_return 1; }

/// W3b's coroutine, variant "yield": goes back through the io_context's queue once (post), the
/// closest Asio has to asyncio.sleep(0), then returns.
awaitable<int> w3b_yield() {
  co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
  co_return 1;
}

/// W3b: co_spawn 1,000,000 coroutines, run until all finished; tasks/s over spawn + run.
int w3b(std::string_view variant) {
  if (variant != "ret" && variant != "yield") tb::fail("w3b: variant must be ret or yield");
  const bool yield = variant == "yield";
  asio::io_context ctx(1);
  const tb::run_meter meter;
  int_sum result;
  for (long i = 0; i < tb::w3b_tasks; ++i)
    asio::co_spawn(ctx, yield ? w3b_yield() : w3b_ret(), std::ref(result));
  const double spawn_s = meter.elapsed();
  ctx.run();
  const double wall = meter.elapsed();
  if (result.sum != tb::w3b_tasks)
    tb::fail("W3b/asio: sum " + std::to_string(result.sum) + ", expected 1000000");
  auto out = record("W3b", "asio/" + std::string(variant));
  out.add("n", tb::w3b_tasks);
  meter.add_to(out, wall);
  out.add("spawn_s", spawn_s)
      .add("rate", static_cast<double>(tb::w3b_tasks) / wall)
      .add("unit", "tasks/s")
      .add("check", result.sum)
      .print();
  return 0;
}

// ------------------------------------------------------------------------------------ W4 queue

/// Asio's single-threaded channel (not concurrent_channel: one thread needs no locking, the fair
/// peer of an event loop's queue) carrying ints, with room for w4_capacity of them.
using int_channel = asio::experimental::channel<void(asio::error_code, int)>;

struct w4_totals {
  long long sum = 0;
  long long count = 0;
};

/// Producer k puts k*250,000 .. (k+1)*250,000-1, waiting whenever the channel is full.
awaitable<void> w4_producer(int_channel& ch, int k) {
  const int first = k * tb::w4_per_producer;
  for (int i = first; i < first + tb::w4_per_producer; ++i)
    co_await ch.async_send(asio::error_code{}, i, use_awaitable);
}

/// Gets until it receives the sentinel -1, as the Python peer's consumers stop at None.
awaitable<void> w4_consumer(int_channel& ch, w4_totals& totals) {
  for (;;) {
    const int v = co_await ch.async_receive(use_awaitable);
    if (v < 0) co_return;
    totals.sum += v;
    ++totals.count;
  }
}

/// The 4 producers together; when all are done, one sentinel per consumer.
awaitable<void> w4_producers_then_sentinels(int_channel& ch) {
  using namespace asio::experimental::awaitable_operators;
  static_assert(tb::w4_producers == 4, "the && below names four producers");
  co_await (w4_producer(ch, 0) && w4_producer(ch, 1) && w4_producer(ch, 2) && w4_producer(ch, 3));
  for (int c = 0; c < tb::w4_consumers; ++c)
    co_await ch.async_send(asio::error_code{}, -1, use_awaitable);
}

awaitable<void> w4_main(int_channel& ch, w4_totals& totals) {
  using namespace asio::experimental::awaitable_operators;
  static_assert(tb::w4_consumers == 4, "the && below names four consumers");
  co_await (w4_producers_then_sentinels(ch) && w4_consumer(ch, totals) && w4_consumer(ch, totals) &&
            w4_consumer(ch, totals) && w4_consumer(ch, totals));
}

int w4() {
  asio::io_context ctx(1);
  int_channel ch(ctx, tb::w4_capacity);
  w4_totals totals;
  const tb::run_meter meter;
  asio::co_spawn(ctx, w4_main(ch, totals), rethrow);
  ctx.run();
  const double wall = meter.elapsed();
  if (totals.count != tb::w4_items || totals.sum != tb::w4_sum)
    tb::fail("W4/asio: " + std::to_string(totals.count) + " items summing to " +
             std::to_string(totals.sum));
  auto out = record("W4", "asio_channel");
  out.add("n", tb::w4_items);
  meter.add_to(out, wall);
  out.add("capacity", tb::w4_capacity)
      .add("rate", static_cast<double>(tb::w4_items) / wall)
      .add("unit", "items/s")
      .add("check", totals.sum)
      .print();
  return 0;
}

// ------------------------------------------------------------------------------------ echo

struct echo_stats {
  long long messages = 0;  // round trips whose echo matched
};

/// The server's side of one connection: echoes whatever arrives until the client closes.
awaitable<void> echo_session(tcp::socket s) {
  std::array<char, 4096> buf;  // 4 KiB: the messages are 64 bytes; one read takes what is there
  for (;;) {
    auto [ec, n] =
        co_await s.async_read_some(asio::buffer(buf), asio::experimental::as_tuple(use_awaitable));
    if (ec == asio::error::eof) co_return;
    if (ec) throw asio::system_error(ec);
    co_await asio::async_write(s, asio::buffer(buf.data(), n), use_awaitable);
  }
}

/// Accepts exactly `conns` connections (the run is bounded), one session each, then closes.
awaitable<void> echo_server(tcp::acceptor& acceptor, long conns) {
  const auto ex = co_await asio::this_coro::executor;
  for (long i = 0; i < conns; ++i) {
    tcp::socket s = co_await acceptor.async_accept(use_awaitable);
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(ex, echo_session(std::move(s)), rethrow);
  }
  acceptor.close();
}

/// Client `c`: connects, then `msgs` times writes one message and reads its echo back whole,
/// checking every byte; then shuts its side down, which ends the server's session.
awaitable<void> echo_client(tcp::endpoint server, long c, long msgs, long bytes,
                            echo_stats& stats) {
  tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(server, use_awaitable);
  s.set_option(tcp::no_delay(true));  // as asyncio does for TCP (and the server above)
  const auto size = static_cast<std::size_t>(bytes);
  std::vector<char> out(size), in(size);
  for (long i = 0; i < msgs; ++i) {
    for (std::size_t j = 0; j < size; ++j) out[j] = tb::echo_byte(c, i, static_cast<long>(j));
    co_await asio::async_write(s, asio::buffer(out), use_awaitable);
    co_await asio::async_read(s, asio::buffer(in), use_awaitable);
    if (in != out) tb::fail("echo/asio: connection " + std::to_string(c) + " got a wrong echo");
    ++stats.messages;
  }
  s.shutdown(tcp::socket::shutdown_send);
  s.close();
}

/// Server and clients in this one process, on the one io_context and thread: the loop pays for
/// both ends of every message, as in the asyncio and tandem echo pairs.
int echo(long conns, long msgs, long bytes) {
  if (conns < 1 || msgs < 1 || bytes < 1) tb::fail("echo: conns, msgs and bytes must be >= 1");
  asio::io_context ctx(1);
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // free port
  const tcp::endpoint server = acceptor.local_endpoint();
  echo_stats stats;
  const tb::run_meter meter;
  asio::co_spawn(ctx, echo_server(acceptor, conns), rethrow);
  for (long c = 0; c < conns; ++c)
    asio::co_spawn(ctx, echo_client(server, c, msgs, bytes, stats), rethrow);
  ctx.run();
  const double wall = meter.elapsed();
  if (stats.messages != conns * msgs)
    tb::fail("echo/asio: " + std::to_string(stats.messages) + " round trips");
  auto out = record("echo", "asio");
  out.add("n", stats.messages).add("connections", conns).add("messages", msgs).add("bytes", bytes);
  meter.add_to(out, wall);
  out.add("rate", static_cast<double>(stats.messages) / wall)
      .add("unit", "messages/s")
      .add("check", stats.messages)
      .print();
  return 0;
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s w3 [n] | w3b [ret|yield] | w4 | echo [conns] [msgs] [bytes]\n"
               "  (shared/bench/WORKLOADS.md W3, W3b, W4 and the loopback echo on Asio)\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(argv[0]);
  const std::string_view what = argv[1];
  if (what == "w3") return w3(tb::arg_long(argc, argv, 2, tb::w3_tasks));
  if (what == "w3b") return w3b(argc > 2 ? argv[2] : "ret");
  if (what == "w4") return w4();
  if (what == "echo")
    return echo(tb::arg_long(argc, argv, 2, tb::echo_connections),
                tb::arg_long(argc, argv, 3, tb::echo_messages),
                tb::arg_long(argc, argv, 4, tb::echo_message_bytes));
  return usage(argv[0]);
}
