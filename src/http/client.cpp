#include "http/detail/client.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <utility>

#include "tandem/aio/sleep.hpp"
#include "tandem/error.hpp"
#include "tandem/http/errors.hpp"

namespace tandem::http::detail {

// ------------------------------------------------------------------ transfer

transfer::transfer(std::shared_ptr<client> c) noexcept : c_(std::move(c)) { ++c_->transfers_; }

transfer::~transfer() {
  if (active_) c_->detach(*this);
  --c_->transfers_;
}

void transfer::on_progress(request_state* st) noexcept {
  static_cast<transfer*>(st->owner)->notify();
}

aio::task<void> transfer::until_ready() {
  while (!done && !(st.stream && st.final_headers)) co_await changed();
}

aio::task<std::optional<std::string>> transfer::next() {
  for (;;) {
    if (!st.pending.empty()) {
      std::string out = std::move(st.pending);
      st.pending.clear();
      if (st.paused && active_) c_->resume(*this);
      co_return out;
    }
    if (done) {
      if (error) std::rethrow_exception(error);
      co_return std::nullopt;
    }
    co_await changed();
  }
}

void transfer::read_timer::fire(timer_node* n) noexcept {
  transfer& t = static_cast<read_timer&>(*n).owner;
  if (!t.active_) return;
  const auto limit = static_cast<std::int64_t>(t.st.timeout.read * 1e9);
  const std::int64_t now = now_ns();
  if (t.st.paused) {  // the reader is slow, not the server: the clock restarts when it reads
    t.c_->arm_read_timer(t, now + limit);
  } else if (now - t.st.last_byte_ns >= limit) {
    t.st.read_timeout_hit = true;
    t.c_->complete(t, CURLE_OPERATION_TIMEDOUT);
  } else {
    t.c_->arm_read_timer(t, t.st.last_byte_ns + limit);
  }
}

// ------------------------------------------------------------------ client

client::client(session_options options)
    : loop_(aio::get_running_loop()), options_(std::move(options)) {
  curl_global();
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &client::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &client::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options_.limit));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.limit_per_host));
  // Keep as many idle connections as may be open at once: a burst of `limit` requests followed
  // by another must find every connection still there (curl's default keeps 4 per easy handle
  // added, which churns when handles come and go). Without a limit, curl's default stands.
  if (options_.limit > 0)
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.limit));
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING,
                    options_.http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
}

client::~client() { close(); }

void client::close() noexcept {
  if (!multi_) return;
  while (active_)
    end(*active_, std::make_exception_ptr(invalid_state_error("http::session was closed")));
  loop_.cancel_timer(&timer_);
  curl_multi_cleanup(multi_);  // closes the cached connections (their sockets leave the loop)
  multi_ = nullptr;
  for (CURL* e : idle_easy_) curl_easy_cleanup(e);
  idle_easy_.clear();
}

std::shared_ptr<transfer> client::start(const std::string& method, const std::string& url,
                                        const request_options& o) {
  if (!multi_) throw invalid_state_error("http::session was closed");
  if (aio::loop::current() != &loop_)
    throw invalid_state_error("http::session used from a thread other than its loop's");
  auto t = std::make_shared<transfer>(shared_from_this());
  CURL* e = acquire_easy();
  t->st.easy = e;
  try {
    prepare(t->st, method, url, o, options_, false);
  } catch (...) {
    release_easy(e);
    t->st.easy = nullptr;
    throw;
  }
  if (t->st.stream) {
    t->st.on_progress = &transfer::on_progress;
    t->st.owner = t.get();
  }
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  // HTTP/2 over TLS: let a second request wait for the first connection to learn whether it can
  // multiplex, instead of opening a connection of its own.
  if (options_.http2 && t->st.url.starts_with("https:")) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  if (CURLMcode rc = curl_multi_add_handle(multi_, e); rc != CURLM_OK) {
    release_easy(e);
    t->st.easy = nullptr;
    throw std::runtime_error(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
  }
  t->active_ = true;
  t->next_ = active_;
  if (active_) active_->prev_ = t.get();
  active_ = t.get();
  if (t->st.timeout.read > 0)
    arm_read_timer(*t, t->st.last_byte_ns + static_cast<std::int64_t>(t->st.timeout.read * 1e9));
  return t;
}

void client::detach(transfer& t) noexcept {
  if (!t.active_) return;
  t.active_ = false;
  loop_.cancel_timer(&t.read_timer_);
  curl_multi_remove_handle(multi_, t.st.easy);
  if (t.prev_)
    t.prev_->next_ = t.next_;
  else
    active_ = t.next_;
  if (t.next_) t.next_->prev_ = t.prev_;
  t.prev_ = t.next_ = nullptr;
  release_easy(t.st.easy);
  t.st.easy = nullptr;
}

CURL* client::acquire_easy() {
  if (idle_easy_.empty()) {
    CURL* e = curl_easy_init();
    if (!e) throw std::bad_alloc();
    return e;
  }
  CURL* e = idle_easy_.back();
  idle_easy_.pop_back();
  curl_easy_reset(e);  // options only: connections live in the multi handle
  return e;
}

void client::release_easy(CURL* e) noexcept {
  // Keep idle handles for the next requests, up to one per connection allowed (64 without a
  // limit: enough for a burst's worth of reuse, small next to a connection's buffers).
  const std::size_t keep = options_.limit > 0 ? options_.limit : 64;
  if (multi_ && idle_easy_.size() < keep) {
    try {
      idle_easy_.push_back(e);
      return;
    } catch (...) {  // no room to keep it: free it
    }
  }
  curl_easy_cleanup(e);
}

void client::end(transfer& t, std::exception_ptr error) noexcept {
  t.error = std::move(error);
  detach(t);
  t.done = true;
  t.notify();
}

void client::complete(transfer& t, CURLcode code) noexcept {
  if (!t.active_) return;
  std::exception_ptr error;
  try {
    error = finish(t.st, code);
  } catch (...) {  // bad_alloc while building the error
    error = std::current_exception();
  }
  end(t, std::move(error));
}

void client::resume(transfer& t) noexcept {
  t.st.paused = false;
  t.st.last_byte_ns = now_ns();
  curl_easy_pause(t.st.easy, CURLPAUSE_CONT);  // may deliver the held bytes at once (on_body)
}

void client::arm_read_timer(transfer& t, std::int64_t deadline_ns) noexcept {
  loop_.cancel_timer(&t.read_timer_);
  t.read_timer_.deadline_ns = deadline_ns;
  try {
    loop_.add_timer(&t.read_timer_);
  } catch (...) {  // the heap could not grow: the total timeout still bounds the request
  }
}

void client::socket_action(curl_socket_t fd, int mask) noexcept {
  int running = 0;
  curl_multi_socket_action(multi_, fd, mask, &running);
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL* e = m->easy_handle;
    const CURLcode code = m->data.result;  // m dies when the handle is removed
    transfer* t = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &t);
    if (t) complete(*t, code);
  }
}

void client::socket_source::on_events(std::uint32_t ev) noexcept {
  if (fd == CURL_SOCKET_BAD || !owner->multi_) return;  // a stale event of a removed socket
  int mask = 0;
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) mask |= CURL_CSELECT_IN;
  if (ev & EPOLLOUT) mask |= CURL_CSELECT_OUT;
  if (ev & EPOLLERR) mask |= CURL_CSELECT_ERR;
  owner->socket_action(fd, mask);
}

void client::multi_timer::fire(timer_node* n) noexcept {
  client& c = static_cast<multi_timer&>(*n).owner;
  if (c.multi_) c.socket_action(CURL_SOCKET_TIMEOUT, 0);
}

int client::on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) noexcept {
  auto* c = static_cast<client*>(userp);
  auto* src = static_cast<socket_source*>(socketp);
  try {
    if (what == CURL_POLL_REMOVE) {
      if (src) {
        c->loop_.unwatch(s);
        src->fd = CURL_SOCKET_BAD;
        src->events = 0;
        c->free_sockets_.push_back(src);
      }
      return 0;
    }
    const std::uint32_t ev =
        ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    if (!src) {
      if (c->free_sockets_.empty()) {
        c->sockets_.push_back(std::make_unique<socket_source>());
        c->sockets_.back()->owner = c;
        c->free_sockets_.push_back(c->sockets_.back().get());
      }
      src = c->free_sockets_.back();
      c->loop_.watch_level(s, ev, src, false);
      c->free_sockets_.pop_back();
      src->fd = s;
      src->events = ev;
      curl_multi_assign(c->multi_, s, src);
    } else if (src->events != ev) {
      c->loop_.watch_level(s, ev, src, true);
      src->events = ev;
    }
    return 0;
  } catch (...) {
    return -1;  // curl fails the transfers on this socket
  }
}

int client::on_timer(CURLM*, long timeout_ms, void* userp) noexcept {
  auto* c = static_cast<client*>(userp);
  c->loop_.cancel_timer(&c->timer_);
  if (timeout_ms < 0) return 0;
  // Due now or later, never inside this callback: curl must not be re-entered from it.
  c->timer_.deadline_ns = now_ns() + std::int64_t{timeout_ms} * 1'000'000;
  try {
    c->loop_.add_timer(&c->timer_);
  } catch (...) {
    return -1;
  }
  return 0;
}

// ------------------------------------------------------------------ one request, with retries

aio::task<response> client::perform(std::shared_ptr<client> c, std::string method, std::string url,
                                    request_options o) {
  for (int attempt = 1;; ++attempt) {
    std::shared_ptr<transfer> t = c->start(method, url, o);
    co_await t->until_ready();
    if (t->st.stream && t->st.final_headers) {
      // The response is here; a failure later in the body reaches read_chunk(), after the bytes
      // that came before it.
      response r = std::move(t->st.resp);
      r.set_stream(std::move(t));
      co_return r;
    }
    const int status = t->error ? 0 : t->st.resp.status();
    std::optional<double> delay =
        retry_delay(c->options_.retry, t->st.method, attempt, t->error, status);
    if (!delay) {
      if (t->error) std::rethrow_exception(t->error);
      co_return std::move(t->st.resp);
    }
    t.reset();  // frees the handle (and its connection, if the body was not read) before waiting
    co_await aio::sleep(*delay);
  }
}

}  // namespace tandem::http::detail
