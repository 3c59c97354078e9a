// The engine behind http::session: one curl multi handle driven by one aio loop, the way
// tornado's CurlAsyncHTTPClient drives pycurl. Private to src/http/.
//
//   libcurl --socket callback (fd, IN/OUT/REMOVE)--> loop.watch_level(fd) --+
//   libcurl --timer callback (ms)------------------> one timer_node --------+
//                                                                           v
//   fd ready / timer due --> curl_multi_socket_action --> curl_multi_info_read (DONE)
//                                                           --> complete(transfer) --> wake task
//
// Invariants (loop thread only):
// - a transfer is `active` iff its easy handle is added to `multi_` and it is linked in `active_`;
// - libcurl is never re-entered from its own callbacks: handles are added and removed only from
//   the loop's callbacks (fd, timer) after socket_action returned, or from tasks;
// - a woken task runs on a later loop iteration (wake() schedules), never inside curl;
// - socket sources are never freed while the client lives (an epoll batch may still name one
//   curl just removed); a free source ignores its events, a reused one at worst makes curl look
//   at an fd that is not ready, which it handles.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/detail/easy.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/http/options.hpp"
#include "tandem/http/response.hpp"

namespace tandem::http::detail {

class client;

/// One request in flight on the multi handle; also the source of a streamed body.
class transfer final : public body_stream {
 public:
  explicit transfer(std::shared_ptr<client> c) noexcept;
  ~transfer() override;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;

  /// Waits until the transfer is done, or (streaming) its final headers are in.
  aio::task<void> until_ready();
  aio::task<std::optional<std::string>> next() override;

  request_state st;
  std::exception_ptr error;  // set when done: why it failed (null: it succeeded)
  bool done = false;

 private:
  friend class client;
  // The awaitable of "something changed" (progress, done): a parked task, woken by notify().
  class changed_awaiter {
   public:
    explicit changed_awaiter(transfer& t) noexcept : t_(t) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return w_.suspend_on(t_.waiters_, h); }
    void await_resume() const { w_.resume(); }

   private:
    transfer& t_;
    aio::detail::stream_waiter w_;
  };
  changed_awaiter changed() noexcept { return changed_awaiter(*this); }
  void notify() noexcept { aio::detail::wake_all(waiters_); }
  static void on_progress(request_state* st) noexcept;

  // Checks the idle-read limit: armed at last_byte + timeout.read, re-armed while bytes come.
  struct read_timer final : aio::detail::timer_node {
    explicit read_timer(transfer& t) noexcept : timer_node(&fire), owner(t) {}
    static void fire(timer_node* n) noexcept;
    transfer& owner;
  };

  std::shared_ptr<client> c_;
  aio::detail::waiter_list waiters_;
  read_timer read_timer_{*this};
  bool active_ = false;
  transfer* prev_ = nullptr;  // links in client::active_
  transfer* next_ = nullptr;
};

/// The multi handle, its sockets and timer, and the idle easy handles.
class client : public std::enable_shared_from_this<client> {
 public:
  /// Errors: invalid_state_error without a running loop; std::runtime_error from libcurl.
  explicit client(session_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Runs `method` `url` (with retries) to a response. Holds the client alive while it runs.
  static aio::task<response> perform(std::shared_ptr<client> c, std::string method, std::string url,
                                     request_options o);

  /// Aborts every transfer (each ends with invalid_state_error) and frees the multi handle.
  void close() noexcept;
  [[nodiscard]] bool closed() const noexcept { return multi_ == nullptr; }
  [[nodiscard]] std::size_t transfers() const noexcept { return transfers_; }
  [[nodiscard]] const session_options& options() const noexcept { return options_; }

 private:
  friend class transfer;
  struct socket_source final : aio::detail::io_source {
    void on_events(std::uint32_t events) noexcept override;
    client* owner = nullptr;
    curl_socket_t fd = CURL_SOCKET_BAD;  // CURL_SOCKET_BAD: free
    std::uint32_t events = 0;            // what epoll watches now
  };
  struct multi_timer final : aio::detail::timer_node {
    explicit multi_timer(client& c) noexcept : timer_node(&fire), owner(c) {}
    static void fire(timer_node* n) noexcept;
    client& owner;
  };

  static int on_socket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp) noexcept;
  static int on_timer(CURLM* multi, long timeout_ms, void* userp) noexcept;

  // Starts a transfer. Errors: those of prepare(); invalid_state_error (closed, wrong thread).
  std::shared_ptr<transfer> start(const std::string& method, const std::string& url,
                                  const request_options& o);
  void socket_action(curl_socket_t fd, int mask) noexcept;
  void complete(transfer& t, CURLcode code) noexcept;        // done: curl's outcome, end()
  void end(transfer& t, std::exception_ptr error) noexcept;  // done: detach, wake the reader
  void detach(transfer& t) noexcept;    // out of the multi handle, its easy handle released
  CURL* acquire_easy();                 // an idle handle (reset), or a new one
  void release_easy(CURL* e) noexcept;  // back to the idle pool, or freed
  void arm_read_timer(transfer& t, std::int64_t deadline_ns) noexcept;
  void resume(transfer& t) noexcept;  // a streamed body was read: unpause

  aio::loop& loop_;
  session_options options_;
  CURLM* multi_ = nullptr;
  multi_timer timer_{*this};
  std::vector<std::unique_ptr<socket_source>> sockets_;
  std::vector<socket_source*> free_sockets_;
  std::vector<CURL*> idle_easy_;
  transfer* active_ = nullptr;  // head of the list of active transfers
  std::size_t transfers_ = 0;   // transfer objects alive (streams being read included)
};

}  // namespace tandem::http::detail
