// Servers for the client tests that misbehave on purpose (silent, slow drip, endless body,
// redirect loops), on raw aio streams so that nothing in them can be polite by accident. Each
// runs on the test's own loop, on 127.0.0.1, port chosen by the kernel.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <future>
#include <string>
#include <thread>

#include "tandem/aio.hpp"

namespace http_test {

namespace aio = tandem::aio;

/// Reads one request head (up to the blank line) and, if it announces one, its body. Returns the
/// head, or "" at end of stream.
inline aio::task<std::string> read_request(aio::stream_reader r) {
  std::string head;
  try {
    head = co_await r.readuntil("\r\n\r\n");
  } catch (const aio::incomplete_read_error&) {
    co_return std::string();
  }
  static constexpr std::string_view key = "\r\ncontent-length:";
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto at = lower.find(key); at != std::string::npos) {
    std::size_t n = std::stoul(head.substr(at + key.size()));
    if (n > 0) (void)co_await r.readexactly(n);
  }
  co_return head;
}

/// The URL of `path` on the loopback server listening on `port`.
inline std::string url(std::uint16_t port, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

/// Requests and connections seen by the behaviours below that count them.
inline std::atomic<int> requests_seen{0};
inline std::atomic<int> connections_seen{0};

/// Answers every request with 200 and `size` bytes of 'x', keeping the connection alive.
inline aio::task<void> answer_ok(std::size_t size, aio::stream_reader r, aio::stream_writer w) {
  ++connections_seen;
  for (;;) {
    std::string head = co_await read_request(r);
    if (head.empty()) co_return;
    ++requests_seen;
    w.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n" +
            std::string(size, 'x'));
    co_await w.drain();
  }
}

/// Reads the request, then says nothing until the client goes away.
inline aio::task<void> silent(aio::stream_reader r, aio::stream_writer) {
  (void)co_await read_request(r);
  (void)co_await r.read();  // until the client closes
}

/// Sends the head and 5 body bytes of 100, one every 0.2 s, then stalls.
inline aio::task<void> slow_drip(aio::stream_reader r, aio::stream_writer w) {
  (void)co_await read_request(r);
  w.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  for (int i = 0; i < 5; ++i) {
    w.write("x");
    co_await aio::sleep(0.2);
  }
  (void)co_await r.read();
}

/// Sends a body without end (no Content-Length, closed-delimited), 64 KiB at a time.
inline aio::task<void> endless_body(aio::stream_reader r, aio::stream_writer w) {
  (void)co_await read_request(r);
  w.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  const std::string chunk(64 * 1024, 'z');
  try {
    for (;;) {
      w.write(chunk);
      co_await w.drain();
    }
  } catch (const std::exception&) {  // the client hung up (reset, or the stream closed): done
  }
}

/// Redirects every request to /again on the same server, forever; counts them.
inline aio::task<void> redirect_loop(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string head = co_await read_request(r);
    if (head.empty()) co_return;
    ++requests_seen;
    w.write("HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n");
    co_await w.drain();
  }
}

/// Redirects to a local file.
inline aio::task<void> redirect_to_file(aio::stream_reader r, aio::stream_writer w) {
  (void)co_await read_request(r);
  w.write("HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n");
  co_await w.drain();
  (void)co_await r.read();
}

/// Reads only the head, then closes without answering (or reading the body).
inline aio::task<void> hang_up(aio::stream_reader r, aio::stream_writer w) {
  (void)co_await r.readuntil("\r\n\r\n");
  w.abort();
}

/// Starts `handler` on 127.0.0.1, port 0, with a backlog for bursts of connections.
inline aio::task<aio::server> start(aio::client_handler handler) {
  co_return co_await aio::start_server(std::move(handler), "127.0.0.1", 0, {.backlog = 4096});
}

}  // namespace http_test

namespace http_test {

/// A loopback port nobody listens on (a server bound to it, learnt its number, closed), for
/// refused connections. Runs its own loop: call it outside one.
inline std::uint16_t closed_port() {
  return aio::run([]() -> aio::task<std::uint16_t> {
    aio::server srv = co_await start(silent);
    std::uint16_t p = srv.port();
    srv.close();
    co_await srv.wait_closed();
    co_return p;
  }());
}

/// A raw server on its own thread and loop, for clients that block (fetch()).
/// The destructor stops the server and joins the thread.
class server_thread {
 public:
  explicit server_thread(aio::client_handler handler) {
    std::future<std::uint16_t> port = ready_.get_future();
    thread_ = std::thread(
        [this, h = std::move(handler)]() mutable { aio::run(serve(std::move(h), this)); });
    port_ = port.get();
  }
  ~server_thread() {
    loop_->call_soon_threadsafe([ev = stop_] { ev->set(); });
    thread_.join();
  }
  server_thread(const server_thread&) = delete;
  server_thread& operator=(const server_thread&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  static aio::task<void> serve(aio::client_handler h, server_thread* self) {
    aio::server srv = co_await start(std::move(h));
    aio::event stop;
    self->loop_ = &aio::get_running_loop();
    self->stop_ = &stop;
    self->ready_.set_value(srv.port());  // publishes loop_ and stop_ to the constructor
    co_await stop.wait();
    srv.close();
    srv.abort_clients();
    co_await srv.wait_closed();
  }

  std::promise<std::uint16_t> ready_;
  aio::loop* loop_ = nullptr;
  aio::event* stop_ = nullptr;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace http_test
