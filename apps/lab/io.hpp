// The I/O-bound experiment: real requests over loopback TCP to a server that answers each one
// after a fixed latency. The lab starts that server itself (aio::start_server on its own loop and
// thread), then makes the requests sequentially, from thread_pool workers on blocking sockets,
// and from coroutines on one aio loop.
//
//   lab thread(s) / aio loop --"i\n"--> 127.0.0.1:port --[server loop: sleep latency]--> "i+1\n"
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Options of `tandem-lab io`.
struct io_options {
  /// Requests to make.
  std::size_t requests = 2000;
  /// How long the server waits before answering each request, in milliseconds.
  std::uint32_t latency_ms = 20;
  /// Requests the sequential row makes (a sample; its times are scaled to `requests`); 0: all.
  std::size_t sample = 100;
  /// thread_pool widths; empty means 32, 128.
  std::vector<std::size_t> workers;
  /// aio concurrencies (requests in flight on one loop); empty means 100, 1000.
  std::vector<std::size_t> concurrency;
};

/// The default thread_pool widths: 32 (Python's ThreadPoolExecutor cap) and 128.
inline constexpr std::size_t io_default_workers[] = {32, 128};
/// The default aio concurrencies: 100 and 1,000 requests in flight.
inline constexpr std::size_t io_default_concurrency[] = {100, 1000};

/// A loopback TCP server on its own thread and aio loop, built on aio::start_server: it
/// answers each line "<i>\n" with "<i + 1>\n" after `latency_ms` milliseconds (aio::sleep), on
/// any number of connections at once. Listens on 127.0.0.1, port chosen by the kernel.
///
/// Thread safety: port() from any thread. The destructor stops the loop (closing every
/// connection) and joins the thread.
/// Errors: the constructor rethrows what starting the server threw (std::system_error).
class latency_server {
 public:
  explicit latency_server(std::uint32_t latency_ms);
  ~latency_server();
  latency_server(const latency_server&) = delete;
  latency_server& operator=(const latency_server&) = delete;
  /// The TCP port on 127.0.0.1.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  struct control;  // shared with the server thread

 private:
  std::shared_ptr<control> c_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

/// A workload of `requests` requests to `server` (task i sends "i\n" and returns value i + 1),
/// with both forms: blocking sockets (run_task, from a pool of connections it keeps) and
/// coroutines (lab/async_workload.hpp, one connection per aio worker). Shares `server`.
[[nodiscard]] std::unique_ptr<workload> make_io_workload(std::shared_ptr<latency_server> server,
                                                         std::size_t requests);

/// The io experiment with `opts`; add_options() binds --requests, --latency-ms, --sample,
/// --workers and --concurrency. The server starts in prepare() and stops with the experiment.
[[nodiscard]] std::unique_ptr<experiment> make_io_experiment(io_options opts = {});

}  // namespace tandem::lab
