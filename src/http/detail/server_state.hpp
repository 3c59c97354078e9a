// http::server's shared state: options, routes, the listening aio::server, the registry of open
// connections (for the read-timeout sweep and graceful shutdown) and the counters.
//
//   server (handle) --shared_ptr--> server_state <--shared_ptr-- each connection task
//                                     |  conns: intrusive list of server_connection
//                                     |         (each lives in its connection task's frame)
//                                     +-- sweep timer (loop.call_later, weak_ptr): every
//                                         min(1 s, read_timeout / 10) aborts connections whose
//                                         deadline passed while reading or writing
//
// The listener's handler holds the state weakly (a strong reference would make a cycle through
// aio::server); a connection task locks it when it starts and holds it until it ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/detail/router.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/http/server.hpp"

namespace tandem::http::detail {

/// One open connection as the server sees it. Lives in its connection task's frame; linked into
/// server_state::conns for as long as that task runs.
struct server_connection {
  /// What the connection is doing; the sweep only times out `reading` and `writing`.
  enum class phase : std::uint8_t { reading, handling, writing };

  explicit server_connection(aio::stream_writer w) : writer(std::move(w)) {}

  aio::stream_writer writer;
  std::optional<aio::any_task> task;  // the connection's task, cancelled by a late shutdown
  // Loop clock (aio::loop::now_ns) past which the sweep aborts the connection: read_timeout after
  // it began waiting for its next request, or after a write began waiting for the peer to read.
  std::int64_t deadline_ns = std::numeric_limits<std::int64_t>::max();
  phase ph = phase::reading;
  bool mid_message = false;   // part of a request has been parsed, not all of it
  bool waiting_read = false;  // suspended in reader.read()
  server_connection* prev = nullptr;
  server_connection* next = nullptr;

  /// Idle: between requests, waiting for the next one; shutdown closes these at once.
  [[nodiscard]] bool idle() const noexcept { return waiting_read && !mid_message; }
};

/// Everything a server and its connection tasks share. Loop thread only.
struct server_state {
  explicit server_state(server_options o) : opts(o) {}

  server_options opts;
  router routes;
  std::optional<aio::server> listener;  // set by start(), reset when shutdown() finishes
  std::uint16_t port = 0;
  bool started = false;
  bool stopping = false;  // shutdown() began: no new requests after the ones in flight
  aio::task_handle<void> shutdown_task;  // the one shutdown every shutdown() call waits for
  aio::timer_handle sweep;
  server_stats stats;
  server_connection* conns = nullptr;  // head of the intrusive list of open connections
  std::size_t active = 0;              // length of that list

  void link(server_connection* c) noexcept {
    c->next = conns;
    if (conns) conns->prev = c;
    conns = c;
    ++active;
  }
  void unlink(server_connection* c) noexcept {
    if (c->prev)
      c->prev->next = c->next;
    else
      conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
    --active;
  }

  /// `now` + `seconds` on the loop clock, saturating (read_timeout may be huge or infinite).
  [[nodiscard]] static std::int64_t deadline_after(double seconds) noexcept;
};

/// One connection's life: read, parse, route, call the handler, write; keep-alive and pipelining.
/// The client_handler given to aio::start_server (bound to the state with std::bind_front).
aio::task<void> serve_connection(std::weak_ptr<server_state> state, aio::stream_reader reader,
                                 aio::stream_writer writer);

/// Percent-decodes `in` ("%20" -> ' '); with `plus_is_space`, '+' -> ' ' too (query strings, as
/// application/x-www-form-urlencoded). A '%' not followed by two hex digits is kept as it is.
/// Defined in request.cpp.
std::string percent_decode(std::string_view in, bool plus_is_space);

}  // namespace tandem::http::detail
