// start_server / start_unix_server and aio::server: listening sockets, the accept loop, the
// per-connection handler tasks.
//
//   listening fd --readable edge--> accept_loop task --accept4--> stream_transport
//        (EMFILE: sleep accept_retry_delay)                  \--> client_task(handler(r, w))
//   server_state: counts live client tasks; close() + count 0 wakes wait_closed()
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <unordered_set>

#include "aio/detail/stream_transport.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/streams.hpp"

namespace tandem::aio {
namespace detail {

struct listener {
  std::shared_ptr<stream_transport> t;
  socket_address address;
  task_handle<void> accepting;
  std::string unix_path;  // removed by close() if it is still our socket
  dev_t unix_dev = 0;
  ino_t unix_ino = 0;
};

struct server_state {
  server_state(loop& lp, client_handler h, server_options o)
      : l(&lp), handler(std::move(h)), opts(o) {}
  loop* l;
  client_handler handler;
  server_options opts;
  std::vector<listener> listeners;
  bool closed = false;
  // Connections whose client task runs. A client task holds its transport, so the raw
  // pointers stay valid while they are in the set.
  std::unordered_set<stream_transport*> clients;
  std::size_t active = 0;
  waiter_list closed_waiters;  // wait_closed(): woken when closed && active == 0

  void maybe_finished() noexcept {
    if (closed && active == 0) wake_all(closed_waiters);
  }
};

namespace {

// Counts a connection in its server from the moment it is accepted until its client task's
// frame is gone: counting from inside the task would miss connections accepted in a batch
// whose tasks have not run yet, and wait_closed() could then return before their handlers ran.
// It holds the server's state itself, so the count outlives nothing it points at, whatever order
// the frame destroys its parameters in.
class client_registration {
 public:
  client_registration(std::shared_ptr<server_state> s, stream_transport* t)
      : s_(std::move(s)), t_(t) {
    s_->clients.insert(t_);
    ++s_->active;
  }
  ~client_registration() {
    s_->clients.erase(t_);
    --s_->active;
    s_->maybe_finished();
  }
  client_registration(const client_registration&) = delete;
  client_registration& operator=(const client_registration&) = delete;

  [[nodiscard]] server_state& server() const noexcept { return *s_; }

 private:
  std::shared_ptr<server_state> s_;
  stream_transport* t_;
};

task<void> client_task(std::unique_ptr<client_registration> reg,
                       std::shared_ptr<stream_transport> t) {
  try {
    co_await reg->server().handler(stream_reader(t), stream_writer(t));
  } catch (const cancelled_error&) {
    t->abort();
    throw;
  } catch (...) {
    // asyncio logs "Unhandled exception in client_connected_cb" and closes the transport.
    report_unraisable(std::current_exception(), "aio::start_server client handler");
  }
  t->close();
  while (!t->closed()) co_await wait_on(t->closed_waiters());
}

bool out_of_resources(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

// Errors that concern one connection only (it was reset before we accepted it, or the protocol
// reported a transient failure): accept the next one at once. accept(2) lists these.
bool transient(int err) noexcept {
  return err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM || err == ENETDOWN ||
         err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH ||
         err == EOPNOTSUPP || err == ENETUNREACH;
}

void start_client(const std::shared_ptr<server_state>& s, int fd, bool tcp) {
  if (tcp) set_nodelay(fd);
  auto t = std::make_shared<stream_transport>(*s->l, fd, s->opts.limit, true);
  auto reg = std::make_unique<client_registration>(s, t.get());
  (void)create_task(client_task(std::move(reg), std::move(t)), *s->l);
}

task<void> accept_loop(std::shared_ptr<server_state> s, std::shared_ptr<stream_transport> lt,
                       bool tcp) {
  // asyncio accepts up to `backlog` connections per readiness event before it lets the loop run
  // the handlers; so do we, then yield once.
  std::size_t batch = 0;
  const auto batch_max = static_cast<std::size_t>(std::max(1, s->opts.backlog));
  for (;;) {
    if (lt->closed() || s->closed) co_return;
    int fd = ::accept4(lt->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      bool started = true;
      try {
        start_client(s, fd, tcp);
      } catch (...) {  // epoll or memory refused this connection (its fd is closed): go on
        report_unraisable(std::current_exception(), "aio::start_server accept");
        started = false;
      }
      if (!started) co_await sleep(s->opts.accept_retry_delay);
      if (++batch >= batch_max) {
        batch = 0;
        co_await sleep(0);
      }
      continue;
    }
    int err = errno;
    if (err == EAGAIN) {
      batch = 0;
      lt->not_readable();
      co_await lt->readable();
      continue;
    }
    if (transient(err)) continue;
    if (!out_of_resources(err))
      report_unraisable(std::make_exception_ptr(std::system_error(err, std::system_category(),
                                                                  "aio::start_server: accept")),
                        "aio::start_server accept");
    // Out of fds: the listening socket stays readable, so retrying now would spin. Back off,
    // as asyncio does (it removes the reader for ACCEPT_RETRY_DELAY seconds).
    co_await sleep(s->opts.accept_retry_delay);
  }
}

// An fd closed on scope exit unless released.
class fd_guard {
 public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard& operator=(fd_guard&&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

socket_address local_address(int fd) {
  address_storage a;
  a.len = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.len) != 0) return {};
  return to_socket_address(a);
}

// Makes the listeners' tasks. Called once every socket is bound: a failure earlier leaves no
// task running.
server start_listening(std::shared_ptr<server_state> s, std::vector<fd_guard> fds,
                       std::vector<listener> info, bool tcp) {
  for (std::size_t i = 0; i < fds.size(); ++i) {
    listener li = std::move(info[i]);
    li.address = local_address(fds[i].get());
    li.t = std::make_shared<stream_transport>(*s->l, fds[i].release(), 0, true);
    s->listeners.push_back(std::move(li));
  }
  for (listener& li : s->listeners) li.accepting = create_task(accept_loop(s, li.t, tcp), *s->l);
  return server(std::move(s));
}

task<void> server_wait_closed(std::shared_ptr<server_state> s) {
  while (!(s->closed && s->active == 0)) co_await wait_on(s->closed_waiters);
}

}  // namespace
}  // namespace detail

// ------------------------------------------------------------------ server

server::server(std::shared_ptr<detail::server_state> s) noexcept : s_(std::move(s)) {}

server& server::operator=(server&& o) noexcept {
  if (this != &o) {
    close();
    s_ = std::move(o.s_);
  }
  return *this;
}

server::~server() { close(); }

void server::close() {
  if (!s_ || s_->closed) return;
  s_->closed = true;
  for (detail::listener& li : s_->listeners) {
    if (li.accepting.valid()) li.accepting.cancel();
    li.t->abort();
    struct stat st {};
    if (!li.unix_path.empty() && li.unix_path[0] != '\0' &&
        ::stat(li.unix_path.c_str(), &st) == 0 && st.st_dev == li.unix_dev &&
        st.st_ino == li.unix_ino)
      ::unlink(li.unix_path.c_str());
  }
  s_->listeners.clear();  // each accept task keeps its own listener alive until it ends
  s_->maybe_finished();
}

void server::close_clients() {
  if (!s_) return;
  std::vector<detail::stream_transport*> clients(s_->clients.begin(), s_->clients.end());
  for (auto* t : clients) t->close();
}

void server::abort_clients() {
  if (!s_) return;
  std::vector<detail::stream_transport*> clients(s_->clients.begin(), s_->clients.end());
  for (auto* t : clients) t->abort();
}

task<void> server::wait_closed() const {
  TANDEM_ASSERT(s_, "server::wait_closed on an empty server");
  return detail::server_wait_closed(s_);
}

bool server::is_serving() const noexcept { return s_ && !s_->closed; }

std::vector<socket_address> server::sockets() const {
  std::vector<socket_address> out;
  if (s_)
    for (const auto& li : s_->listeners) out.push_back(li.address);
  return out;
}

std::uint16_t server::port() const {
  return s_ && !s_->listeners.empty() ? s_->listeners.front().address.port : 0;
}

std::size_t server::active_connections() const noexcept { return s_ ? s_->active : 0; }

// ------------------------------------------------------------------ start_server

task<server> start_server(client_handler handler, std::string host, std::uint16_t port,
                          server_options options) {
  if (!handler) throw std::invalid_argument("start_server: empty handler");
  std::vector<detail::address_storage> addrs = co_await detail::resolve(host, port, true);
  std::vector<detail::fd_guard> fds;
  std::vector<detail::listener> info;
  for (const auto& a : addrs) {
    int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      if (errno == EAFNOSUPPORT && addrs.size() > 1) continue;  // no IPv6 here: as asyncio
      detail::throw_errno(errno, "start_server: socket");
    }
    detail::fd_guard g(fd);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.storage.ss_family == AF_INET6)
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, a.get(), a.len) != 0)
      detail::throw_errno(errno, "start_server: bind to " + detail::to_socket_address(a).host +
                                     ":" + std::to_string(port));
    if (::listen(fd, options.backlog) != 0) detail::throw_errno(errno, "start_server: listen");
    fds.push_back(std::move(g));
    info.emplace_back();
  }
  if (fds.empty()) detail::throw_errno(EAFNOSUPPORT, "start_server: no usable address");
  auto s = std::make_shared<detail::server_state>(get_running_loop(), std::move(handler), options);
  co_return detail::start_listening(std::move(s), std::move(fds), std::move(info), true);
}

task<server> start_unix_server(client_handler handler, std::string path, server_options options) {
  if (!handler) throw std::invalid_argument("start_unix_server: empty handler");
  detail::address_storage a;
  auto& un = reinterpret_cast<sockaddr_un&>(a.storage);
  if (path.empty() || path.size() >= sizeof un.sun_path)
    throw std::invalid_argument("start_unix_server: bad path length");
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  bool abstract = path[0] == '\0';
  a.len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  struct stat st {};
  // A socket file left by an earlier run would make bind fail with EADDRINUSE (asyncio removes
  // it too); anything else at that path is an error for bind to report.
  if (!abstract && ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) detail::throw_errno(errno, "start_unix_server: socket");
  detail::fd_guard g(fd);
  if (::bind(fd, a.get(), a.len) != 0)
    detail::throw_errno(errno, "start_unix_server: bind to " + path);
  if (::listen(fd, options.backlog) != 0) detail::throw_errno(errno, "start_unix_server: listen");
  detail::listener li;
  if (!abstract && ::stat(path.c_str(), &st) == 0) {
    li.unix_path = path;
    li.unix_dev = st.st_dev;
    li.unix_ino = st.st_ino;
  }
  std::vector<detail::fd_guard> fds;
  fds.push_back(std::move(g));
  std::vector<detail::listener> info;
  info.push_back(std::move(li));
  auto s = std::make_shared<detail::server_state>(get_running_loop(), std::move(handler), options);
  co_return detail::start_listening(std::move(s), std::move(fds), std::move(info), false);
}

}  // namespace tandem::aio
