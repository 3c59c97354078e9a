// TLS and HTTP/2: the session against a real nginx (Debian's) serving HTTPS with HTTP/2 on a
// loopback port, with a self-signed certificate made for the test by the openssl command.
// Verification is on by default (the unknown certificate is refused); trusting it through
// ca_file lets requests through, over HTTP/2, multiplexed on one connection.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tandem/aio.hpp"
#include "tandem/http.hpp"

namespace {

namespace aio = tandem::aio;
namespace http = tandem::http;
namespace fs = std::filesystem;

// A port that was free a moment ago (bind to 0, read it, close).
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool can_connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Starts argv (looked up in PATH) with stdout and stderr appended to `log`. The child gets
// SIGTERM if this process dies first (PR_SET_PDEATHSIG), so a test killed mid-way (a timeout, a
// crash) leaves no nginx behind. Only async-signal-safe calls run between fork and exec.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) return pid;  // the parent (or -1)
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) ::_exit(127);
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(127);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

int run_command(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = spawn(argv, log);
  if (pid < 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// nginx with TLS and HTTP/2 on 127.0.0.1, one worker; stopped and reaped by the destructor.
class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandem-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // nginx started as root serves from an unprivileged worker: the files must be readable.
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    fs::create_directories(dir_ / "www");
    std::ofstream(dir_ / "www" / "hello.txt") << "hello over tls\n";
    const std::string log = (dir_ / "log.txt").string();
    ASSERT_EQ(run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                           "-keyout", (dir_ / "key.pem").string(), "-out", cert(), "-batch"},
                          log),
              0)
        << "the openssl command (Debian: openssl; `make deps`) failed: " << slurp(log);
    port_ = free_port();
    std::ofstream(dir_ / "nginx.conf")
        << "worker_processes 1;\npid " << (dir_ / "nginx.pid").string() << ";\n"
        << "error_log " << (dir_ / "error.log").string() << " warn;\n"
        << "events { worker_connections 256; }\n"
        << "http {\n  access_log off;\n"
        << "  client_body_temp_path " << dir_.string() << "/t1; proxy_temp_path " << dir_.string()
        << "/t2; fastcgi_temp_path " << dir_.string() << "/t3; uwsgi_temp_path " << dir_.string()
        << "/t4; scgi_temp_path " << dir_.string() << "/t5;\n"
        << "  server {\n    listen 127.0.0.1:" << port_ << " ssl http2;\n"
        << "    ssl_certificate " << cert() << ";\n    ssl_certificate_key "
        << (dir_ / "key.pem").string() << ";\n    root " << (dir_ / "www").string() << ";\n"
        << "    location = /status { stub_status; }\n  }\n}\n";
    nginx_ = spawn({"nginx", "-c", (dir_ / "nginx.conf").string(), "-p", dir_.string() + "/", "-g",
                    "daemon off;"},
                   log);
    ASSERT_GT(nginx_, 0) << "nginx (Debian: nginx; `make deps`) could not be started";
    for (int i = 0; i < 200 && !can_connect(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(can_connect(port_))
        << "nginx did not come up: " << slurp(log) << slurp(dir_ / "error.log");
  }
  void TearDown() override {
    if (nginx_ > 0) {
      ::kill(nginx_, SIGTERM);
      ::waitpid(nginx_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  [[nodiscard]] std::string cert() const { return (dir_ / "cert.pem").string(); }
  [[nodiscard]] std::string base() const { return "https://127.0.0.1:" + std::to_string(port_); }

 private:
  fs::path dir_;
  std::uint16_t port_ = 0;
  pid_t nginx_ = -1;
};

TEST_F(Tls, VerificationIsOnByDefault) {
  try {
    aio::run([](std::string u) -> aio::task<void> {
      http::session s;
      (void)co_await s.get(u);
    }(base() + "/hello.txt"));
    FAIL() << "a self-signed certificate was accepted";
  } catch (const http::tls_error& e) {
    EXPECT_NE(std::string(e.what()).find(base()), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)http::get(base() + "/hello.txt"), http::tls_error);
}

// Connections nginx accepted so far (stub_status: "server accepts handled requests\n A H R").
aio::task<int> accepted(http::session& s, std::string base) {
  std::string status = (co_await s.get(base + "/status")).text();
  auto at = status.find("requests\n");
  EXPECT_NE(at, std::string::npos) << status;
  co_return at == std::string::npos ? -1 : std::stoi(status.substr(at + 9));
}

aio::task<void> multiplexed(std::string base, std::string ca) {
  http::session probe({.ca_file = ca});
  // The probe's connection (and the connects that waited for nginx) are counted already.
  const int before = co_await accepted(probe, base);
  http::session s({.ca_file = ca});  // cold: 50 requests at once find no connection yet
  std::vector<aio::task_handle<http::response>> ts;
  for (int i = 0; i < 50; ++i)
    ts.push_back(aio::create_task(s.get(base + "/hello.txt?i=" + std::to_string(i))));
  for (auto& t : ts) {
    http::response r = co_await t;
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.version(), "HTTP/2");
    EXPECT_EQ(r.reason(), "OK");  // HTTP/2 has no reason phrase: the standard one is filled in
    EXPECT_EQ(r.text(), "hello over tls\n");
  }
  EXPECT_EQ(co_await accepted(probe, base), before + 1) << "50 requests opened more than one";
}

TEST_F(Tls, TrustedCertificateGivesHttp2MultiplexedOnOneConnection) {
  aio::run(multiplexed(base(), cert()));
}

TEST_F(Tls, BlockingFetchTrustsTheCaFileToo) {
  http::response r = http::get(base() + "/hello.txt", {}, {.ca_file = cert()});
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.version(), "HTTP/2");
}

}  // namespace
