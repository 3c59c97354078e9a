// http::server: the handle, start (aio::start_server + the read-timeout sweep), graceful
// shutdown, counters. A connection's own loop is in server_connection.cpp, routing in router.cpp.
//
//   shutdown():  stopping = true, listener.close() (no more accepts)
//                idle connections: close now; the others close after their response
//                handlers whose client already closed: cancel (checked again each sweep)
//                wait_closed() for at most shutdown_timeout, then cancel + abort the rest
#include "tandem/http/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "http/detail/server_state.hpp"
#include "tandem/aio/timeout.hpp"
#include "tandem/error.hpp"

namespace tandem::http {

namespace detail {

std::int64_t server_state::deadline_after(double seconds) noexcept {
  constexpr auto never = std::numeric_limits<std::int64_t>::max();
  std::int64_t now = aio::loop::now_ns();
  // 1e18 ns is 31 years: anything longer (or infinite, or NaN) means no deadline.
  if (!(seconds < 1e9)) return never;
  return now + static_cast<std::int64_t>(std::max(0.0, seconds) * 1e9);
}

namespace {

// Every connection, collected first: acting on one (abort, close) must not disturb the walk.
std::vector<server_connection*> snapshot(const server_state& s) {
  std::vector<server_connection*> out;
  out.reserve(s.active);
  for (server_connection* c = s.conns; c; c = c->next) out.push_back(c);
  return out;
}

// Aborts the connections whose deadline passed while they waited for the peer (reading the next
// request, or writing to a peer that does not read). abort() wakes the pending read (it returns
// end of stream) or drain, and the connection task ends on its next step.
void sweep(server_state& s) {
  std::int64_t now = aio::loop::now_ns();
  for (server_connection* c : snapshot(s))
    if (c->ph != server_connection::phase::handling && c->deadline_ns <= now) c->writer.abort();
}

// True if the peer of `fd` closed or reset its end: a peek finds end of stream (nothing it sent
// is left unread in the kernel) or an error.
bool peer_gone(int fd) noexcept {
  if (fd < 0) return true;
  char b = 0;
  ssize_t n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// While shutting down: a handler whose client has gone away has no one to answer, so it is
// cancelled instead of being waited for (up to shutdown_timeout). Not done while serving: a
// client that half-closes after its request (shutdown(SHUT_WR)) looks the same and still reads
// the answer, and the peek costs a syscall per busy connection.
void cancel_abandoned(server_state& s) {
  for (server_connection* c : snapshot(s)) {
    if (c->ph != server_connection::phase::handling || !peer_gone(c->writer.fd())) continue;
    if (c->task) c->task->cancel("http::server shutdown: the client went away");
    c->writer.abort();
  }
}

// Ends every connection now: cancels its handler, drops its socket (the late part of a
// shutdown, and a server destroyed without one).
void abort_all(server_state& s, const char* why) {
  for (server_connection* c : snapshot(s)) {
    if (c->task) c->task->cancel(why);
    c->writer.abort();
  }
  s.listener->abort_clients();
}

// Re-arms itself every min(1 s, read_timeout / 10): a late connection is closed within a tenth
// of read_timeout of its deadline, and a server with a minute-long timeout wakes once a second.
// One timer for the whole server costs less than a timer per read. Holds the state weakly so a
// server dropped without shutdown() is not kept alive by its timer.
void arm_sweep(const std::shared_ptr<server_state>& s) {
  double period = std::clamp(s->opts.read_timeout / 10.0, 0.001, 1.0);
  if (!(period > 0)) period = 1.0;  // NaN
  s->sweep = aio::get_running_loop().call_later(period, [w = std::weak_ptr<server_state>(s)] {
    if (std::shared_ptr<server_state> st = w.lock()) {
      if (!st->listener) return;  // shut down
      sweep(*st);
      if (st->stopping) cancel_abandoned(*st);
      arm_sweep(st);
    }
  });
}

aio::task<void> start_op(std::shared_ptr<server_state> s, std::string host, std::uint16_t port) {
  if (s->started) throw invalid_state_error("http::server::start: already started");
  if (s->stopping) throw invalid_state_error("http::server::start: after shutdown()");
  s->started = true;
  aio::client_handler h = std::bind_front(serve_connection, std::weak_ptr<server_state>(s));
  aio::server_options so;
  so.backlog = s->opts.backlog;
  std::optional<aio::server> srv;
  try {
    srv.emplace(co_await aio::start_server(std::move(h), std::move(host), port, so));
  } catch (...) {
    s->started = false;  // EADDRINUSE...: the caller may try another port
    throw;
  }
  s->port = srv->port();
  s->listener = std::move(srv);
  arm_sweep(s);
}

// The one shutdown: takes the state weakly, and holds it in a local only while it runs, so the
// task stored in the state (for later shutdown() calls to wait on) makes no cycle once done.
aio::task<void> drain_op(std::weak_ptr<server_state> w) {
  std::shared_ptr<server_state> s = w.lock();
  if (!s || !s->listener) co_return;
  s->listener->close();
  for (server_connection* c : snapshot(*s))
    if (c->idle()) c->writer.close();  // its pending read ends; the task finishes
  cancel_abandoned(*s);
  bool late = false;
  try {
    co_await aio::wait_for(s->listener->wait_closed(), s->opts.shutdown_timeout);
  } catch (const timeout_error&) {
    late = true;
  }
  if (late && s->listener) {
    // Handlers that did not finish in time are cancelled; connections stuck reading or
    // flushing are aborted.
    abort_all(*s, "http::server shutdown_timeout");
    co_await s->listener->wait_closed();
  }
  s->sweep.cancel();
  s->listener.reset();
}

aio::task<void> shutdown_op(std::shared_ptr<server_state> s) {
  s->stopping = true;
  if (!s->listener) co_return;  // never started, or already shut down
  if (!s->shutdown_task.valid())
    s->shutdown_task = aio::create_task(drain_op(std::weak_ptr<server_state>(s)));
  aio::task_handle<void> h = s->shutdown_task;
  co_await h;
}

}  // namespace
}  // namespace detail

server::server(server_options options)
    : s_(std::make_shared<detail::server_state>(std::move(options))) {}

server::~server() {
  if (!s_) return;
  s_->stopping = true;
  s_->sweep.cancel();
  if (!s_->listener) return;
  // Abrupt close (shutdown() was not awaited): stop listening, cancel handlers, drop sockets.
  s_->listener->close();
  detail::abort_all(*s_, "http::server destroyed");
  s_->listener.reset();
}

server& server::route(std::string method, std::string pattern, handler h) {
  s_->routes.add(std::move(method), pattern, std::move(h));
  return *this;
}
server& server::get(std::string pattern, handler h) {
  return route("GET", std::move(pattern), std::move(h));
}
server& server::post(std::string pattern, handler h) {
  return route("POST", std::move(pattern), std::move(h));
}
server& server::put(std::string pattern, handler h) {
  return route("PUT", std::move(pattern), std::move(h));
}
server& server::patch(std::string pattern, handler h) {
  return route("PATCH", std::move(pattern), std::move(h));
}
server& server::delete_(std::string pattern, handler h) {
  return route("DELETE", std::move(pattern), std::move(h));
}

aio::task<void> server::start(std::string host, std::uint16_t port) {
  return detail::start_op(s_, std::move(host), port);
}

std::uint16_t server::port() const noexcept { return s_->port; }

aio::task<void> server::shutdown() { return detail::shutdown_op(s_); }

std::size_t server::active_connections() const noexcept { return s_->active; }

server_stats server::stats() const noexcept { return s_->stats; }

}  // namespace tandem::http
