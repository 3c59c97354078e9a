// Streams: buffered byte streams over non-blocking fds (TCP, Unix sockets, pipes), and servers.
// Follows asyncio's streams (3.12/3.13): open_connection, start_server, StreamReader, StreamWriter.
//
//   peer --> kernel socket buffer --read() on demand--> stream_reader buffer (<= limit) --> task
//   task --write()--> send() at once --rest--> stream_writer buffer --EPOLLOUT--> send() --> peer
//                                                  drain() waits while it holds > high-water
//
// Each fd is registered once with the loop, edge-triggered for EPOLLIN|EPOLLOUT|EPOLLRDHUP; the
// stream caches "readable"/"writable" and clears a flag when a syscall reports EAGAIN (or a short
// read/write), then waits for the next edge. The reader reads from the fd only when a read needs
// more bytes, and never more than its limit: an unread stream leaves data in the kernel, whose
// window pushes back on the peer (asyncio's pause_reading, without the extra copy).
#pragma once

#include <sys/types.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/aio/detail/task_base.hpp"
#include "tandem/aio/detail/waiter_list.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/error.hpp"

namespace tandem::aio {

namespace detail {
class stream_transport;
struct server_state;

// A task waiting for a stream condition (data, room to write, closed): a sync_waiter (the
// parking lot of aio's primitives) that unlinks itself if its frame is destroyed while linked.
class stream_waiter final : public sync_waiter {
 public:
  stream_waiter() noexcept = default;
  stream_waiter(const stream_waiter&) = delete;
  stream_waiter& operator=(const stream_waiter&) = delete;
  ~stream_waiter() { leave(); }
  // await_suspend's body: joins `list` and suspends, or false if a cancel is pending.
  bool suspend_on(waiter_list& list, std::coroutine_handle<> h) noexcept { return park(h, list); }
  // await_resume's body: throws cancelled_error if the wait was cancelled (or a cancel came).
  void resume() const {
    if (parked() && cancelling()) throw_cancelled();
  }
};

// Wakes every waiter of `list` (each resumes on a later iteration and re-checks its condition).
inline void wake_all(waiter_list& list) noexcept {
  while (!list.empty()) as_waiter(list.pop_front()).wake_up();
}
}  // namespace detail

/// The bytes read before the stream ended, when more were required.
/// Follows asyncio.IncompleteReadError.
class incomplete_read_error : public error {
 public:
  /// `expected` is nullopt when the read waited for a separator rather than a count.
  incomplete_read_error(std::string partial, std::optional<std::size_t> expected);
  /// The bytes read before end of stream (consumed from the reader).
  [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
  /// The byte count the read needed, or nullopt (readuntil).
  [[nodiscard]] std::optional<std::size_t> expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::optional<std::size_t> expected_;
};

/// readuntil()/readline() found no separator within the reader's limit.
/// Follows asyncio.LimitOverrunError.
class limit_overrun_error : public error {
 public:
  limit_overrun_error(const std::string& message, std::size_t consumed);
  /// Bytes to consume to get past the data examined (asyncio's `consumed`).
  [[nodiscard]] std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// getaddrinfo() could not resolve a host. Follows socket.gaierror.
class name_resolution_error : public error {
 public:
  name_resolution_error(const std::string& message, int gai_code);
  /// The EAI_* code getaddrinfo returned.
  [[nodiscard]] int gai_code() const noexcept { return code_; }

 private:
  int code_;
};

/// A socket's address: an IP address and a port, or a Unix socket path (`path`, with `host`
/// empty and port 0; an abstract socket's path starts with '\0').
struct socket_address {
  std::string host;        ///< numeric IPv4 or IPv6 address ("127.0.0.1", "::1"); empty: Unix
  std::uint16_t port = 0;  ///< TCP port
  std::string path;        ///< Unix socket path
  int family = 0;          ///< AF_INET, AF_INET6, AF_UNIX
  friend bool operator==(const socket_address&, const socket_address&) = default;
};

/// Options of a stream.
struct stream_options {
  /// Buffer limit of the reader, in bytes: the most it reads ahead of the consumer, and the
  /// longest line readline()/readuntil() accept. Follows asyncio's `limit` (64 KiB).
  std::size_t limit = 64 * 1024;
};

/// The read half of a stream. Follows asyncio.StreamReader.
///
/// A handle: copies refer to the same stream. The stream (its fd and buffers) lives while any
/// reader or writer of it does; dropping the last handle of a stream that was not closed closes
/// the fd at once (unsent output is discarded, as an abort).
///
/// Thread safety: the loop thread that created the stream only.
/// Cancellation: every read is a cancellation point while it waits; a cancelled read consumes
/// nothing (bytes it had buffered stay for the next read).
/// Errors: reads throw std::system_error (std::system_category(), errno) when the connection
/// fails (ECONNRESET: `e.code() == std::errc::connection_reset`); once failed, every read throws
/// the same error. invalid_state_error if two tasks wait for data at once (asyncio's
/// RuntimeError).
class stream_reader {
 public:
  stream_reader() = default;

  /// A reader over a pipe or socket fd. Takes ownership of `fd`: sets O_NONBLOCK and FD_CLOEXEC,
  /// registers it with the running loop, and closes it when the stream closes.
  /// Errors: std::system_error (epoll refuses the fd: a regular file); invalid_state_error if no
  /// loop runs on this thread.
  static stream_reader from_fd(int fd, stream_options options = {});

  /// Reads up to `n` bytes (at least 1, unless at end of stream, then ""); n < 0 reads until end
  /// of stream (whatever the limit). Follows asyncio.StreamReader.read.
  /// Suspends: only if no bytes are buffered or readable.
  [[nodiscard]] task<std::string> read(std::ptrdiff_t n = -1) const;
  /// Reads one line, ending in '\n' (included); at end of stream the partial line, or "".
  /// Follows asyncio.StreamReader.readline.
  /// Errors: limit_overrun_error when no '\n' comes within the limit; the buffer is then discarded
  /// up to and including the next '\n', or entirely if there is none (asyncio raises ValueError).
  [[nodiscard]] task<std::string> readline() const;
  /// Reads exactly `n` bytes. Follows asyncio.StreamReader.readexactly.
  /// Errors: incomplete_read_error holding the bytes read if the stream ends first.
  [[nodiscard]] task<std::string> readexactly(std::size_t n) const;
  /// Reads up to and including `separator`. Follows asyncio.StreamReader.readuntil.
  /// Errors: limit_overrun_error when the data before the separator (or, not found, the bytes
  /// buffered) exceed the limit; the bytes stay in the buffer. incomplete_read_error (with every
  /// byte read, now consumed) at end of stream. std::invalid_argument if `separator` is empty.
  [[nodiscard]] task<std::string> readuntil(std::string separator = "\n") const;
  /// True when the peer closed its end and the buffer is empty. Follows StreamReader.at_eof.
  [[nodiscard]] bool at_eof() const noexcept;
  /// Bytes buffered and not yet read.
  [[nodiscard]] std::size_t buffered() const noexcept;
  /// The reader's buffer limit (bytes).
  [[nodiscard]] std::size_t limit() const noexcept;
  /// True if this handle refers to a stream.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(t_); }

  /// Wraps a transport (the layer's own factories use this).
  explicit stream_reader(std::shared_ptr<detail::stream_transport> t) noexcept;

 private:
  std::shared_ptr<detail::stream_transport> t_;
};

/// The write half of a stream. Follows asyncio.StreamWriter.
///
/// write() sends at once what the kernel accepts and keeps the rest; drain() is the
/// back-pressure: it suspends while more than the high-water mark (64 KiB by default, asyncio's)
/// is buffered and resumes when the buffer is down to the low-water mark (a quarter of high).
///
/// A handle, as stream_reader. Lifetime: close() flushes what is buffered, then closes the fd,
/// even if every handle is dropped meanwhile (the stream keeps itself alive until then, as
/// asyncio's loop keeps a closing transport); wait_closed() waits for that.
///
/// Thread safety: the loop thread that created the stream only.
/// Errors: a failed send (the peer reset: ECONNRESET or EPIPE) closes the stream; write() after
/// that is ignored and drain() throws the std::system_error (asyncio's ConnectionResetError).
/// SIGPIPE never fires for sockets (MSG_NOSIGNAL); a pipe writer sets SIGPIPE to SIG_IGN if it
/// is at its default, as the Python interpreter does at start-up.
class stream_writer {
 public:
  stream_writer() = default;

  /// A writer over a pipe or socket fd; takes ownership as stream_reader::from_fd does.
  static stream_writer from_fd(int fd);

  /// Sends `data`, buffering what the kernel does not take now. Never suspends.
  /// Errors: invalid_state_error after close() or write_eof().
  void write(std::string_view data) const;
  /// write() of each piece in turn. Follows StreamWriter.writelines.
  void writelines(const std::vector<std::string_view>& pieces) const;
  /// Shuts down the sending direction (shutdown(SHUT_WR)) once the buffer is flushed; the reader
  /// keeps working. Follows StreamWriter.write_eof. Sockets only (can_write_eof()).
  void write_eof() const;
  /// True for sockets.
  [[nodiscard]] bool can_write_eof() const noexcept;

  /// Awaitable returned by drain().
  class drain_awaiter {
   public:
    explicit drain_awaiter(std::shared_ptr<detail::stream_transport> t) noexcept
        : t_(std::move(t)) {}
    bool await_ready() const;
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      return waiter_.suspend_on(wait_list(), h);
    }
    void await_resume() const;

   private:
    detail::waiter_list& wait_list() const noexcept;
    std::shared_ptr<detail::stream_transport> t_;
    detail::stream_waiter waiter_;
  };
  /// Waits until the write buffer is at or below the low-water mark, if it is above the
  /// high-water mark; otherwise returns at once. Follows StreamWriter.drain.
  /// Suspends: only above the high-water mark; then a cancellation point.
  /// Errors: the connection's std::system_error if it failed (ECONNRESET, EPIPE).
  [[nodiscard]] drain_awaiter drain() const;

  /// Flushes the buffer, then closes the fd (in the background; see wait_closed). Idempotent.
  /// Follows StreamWriter.close. Reads on the same stream then see end of stream.
  void close() const;
  /// Closes the fd now, discarding unsent output. Follows transport.abort.
  void abort() const;
  /// True once close() or abort() was called or the connection failed.
  [[nodiscard]] bool is_closing() const noexcept;
  /// Waits until the fd is closed (close() finished flushing, or the connection failed).
  /// Follows StreamWriter.wait_closed. Suspends: a cancellation point.
  /// Errors: none for a failed connection (drain reports that), as asyncio 3.12.
  [[nodiscard]] task<void> wait_closed() const;

  /// Bytes buffered, not yet accepted by the kernel (transport.get_write_buffer_size).
  [[nodiscard]] std::size_t buffer_size() const noexcept;
  /// Sets the high-water mark (bytes) and the low-water mark (default high / 4).
  /// Follows transport.set_write_buffer_limits. Precondition: low <= high.
  void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {}) const;

  /// The peer's address (get_extra_info("peername")); nullopt for pipes or once closed.
  [[nodiscard]] std::optional<socket_address> peername() const;
  /// The local address (get_extra_info("sockname")); nullopt for pipes or once closed.
  [[nodiscard]] std::optional<socket_address> sockname() const;
  /// get_extra_info for "peername" and "sockname"; nullopt for other keys.
  [[nodiscard]] std::optional<socket_address> get_extra_info(std::string_view key) const;
  /// The fd (get_extra_info("socket").fileno()), or -1 once closed. Owned by the stream.
  [[nodiscard]] int fd() const noexcept;
  /// True if this handle refers to a stream.
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(t_); }

  /// Wraps a transport (the layer's own factories use this).
  explicit stream_writer(std::shared_ptr<detail::stream_transport> t) noexcept;

 private:
  std::shared_ptr<detail::stream_transport> t_;
};

/// Both halves of a connection: `auto [reader, writer] = co_await aio::open_connection(...)`.
struct connection {
  stream_reader reader;
  stream_writer writer;
};

/// A reader and a writer over one socket fd (a socketpair end, an accepted socket); takes
/// ownership as stream_reader::from_fd does.
[[nodiscard]] connection open_fd(int fd, stream_options options = {});

/// Connects to `host`:`port` over TCP. Follows asyncio.open_connection.
/// `host` is a numeric address (used as is) or a name, resolved with getaddrinfo on the loop's
/// default executor (aio::to_thread), as asyncio resolves off the loop thread; the addresses are
/// tried in order. The socket is O_NONBLOCK|O_CLOEXEC with TCP_NODELAY (as asyncio sets).
/// Suspends: yes; a cancellation point (a cancelled connect closes its socket).
/// Errors: name_resolution_error; std::system_error from the last address tried (ECONNREFUSED:
/// `e.code() == std::errc::connection_refused`, ETIMEDOUT, ENETUNREACH...).
[[nodiscard]] task<connection> open_connection(std::string host, std::uint16_t port,
                                               stream_options options = {});

/// Connects to the Unix socket at `path` (a leading '\0' names an abstract socket).
/// Follows asyncio.open_unix_connection. Errors: std::system_error (ENOENT, ECONNREFUSED...).
[[nodiscard]] task<connection> open_unix_connection(std::string path, stream_options options = {});

/// What start_server calls for each connection.
///
/// Lifetimes: the handler gets its own reader and writer by value; it runs as a task owned by
/// the server. When it returns (or throws), the server closes the connection, flushing what was
/// written. To give it state, pass the state by value through std::bind_front (a capturing
/// lambda coroutine's captures die at its first suspension; STYLE.md).
/// Errors: an exception escaping the handler is reported through the unraisable hook (asyncio
/// logs it) and the connection is closed; the server goes on.
using client_handler = std::function<task<void>(stream_reader, stream_writer)>;

/// Options of start_server.
struct server_options {
  /// listen() backlog; asyncio's default is 100.
  int backlog = 100;
  /// Buffer limit of each connection's reader (bytes).
  std::size_t limit = 64 * 1024;
  /// Seconds to stop accepting after accept() fails for lack of fds or memory (EMFILE, ENFILE,
  /// ENOBUFS, ENOMEM), instead of spinning on a socket that stays readable. asyncio waits 1 s
  /// (ACCEPT_RETRY_DELAY); 0.1 s spins just as little (ten failed accepts a second) and serves
  /// again sooner once fds are freed.
  double accept_retry_delay = 0.1;
};

/// A listening server. Follows asyncio.Server (3.13: close_clients, abort_clients).
/// Serving starts in start_server. Move-only; destroying it calls close().
///
/// Thread safety: the loop thread that created it only.
class server {
 public:
  server() = default;
  server(server&&) noexcept = default;
  server& operator=(server&& o) noexcept;
  ~server();

  /// Stops listening: closes the listening sockets (a Unix socket's file is removed). Open
  /// connections go on. Idempotent.
  void close();
  /// close() for every open connection: each flushes, then closes; handlers see end of stream.
  void close_clients();
  /// Closes every open connection now, discarding unsent output.
  void abort_clients();
  /// Waits until close() was called and every connection's handler has finished and its socket
  /// is closed. Follows Server.wait_closed (3.12.1). Suspends: a cancellation point.
  [[nodiscard]] task<void> wait_closed() const;
  /// True until close().
  [[nodiscard]] bool is_serving() const noexcept;
  /// The listening addresses (empty after close()).
  [[nodiscard]] std::vector<socket_address> sockets() const;
  /// The first listening socket's TCP port (the one the kernel picked for port 0); 0 for Unix.
  [[nodiscard]] std::uint16_t port() const;
  /// Connections accepted whose handler has not finished yet, counted from the accept (a
  /// connection accepted in a batch counts before its handler's first step).
  [[nodiscard]] std::size_t active_connections() const noexcept;

  explicit server(std::shared_ptr<detail::server_state> s) noexcept;

 private:
  std::shared_ptr<detail::server_state> s_;
};

/// Listens on `host`:`port` over TCP and calls `handler` for each connection. Follows
/// asyncio.start_server. `host` "" listens on every interface (asyncio's None); a name is
/// resolved with getaddrinfo off the loop thread; port 0 lets the kernel pick (see port()).
/// Sockets are O_NONBLOCK|O_CLOEXEC with SO_REUSEADDR (IPv6 ones IPV6_V6ONLY); accepted ones
/// get TCP_NODELAY. accept() failing with EMFILE/ENFILE backs off (options.accept_retry_delay)
/// and retries; other accept errors are reported through the unraisable hook and backed off
/// the same way, so the server neither spins nor dies.
/// Suspends: for name resolution only. Errors: name_resolution_error; std::system_error from
/// socket/bind/listen (EADDRINUSE...).
[[nodiscard]] task<server> start_server(client_handler handler, std::string host,
                                        std::uint16_t port, server_options options = {});

/// The same on a Unix socket at `path`; a stale socket file there is removed first, and the
/// file is removed again by close(). Follows asyncio.start_unix_server (3.13 cleanup_socket).
[[nodiscard]] task<server> start_unix_server(client_handler handler, std::string path,
                                             server_options options = {});

}  // namespace tandem::aio
