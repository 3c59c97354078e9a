// A TCP echo server and its clients on one event loop: the classic asyncio streams example.
// Python: asyncio.start_server(handle, host, port) / asyncio.open_connection(host, port).
//
// The server echoes each line it reads; 50 clients connect at once, each sends 20 lines and
// checks every answer; then the server stops listening and waits for its connections to end.
#include <cstdio>
#include <string>
#include <vector>

#include "tandem/aio/gather.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/streams.hpp"

namespace aio = tandem::aio;

namespace {

// One connection (asyncio: `async def handle(reader, writer)`). Runs as its own task; when it
// returns, the server closes the connection.
aio::task<void> handle(aio::stream_reader reader, aio::stream_writer writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;  // the client closed its side
    writer.write(line);
    co_await writer.drain();  // back-pressure: waits only if the client stops reading
  }
}

// A client: sends `lines` lines, checks each echo; returns how many came back right.
aio::task<int> client(std::uint16_t port, int id, int lines) {
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
  int right = 0;
  for (int i = 0; i < lines; ++i) {
    std::string msg = "client " + std::to_string(id) + " line " + std::to_string(i) + "\n";
    writer.write(msg);
    if (co_await reader.readline() == msg) ++right;
  }
  writer.close();
  co_await writer.wait_closed();
  co_return right;
}

aio::task<int> demo() {
  constexpr int clients = 50;
  constexpr int lines = 20;
  // Port 0: the kernel picks a free port; server.port() says which.
  aio::server server = co_await aio::start_server(handle, "127.0.0.1", 0);
  std::printf("echo server on 127.0.0.1:%u\n", static_cast<unsigned>(server.port()));

  std::vector<aio::task<int>> work;
  for (int id = 0; id < clients; ++id) work.push_back(client(server.port(), id, lines));
  std::vector<int> right = co_await aio::gather(std::move(work));
  int total = 0;
  for (int r : right) total += r;
  std::printf("%d clients, %d of %d lines echoed back intact\n", clients, total, clients * lines);

  server.close();                 // stop listening
  co_await server.wait_closed();  // every handler has finished
  co_return total == clients* lines ? 0 : 1;
}

}  // namespace

int main() { return aio::run(demo()); }
