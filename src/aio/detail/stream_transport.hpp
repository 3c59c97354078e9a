// The fd behind a stream_reader/stream_writer pair: readiness cache, read buffer, write buffer,
// waiters. Private to src/aio/streams*.cpp.
//
// Invariants (loop thread only):
// - the fd is registered with the loop from construction until close_now(), edge-triggered for
//   EPOLLIN|EPOLLOUT|EPOLLRDHUP, reporting to this object;
// - readable_/writable_ are true unless the last syscall in that direction said EAGAIN or
//   took less than offered; the next edge sets them again;
// - in_ never holds more than max(limit, what a pending read needs) bytes;
// - self_ is set only while close() waits for out_ to be flushed.
#pragma once

#include <sys/socket.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "tandem/aio/loop.hpp"
#include "tandem/aio/streams.hpp"

namespace tandem::aio::detail {

// A contiguous byte buffer with a consumed prefix: [begin, end) holds the data.
class byte_buffer {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return end_ - begin_; }
  [[nodiscard]] bool empty() const noexcept { return end_ == begin_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return cap_; }
  [[nodiscard]] const char* data() const noexcept { return buf_.get() + begin_; }
  [[nodiscard]] std::string_view view() const noexcept { return {data(), size()}; }
  // Free space after the data, making room for at least `want` bytes (moving the data to the
  // front or growing). Returns the writable tail.
  char* prepare(std::size_t want, std::size_t& room);
  void commit(std::size_t n) noexcept { end_ += n; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;  // empty: reuse from the start (the hot pages)
  }
  void append(std::string_view s);
  std::string take(std::size_t n) {
    std::string out(data(), n);
    consume(n);
    return out;
  }
  void clear() noexcept { begin_ = end_ = 0; }
  void release() noexcept {
    buf_.reset();
    cap_ = begin_ = end_ = 0;
  }

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

class stream_transport final : public io_source,
                               public std::enable_shared_from_this<stream_transport> {
 public:
  // Takes ownership of `fd` (made non-blocking and close-on-exec here) and registers it with
  // `l`. On failure closes the fd and throws std::system_error.
  // `nonblocking_socket`: the fd is known to be a socket made with SOCK_NONBLOCK|SOCK_CLOEXEC
  // (accept4, socket), which saves three syscalls per connection.
  stream_transport(loop& l, int fd, std::size_t limit, bool nonblocking_socket);
  ~stream_transport();
  stream_transport(const stream_transport&) = delete;
  stream_transport& operator=(const stream_transport&) = delete;

  void on_events(std::uint32_t events) noexcept override;

  // ---- reading ----
  enum class fill_status : std::uint8_t { progress, would_block, eof, failed };
  // One read() into in_, up to `cap` bytes buffered in total. Updates readable_/eof_/error_.
  fill_status fill(std::size_t cap) noexcept;
  // The awaitable of "more bytes, up to cap buffered": ready at once if a read made progress
  // (or hit EOF or an error); otherwise waits for the next readable edge.
  class more_awaiter {
   public:
    more_awaiter(stream_transport& t, std::size_t cap) noexcept : t_(t), cap_(cap) {}
    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return waiter_.suspend_on(t_.read_waiters_, h);
    }
    void await_resume() const { waiter_.resume(); }

   private:
    stream_transport& t_;
    std::size_t cap_;
    stream_waiter waiter_;
  };
  more_awaiter more(std::size_t cap) noexcept { return {*this, cap}; }
  // A task is waiting for data (asyncio allows one reader at a time).
  [[nodiscard]] bool reading() const noexcept { return !read_waiters_.empty(); }
  // Listening sockets: waits for the next readable edge unless readable_ is set; accept()
  // clears it with not_readable() on EAGAIN.
  class readable_awaiter {
   public:
    explicit readable_awaiter(stream_transport& t) noexcept : t_(t) {}
    bool await_ready() const noexcept { return t_.readable_ || t_.fd_ < 0; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return waiter_.suspend_on(t_.read_waiters_, h);
    }
    void await_resume() const { waiter_.resume(); }

   private:
    stream_transport& t_;
    stream_waiter waiter_;
  };
  readable_awaiter readable() noexcept { return readable_awaiter(*this); }
  void not_readable() noexcept { readable_ = false; }
  // Throws the stored connection error, if any.
  void throw_if_failed() const;
  [[nodiscard]] bool read_eof() const noexcept { return eof_; }
  byte_buffer& in() noexcept { return in_; }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

  // ---- writing ----
  void write(std::string_view data);
  void write_eof();
  [[nodiscard]] bool is_socket() const noexcept { return socket_; }
  [[nodiscard]] std::size_t out_size() const noexcept { return out_.size(); }
  // drain() need not wait: buffer at or below high-water, or the stream is failed/closed.
  [[nodiscard]] bool drained_enough() const noexcept {
    return out_.size() <= high_ || fd_ < 0 || error_ != 0;
  }
  void set_limits(std::size_t high, std::size_t low) noexcept {
    high_ = high;
    low_ = low;
  }
  waiter_list& drain_waiters() noexcept { return drain_waiters_; }

  // ---- connecting (open_connection) ----
  // Waits for the next writable edge (a non-blocking connect finishing).
  class writable_awaiter {
   public:
    explicit writable_awaiter(stream_transport& t) noexcept : t_(t) {}
    bool await_ready() const noexcept { return t_.writable_; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return waiter_.suspend_on(t_.connect_waiters_, h);
    }
    void await_resume() const { waiter_.resume(); }

   private:
    stream_transport& t_;
    stream_waiter waiter_;
  };
  void expect_connect() noexcept { writable_ = false; }
  writable_awaiter writable() noexcept { return writable_awaiter(*this); }

  // ---- closing ----
  // Flushes, then closes. Idempotent.
  void close();
  // Closes now, dropping unsent output.
  void abort() noexcept;
  [[nodiscard]] bool closing() const noexcept { return closing_ || fd_ < 0; }
  [[nodiscard]] bool closed() const noexcept { return fd_ < 0; }
  waiter_list& closed_waiters() noexcept { return closed_waiters_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] loop& owner() const noexcept { return *loop_; }

 private:
  // Sends from out_ until it is empty or the kernel refuses; on a fatal error fails the stream.
  void flush() noexcept;
  // Writes what the kernel takes of `data` now; returns the bytes written. Clears writable_ when
  // the kernel refuses more; on an error, fail()s the transport.
  std::size_t send_some(std::string_view data) noexcept;
  // Records `err` (errno) as the stream's failure and closes the fd.
  void fail(int err) noexcept;
  // Deregisters and closes the fd, wakes everyone. May drop self_, so the caller must not touch
  // members afterwards unless it holds a reference.
  void close_now() noexcept;
  void wake_writers() noexcept;

  loop* loop_;
  int fd_;
  std::size_t limit_;
  std::size_t high_ = 64 * 1024;  // asyncio's default high-water mark
  std::size_t low_ = 16 * 1024;   // asyncio's default: high / 4
  int error_ = 0;                 // errno of the failure that closed the stream
  bool socket_ = false;
  bool readable_ = true;  // optimistic: the first read tells
  bool writable_ = true;
  bool hup_ = false;          // epoll reported RDHUP/HUP/ERR: reads end without another edge
  bool eof_ = false;          // the peer closed its sending side (read returned 0)
  bool closing_ = false;      // close() called: flush, then close
  bool eof_pending_ = false;  // write_eof() called: shut down once flushed
  bool eof_sent_ = false;
  byte_buffer in_;
  byte_buffer out_;
  waiter_list read_waiters_;  // at most one
  waiter_list drain_waiters_;
  waiter_list connect_waiters_;
  waiter_list closed_waiters_;
  std::shared_ptr<stream_transport> self_;  // set while closing with output left to flush
};

// Waits until `list` is woken; the caller re-checks its condition.
class wait_on {
 public:
  explicit wait_on(waiter_list& list) noexcept : list_(list) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept { return waiter_.suspend_on(list_, h); }
  void await_resume() const { waiter_.resume(); }

 private:
  waiter_list& list_;
  stream_waiter waiter_;
};

// A sockaddr of any family we use.
struct address_storage {
  sockaddr_storage storage{};
  socklen_t len = 0;
  [[nodiscard]] const sockaddr* get() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
};

// Converts a sockaddr to the public form.
socket_address to_socket_address(const address_storage& a);
// Resolves host:port for SOCK_STREAM: numeric addresses at once, names with getaddrinfo on the
// default executor. `passive`: for bind (host "" = every interface).
task<std::vector<address_storage>> resolve(std::string host, std::uint16_t port, bool passive);
// Makes `fd` a TCP_NODELAY socket if it is a TCP socket (no-op otherwise).
void set_nodelay(int fd) noexcept;
[[noreturn]] void throw_errno(int err, const std::string& what);

}  // namespace tandem::aio::detail
