// Streams over loopback TCP, Unix sockets, socketpairs and pipes. Every network test binds
// 127.0.0.1 port 0, bounds its loops, closes what it opens; the fixture checks that no fd leaked.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "fd_leak_check.hpp"
#include "tandem/aio.hpp"
#include "tandem/aio/streams.hpp"
#include "test_support.hpp"

namespace aio = tandem::aio;

namespace {

class Streams : public tandem::test::fd_leak_check {};

// ---------------------------------------------------------------- handlers and helpers

// Echoes lines until end of stream.
aio::task<void> echo_lines(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) break;
    w.write(line);
    co_await w.drain();
  }
}

// Echoes bytes until end of stream.
aio::task<void> echo_bytes(aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string data = co_await r.read(64 * 1024);
    if (data.empty()) break;
    w.write(data);
    co_await w.drain();
  }
}

// Writes `payload`, then ends the sending side (the reading side stays open).
aio::task<void> send_and_close(std::string payload, aio::stream_reader, aio::stream_writer w) {
  w.write(payload);
  co_await w.drain();
  w.write_eof();
}

aio::task<void> do_nothing_handler(aio::stream_reader, aio::stream_writer) { co_return; }

// A port nobody listens on: bind port 0, read it, close.
std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// ---------------------------------------------------------------- round trips

aio::task<void> round_trip() {
  aio::server srv = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
  EXPECT_TRUE(srv.is_serving());
  EXPECT_NE(srv.port(), 0);
  EXPECT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets().at(0).host, "127.0.0.1");
  auto [r, w] = co_await aio::open_connection("127.0.0.1", srv.port());
  auto peer = w.peername();
  EXPECT_TRUE(peer && peer->host == "127.0.0.1" && peer->port == srv.port());
  EXPECT_EQ(w.get_extra_info("sockname")->host, "127.0.0.1");
  EXPECT_FALSE(w.get_extra_info("nonsense"));
  w.write("hello\n");
  w.writelines({"wor", "ld\n"});
  EXPECT_EQ(co_await r.readline(), "hello\n");
  EXPECT_EQ(co_await r.readline(), "world\n");
  w.write_eof();  // the server sees end of stream, returns, and closes its side
  EXPECT_EQ(co_await r.read(), "");
  EXPECT_TRUE(r.at_eof());
  w.close();
  co_await w.wait_closed();
  EXPECT_TRUE(w.is_closing());
  srv.close();
  co_await srv.wait_closed();
  EXPECT_FALSE(srv.is_serving());
}

TEST_F(Streams, EchoRoundTrip) { aio::run(round_trip()); }

aio::task<void> resolve_localhost() {
  // A name goes through getaddrinfo on the default executor; "localhost" is in /etc/hosts.
  aio::server srv = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("localhost", srv.port());
  w.write("x\n");
  EXPECT_EQ(co_await r.readline(), "x\n");
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, ResolvesNamesOffTheLoopThread) { aio::run(resolve_localhost()); }

aio::task<void> big_transfer() {
  aio::server srv = co_await aio::start_server(echo_bytes, "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", srv.port());
  std::string payload(8 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7919) >> 3);
  // Write everything first: far more than both kernel buffers hold, so the client's writer and
  // the server's echo both buffer, and drain() must wait for the reader below.
  auto writer = aio::create_task(send_and_close(payload, r, w));
  std::string got = co_await r.readexactly(payload.size());
  EXPECT_TRUE(got == payload);
  co_await writer;
  EXPECT_EQ(co_await r.read(), "");  // the server saw our EOF and closed
  w.close();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, BigTransferKeepsEveryByte) { aio::run(big_transfer()); }

// ---------------------------------------------------------------- reader semantics

aio::task<void> reader_semantics() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0], {.limit = 16});
  auto b = aio::open_fd(sv[1]);
  b.writer.write("abc|defgh|");
  EXPECT_EQ(co_await a.reader.readuntil("|"), "abc|");
  EXPECT_EQ(co_await a.reader.readexactly(3), "def");
  EXPECT_EQ(co_await a.reader.read(100), "gh|");
  EXPECT_EQ(co_await a.reader.read(0), "");
  // A separator split across two writes.
  b.writer.write("xy\r");
  auto pending = aio::create_task(a.reader.readuntil("\r\n"));
  co_await aio::sleep(0.01);
  EXPECT_FALSE(pending.done());
  b.writer.write("\nrest");
  EXPECT_EQ(co_await pending, "xy\r\n");
  // readuntil past the limit: the bytes stay buffered.
  b.writer.write(std::string(40, 'z'));
  co_await aio::sleep(0.01);
  bool overrun = false;
  try {
    (void)co_await a.reader.readuntil("|");
  } catch (const aio::limit_overrun_error& e) {
    overrun = true;
    EXPECT_GT(e.consumed(), 16u);
  }
  EXPECT_TRUE(overrun);
  EXPECT_EQ(co_await a.reader.read(4), "rest");
  EXPECT_LE(a.reader.buffered(), 16u + 1u);  // limit + separator length: never more buffered
  (void)co_await a.reader.readexactly(40);   // every z
  // readline on an over-long line drops what it examined (17 bytes here), as asyncio does.
  b.writer.write("0123456789abcdefghij\nshort\n");
  overrun = false;
  try {
    (void)co_await a.reader.readline();
  } catch (const aio::limit_overrun_error&) {
    overrun = true;
  }
  EXPECT_TRUE(overrun);
  EXPECT_EQ(co_await a.reader.readline(), "hij\n");
  EXPECT_EQ(co_await a.reader.readline(), "short\n");
  // readexactly at end of stream: the partial bytes come with the error.
  b.writer.write("12");
  b.writer.close();
  bool incomplete = false;
  try {
    (void)co_await a.reader.readexactly(5);
  } catch (const aio::incomplete_read_error& e) {
    incomplete = true;
    EXPECT_EQ(e.partial().find("12"), e.partial().size() - 2);
    EXPECT_EQ(e.expected(), 5u);
  }
  EXPECT_TRUE(incomplete);
  EXPECT_TRUE(a.reader.at_eof());
  EXPECT_EQ(co_await a.reader.readline(), "");
  a.writer.close();
}

TEST_F(Streams, ReaderFollowsAsyncioSemantics) { aio::run(reader_semantics()); }

aio::task<void> readuntil_at_eof() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  auto b = aio::open_fd(sv[1]);
  b.writer.write("no separator");
  b.writer.close();
  bool incomplete = false;
  try {
    (void)co_await a.reader.readuntil("\n");
  } catch (const aio::incomplete_read_error& e) {
    incomplete = true;
    EXPECT_EQ(e.partial(), "no separator");
    EXPECT_FALSE(e.expected());
  }
  EXPECT_TRUE(incomplete);
  bool invalid = false;
  try {
    (void)co_await a.reader.readuntil("");
  } catch (const std::invalid_argument&) {
    invalid = true;
  }
  EXPECT_TRUE(invalid);
  a.writer.close();
}

TEST_F(Streams, ReaduntilAtEndOfStream) { aio::run(readuntil_at_eof()); }

aio::task<void> read_all_ignores_limit() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0], {.limit = 1024});
  auto b = aio::open_fd(sv[1]);
  std::string payload(300 * 1024, 'q');
  auto sender = aio::create_task(send_and_close(payload, b.reader, b.writer));
  std::string got = co_await a.reader.read();
  EXPECT_EQ(got.size(), payload.size());
  co_await sender;
  a.writer.close();
  b.writer.close();
}

TEST_F(Streams, ReadAllReadsPastTheLimit) { aio::run(read_all_ignores_limit()); }

aio::task<void> reader_back_pressure() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0], {.limit = 1024});
  auto b = aio::open_fd(sv[1]);
  b.writer.write(std::string(1 << 20, 'p'));
  // The reader takes at most its limit from the kernel; the rest stays with the writer.
  EXPECT_EQ((co_await a.reader.read(10)).size(), 10u);
  EXPECT_LE(a.reader.buffered(), 1024u);
  EXPECT_GT(b.writer.buffer_size(), 0u);
  b.writer.abort();
  a.writer.close();
}

TEST_F(Streams, ReaderStopsReadingAtItsLimit) { aio::run(reader_back_pressure()); }

// ---------------------------------------------------------------- writer semantics

bool g_drained = false;

aio::task<void> drain_then_flag(aio::stream_writer w) {
  co_await w.drain();
  g_drained = true;
}

aio::task<void> drain_back_pressure() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  auto b = aio::open_fd(sv[1], {.limit = 1 << 20});
  a.writer.write(std::string(4 << 20, 'd'));
  EXPECT_GT(a.writer.buffer_size(), 64u * 1024);
  g_drained = false;
  auto d = aio::create_task(drain_then_flag(a.writer));
  co_await aio::sleep(0.02);
  EXPECT_FALSE(g_drained) << "drain returned while the peer read nothing";
  std::size_t got = 0;
  while (!g_drained && got < (4u << 20)) got += (co_await b.reader.read(1 << 20)).size();
  co_await d;
  EXPECT_TRUE(g_drained);
  EXPECT_LE(a.writer.buffer_size(), 16u * 1024);
  // Below the high-water mark drain returns at once.
  a.writer.write("small");
  co_await a.writer.drain();
  a.writer.close();
  b.writer.close();
}

TEST_F(Streams, DrainSuspendsAboveTheHighWaterMark) { aio::run(drain_back_pressure()); }

aio::task<void> close_flushes_after_handles_die() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto b = aio::open_fd(sv[1], {.limit = 1 << 20});
  {
    auto a = aio::open_fd(sv[0]);
    a.writer.write(std::string(2 << 20, 'c'));
    a.writer.close();  // the stream keeps itself alive until flushed
  }
  std::string all = co_await b.reader.read();
  EXPECT_EQ(all.size(), 2u << 20);
  b.writer.close();
}

TEST_F(Streams, CloseFlushesEvenWhenEveryHandleIsGone) {
  aio::run(close_flushes_after_handles_die());
}

aio::task<void> write_after_close_is_an_error() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  auto b = aio::open_fd(sv[1]);
  a.writer.close();
  EXPECT_THROW(a.writer.write("x"), tandem::invalid_state_error);
  EXPECT_EQ(co_await a.reader.read(), "");  // reads on a closed stream end
  EXPECT_EQ(a.writer.fd(), -1);
  EXPECT_FALSE(a.writer.peername());
  b.writer.close();
}

TEST_F(Streams, WriteAfterCloseIsAnError) { aio::run(write_after_close_is_an_error()); }

// ---------------------------------------------------------------- errors

aio::task<void> refused(std::uint16_t port) {
  bool caught = false;
  try {
    (void)co_await aio::open_connection("127.0.0.1", port);
  } catch (const std::system_error& e) {
    caught = true;
    EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
  }
  EXPECT_TRUE(caught);
}

TEST_F(Streams, ConnectionRefusedIsASystemError) { aio::run(refused(unused_port())); }

aio::task<void> reset_by_peer() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  ::close(sv[1]);  // the peer is gone: writing fails with EPIPE, never SIGPIPE
  bool caught = false;
  for (int i = 0; i < 4 && !caught; ++i) {
    a.writer.write(std::string(1 << 16, 'x'));
    try {
      co_await a.writer.drain();
    } catch (const std::system_error& e) {
      caught = true;
      EXPECT_TRUE(e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset)
          << e.what();
    }
  }
  EXPECT_TRUE(caught);
  EXPECT_TRUE(a.writer.is_closing());
  a.writer.write("ignored after the failure");
  co_await a.writer.wait_closed();
}

TEST_F(Streams, WritingToAGonePeerFailsWithoutSigpipe) { aio::run(reset_by_peer()); }

aio::task<void> tcp_reset() {
  aio::server srv = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", srv.port());
  // Abort the connection from our side with an RST, leaving unread data at the server: the
  // server's handler sees the reset as a std::system_error from readline and the server goes on.
  w.write("partial line without newline");
  co_await aio::sleep(0.01);
  linger lg{1, 0};
  ::setsockopt(w.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  w.abort();
  // The server still serves.
  auto [r2, w2] = co_await aio::open_connection("127.0.0.1", srv.port());
  w2.write("still here\n");
  EXPECT_EQ(co_await r2.readline(), "still here\n");
  w2.close();
  co_await w2.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, ServerSurvivesAResetConnection) {
  tandem::test::unraisable_capture cap;  // the handler's ECONNRESET is reported, not fatal
  aio::run(tcp_reset());
  for (const auto& m : cap.messages()) EXPECT_NE(m.find("client handler"), std::string::npos) << m;
}

aio::task<void> read_reset() {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(::listen(lfd, 4), 0);
  EXPECT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", ntohs(a.sin_port));
  int peer = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  linger lg{1, 0};
  ::setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(peer);  // RST
  bool caught = false;
  try {
    (void)co_await r.read(10);
  } catch (const std::system_error& e) {
    caught = true;
    EXPECT_EQ(e.code(), std::errc::connection_reset) << e.what();
  }
  EXPECT_TRUE(caught);
  EXPECT_THROW((void)co_await r.read(10), std::system_error);  // the same error again
  ::close(lfd);
}

TEST_F(Streams, ResetIsReportedToTheReader) { aio::run(read_reset()); }

// ---------------------------------------------------------------- cancellation

aio::task<void> cancelled_read_consumes_nothing() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  auto b = aio::open_fd(sv[1]);
  auto reading = aio::create_task(a.reader.readexactly(6));
  b.writer.write("abc");
  co_await aio::sleep(0.01);
  reading.cancel();
  bool cancelled = false;
  try {
    (void)co_await reading;
  } catch (const tandem::cancelled_error&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  b.writer.write("def");
  EXPECT_EQ(co_await a.reader.readexactly(6), "abcdef");
  a.writer.close();
  b.writer.close();
}

TEST_F(Streams, CancelledReadConsumesNothing) { aio::run(cancelled_read_consumes_nothing()); }

aio::task<void> two_readers() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  auto b = aio::open_fd(sv[1]);
  auto first = aio::create_task(a.reader.read(1));
  co_await aio::sleep(0.01);
  EXPECT_THROW((void)co_await a.reader.read(1), tandem::invalid_state_error);
  b.writer.write("z");
  EXPECT_EQ(co_await first, "z");
  a.writer.close();
  b.writer.close();
}

TEST_F(Streams, OnlyOneReaderWaitsAtATime) { aio::run(two_readers()); }

// ---------------------------------------------------------------- pipes (subprocess reuses this)

aio::task<void> pipes() {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  aio::stream_reader r = aio::stream_reader::from_fd(p[0]);
  aio::stream_writer w = aio::stream_writer::from_fd(p[1]);
  EXPECT_FALSE(w.can_write_eof());
  EXPECT_FALSE(w.peername());
  EXPECT_NE(::fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(p[1], F_GETFD) & FD_CLOEXEC, 0);
  w.write("line one\nline two\n");
  EXPECT_EQ(co_await r.readline(), "line one\n");
  w.close();
  co_await w.wait_closed();
  EXPECT_EQ(co_await r.read(), "line two\n");
  EXPECT_TRUE(r.at_eof());
  // Writing into a pipe nobody reads: EPIPE, not SIGPIPE.
  int q[2];
  EXPECT_EQ(::pipe(q), 0);
  aio::stream_writer orphan = aio::stream_writer::from_fd(q[1]);
  ::close(q[0]);
  orphan.write("x");
  EXPECT_THROW(co_await orphan.drain(), std::system_error);
}

TEST_F(Streams, ReaderAndWriterOverPipes) { aio::run(pipes()); }

aio::task<void> half_close() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto a = aio::open_fd(sv[0]);
  auto b = aio::open_fd(sv[1]);
  EXPECT_TRUE(a.writer.can_write_eof());
  a.writer.write("request");
  a.writer.write_eof();
  EXPECT_EQ(co_await b.reader.read(), "request");  // b sees end of stream...
  b.writer.write("response");                      // ...and can still answer
  b.writer.close();
  EXPECT_EQ(co_await a.reader.read(), "response");
  a.writer.close();
}

TEST_F(Streams, WriteEofHalfCloses) { aio::run(half_close()); }

// ---------------------------------------------------------------- servers

aio::task<void> unix_round_trip(std::string path) {
  aio::server srv = co_await aio::start_unix_server(echo_lines, path);
  EXPECT_EQ(srv.port(), 0);
  EXPECT_EQ(srv.sockets().size(), 1u);
  EXPECT_EQ(srv.sockets().at(0).path, path);
  auto [r, w] = co_await aio::open_unix_connection(path);
  w.write("over unix\n");
  EXPECT_EQ(co_await r.readline(), "over unix\n");
  w.close();
  co_await w.wait_closed();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, UnixServerRemovesItsSocketFile) {
  std::string path = "/tmp/tandem-streams-test-" + std::to_string(::getpid()) + ".sock";
  // A stale socket file from an earlier run is replaced.
  int stale = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  ::close(stale);
  aio::run(unix_round_trip(path));
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket file is still there";
}

aio::task<void> refused_unix() {
  EXPECT_THROW((void)co_await aio::open_unix_connection("/tmp/tandem-no-such-socket"),
               std::system_error);
}

TEST_F(Streams, UnixConnectToNothingFails) { aio::run(refused_unix()); }

int g_handlers_started = 0;

aio::task<void> wait_for_eof(aio::stream_reader r, aio::stream_writer) {
  ++g_handlers_started;
  (void)co_await r.read();  // until the server closes us (close_clients)
}

aio::task<void> close_and_close_clients() {
  g_handlers_started = 0;
  aio::server srv = co_await aio::start_server(wait_for_eof, "127.0.0.1", 0);
  std::vector<aio::connection> clients;
  for (int i = 0; i < 3; ++i)
    clients.push_back(co_await aio::open_connection("127.0.0.1", srv.port()));
  for (int i = 0; i < 100 && g_handlers_started < 3; ++i) co_await aio::sleep(0.005);
  EXPECT_EQ(g_handlers_started, 3);
  EXPECT_EQ(srv.active_connections(), 3u);
  srv.close();
  EXPECT_FALSE(srv.is_serving());
  EXPECT_TRUE(srv.sockets().empty());
  // Closed for new connections, but the old ones go on until close_clients().
  auto waiting = aio::create_task(srv.wait_closed());
  co_await aio::sleep(0.02);
  EXPECT_FALSE(waiting.done());
  srv.close_clients();
  co_await waiting;
  EXPECT_EQ(srv.active_connections(), 0u);
  for (auto& c : clients) {
    EXPECT_EQ(co_await c.reader.read(), "");  // the server closed them
    c.writer.close();
  }
  bool refused = false;
  try {
    (void)co_await aio::open_connection("127.0.0.1", srv.port());
  } catch (const std::system_error&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
}

TEST_F(Streams, ServerCloseThenCloseClients) { aio::run(close_and_close_clients()); }

aio::task<void> throwing_handler(aio::stream_reader r, aio::stream_writer) {
  (void)co_await r.readline();
  throw std::runtime_error("handler failed");
}

aio::task<void> handler_errors_are_reported() {
  aio::server srv = co_await aio::start_server(throwing_handler, "127.0.0.1", 0);
  auto [r, w] = co_await aio::open_connection("127.0.0.1", srv.port());
  w.write("boom\n");
  EXPECT_EQ(co_await r.read(), "");  // the server closed the connection after the error
  w.close();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, HandlerExceptionIsReportedAndTheConnectionClosed) {
  tandem::test::unraisable_capture cap;
  aio::run(handler_errors_are_reported());
  auto m = cap.messages();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NE(m[0].find("handler failed"), std::string::npos) << m[0];
}

aio::task<void> many_clients(int n) {
  aio::server srv = co_await aio::start_server(echo_lines, "127.0.0.1", 0, {.backlog = 16});
  std::vector<aio::connection> clients;
  for (int i = 0; i < n; ++i)
    clients.push_back(co_await aio::open_connection("127.0.0.1", srv.port()));
  for (int i = 0; i < n; ++i)
    clients[static_cast<std::size_t>(i)].writer.write(std::to_string(i) + "\n");
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(co_await clients[static_cast<std::size_t>(i)].reader.readline(),
              std::to_string(i) + "\n");
  for (auto& c : clients) c.writer.close();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, ManyClientsAtOnce) { aio::run(many_clients(300)); }

aio::task<void> dropped_server_stops_listening() {
  std::uint16_t port = 0;
  {
    aio::server srv = co_await aio::start_server(do_nothing_handler, "127.0.0.1", 0);
    port = srv.port();
  }
  EXPECT_THROW((void)co_await aio::open_connection("127.0.0.1", port), std::system_error);
}

TEST_F(Streams, DestroyingTheServerCloses) { aio::run(dropped_server_stops_listening()); }

aio::task<void> address_in_use() {
  aio::server srv = co_await aio::start_server(do_nothing_handler, "127.0.0.1", 0);
  bool caught = false;
  try {
    (void)co_await aio::start_server(do_nothing_handler, "127.0.0.1", srv.port());
  } catch (const std::system_error& e) {
    caught = true;
    EXPECT_EQ(e.code(), std::errc::address_in_use);
  }
  EXPECT_TRUE(caught);
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, BindingABusyPortFails) { aio::run(address_in_use()); }

// ---------------------------------------------------------------- accept under EMFILE

// Restores RLIMIT_NOFILE on scope exit.
class nofile_limit {
 public:
  nofile_limit() { ::getrlimit(RLIMIT_NOFILE, &saved_); }
  ~nofile_limit() { restore(); }
  nofile_limit(const nofile_limit&) = delete;
  nofile_limit& operator=(const nofile_limit&) = delete;
  void lower_to(rlim_t soft) {
    rlimit r = saved_;
    r.rlim_cur = soft;
    EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &r), 0);
  }
  void restore() { ::setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

int highest_fd() {
  int top = -1;
  for (int fd = 0; fd < 65536; ++fd)
    if (::fcntl(fd, F_GETFD) != -1) top = fd;
  return top;
}

int raw_connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

aio::task<void> accept_backs_off(nofile_limit& limit) {
  constexpr int clients = 3;
  aio::server srv =
      co_await aio::start_server(echo_lines, "127.0.0.1", 0, {.accept_retry_delay = 0.05});
  // One round trip and one sleep while fds are free: UBSan checks an object's vptr the first
  // time it sees its type, testing the memory through a pipe, which fails (a false report) once
  // no fd is left; this lets it meet every type the accept path uses first.
  {
    auto warm = co_await aio::open_connection("127.0.0.1", srv.port());
    warm.writer.write("warm\n");
    EXPECT_EQ(co_await warm.reader.readline(), "warm\n");
    warm.writer.close();
    co_await warm.writer.wait_closed();
  }
  for (int i = 0; i < 200 && srv.active_connections() > 0; ++i) co_await aio::sleep(0.005);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // No suspension from here to the sleep: the accept loop cannot take a slot meanwhile.
  limit.lower_to(static_cast<rlim_t>(highest_fd() + 1 + clients));
  std::vector<int> raw;
  for (int i = 0; i < clients; ++i) raw.push_back(raw_connect(srv.port()));
  for (int fd : raw) EXPECT_GE(fd, 0);
  std::vector<int> fillers;  // take the holes below the limit too: no fd left for accept()
  for (int fd; fillers.size() < 65536 && (fd = ::dup(null_fd)) >= 0;) fillers.push_back(fd);
  EXPECT_EQ(errno, EMFILE);
  double cpu0 = cpu_seconds();
  co_await aio::sleep(0.3);
  double spent = cpu_seconds() - cpu0;
  EXPECT_LT(spent, 0.1) << "the accept loop spun on EMFILE";
  EXPECT_EQ(srv.active_connections(), 0u);
  EXPECT_TRUE(srv.is_serving());
  limit.restore();
  for (int fd : fillers) ::close(fd);
  ::close(null_fd);
  std::vector<aio::connection> conns;
  for (int fd : raw) conns.push_back(aio::open_fd(fd));
  for (int i = 0; i < clients; ++i)
    conns[static_cast<std::size_t>(i)].writer.write("again " + std::to_string(i) + "\n");
  for (int i = 0; i < clients; ++i)
    EXPECT_EQ(co_await conns[static_cast<std::size_t>(i)].reader.readline(),
              "again " + std::to_string(i) + "\n");
  for (auto& c : conns) c.writer.close();
  srv.close();
  co_await srv.wait_closed();
}

TEST_F(Streams, AcceptBacksOffOnEmfileAndRecovers) {
  nofile_limit limit;
  aio::run(accept_backs_off(limit));
}

// ---------------------------------------------------------------- accept batches

aio::server* g_batch_server = nullptr;
std::size_t g_active_seen_by_first_handler = 0;

aio::task<void> note_active_connections(aio::stream_reader r, aio::stream_writer) {
  if (g_handlers_started++ == 0)
    g_active_seen_by_first_handler = g_batch_server->active_connections();
  (void)co_await r.read();  // until the client closes
}

// Connections accepted in one batch count from their accept, not from their handler's first
// step: otherwise wait_closed() could return while a handler accepted with them has yet to run.
aio::task<void> accepted_batch_counts_at_once() {
  g_handlers_started = 0;
  aio::server srv = co_await aio::start_server(note_active_connections, "127.0.0.1", 0);
  g_batch_server = &srv;
  // Blocking connects complete in the kernel's backlog before the loop runs again, so the
  // server accepts all three in one batch.
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) fds.push_back(raw_connect(srv.port()));
  for (int i = 0; i < 200 && g_handlers_started < 3; ++i) co_await aio::sleep(0.005);
  EXPECT_EQ(g_handlers_started, 3);
  EXPECT_EQ(g_active_seen_by_first_handler, 3u);
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  srv.close();
  co_await srv.wait_closed();
  EXPECT_EQ(srv.active_connections(), 0u);
  g_batch_server = nullptr;
}

TEST_F(Streams, ConnectionsCountFromTheirAccept) { aio::run(accepted_batch_counts_at_once()); }

}  // namespace
