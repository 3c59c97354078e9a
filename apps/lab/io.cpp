#include "lab/io.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lab/async_workload.hpp"
#include "lab/methods.hpp"
#include "lab/report.hpp"
#include "lab/verdict.hpp"
#include "tandem/aio/event.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/streams.hpp"

namespace tandem::lab {

// ------------------------------------------------------------------ the server

struct latency_server::control {
  std::mutex mu;
  aio::loop* loop = nullptr;    // guarded by mu; set while the server's loop runs
  aio::event* stop = nullptr;   // guarded by mu; lives on the server's loop
  bool stop_requested = false;  // guarded by mu
  std::promise<std::uint16_t> ready;
};

namespace {

// Parses the decimal number at the start of `line`; nullopt if there is none.
std::optional<std::uint64_t> parse_number(std::string_view line) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
  if (ec != std::errc() || end == line.data()) return std::nullopt;
  return v;
}

// One connection of the server: answers every line after the latency, until end of stream.
aio::task<void> answer_requests(double latency_s, aio::stream_reader r, aio::stream_writer w) {
  for (;;) {
    std::string line = co_await r.readline();
    if (line.empty()) co_return;
    auto v = parse_number(line);
    co_await aio::sleep(latency_s);
    w.write(v ? std::to_string(*v + 1) + "\n" : std::string("error\n"));
    co_await w.drain();
  }
}

aio::task<void> serve(std::shared_ptr<latency_server::control> c, double latency_s) {
  // A backlog of 4096 (Linux's default somaxconn): 1,000 clients connecting at once must not
  // overflow the accept queue, where a dropped SYN costs a 1 s retransmission.
  aio::server srv = co_await aio::start_server(std::bind_front(answer_requests, latency_s),
                                               "127.0.0.1", 0, {.backlog = 4096});
  aio::event stop;
  // Publishes the loop for the destructor's stop request while this frame lives.
  struct published {
    explicit published(latency_server::control& ctl, aio::event& ev) : c(ctl) {
      std::lock_guard lk(c.mu);
      c.loop = &aio::get_running_loop();
      c.stop = &ev;
      if (c.stop_requested) ev.set();
    }
    ~published() {
      std::lock_guard lk(c.mu);
      c.loop = nullptr;
      c.stop = nullptr;
    }
    published(const published&) = delete;
    published& operator=(const published&) = delete;
    latency_server::control& c;
  } publish(*c, stop);
  c->ready.set_value(srv.port());
  co_await stop.wait();
  srv.close();
  srv.abort_clients();
  co_await srv.wait_closed();
}

void server_thread(std::shared_ptr<latency_server::control> c, double latency_s) {
  try {
    aio::run(serve(c, latency_s));
  } catch (...) {
    try {
      c->ready.set_exception(std::current_exception());
    } catch (const std::future_error&) {  // started fine and failed later: nobody to tell
      report_unraisable(std::current_exception(), "tandem-lab io server");
    }
  }
}

}  // namespace

latency_server::latency_server(std::uint32_t latency_ms) : c_(std::make_shared<control>()) {
  std::future<std::uint16_t> ready = c_->ready.get_future();
  std::thread(server_thread, c_, static_cast<double>(latency_ms) / 1000.0).swap(thread_);
  try {
    port_ = ready.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

latency_server::~latency_server() {
  {
    std::lock_guard lk(c_->mu);
    c_->stop_requested = true;
    if (c_->loop) {
      aio::event* stop = c_->stop;
      c_->loop->call_soon_threadsafe([stop] { stop->set(); });
    }
  }
  thread_.join();
}

namespace {

// ------------------------------------------------------------------ blocking clients

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

int connect_blocking(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("io: socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    throw_errno("io: connect");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One request on a blocking socket: send the line, read the answer line.
std::uint64_t request_blocking(int fd, std::size_t i) {
  std::string line = std::to_string(i) + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("io: send");
    sent += static_cast<std::size_t>(n);
  }
  char buf[32];
  std::size_t got = 0;
  while (got == 0 || buf[got - 1] != '\n') {
    if (got == sizeof buf) throw std::runtime_error("io: answer too long");
    ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("io: recv");
    if (n == 0) throw std::runtime_error("io: the server closed the connection");
    got += static_cast<std::size_t>(n);
  }
  auto v = parse_number({buf, got});
  if (!v) throw std::runtime_error("io: malformed answer");
  return *v;
}

// Blocking connections to the server, reused across tasks and runs: a task takes an idle one
// (or opens one), so a pool of n threads ends up with n connections, as a real client's
// connection pool would.
class connection_pool {
 public:
  explicit connection_pool(std::uint16_t port) : port_(port) {}
  ~connection_pool() {
    for (int fd : idle_) ::close(fd);
  }
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;
  int take() {
    {
      std::lock_guard lk(mu_);
      if (!idle_.empty()) {
        int fd = idle_.back();
        idle_.pop_back();
        return fd;
      }
    }
    return connect_blocking(port_);
  }
  void give_back(int fd) {
    std::lock_guard lk(mu_);
    idle_.push_back(fd);
  }

 private:
  std::uint16_t port_;
  std::mutex mu_;
  std::vector<int> idle_;  // guarded by mu_
};

struct io_shared {
  std::shared_ptr<latency_server> server;
  connection_pool pool;
  explicit io_shared(std::shared_ptr<latency_server> s)
      : server(std::move(s)), pool(server->port()) {}
};

// ------------------------------------------------------------------ the workload

class io_session final : public async_workload::session {
 public:
  explicit io_session(aio::connection c) : c_(std::move(c)) {}
  aio::task<task_result> run_task(std::size_t i) override {
    c_.writer.write(std::to_string(i) + "\n");
    std::string answer = co_await c_.reader.readline();
    auto v = parse_number(answer);
    if (!v) throw std::runtime_error("io: malformed or missing answer");
    co_return task_result{.value = *v};
  }

 private:
  aio::connection c_;
};

aio::task<std::unique_ptr<async_workload::session>> open_io_session(std::uint16_t port) {
  aio::connection c = co_await aio::open_connection("127.0.0.1", port);
  co_return std::make_unique<io_session>(std::move(c));
}

class io_workload final : public workload, public async_workload {
 public:
  io_workload(std::shared_ptr<io_shared> s, std::size_t requests)
      : s_(std::move(s)), requests_(requests) {}
  [[nodiscard]] std::size_t task_count() const override { return requests_; }
  [[nodiscard]] task_result run_task(std::size_t i) const override {
    int fd = s_->pool.take();
    std::uint64_t v;
    try {
      v = request_blocking(fd, i);
    } catch (...) {
      ::close(fd);  // in an unknown state: never reuse it
      throw;
    }
    s_->pool.give_back(fd);
    return {.value = v};
  }
  [[nodiscard]] std::unique_ptr<workload> prefix(std::size_t n) const override {
    return std::make_unique<io_workload>(s_, std::min(n, requests_));
  }
  [[nodiscard]] std::optional<std::string> check(const answer& a) const override {
    std::uint64_t n = requests_;
    if (a.items != n || a.value != n * (n + 1) / 2)
      return fmt::format("{} requests with token sum {}, expected {} with {}", a.items, a.value, n,
                         n * (n + 1) / 2);
    return std::nullopt;
  }
  [[nodiscard]] aio::task<std::unique_ptr<session>> open_session() const override {
    return open_io_session(s_->server->port());
  }

 private:
  std::shared_ptr<io_shared> s_;
  std::size_t requests_;
};

// ------------------------------------------------------------------ the experiment

// Every connection costs the lab two fds (client and server ends). Raises the soft fd limit
// toward the hard one if `needed` is more than it allows, as servers do; returns the limit.
rlim_t ensure_fd_limit(rlim_t needed) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_cur >= needed) return r.rlim_cur;
  rlimit want = r;
  want.rlim_cur = r.rlim_max == RLIM_INFINITY ? needed : std::min(needed, r.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &want) == 0) return want.rlim_cur;
  return r.rlim_cur;
}

class io_experiment final : public experiment {
 public:
  explicit io_experiment(io_options o) : opts_(std::move(o)) {}

  [[nodiscard]] std::string name() const override { return "io"; }
  [[nodiscard]] std::string summary() const override {
    return "I/O-bound: --requests requests over loopback TCP to the lab's own aio server, which "
           "answers each after --latency-ms; sequential (a sample) vs thread_pool at 32, 128 "
           "workers vs aio at 100, 1,000 requests in flight.";
  }
  void add_options(CLI::App& cmd) override {
    cmd.add_option("--requests", opts_.requests, "number of requests")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cmd.add_option("--latency-ms", opts_.latency_ms,
                   "how long the server waits before each answer, in milliseconds")
        ->capture_default_str()
        ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{60'000}));
    cmd.add_option("--sample", opts_.sample,
                   "requests the sequential row makes (times scaled to --requests); 0: all")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}));
    cmd.add_option("--workers", opts_.workers,
                   "thread_pool widths, comma-separated (default: 32,128)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
    cmd.add_option("--concurrency", opts_.concurrency,
                   "aio requests in flight, comma-separated (default: 100,1000)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
  }
  [[nodiscard]] prepared prepare(std::size_t /*cores*/) override {
    std::size_t widest = 1;
    for (std::size_t w : widths()) widest = std::max(widest, w);
    for (std::size_t c : concurrencies()) widest = std::max(widest, c);
    // Two fds per connection, plus the lab's own (pool and loop fds, stdio) with room to spare.
    rlim_t limit = ensure_fd_limit(static_cast<rlim_t>(2 * widest + 256));
    if (!server_) server_ = std::make_shared<latency_server>(opts_.latency_ms);
    auto shared = std::make_shared<io_shared>(server_);
    std::vector<std::string> notes{
        fmt::format("server: aio::start_server on 127.0.0.1:{}, its own loop and thread; each "
                    "request is a line on a kept-alive connection, answered after {} ms",
                    server_->port(), opts_.latency_ms),
        "peak MB is the whole process's peak RSS during the row (the server's included); cpu s "
        "counts the server's thread too"};
    if (sequential_sample() < opts_.requests)
      notes.push_back(
          fmt::format("the sequential row makes a {}-request sample; its wall s and "
                      "cpu s are scaled to {} requests",
                      group_digits(sequential_sample()), group_digits(opts_.requests)));
    if (limit != 0 && limit < static_cast<rlim_t>(2 * widest + 64))
      notes.push_back(
          fmt::format("warning: the fd limit ({}) is below the {} the widest row "
                      "needs; raise it with ulimit -n",
                      limit, 2 * widest + 64));
    return {
        .work = std::make_unique<io_workload>(std::move(shared), opts_.requests),
        .size = fmt::format("{} requests x {} ms", group_digits(opts_.requests), opts_.latency_ms),
        .parameters = {{"requests", opts_.requests},
                       {"latency_ms", opts_.latency_ms},
                       {"sequential_sample", sequential_sample()}},
        .notes = std::move(notes)};
  }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t /*cores*/) const override {
    std::vector<std::unique_ptr<method>> out;
    if (sequential_sample() < opts_.requests)
      out.push_back(make_sampled(make_sequential(), sequential_sample()));
    else
      out.push_back(make_sequential());
    for (std::size_t w : widths()) out.push_back(make_thread_pool(w));
    for (std::size_t c : concurrencies()) out.push_back(make_aio(c));
    return out;
  }
  [[nodiscard]] std::vector<column> columns() const override {
    return {{"requests_per_s", "requests/s", column_style::rate},
            {"peak_rss_mb", "peak MB", column_style::decimal}};
  }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override {
    std::vector<metric> out;
    if (r.wall_s > 0)
      out.push_back({"requests_per_s", static_cast<double>(opts_.requests) / r.wall_s});
    if (r.peak_rss_bytes > 0)
      out.push_back({"peak_rss_mb", static_cast<double>(r.peak_rss_bytes) / 1e6});
    return out;
  }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    return fmt::format("{} requests each answered once (token sum {})", group_digits(a.items),
                       group_digits(a.value));
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    return {{"requests", a.items}, {"token_sum", a.value}};
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows,
                                    std::size_t /*cores*/) const override {
    return io_bound_verdict(rows, opts_.requests, opts_.latency_ms);
  }

 private:
  [[nodiscard]] std::size_t sequential_sample() const {
    return opts_.sample == 0 ? opts_.requests : std::min(opts_.sample, opts_.requests);
  }
  [[nodiscard]] std::vector<std::size_t> widths() const {
    if (!opts_.workers.empty()) return opts_.workers;
    return {std::begin(io_default_workers), std::end(io_default_workers)};
  }
  [[nodiscard]] std::vector<std::size_t> concurrencies() const {
    if (!opts_.concurrency.empty()) return opts_.concurrency;
    return {std::begin(io_default_concurrency), std::end(io_default_concurrency)};
  }

  io_options opts_;
  std::shared_ptr<latency_server> server_;  // started by prepare(), stopped with the experiment
};

}  // namespace

std::unique_ptr<workload> make_io_workload(std::shared_ptr<latency_server> server,
                                           std::size_t requests) {
  return std::make_unique<io_workload>(std::make_shared<io_shared>(std::move(server)), requests);
}

std::unique_ptr<experiment> make_io_experiment(io_options opts) {
  return std::make_unique<io_experiment>(std::move(opts));
}

}  // namespace tandem::lab
