#include "lab/io.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lab/harness.hpp"
#include "lab/methods.hpp"
#include "lab/report.hpp"
#include "lab/verdict.hpp"
#include "tandem/aio/event.hpp"
#include "tandem/aio/gather.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/error.hpp"
#include "tandem/http/fetch.hpp"
#include "tandem/http/server.hpp"
#include "tandem/http/session.hpp"

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

// Parses the decimal number at the start of `s`; nullopt if there is none.
std::optional<std::uint64_t> parse_number(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  return v;
}

// GET /item/{k}: waits the latency, then answers "<k + 1>\n" padded to io_body_bytes.
aio::task<http::response> answer_item(double latency_s, http::request req) {
  auto k = parse_number(req.param("k"));
  if (!k) co_return http::response(400, "not an item number\n");
  co_await aio::sleep(latency_s);
  std::string body = std::to_string(*k + 1) + "\n";
  body.resize(io_body_bytes, '.');
  co_return http::response(200, std::move(body));
}

// Publishes the server loop for the destructor's stop request while the serving frame lives.
class published {
 public:
  published(latency_server::control& c, aio::event& stop) : c_(c) {
    std::lock_guard lk(c_.mu);
    c_.loop = &aio::get_running_loop();
    c_.stop = &stop;
    if (c_.stop_requested) stop.set();
  }
  ~published() {
    std::lock_guard lk(c_.mu);
    c_.loop = nullptr;
    c_.stop = nullptr;
  }
  published(const published&) = delete;
  published& operator=(const published&) = delete;

 private:
  latency_server::control& c_;
};

aio::task<void> serve(std::shared_ptr<latency_server::control> c, double latency_s) {
  // The default backlog (4096, Linux's somaxconn) lets 1,000 clients connect at once without a
  // dropped SYN (a 1 s retransmission). A shutdown_timeout of 1 s: by the time the lab stops the
  // server every request has been answered, so only a failed run can leave one in flight.
  http::server srv(http::server_options{.shutdown_timeout = 1.0});
  srv.get("/item/{k}", std::bind_front(answer_item, latency_s));
  co_await srv.start("127.0.0.1", 0);
  aio::event stop;
  published publish(*c, stop);
  c->ready.set_value(srv.port());
  co_await stop.wait();
  co_await srv.shutdown();
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

std::string latency_server::url(std::size_t k) const {
  return fmt::format("http://127.0.0.1:{}/item/{}", port_, k);
}

// ------------------------------------------------------------------ the URL file

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (is_ascii_alpha(c)) c = static_cast<char>(c | 0x20);  // ASCII lower case
    if (c != prefix[i]) return false;
  }
  return true;
}

// True for "http://host..." or "https://host..." (scheme in any case) with no whitespace or
// control character inside, whose authority has a non-empty host (after any user info; a port,
// if any, is digits). What curl would still refuse is reported by the request itself.
bool is_http_url(std::string_view u) {
  for (char c : u)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  std::size_t rest = 0;
  if (iequals_prefix(u, "http://"))
    rest = 7;
  else if (iequals_prefix(u, "https://"))
    rest = 8;
  else
    return false;
  std::string_view authority = u.substr(rest, u.find_first_of("/?#", rest) - rest);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view port;
  if (authority.starts_with('[')) {  // an IPv6 literal: "[::1]:8080"
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    port = authority.substr(close + 1);
    if (!port.empty() && port.front() != ':') return false;
  } else {
    std::size_t colon = authority.find(':');
    if (colon == 0 || authority.empty()) return false;
    if (colon != std::string_view::npos) port = authority.substr(colon);
  }
  if (!port.empty()) port.remove_prefix(1);  // the ':'
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The whole file at `path`. Errors: usage_error naming the file and the reason.
std::string read_whole_file(const std::string& path) {
  auto fail = [&](int err) {
    return usage_error(
        fmt::format("cannot read the URL file {}: {}", path, std::generic_category().message(err)));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(errno);
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {  // EISDIR for a directory
      int err = errno;
      ::close(fd);
      throw fail(err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

std::vector<std::string> read_url_file(const std::string& path) {
  std::string text = read_whole_file(path);
  std::vector<std::string> urls;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (!is_http_url(line))
      throw usage_error(fmt::format("{}:{}: not an http(s) URL: \"{}\"", path, line_no, line));
    urls.emplace_back(line);
  }
  if (urls.empty())
    throw usage_error(fmt::format("{}: no URLs (every line is blank or a # comment)", path));
  return urls;
}

// ------------------------------------------------------------------ the workloads

namespace {

// What both io workloads share: a URL per task, and a judgement of its answer. The blocking
// methods call run_task (http::get on the calling thread); the session method fetches url(i) on
// its loop and hands the response to judge(): the two clients differ only in how they fetch.
class http_workload : public workload {
 public:
  /// The URL task `i` fetches.
  [[nodiscard]] virtual std::string url(std::size_t i) const = 0;
  /// Task `i`'s result from its response. Errors: check_error for a wrong answer.
  [[nodiscard]] virtual task_result judge(std::size_t i, const http::response& r) const = 0;
  [[nodiscard]] task_result run_task(std::size_t i) const final {
    return judge(i, http::get(url(i)));
  }
};

class io_workload final : public http_workload {
 public:
  io_workload(std::shared_ptr<latency_server> s, std::size_t requests)
      : s_(std::move(s)), requests_(requests) {}
  [[nodiscard]] std::size_t task_count() const override { return requests_; }
  [[nodiscard]] std::string url(std::size_t i) const override { return s_->url(i); }
  [[nodiscard]] task_result judge(std::size_t i, const http::response& r) const override {
    if (r.status() != 200)
      throw check_error(fmt::format("io: {} answered {} {}", url(i), r.status(), r.reason()));
    if (r.bytes().size() != io_body_bytes)
      throw check_error(
          fmt::format("io: {} answered {} bytes, not {}", url(i), r.bytes().size(), io_body_bytes));
    auto v = parse_number(r.bytes());
    if (!v) throw check_error(fmt::format("io: {} answered no token", url(i)));
    return {.value = *v, .bytes = r.bytes().size()};
  }
  [[nodiscard]] std::unique_ptr<workload> prefix(std::size_t n) const override {
    return std::make_unique<io_workload>(s_, std::min(n, requests_));
  }
  [[nodiscard]] std::optional<std::string> check(const answer& a) const override {
    std::uint64_t n = requests_;
    if (a.items != n || a.value != n * (n + 1) / 2 || a.bytes != n * io_body_bytes)
      return fmt::format("{} requests with token sum {} and {} bytes, expected {} with {} and {}",
                         a.items, a.value, a.bytes, n, n * (n + 1) / 2, n * io_body_bytes);
    return std::nullopt;
  }

 private:
  std::shared_ptr<latency_server> s_;
  std::size_t requests_;
};

class url_list_workload final : public http_workload {
 public:
  explicit url_list_workload(std::shared_ptr<const std::vector<std::string>> urls, std::size_t n)
      : urls_(std::move(urls)), n_(n) {}
  [[nodiscard]] std::size_t task_count() const override { return n_; }
  [[nodiscard]] std::string url(std::size_t i) const override { return (*urls_)[i]; }
  [[nodiscard]] task_result judge(std::size_t /*i*/, const http::response& r) const override {
    bool ok = r.status() >= 200 && r.status() < 300;
    return {.value = ok ? 1u : 0u, .bytes = r.bytes().size(), .failures = ok ? 0u : 1u};
  }
  [[nodiscard]] std::unique_ptr<workload> prefix(std::size_t n) const override {
    return std::make_unique<url_list_workload>(urls_, std::min(n, n_));
  }
  [[nodiscard]] std::optional<std::string> check(const answer& a) const override {
    if (a.items != n_ || a.value + a.failures != n_)
      return fmt::format("{} requests ({} 2xx, {} not), expected {} answers", a.items, a.value,
                         a.failures, n_);
    return std::nullopt;
  }

 private:
  std::shared_ptr<const std::vector<std::string>> urls_;
  std::size_t n_;  // the first n_ URLs (a prefix for a sampled row)
};

// ------------------------------------------------------------------ the session method

// One of the session method's coroutines: request after request until no index is left.
// Everything is passed by pointer value: the coroutines run inside session_method::run, which
// owns what the pointers point to until aio::run returns (STYLE: no capturing lambda coroutines).
aio::task<void> session_worker(const http_workload* w, http::session* s, std::size_t* next,
                               std::vector<task_result>* out) {
  while (*next < w->task_count()) {
    std::size_t i = (*next)++;
    http::response r = co_await s->get(w->url(i));
    (*out)[i] = w->judge(i, r);
  }
}

aio::task<void> session_drive(const http_workload* w, std::size_t concurrency,
                              std::vector<task_result>* out) {
  // Written the way an aiohttp user would: one session for the job, whose connection limit is
  // the concurrency (aiohttp's TCPConnector(limit=...)), so every coroutine has a connection.
  http::session s(http::session_options{.limit = concurrency});
  std::size_t next = 0;
  std::vector<aio::task<void>> workers;
  for (std::size_t k = 0; k < std::min(concurrency, w->task_count()); ++k)
    workers.push_back(session_worker(w, &s, &next, out));
  (void)co_await aio::gather(std::move(workers));
}

class session_method final : public method {
 public:
  explicit session_method(std::size_t concurrency) : concurrency_(concurrency) {}
  [[nodiscard]] std::string name() const override { return "http::session"; }
  [[nodiscard]] std::size_t workers() const override { return concurrency_; }
  [[nodiscard]] std::vector<task_result> run(const workload& w) const override {
    const auto* hw = dynamic_cast<const http_workload*>(&w);
    if (!hw) throw std::invalid_argument("the http::session method needs an io workload");
    std::vector<task_result> out(w.task_count());
    aio::run(session_drive(hw, concurrency_, &out));
    return out;
  }

 private:
  std::size_t concurrency_;
};

}  // namespace

std::unique_ptr<workload> make_io_workload(std::shared_ptr<latency_server> server,
                                           std::size_t requests) {
  return std::make_unique<io_workload>(std::move(server), requests);
}

std::unique_ptr<workload> make_url_list_workload(std::vector<std::string> urls) {
  std::size_t n = urls.size();
  return std::make_unique<url_list_workload>(
      std::make_shared<const std::vector<std::string>>(std::move(urls)), n);
}

std::unique_ptr<method> make_http_session(std::size_t concurrency) {
  if (concurrency == 0)
    throw std::invalid_argument("make_http_session: concurrency must be at least 1");
  return std::make_unique<session_method>(concurrency);
}

// ------------------------------------------------------------------ the experiment

namespace {

// Every loopback connection costs the lab two fds (client and server ends). Raises the soft fd
// limit toward the hard one if `needed` is more than it allows, as servers do; returns the limit.
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
    return "I/O-bound: --requests HTTP GETs to the lab's own http::server on loopback, which "
           "answers each with 1 KiB after --latency-ms (or the URLs of --url-file); sequential (a "
           "sample) vs thread_pool with blocking http::get at 32, 128 workers vs http::session "
           "at 100, 1,000 requests in flight.";
  }
  void add_options(CLI::App& cmd) override {
    CLI::Option* requests = cmd.add_option("--requests", opts_.requests, "number of requests")
                                ->capture_default_str()
                                ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    CLI::Option* latency =
        cmd.add_option("--latency-ms", opts_.latency_ms,
                       "how long the server waits before each answer, in milliseconds")
            ->capture_default_str()
            ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{60'000}));
    cmd.add_option("--sample", opts_.sample,
                   "requests the sequential row makes (times scaled to all requests); 0: all")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}));
    cmd.add_option("--workers", opts_.workers,
                   "thread_pool widths, comma-separated (default: 32,128)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
    cmd.add_option("--concurrency", opts_.concurrency,
                   "http::session requests in flight, comma-separated (default: 100,1000)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    cmd.add_option("--url-file", opts_.url_file,
                   "fetch the http(s) URLs listed in this file (one a line; blank lines and # "
                   "comments skipped) instead of the lab's own server")
        ->excludes(requests)
        ->excludes(latency);
  }
  [[nodiscard]] prepared prepare(std::size_t /*cores*/) override {
    return opts_.url_file.empty() ? prepare_server() : prepare_url_file();
  }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t /*cores*/) const override {
    std::vector<std::unique_ptr<method>> out;
    if (sequential_sample() < requests())
      out.push_back(make_sampled(make_sequential(), sequential_sample()));
    else
      out.push_back(make_sequential());
    for (std::size_t w : widths()) out.push_back(make_thread_pool(w));
    for (std::size_t c : concurrencies()) out.push_back(make_http_session(c));
    return out;
  }
  [[nodiscard]] std::vector<column> columns() const override {
    if (!opts_.url_file.empty())
      return {{"requests_per_s", "requests/s", column_style::rate},
              {"not_2xx", "not 2xx", column_style::rate},
              {"peak_rss_mb", "peak MB", column_style::decimal}};
    return {{"requests_per_s", "requests/s", column_style::rate},
            {"peak_rss_mb", "peak MB", column_style::decimal}};
  }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override {
    std::vector<metric> out;
    if (r.wall_s > 0) out.push_back({"requests_per_s", static_cast<double>(requests()) / r.wall_s});
    if (!opts_.url_file.empty()) out.push_back({"not_2xx", static_cast<double>(r.result.failures)});
    if (r.peak_rss_bytes > 0)
      out.push_back({"peak_rss_mb", static_cast<double>(r.peak_rss_bytes) / 1e6});
    return out;
  }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    if (!opts_.url_file.empty())
      return fmt::format("{} URLs from {}, fetched once by each row", group_digits(a.items),
                         opts_.url_file);
    return fmt::format("{} requests each answered 200 with {} bytes (token sum {})",
                       group_digits(a.items), group_digits(io_body_bytes), group_digits(a.value));
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    if (!opts_.url_file.empty())
      return {{"requests", a.items}, {"ok", a.value}, {"not_2xx", a.failures}, {"bytes", a.bytes}};
    return {{"requests", a.items}, {"token_sum", a.value}};
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows,
                                    std::size_t /*cores*/) const override {
    if (!opts_.url_file.empty()) return http_io_verdict(rows, requests(), std::nullopt);
    return http_io_verdict(rows, requests(), opts_.latency_ms);
  }
  [[nodiscard]] bool methods_agree() const override { return opts_.url_file.empty(); }

 private:
  [[nodiscard]] std::size_t requests() const {
    return opts_.url_file.empty() ? opts_.requests : urls_.size();
  }
  [[nodiscard]] std::size_t sequential_sample() const {
    return opts_.sample == 0 ? requests() : std::min(opts_.sample, requests());
  }
  [[nodiscard]] std::vector<std::size_t> widths() const {
    if (!opts_.workers.empty()) return opts_.workers;
    return {std::begin(io_default_workers), std::end(io_default_workers)};
  }
  [[nodiscard]] std::vector<std::size_t> concurrencies() const {
    if (!opts_.concurrency.empty()) return opts_.concurrency;
    return {std::begin(io_default_concurrency), std::end(io_default_concurrency)};
  }
  [[nodiscard]] std::size_t widest() const {
    std::size_t w = 1;
    for (std::size_t x : widths()) w = std::max(w, x);
    for (std::size_t x : concurrencies()) w = std::max(w, x);
    return w;
  }
  // The notes both modes share: the sample, and a warning if the fd limit is too low for
  // `fds_per_connection` fds per connection of the widest row.
  void add_common_notes(std::vector<std::string>& notes, rlim_t fds_per_connection) const {
    if (sequential_sample() < requests())
      notes.push_back(
          fmt::format("the sequential row makes a {}-request sample; its wall s and "
                      "cpu s are scaled to {} requests",
                      group_digits(sequential_sample()), group_digits(requests())));
    // The lab's own fds (loop, pool, stdio) with room to spare.
    auto needed = static_cast<rlim_t>(fds_per_connection * widest() + 256);
    rlim_t limit = ensure_fd_limit(needed);
    if (limit != 0 && limit < needed)
      notes.push_back(
          fmt::format("warning: the fd limit ({}) is below the {} the widest row needs; raise it "
                      "with ulimit -n",
                      limit, needed));
  }

  prepared prepare_server() {
    if (!server_) server_ = std::make_shared<latency_server>(opts_.latency_ms);
    std::vector<std::string> notes{
        fmt::format("server: http::server on 127.0.0.1:{}, its own loop and thread; GET "
                    "/item/<k> answers 200 with {} bytes after {} ms; connections are kept alive",
                    server_->port(), group_digits(io_body_bytes), opts_.latency_ms),
        "peak MB is the whole process's peak RSS during the row (the server's included); cpu s "
        "counts the server's thread too"};
    add_common_notes(notes, 2);  // client and server ends
    return {
        .work = make_io_workload(server_, opts_.requests),
        .size = fmt::format("{} requests x {} ms", group_digits(opts_.requests), opts_.latency_ms),
        .parameters = {{"requests", opts_.requests},
                       {"latency_ms", opts_.latency_ms},
                       {"sequential_sample", sequential_sample()}},
        .notes = std::move(notes)};
  }

  prepared prepare_url_file() {
    urls_ = read_url_file(opts_.url_file);  // usage_error before any request is made
    std::vector<std::string> notes{
        "non-2xx answers are counted (not 2xx), not fatal; a request that fails outright "
        "(refused, timed out) ends the experiment",
        "each row's answer is its own: a server may answer one row's requests differently"};
    add_common_notes(notes, 1);
    return {.work = make_url_list_workload(urls_),
            .size = fmt::format("{} URLs from {}", group_digits(urls_.size()), opts_.url_file),
            .parameters = {{"url_file", opts_.url_file},
                           {"requests", urls_.size()},
                           {"sequential_sample", sequential_sample()}},
            .notes = std::move(notes)};
  }

  io_options opts_;
  std::shared_ptr<latency_server> server_;  // started by prepare(), stopped with the experiment
  std::vector<std::string> urls_;           // read by prepare() from opts_.url_file
};

}  // namespace

std::unique_ptr<experiment> make_io_experiment(io_options opts) {
  return std::make_unique<io_experiment>(std::move(opts));
}

}  // namespace tandem::lab
