// One connection of http::server: read into a buffer, feed http_parser, answer each request in
// order, keep the connection alive or close it.
//
//   reader.read(64 KiB) --> http_parser_execute --callbacks--> request being built
//        ^                        | on_message_complete pauses the parser: one request at a time,
//        |                        v so pipelined requests wait in the buffer, answered in order
//        +-- more bytes? <-- respond: route, co_await handler, one write of head + body
//
// Errors of the peer (400, 413) are answered, then the connection is shut down for writing and
// the rest of its input read and dropped for a moment (a "lingering close", as nginx does), so
// the peer reads the answer instead of a reset caused by unread data.
#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "http/detail/server_state.hpp"
#include "tandem/error.hpp"
#include "tandem/http/headers.hpp"
#include "tandem/http/status.hpp"

namespace tandem::http::detail {

namespace {

// One read takes what the kernel has, up to the reader's 64 KiB limit (aio's default): enough
// for a burst of pipelined requests, and a body arrives in few steps.
constexpr std::ptrdiff_t read_size = 64 * 1024;
// Bodies up to this size are copied behind the head into one write (one send() for the common
// small response); a larger one is written on its own instead of being copied.
constexpr std::size_t inline_body_max = 16 * 1024;
// Longest a lingering close waits for the peer to finish sending (seconds; read_timeout if
// shorter): a client that sent a body we refused needs a moment to see the answer.
constexpr double linger_max = 2.0;

// The state of one connection; lives in serve_connection's frame.
struct connection {
  connection(server_state& st, aio::stream_writer w) : s(st), node(std::move(w)) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    s.link(&node);
  }
  ~connection() { s.unlink(&node); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  server_state& s;
  server_connection node;  // in s.conns while this lives
  http_parser parser{};
  request rq;              // the request being parsed
  std::string field;       // header name being parsed (may arrive in pieces)
  std::string value;       // header value being parsed
  bool in_value = false;   // the last header callback was a value
  bool complete = false;   // on_message_complete ran: rq is whole, the parser paused
  bool keep_alive = true;  // the request allows another after it
  bool http10 = false;     // HTTP/1.0: keep-alive has to be said
  int reject = 0;          // 413 decided in a callback (which then fails the parse)
  std::string out;         // response head (and small body), reused across responses
};

connection& of(http_parser* p) noexcept { return *static_cast<connection*>(p->data); }

void push_header(connection& c) {
  c.rq.headers.add(std::move(c.field), std::move(c.value));
  c.field.clear();
  c.value.clear();
  c.in_value = false;
}

// Splits the target into path and query; the path is percent-decoded. An absolute-form target
// ("http://host/p", sent to proxies) is reduced to its path.
void split_target(request& rq) {
  std::string_view t = rq.target;
  if (!t.empty() && t[0] != '/' && t != "*") {
    std::size_t scheme = t.find("://");
    if (scheme != std::string_view::npos) {
      std::size_t slash = t.find('/', scheme + 3);
      t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
    }
  }
  std::size_t hash = t.find('#');
  if (hash != std::string_view::npos) t = t.substr(0, hash);
  std::size_t q = t.find('?');
  std::string_view path = t.substr(0, q);
  if (q != std::string_view::npos) rq.query.assign(t.substr(q + 1));
  if (path.find('%') == std::string_view::npos)
    rq.path.assign(path);
  else
    rq.path = percent_decode(path, false);
}

int on_message_begin(http_parser* p) {
  of(p).node.mid_message = true;
  return 0;
}

int on_url(http_parser* p, const char* at, std::size_t len) {
  of(p).rq.target.append(at, len);
  return 0;
}

int on_header_field(http_parser* p, const char* at, std::size_t len) {
  connection& c = of(p);
  if (c.in_value) push_header(c);
  c.field.append(at, len);
  return 0;
}

int on_header_value(http_parser* p, const char* at, std::size_t len) {
  connection& c = of(p);
  c.in_value = true;
  c.value.append(at, len);
  return 0;
}

int on_headers_complete(http_parser* p) {
  connection& c = of(p);
  if (c.in_value || !c.field.empty()) push_header(c);
  request& rq = c.rq;
  rq.method = http_method_str(static_cast<http_method>(p->method));
  c.http10 = p->http_major == 1 && p->http_minor == 0;
  if (p->http_major == 1 && p->http_minor == 1)
    rq.version = "HTTP/1.1";
  else if (c.http10)
    rq.version = "HTTP/1.0";
  else
    rq.version = "HTTP/" + std::to_string(p->http_major) + "." + std::to_string(p->http_minor);
  // An upgrade (or CONNECT) would switch protocols after this message: not served, so the
  // connection ends after the answer.
  c.keep_alive = http_should_keep_alive(p) != 0 && p->upgrade == 0;
  split_target(rq);

  const std::size_t max = c.s.opts.max_body_size;
  const bool has_length = (p->flags & F_CONTENTLENGTH) != 0;
  if (has_length && p->content_length > max) {
    c.reject = 413;  // refused before the body is read (and before any 100 Continue)
    return -1;
  }
  const bool body_follows = (has_length && p->content_length > 0) || (p->flags & F_CHUNKED);
  if (body_follows && p->http_major == 1 && p->http_minor >= 1) {
    std::optional<std::string_view> expect = rq.headers.get("Expect");
    if (expect && iequals(*expect, "100-continue") && !c.node.writer.is_closing())
      c.node.writer.write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  if (has_length) rq.body.reserve(static_cast<std::size_t>(p->content_length));
  return 0;
}

int on_body(http_parser* p, const char* at, std::size_t len) {
  connection& c = of(p);
  if (c.rq.body.size() + len > c.s.opts.max_body_size) {
    c.reject = 413;  // a chunked body grew past the limit
    return -1;
  }
  c.rq.body.append(at, len);
  return 0;
}

int on_message_complete(http_parser* p) {
  connection& c = of(p);
  c.node.mid_message = false;
  c.complete = true;
  http_parser_pause(p, 1);  // hand this request over before parsing the next (pipelining)
  return 0;
}

http_parser_settings make_settings() noexcept {
  http_parser_settings s{};
  s.on_message_begin = on_message_begin;
  s.on_url = on_url;
  s.on_header_field = on_header_field;
  s.on_header_value = on_header_value;
  s.on_headers_complete = on_headers_complete;
  s.on_body = on_body;
  s.on_message_complete = on_message_complete;
  return s;
}
const http_parser_settings settings = make_settings();

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

bool is_framing(std::string_view name) noexcept {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Connection");
}

// Builds the status line and head into c.out (and the body, if small). Returns true if the body
// still has to be written on its own. Content-Length, Transfer-Encoding and Connection are the
// server's to set: a handler's are dropped.
bool build_response(connection& c, const response& r, bool head, bool keep) {
  std::string& out = c.out;
  out.clear();
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(std::clamp(r.status(), 0, 999)));
  out += ' ';
  out += r.reason();
  out += "\r\n";
  bool has_server = false;
  for (const auto& [name, value] : r.headers()) {
    if (is_framing(name)) continue;
    if (!has_server && iequals(name, "Server")) has_server = true;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!has_server) out += "Server: tandem\r\n";
  // RFC 9110 6.4.1: 1xx, 204 and 304 carry no body (and 1xx/204 no Content-Length).
  const int st = r.status();
  const bool no_body = st < 200 || st == 204 || st == 304;
  if (st >= 200 && st != 204) {
    out += "Content-Length: ";
    append_number(out, r.bytes().size());
    out += "\r\n";
  }
  if (!keep)
    out += "Connection: close\r\n";
  else if (c.http10)
    out += "Connection: keep-alive\r\n";
  out += "\r\n";
  if (head || no_body) return false;
  if (r.bytes().size() <= inline_body_max) {
    out += r.bytes();
    return false;
  }
  return true;
}

response error_response(int status) {
  std::string body = std::to_string(status);
  body += ' ';
  body += reason_phrase(status);
  body += '\n';
  return response(status, std::move(body));
}

// Writes a response; waits (as a "writing" connection the sweep can time out) only when the
// peer is behind by more than the writer's high-water mark. False if the connection is gone.
aio::task<bool> send(connection& c, const response& r, bool head, bool keep) {
  const aio::stream_writer& w = c.node.writer;
  if (w.is_closing()) co_return false;
  bool body_apart = build_response(c, r, head, keep);
  w.write(c.out);
  if (body_apart) w.write(r.bytes());
  ++c.s.stats.requests;
  if (w.buffer_size() > 0) {
    c.node.ph = server_connection::phase::writing;
    c.node.deadline_ns = server_state::deadline_after(c.s.opts.read_timeout);
    co_await w.drain();
  }
  co_return !w.is_closing();
}

// Routes the request and calls its handler; the answer of a handler that throws is a 500 (the
// exception goes to the unraisable hook). Returns the response and whether it is a HEAD.
aio::task<response> dispatch(connection& c, bool& head) {
  request& rq = c.rq;
  head = rq.method == "HEAD";
  route_match m = c.s.routes.match(rq.method, rq.path, rq.params);
  if (!m.h) {
    response r = error_response(m.status);
    if (m.status == 405) r.headers().add("Allow", std::move(m.allow));
    co_return r;
  }
  bool failed = false;
  response r;
  try {
    r = co_await (*m.h)(std::move(rq));
  } catch (const cancelled_error&) {
    throw;  // an outcome (shutdown_timeout), not a failure: the connection ends
  } catch (...) {
    report_unraisable(std::current_exception(), *m.where);
    failed = true;
  }
  if (failed) {
    ++c.s.stats.handler_errors;
    r = error_response(500);
  }
  co_return r;
}

// Answers a request that did not parse (400) or fit (413), then closes gracefully: shut down our
// side, then read and drop what the peer still sends until it closes or the deadline passes.
aio::task<void> refuse(connection& c, const aio::stream_reader& reader, int status) {
  ++c.s.stats.bad_requests;
  response r = error_response(status);
  if (!co_await send(c, r, false, false)) co_return;
  const aio::stream_writer& w = c.node.writer;
  if (w.can_write_eof()) w.write_eof();
  c.node.ph = server_connection::phase::writing;  // timed out by the sweep as any other wait
  c.node.deadline_ns = server_state::deadline_after(std::min(c.s.opts.read_timeout, linger_max));
  while (!w.is_closing()) {
    std::string dropped = co_await reader.read(read_size);
    if (dropped.empty()) break;
  }
}

aio::task<void> run(connection& c, aio::stream_reader reader) {
  std::string in;  // bytes read; in[pos..] not parsed yet
  std::size_t pos = 0;
  c.node.deadline_ns = server_state::deadline_after(c.s.opts.read_timeout);
  for (;;) {
    if (pos == in.size()) {
      if (c.s.stopping && !c.node.mid_message) co_return;  // between requests: close
      c.node.waiting_read = true;
      in = co_await reader.read(read_size);
      c.node.waiting_read = false;
      pos = 0;
      // End of stream: the peer closed (or the sweep or shutdown closed us). A request cut off
      // has no one left to answer.
      if (in.empty()) co_return;
    }
    pos += http_parser_execute(&c.parser, &settings, in.data() + pos, in.size() - pos);
    if (c.complete) {
      c.complete = false;
      http_parser_pause(&c.parser, 0);
      c.node.ph = server_connection::phase::handling;
      bool head = false;
      response r = co_await dispatch(c, head);
      bool keep = c.keep_alive && !c.s.stopping;
      if (!co_await send(c, r, head, keep) || !keep) co_return;
      c.rq = request();
      c.node.ph = server_connection::phase::reading;
      c.node.deadline_ns = server_state::deadline_after(c.s.opts.read_timeout);
      continue;
    }
    if (HTTP_PARSER_ERRNO(&c.parser) != HPE_OK) {
      co_await refuse(c, reader, c.reject != 0 ? c.reject : 400);
      co_return;
    }
  }
}

}  // namespace

aio::task<void> serve_connection(std::weak_ptr<server_state> state, aio::stream_reader reader,
                                 aio::stream_writer writer) {
  std::shared_ptr<server_state> s = state.lock();
  if (!s || s->stopping) co_return;  // aio's client task closes the socket
  ++s->stats.connections;
  connection c(*s, std::move(writer));
  c.node.task = aio::current_task();
  try {
    co_await run(c, std::move(reader));
  } catch (const std::system_error&) {
    // The peer reset the connection (ECONNRESET, EPIPE) mid-read or mid-write: nothing is left
    // to answer, and it is no error of the server's.
  }
}

}  // namespace tandem::http::detail
