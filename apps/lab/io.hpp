// The I/O-bound experiment: real HTTP requests. By default the lab starts its own http::server on
// loopback (its own loop and thread) whose handler answers each GET after a fixed latency with a
// 1 KiB body, then fetches N URLs from it sequentially and from thread_pool workers with the
// blocking client (http::get), and with one http::session on one aio loop. With --url-file it
// fetches the user's own URLs instead.
//
//   lab thread(s): http::get ----------+                            [server loop and thread]
//                                      +--GET /item/<k>--> 127.0.0.1:port --> aio::sleep(latency)
//   aio loop: http::session (limit c) -+<--200, 1,024 bytes: "<k + 1>\n..."---------+
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Options of `tandem-lab io`.
struct io_options {
  /// Requests to make (ignored with `url_file`: one request per listed URL).
  std::size_t requests = 2000;
  /// How long the server waits before answering each request, in milliseconds.
  std::uint32_t latency_ms = 20;
  /// Requests the sequential row makes (a sample; its times are scaled to `requests`); 0: all.
  std::size_t sample = 100;
  /// thread_pool widths; empty means 32, 128.
  std::vector<std::size_t> workers;
  /// http::session concurrencies (requests in flight on one loop); empty means 100, 1000.
  std::vector<std::size_t> concurrency;
  /// A file of URLs to fetch instead of starting the lab's server; empty: the lab's server.
  std::string url_file;
};

/// The default thread_pool widths: 32 (Python's ThreadPoolExecutor cap) and 128.
inline constexpr std::size_t io_default_workers[] = {32, 128};
/// The default http::session concurrencies: 100 (aiohttp's connection limit) and 1,000.
inline constexpr std::size_t io_default_concurrency[] = {100, 1000};
/// The size of every answer of the lab's server, in bytes (1 KiB).
inline constexpr std::size_t io_body_bytes = 1024;

/// An http::server on 127.0.0.1 (port chosen by the kernel), on its own thread and aio loop:
/// `GET /item/<k>` waits `latency_ms` milliseconds (aio::sleep) and answers 200 with a body of
/// io_body_bytes bytes that starts with the line "<k + 1>\n"; any number of requests at once.
///
/// Thread safety: port() and url() from any thread. The destructor shuts the server down
/// (closing every connection) and joins the thread.
/// Errors: the constructor rethrows what starting the server threw (std::system_error).
class latency_server {
 public:
  explicit latency_server(std::uint32_t latency_ms);
  ~latency_server();
  latency_server(const latency_server&) = delete;
  latency_server& operator=(const latency_server&) = delete;
  /// The TCP port on 127.0.0.1.
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// The URL of item `k`: "http://127.0.0.1:<port>/item/<k>".
  [[nodiscard]] std::string url(std::size_t k) const;

  struct control;  // shared with the server thread

 private:
  std::shared_ptr<control> c_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

/// A workload of `requests` GETs of `server`'s items (task i fetches item i, checks the answer
/// (200, io_body_bytes bytes) and returns value i + 1, bytes io_body_bytes); its check() wants
/// every request once (token sum n (n + 1) / 2). Runs on every method: blocking (run_task, with
/// http::get) and on an http::session (make_http_session). Shares `server`.
[[nodiscard]] std::unique_ptr<workload> make_io_workload(std::shared_ptr<latency_server> server,
                                                         std::size_t requests);

/// The URLs of the file at `path`, one a line; blank lines and lines starting with '#' are
/// skipped, and spaces, tabs and a CR around a line are ignored.
/// Errors (usage_error, before any request is made): the file cannot be read ("cannot read the
/// URL file F: <reason>"); a line is not an http(s) URL: its scheme is not http or https, no
/// host follows "://", or it has whitespace or control characters inside
/// (`F:3: not an http(s) URL: "ftp://x"`); no URL at all.
[[nodiscard]] std::vector<std::string> read_url_file(const std::string& path);

/// A workload of one GET per URL of `urls`, in order. Task i: value 1 if the answer is 2xx,
/// failures 1 if not (counted, not fatal), bytes the body's size. Transport errors (refused,
/// timeout...) fail the run, naming the URL.
[[nodiscard]] std::unique_ptr<workload> make_url_list_workload(std::vector<std::string> urls);

/// Runs an io workload (make_io_workload, make_url_list_workload) on one fresh aio loop with one
/// http::session whose connection limit is `concurrency`: `concurrency` coroutines take task
/// indices in order until none are left, so that many requests are in flight at once. The loop
/// and session are created and closed inside run(), so both are timed. name() is
/// "http::session", workers() is the concurrency.
/// Errors: std::invalid_argument if `concurrency` is 0; run() throws std::invalid_argument for
/// a workload that is not an io workload.
[[nodiscard]] std::unique_ptr<method> make_http_session(std::size_t concurrency);

/// The io experiment with `opts`; add_options() binds --requests, --latency-ms, --sample,
/// --workers, --concurrency and --url-file. The server starts in prepare() and stops with the
/// experiment. With a URL file, prepare() reads and checks it (usage_error) and the experiment
/// runs itself (experiment::run_itself): each row's answer is its own status counts, as a busy
/// server may answer one method's requests differently from another's.
[[nodiscard]] std::unique_ptr<experiment> make_io_experiment(io_options opts = {});

}  // namespace tandem::lab
