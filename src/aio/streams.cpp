// Streams: the transport (fd, readiness, buffers), stream_reader, stream_writer, connecting and
// name resolution. The server half is in streams_server.cpp.
#include "tandem/aio/streams.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "aio/detail/stream_transport.hpp"
#include "tandem/aio/threads.hpp"
#include "tandem/detail/assert.hpp"

namespace tandem::aio {

// ------------------------------------------------------------------ errors

incomplete_read_error::incomplete_read_error(std::string partial,
                                             std::optional<std::size_t> expected)
    : error(expected ? std::to_string(partial.size()) + " bytes read on a total of " +
                           std::to_string(*expected) + " expected bytes"
                     : std::to_string(partial.size()) +
                           " bytes read before end of stream, separator not found"),
      partial_(std::move(partial)),
      expected_(expected) {}

limit_overrun_error::limit_overrun_error(const std::string& message, std::size_t consumed)
    : error(message), consumed_(consumed) {}

name_resolution_error::name_resolution_error(const std::string& message, int gai_code)
    : error(message), code_(gai_code) {}

namespace detail {

// ------------------------------------------------------------------ buffers

char* byte_buffer::prepare(std::size_t want, std::size_t& room) {
  if (cap_ - end_ < want) {
    std::size_t used = size();
    if (cap_ - used >= want && begin_ > 0) {  // room enough once the data moves to the front
      std::memmove(buf_.get(), buf_.get() + begin_, used);
    } else {
      std::size_t cap = std::max({want + used, cap_ * 2, std::size_t{4096}});
      auto fresh = std::make_unique_for_overwrite<char[]>(cap);
      if (used) std::memcpy(fresh.get(), buf_.get() + begin_, used);
      buf_ = std::move(fresh);
      cap_ = cap;
    }
    begin_ = 0;
    end_ = used;
  }
  room = cap_ - end_;
  return buf_.get() + end_;
}

void byte_buffer::append(std::string_view s) {
  std::size_t room = 0;
  char* p = prepare(s.size(), room);
  std::memcpy(p, s.data(), s.size());
  commit(s.size());
}

// ------------------------------------------------------------------ helpers

void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

void set_nodelay(int fd) noexcept {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on Unix
}

namespace {
// Python ignores SIGPIPE at start-up, so a write to a closed pipe is an EPIPE error instead of
// the end of the program. Sockets need none of this (MSG_NOSIGNAL); pipes have no such flag.
void ignore_sigpipe_once() noexcept {
  static std::atomic<bool> done{false};
  if (done.exchange(true, std::memory_order_relaxed)) return;
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
    ::signal(SIGPIPE, SIG_IGN);
}
}  // namespace

// ------------------------------------------------------------------ transport

stream_transport::stream_transport(loop& l, int fd, std::size_t limit, bool nonblocking_socket)
    : loop_(&l), fd_(fd), limit_(std::max<std::size_t>(limit, 1)) {
  if (nonblocking_socket) {
    socket_ = true;
  } else {
    struct stat st {};
    int fl = ::fcntl(fd, F_GETFL);
    int fdfl = ::fcntl(fd, F_GETFD);
    if (::fstat(fd, &st) != 0 || fl < 0 || fdfl < 0 ||
        (!(fl & O_NONBLOCK) && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) ||
        (!(fdfl & FD_CLOEXEC) && ::fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0)) {
      int err = errno;
      ::close(fd);
      fd_ = -1;
      throw_errno(err, "aio stream: preparing the fd");
    }
    socket_ = S_ISSOCK(st.st_mode);
  }
  try {
    l.watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  } catch (...) {
    ::close(fd);
    fd_ = -1;
    throw;
  }
}

stream_transport::~stream_transport() {
  if (fd_ >= 0) {
    loop_->unwatch(fd_);
    ::close(fd_);
  }
}

void stream_transport::on_events(std::uint32_t events) noexcept {
  // A closing stream may finish (and drop its last reference) in flush(): keep it alive here.
  std::shared_ptr<stream_transport> keep = self_;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    readable_ = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) hup_ = true;
    wake_all(read_waiters_);
  }
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
    writable_ = true;
    wake_all(connect_waiters_);
    if (!out_.empty() || (eof_pending_ && !eof_sent_)) flush();
  }
}

stream_transport::fill_status stream_transport::fill(std::size_t cap) noexcept {
  if (error_) return fill_status::failed;
  if (eof_ || fd_ < 0) return fill_status::eof;
  if (in_.size() >= cap) return fill_status::progress;  // nothing to read for: the caller decides
  // Start small and double (prepare's growth) while reads keep filling the buffer: an idle
  // connection costs 4 KiB, a bulk one reaches the limit after a few reads.
  std::size_t want = std::min(cap - in_.size(), std::max<std::size_t>(4096, in_.capacity()));
  std::size_t room = 0;
  char* p;
  try {
    p = in_.prepare(want, room);
  } catch (const std::bad_alloc&) {
    fail(ENOMEM);
    return fill_status::failed;
  }
  want = std::min(want, room);
  for (;;) {
    ssize_t n = ::read(fd_, p, want);
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      in_.commit(got);
      // A short read drained the kernel buffer: data arriving later raises a new edge, so there
      // is no need to spend a read() on EAGAIN (as Tokio does). Not after a hang-up, though: the
      // end of stream that follows the data raises no further edge.
      if (got < want && !hup_) readable_ = false;
      return fill_status::progress;
    }
    if (n == 0) {
      eof_ = true;
      return fill_status::eof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      readable_ = false;
      return fill_status::would_block;
    }
    fail(errno);
    return fill_status::failed;
  }
}

bool stream_transport::more_awaiter::await_ready() noexcept {
  if (t_.error_ || t_.eof_ || t_.fd_ < 0) return true;
  if (!t_.readable_) return false;
  return t_.fill(cap_) != fill_status::would_block;
}

void stream_transport::throw_if_failed() const {
  if (error_) throw_errno(error_, "aio stream");
}

void stream_transport::write(std::string_view data) {
  if (closing_ || eof_pending_)
    throw invalid_state_error(closing_ ? "stream_writer::write after close()"
                                       : "stream_writer::write after write_eof()");
  if (fd_ < 0 || data.empty()) return;  // failed: drain() reports it (asyncio drops the data too)
  if (out_.empty() && writable_) {
    // Fast path: straight to the kernel; only what it refuses is copied into out_.
    std::size_t sent = send_some(data);
    if (error_ != 0 || fd_ < 0) return;  // failed: drain() reports it
    data.remove_prefix(sent);
    if (data.empty()) return;
  }
  out_.append(data);
}

std::size_t stream_transport::send_some(std::string_view data) noexcept {
  std::size_t total = 0;
  while (total < data.size()) {
    ssize_t n = socket_ ? ::send(fd_, data.data() + total, data.size() - total, MSG_NOSIGNAL)
                        : ::write(fd_, data.data() + total, data.size() - total);
    if (n >= 0) {
      total += static_cast<std::size_t>(n);
      if (total < data.size()) {  // the kernel buffer is full: EPOLLOUT will say when it has room
        writable_ = false;
        break;
      }
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      writable_ = false;
      break;
    }
    fail(errno);
    break;
  }
  return total;
}

void stream_transport::flush() noexcept {
  if (!out_.empty() && writable_) {
    std::size_t sent = send_some(out_.view());
    if (error_ != 0 || fd_ < 0) return;  // failed: fail() dropped out_ and closed
    out_.consume(sent);
  }
  if (out_.empty()) {
    if (eof_pending_ && !eof_sent_) {
      eof_sent_ = true;
      ::shutdown(fd_, SHUT_WR);
    }
    if (closing_) {
      close_now();
      return;
    }
  }
  if (out_.size() <= low_) wake_all(drain_waiters_);
}

void stream_transport::write_eof() {
  if (!socket_) throw invalid_state_error("stream_writer::write_eof: not a socket");
  if (closing_ || eof_pending_ || fd_ < 0) return;
  eof_pending_ = true;
  if (out_.empty()) {
    eof_sent_ = true;
    ::shutdown(fd_, SHUT_WR);
  }
}

void stream_transport::fail(int err) noexcept {
  error_ = err;
  out_.clear();
  close_now();
}

void stream_transport::close() {
  if (closing_ || fd_ < 0) return;
  closing_ = true;
  eof_ = true;  // reads on a closed stream end
  wake_all(read_waiters_);
  if (out_.empty()) {
    close_now();
    return;
  }
  self_ = shared_from_this();  // flush even if every handle goes away meanwhile
}

void stream_transport::abort() noexcept {
  closing_ = true;
  out_.clear();
  close_now();
}

void stream_transport::close_now() noexcept {
  if (fd_ < 0) return;
  // Deregister before close: an fd shared with a child process would otherwise stay in the
  // epoll set, reporting to a freed object.
  loop_->unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
  eof_ = true;
  out_.release();
  wake_all(read_waiters_);
  wake_all(connect_waiters_);
  wake_all(drain_waiters_);
  wake_all(closed_waiters_);
  std::shared_ptr<stream_transport> drop = std::move(self_);  // may destroy *this on return
}

// ------------------------------------------------------------------ addresses

socket_address to_socket_address(const address_storage& a) {
  socket_address out;
  out.family = a.storage.ss_family;
  char text[INET6_ADDRSTRLEN] = {};
  if (a.storage.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a.storage);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    out.host = text;
    out.port = ntohs(in.sin_port);
  } else if (a.storage.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a.storage);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    out.host = text;
    out.port = ntohs(in6.sin6_port);
  } else if (a.storage.ss_family == AF_UNIX) {
    const auto& un = reinterpret_cast<const sockaddr_un&>(a.storage);
    std::size_t len = a.len > offsetof(sockaddr_un, sun_path)
                          ? static_cast<std::size_t>(a.len) - offsetof(sockaddr_un, sun_path)
                          : 0;
    std::string path(un.sun_path, len);
    if (!path.empty() && path[0] != '\0') path = path.c_str();  // a filesystem path ends at NUL
    out.path = std::move(path);
  }
  return out;
}

namespace {

std::optional<address_storage> numeric_address(const std::string& host, std::uint16_t port) {
  address_storage a;
  auto& in = reinterpret_cast<sockaddr_in&>(a.storage);
  if (::inet_pton(AF_INET, host.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  auto& in6 = reinterpret_cast<sockaddr_in6&>(a.storage);
  if (::inet_pton(AF_INET6, host.c_str(), &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

// Runs on the default executor's thread: getaddrinfo blocks (DNS, /etc/hosts, nsswitch).
std::vector<address_storage> resolve_blocking(std::string host, std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0)
    throw name_resolution_error(
        "getaddrinfo(" + (host.empty() ? std::string("*") : host) + "): " + ::gai_strerror(rc), rc);
  std::vector<address_storage> out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    address_storage a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.len = ai->ai_addrlen;
    out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty())
    throw name_resolution_error("getaddrinfo(" + host + "): no stream addresses", EAI_NONAME);
  return out;
}

}  // namespace

task<std::vector<address_storage>> resolve(std::string host, std::uint16_t port, bool passive) {
  if (auto a = numeric_address(host, port)) co_return std::vector<address_storage>{*a};
  co_return co_await to_thread(resolve_blocking, std::move(host), port, passive);
}

// ------------------------------------------------------------------ read operations

namespace {

void check_one_reader(stream_transport& t) {
  if (t.reading())
    throw invalid_state_error("aio stream: a read is already waiting for data on this stream");
}

task<std::string> read_op(std::shared_ptr<stream_transport> t, std::ptrdiff_t n) {
  if (n == 0) co_return std::string();
  if (n < 0) {  // until end of stream, whatever the limit
    std::string all;
    for (;;) {
      t->throw_if_failed();
      if (!t->in().empty()) {
        all.append(t->in().view());
        t->in().clear();
      }
      if (t->read_eof()) co_return all;
      check_one_reader(*t);
      co_await t->more(t->limit());
    }
  }
  for (;;) {
    t->throw_if_failed();
    if (!t->in().empty() || t->read_eof()) break;
    check_one_reader(*t);
    co_await t->more(t->limit());
  }
  co_return t->in().take(std::min(static_cast<std::size_t>(n), t->in().size()));
}

task<std::string> readexactly_op(std::shared_ptr<stream_transport> t, std::size_t n) {
  for (;;) {
    t->throw_if_failed();
    if (t->in().size() >= n) co_return t->in().take(n);
    if (t->read_eof()) throw incomplete_read_error(t->in().take(t->in().size()), n);
    check_one_reader(*t);
    co_await t->more(std::max(t->limit(), n));
  }
}

task<std::string> readuntil_op(std::shared_ptr<stream_transport> t, std::string sep) {
  if (sep.empty()) throw std::invalid_argument("readuntil: the separator must not be empty");
  std::size_t limit = t->limit();
  std::size_t offset = 0;  // the search resumes here: earlier positions cannot start a match
  for (;;) {
    t->throw_if_failed();
    std::string_view buf = t->in().view();
    if (buf.size() >= sep.size()) {
      std::size_t pos = buf.find(sep, offset);
      if (pos != std::string_view::npos) {
        if (pos > limit)
          throw limit_overrun_error("Separator is found, but chunk is longer than limit", pos);
        co_return t->in().take(pos + sep.size());
      }
      offset = buf.size() + 1 - sep.size();
      if (offset > limit)
        throw limit_overrun_error("Separator is not found, and chunk exceed the limit", offset);
    }
    if (t->read_eof()) throw incomplete_read_error(t->in().take(t->in().size()), std::nullopt);
    check_one_reader(*t);
    // Room for a chunk of `limit` bytes plus the separator, as asyncio allows.
    co_await t->more(limit + sep.size());
  }
}

task<std::string> readline_op(std::shared_ptr<stream_transport> t) {
  try {
    co_return co_await readuntil_op(t, "\n");
  } catch (const incomplete_read_error& e) {
    co_return e.partial();
  } catch (const limit_overrun_error& e) {
    // asyncio: drop the over-long line, up to its separator if there is one, else everything.
    std::string_view buf = t->in().view();
    if (buf.size() > e.consumed() && buf[e.consumed()] == '\n')
      t->in().consume(e.consumed() + 1);
    else
      t->in().clear();
    throw;
  }
}

task<void> wait_closed_op(std::shared_ptr<stream_transport> t) {
  while (!t->closed()) co_await wait_on(t->closed_waiters());
}

}  // namespace
}  // namespace detail

// ------------------------------------------------------------------ stream_reader

stream_reader::stream_reader(std::shared_ptr<detail::stream_transport> t) noexcept
    : t_(std::move(t)) {}

stream_reader stream_reader::from_fd(int fd, stream_options options) {
  return stream_reader(
      std::make_shared<detail::stream_transport>(get_running_loop(), fd, options.limit, false));
}

task<std::string> stream_reader::read(std::ptrdiff_t n) const {
  TANDEM_ASSERT(t_, "stream_reader::read on an empty reader");
  return detail::read_op(t_, n);
}
task<std::string> stream_reader::readline() const {
  TANDEM_ASSERT(t_, "stream_reader::readline on an empty reader");
  return detail::readline_op(t_);
}
task<std::string> stream_reader::readexactly(std::size_t n) const {
  TANDEM_ASSERT(t_, "stream_reader::readexactly on an empty reader");
  return detail::readexactly_op(t_, n);
}
task<std::string> stream_reader::readuntil(std::string separator) const {
  TANDEM_ASSERT(t_, "stream_reader::readuntil on an empty reader");
  return detail::readuntil_op(t_, std::move(separator));
}
bool stream_reader::at_eof() const noexcept { return t_->read_eof() && t_->in().empty(); }
std::size_t stream_reader::buffered() const noexcept { return t_->in().size(); }
std::size_t stream_reader::limit() const noexcept { return t_->limit(); }

// ------------------------------------------------------------------ stream_writer

stream_writer::stream_writer(std::shared_ptr<detail::stream_transport> t) noexcept
    : t_(std::move(t)) {}

stream_writer stream_writer::from_fd(int fd) {
  auto t = std::make_shared<detail::stream_transport>(get_running_loop(), fd,
                                                      stream_options{}.limit, false);
  if (!t->is_socket()) detail::ignore_sigpipe_once();
  return stream_writer(std::move(t));
}

void stream_writer::write(std::string_view data) const { t_->write(data); }
void stream_writer::writelines(const std::vector<std::string_view>& pieces) const {
  for (std::string_view p : pieces) t_->write(p);
}
void stream_writer::write_eof() const { t_->write_eof(); }
bool stream_writer::can_write_eof() const noexcept { return t_->is_socket(); }

bool stream_writer::drain_awaiter::await_ready() const { return t_->drained_enough(); }
void stream_writer::drain_awaiter::await_resume() const {
  waiter_.resume();
  t_->throw_if_failed();
}
detail::waiter_list& stream_writer::drain_awaiter::wait_list() const noexcept {
  return t_->drain_waiters();
}
stream_writer::drain_awaiter stream_writer::drain() const {
  TANDEM_ASSERT(t_, "stream_writer::drain on an empty writer");
  return drain_awaiter(t_);
}

void stream_writer::close() const { t_->close(); }
void stream_writer::abort() const { t_->abort(); }
bool stream_writer::is_closing() const noexcept { return t_->closing(); }
task<void> stream_writer::wait_closed() const { return detail::wait_closed_op(t_); }
std::size_t stream_writer::buffer_size() const noexcept { return t_->out_size(); }
void stream_writer::set_write_buffer_limits(std::size_t high,
                                            std::optional<std::size_t> low) const {
  std::size_t lo = low.value_or(high / 4);
  TANDEM_ASSERT(lo <= high, "set_write_buffer_limits: low must not exceed high");
  t_->set_limits(high, lo);
}

std::optional<socket_address> stream_writer::peername() const {
  detail::address_storage a;
  a.len = sizeof a.storage;
  if (t_->fd() < 0 || !t_->is_socket() || ::getpeername(t_->fd(), a.get(), &a.len) != 0)
    return std::nullopt;
  return detail::to_socket_address(a);
}
std::optional<socket_address> stream_writer::sockname() const {
  detail::address_storage a;
  a.len = sizeof a.storage;
  if (t_->fd() < 0 || !t_->is_socket() || ::getsockname(t_->fd(), a.get(), &a.len) != 0)
    return std::nullopt;
  return detail::to_socket_address(a);
}
std::optional<socket_address> stream_writer::get_extra_info(std::string_view key) const {
  if (key == "peername") return peername();
  if (key == "sockname") return sockname();
  return std::nullopt;
}
int stream_writer::fd() const noexcept { return t_->fd(); }

// ------------------------------------------------------------------ connecting

connection open_fd(int fd, stream_options options) {
  auto t = std::make_shared<detail::stream_transport>(get_running_loop(), fd, options.limit, false);
  if (!t->is_socket()) detail::ignore_sigpipe_once();
  return {stream_reader(t), stream_writer(t)};
}

namespace {

struct connect_result {
  int err = 0;  // errno of the failure, or 0
  std::shared_ptr<detail::stream_transport> t;
};

// Connects a fresh non-blocking socket to `a`.
// The fd is registered with the loop only after connect() started: an unconnected socket polls
// as EPOLLOUT|EPOLLHUP, which would look like a finished connect.
task<connect_result> connect_one(detail::address_storage a, std::size_t limit) {
  int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return connect_result{errno, nullptr};
  int err = ::connect(fd, a.get(), a.len) == 0 ? 0 : errno;
  if (err != 0 && err != EINPROGRESS && err != EINTR) {
    ::close(fd);
    co_return connect_result{err, nullptr};
  }
  auto t = std::make_shared<detail::stream_transport>(get_running_loop(), fd, limit, true);
  if (err != 0) {
    t->expect_connect();
    co_await t->writable();  // cancelled: `t` dies with this frame and closes the socket
    socklen_t len = sizeof err;
    if (t->fd() < 0)
      err = ECONNABORTED;
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    if (err != 0) co_return connect_result{err, nullptr};
  }
  if (a.storage.ss_family != AF_UNIX) detail::set_nodelay(fd);
  co_return connect_result{0, std::move(t)};
}

std::string describe_endpoint(const std::string& host, std::uint16_t port) {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

}  // namespace

task<connection> open_connection(std::string host, std::uint16_t port, stream_options options) {
  std::vector<detail::address_storage> addrs = co_await detail::resolve(host, port, false);
  int last = 0;
  for (const auto& a : addrs) {
    connect_result r = co_await connect_one(a, options.limit);
    if (r.err == 0) co_return connection{stream_reader(r.t), stream_writer(r.t)};
    last = r.err;
  }
  detail::throw_errno(last, "open_connection(" + describe_endpoint(host, port) + ")");
}

task<connection> open_unix_connection(std::string path, stream_options options) {
  detail::address_storage a;
  auto& un = reinterpret_cast<sockaddr_un&>(a.storage);
  if (path.empty() || path.size() >= sizeof un.sun_path)
    throw std::invalid_argument("open_unix_connection: bad path length");
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                 (path[0] == '\0' ? 0 : 1));
  connect_result r = co_await connect_one(a, options.limit);
  if (r.err != 0) detail::throw_errno(r.err, "open_unix_connection(" + path + ")");
  co_return connection{stream_reader(r.t), stream_writer(r.t)};
}

}  // namespace tandem::aio
