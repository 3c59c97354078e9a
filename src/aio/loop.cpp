#include "tandem/aio/loop.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include "aio/detail/loop_impl.hpp"
#include "tandem/cpu_count.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::aio {
namespace {

thread_local loop* running_loop = nullptr;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Consumes instances of `set` that arrived while handled but were not read yet: unblocking them
// would apply the default action (terminate, for most) to a signal that had a handler.
void discard_pending(const sigset_t& set) noexcept {
  timespec zero{};
  while (::sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

// Every callback the loop calls for the user goes through here: an exception is reported, never
// lost, and never stops the loop (asyncio's default exception handler).
template <class F>
void call_reporting(F& fn, const char* where) noexcept {
  try {
    fn();
  } catch (...) {
    report_unraisable(std::current_exception(), where);
  }
}

}  // namespace

// ------------------------------------------------------------------ callbacks and timer_handle

// One call_soon/call_later callback. `self` keeps the entry alive while the loop holds it.
struct timer_handle::entry : detail::ready_node, detail::timer_node {
  explicit entry(loop* l, std::function<void()> f)
      : ready_node(&entry::run_ready), timer_node(&entry::fire), owner(l), fn(std::move(f)) {}
  loop* owner;
  std::function<void()> fn;
  std::shared_ptr<entry> self;  // set while queued in the ready queue or the timer heap
  bool cancelled = false;
  bool is_timer = false;

  static void run_ready(detail::ready_node* n) noexcept {
    auto* e = &static_cast<entry&>(*n);
    std::shared_ptr<entry> keep = std::move(e->self);
    if (!e->cancelled) call_reporting(e->fn, "a loop callback");
    e->fn = nullptr;  // release captures now, as asyncio's Handle does after running
  }
  static void fire(detail::timer_node* t) noexcept {
    auto& e = static_cast<entry&>(*t);
    e.owner->schedule(&e);  // a due timer runs in the ready queue, after earlier callbacks
  }
};

void timer_handle::cancel() noexcept {
  if (!e_ || e_->cancelled) return;
  e_->cancelled = true;
  e_->fn = nullptr;
  if (e_->is_timer && e_->queued()) {
    e_->owner->cancel_timer(e_.get());
    e_->self.reset();  // may free the entry; e_ still holds it
  }
}

bool timer_handle::cancelled() const noexcept { return e_ && e_->cancelled; }

double timer_handle::when() const noexcept {
  return e_ && e_->is_timer ? static_cast<double>(e_->deadline_ns) / 1e9 : 0.0;
}

// ------------------------------------------------------------------ fd callbacks (add_reader)

struct loop::impl::fd_callbacks final : detail::io_source {
  std::function<void()> reader, writer;
  void on_events(std::uint32_t ev) noexcept override {
    // Copies: a callback may remove itself (and so this object) while running.
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && reader) {
      auto fn = reader;
      call_reporting(fn, "a reader callback");
      return;  // `this` may be gone; a writer that is still ready fires next iteration
    }
    if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && writer) {
      auto fn = writer;
      call_reporting(fn, "a writer callback");
    }
  }
};

namespace detail {
std::int64_t to_ns(double seconds) noexcept {
  if (!(seconds < 9.2e9)) return INT64_MAX;  // also NaN: never
  if (seconds < -9.2e9) return INT64_MIN;
  return static_cast<std::int64_t>(std::llround(seconds * 1e9));
}
}  // namespace detail

// ------------------------------------------------------------------ construction

loop::loop(loop_options options) : impl_(std::make_unique<impl>()) {
  impl& m = *impl_;
  m.epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (m.epfd < 0) throw_errno("epoll_create1");
  m.wakefd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m.wakefd < 0) {
    int e = errno;
    ::close(m.epfd);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null marks the wake fd
  if (::epoll_ctl(m.epfd, EPOLL_CTL_ADD, m.wakefd, &ev) != 0) {
    int e = errno;
    ::close(m.wakefd);
    ::close(m.epfd);
    throw std::system_error(e, std::generic_category(), "epoll_ctl(eventfd)");
  }
  sigemptyset(&m.handled_signals);
  debug_ = options.debug ? *options.debug : env_flag("TANDEM_AIO_DEBUG");
  m.slow_callback_duration = options.slow_callback_duration;
  if (debug_) {
    std::uint64_t seed;
    if (options.shuffle_seed)
      seed = *options.shuffle_seed;
    else if (const char* s = std::getenv("TANDEM_AIO_SEED"); s && *s)
      seed = std::strtoull(s, nullptr, 10);
    else
      seed = std::random_device{}();
    m.rng.seed(seed);
    std::fprintf(stderr, "tandem.aio: debug mode, ready queue shuffled with TANDEM_AIO_SEED=%llu\n",
                 static_cast<unsigned long long>(seed));
  }
}

loop::~loop() {
  if (!closed_ && impl_->running.load(std::memory_order_relaxed) == 0) close();
}

loop* loop::current() noexcept { return running_loop; }

loop& get_running_loop() {
  if (!running_loop) throw invalid_state_error("no running event loop");
  return *running_loop;
}

std::int64_t loop::now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double loop::time() const noexcept { return static_cast<double>(now_ns()) / 1e9; }

// ------------------------------------------------------------------ scheduling

void loop::schedule(detail::ready_node* n) noexcept { impl_->push(n); }

void loop::schedule_threadsafe(detail::ready_node* n) noexcept {
  impl& m = *impl_;
  n->next_ready = nullptr;
  // Everything under the mutex, the eventfd write included: once the loop can drain our node, the
  // task it wakes may finish and the loop be destroyed, so nothing may touch the loop after the
  // unlock. The loop clears `woken` before draining (under this mutex), so either it drains our
  // node, or it sees woken == false and we write the eventfd.
  std::lock_guard lk(m.remote_mu);
  if (m.remote_tail)
    m.remote_tail->next_ready = n;
  else
    m.remote_head = n;
  m.remote_tail = n;
  if (!m.woken.exchange(true, std::memory_order_acq_rel)) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(m.wakefd, &one, sizeof one);
  }
}

timer_handle loop::call_soon(std::function<void()> fn) {
  auto e = std::make_shared<timer_handle::entry>(this, std::move(fn));
  e->self = e;
  schedule(e.get());
  return timer_handle(std::move(e));
}

timer_handle loop::call_later(double delay, std::function<void()> fn) {
  return call_at(time() + std::max(0.0, delay), std::move(fn));
}

timer_handle loop::call_at(double when, std::function<void()> fn) {
  auto e = std::make_shared<timer_handle::entry>(this, std::move(fn));
  e->is_timer = true;
  e->deadline_ns = detail::to_ns(when);
  add_timer(e.get());
  e->self = e;
  return timer_handle(std::move(e));
}

namespace {
// A call_soon_threadsafe callback: allocated by the caller, freed after it ran.
struct remote_call : detail::ready_node {
  explicit remote_call(std::function<void()> f) : ready_node(&remote_call::run), fn(std::move(f)) {}
  std::function<void()> fn;
  static void run(detail::ready_node* n) noexcept {
    auto* c = &static_cast<remote_call&>(*n);
    call_reporting(c->fn, "a call_soon_threadsafe callback");
    delete c;
  }
};
}  // namespace

void loop::call_soon_threadsafe(std::function<void()> fn) {
  if (closed_) throw invalid_state_error("call_soon_threadsafe on a closed loop");
  auto* c = new remote_call(std::move(fn));
  schedule_threadsafe(c);
}

void loop::add_timer(detail::timer_node* t) { impl_->timers.push(t); }

void loop::cancel_timer(detail::timer_node* t) noexcept { impl_->timers.remove(t); }

thread_pool& loop::default_executor() {
  if (closed_) throw invalid_state_error("default_executor of a closed loop");
  if (!impl_->default_executor) {
    thread_pool::options o;
    o.max_workers = std::min<std::size_t>(32, cpu_count() + 4);
    o.thread_name_prefix = "aio-to_thread";
    impl_->default_executor = std::make_unique<thread_pool>(std::move(o));
  }
  return *impl_->default_executor;
}

// ------------------------------------------------------------------ running

bool loop::is_running() const noexcept {
  return impl_->running.load(std::memory_order_relaxed) > 0;
}

void loop::stop() noexcept {
  impl_->stopping.store(true, std::memory_order_release);
  if (running_loop != this && !impl_->woken.exchange(true, std::memory_order_acq_rel)) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(impl_->wakefd, &one, sizeof one);
  }
}

namespace {
struct running_scope {
  loop* self;
  loop* previous;
  std::atomic<int>& depth;
  running_scope(loop* l, std::atomic<int>& d) : self(l), previous(running_loop), depth(d) {
    running_loop = l;
    depth.fetch_add(1, std::memory_order_relaxed);
  }
  ~running_scope() {
    depth.fetch_sub(1, std::memory_order_relaxed);
    running_loop = previous;
  }
  running_scope(const running_scope&) = delete;
  running_scope& operator=(const running_scope&) = delete;
};
}  // namespace

void loop::run_forever() {
  if (closed_) throw invalid_state_error("run_forever on a closed loop");
  if (is_running()) throw invalid_state_error("this event loop is already running");
  if (running_loop) throw invalid_state_error("another loop is running on this thread");
  running_scope scope(this, impl_->running);
  while (!impl_->stopping.exchange(false, std::memory_order_acq_rel)) run_once();
}

void loop::run_once(double max_wait) {
  if (closed_) throw invalid_state_error("run_once on a closed loop");
  running_scope scope(this, impl_->running);
  impl& m = *impl_;

  // How long to block: not at all if work is ready or a stop is pending; else until the
  // earliest timer; else max_wait (or forever).
  int timeout_ms;
  if (m.head || m.stopping.load(std::memory_order_relaxed)) {
    timeout_ms = 0;
  } else {
    double wait = max_wait;
    if (!m.timers.empty()) {
      double until = static_cast<double>(m.timers.top()->deadline_ns - now_ns()) / 1e9;
      wait = wait < 0 ? until : std::min(wait, until);
    }
    if (wait < 0 && max_wait < 0 && m.timers.empty())
      timeout_ms = -1;
    else  // round up: waking a little early would spin until the deadline
      timeout_ms = static_cast<int>(std::min(std::ceil(std::max(0.0, wait) * 1e3), 2.0e9));
  }

  epoll_event events[256];
  int n = ::epoll_wait(m.epfd, events, 256, timeout_ms);
  if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) {
      std::uint64_t count;
      [[maybe_unused]] auto r = ::read(m.wakefd, &count, sizeof count);
      continue;
    }
    static_cast<detail::io_source*>(events[i].data.ptr)->on_events(events[i].events);
  }

  // Due timers join the ready queue, earliest first.
  if (!m.timers.empty()) {
    std::int64_t now = now_ns();
    while (!m.timers.empty() && m.timers.top()->deadline_ns <= now) {
      detail::timer_node* t = m.timers.pop();
      t->fire(t);
    }
  }

  // Cross-thread nodes. Clear `woken` first: a push after this point writes the eventfd again.
  if (m.woken.load(std::memory_order_relaxed)) {
    m.woken.store(false, std::memory_order_seq_cst);
  }
  {
    std::lock_guard lk(m.remote_mu);
    if (m.remote_head) {
      if (m.tail)
        m.tail->next_ready = m.remote_head;
      else
        m.head = m.remote_head;
      m.tail = m.remote_tail;
      m.remote_head = m.remote_tail = nullptr;
    }
  }

  // Run what is ready now; what these schedule runs next iteration (asyncio's ntodo).
  detail::ready_node* batch = m.head;
  m.head = m.tail = nullptr;
  if (!debug_) {
    while (batch) {
      detail::ready_node* next = batch->next_ready;
      batch->run(batch);
      batch = next;
    }
    return;
  }
  m.shuffle_buf.clear();
  for (; batch; batch = batch->next_ready) m.shuffle_buf.push_back(batch);
  std::shuffle(m.shuffle_buf.begin(), m.shuffle_buf.end(), m.rng);
  std::vector<detail::ready_node*> todo;
  todo.swap(m.shuffle_buf);  // a callback may run a nested iteration (run_until_complete)
  for (detail::ready_node* r : todo) {
    std::int64_t start = now_ns();
    r->run(r);
    double took = static_cast<double>(now_ns() - start) / 1e9;
    if (took >= m.slow_callback_duration)
      std::fprintf(stderr,
                   "tandem.aio: a callback took %.3f seconds (slow_callback_duration %.3f)\n", took,
                   m.slow_callback_duration);
  }
}

void loop::close() {
  if (closed_) return;
  if (is_running()) throw invalid_state_error("cannot close a running event loop");
  impl& m = *impl_;
  m.default_executor.reset();  // joins to_thread's workers, as shutdown_default_executor does
  // Drop queued callbacks: their entries release themselves.
  auto drop = [](detail::ready_node* n) {
    while (n) {
      detail::ready_node* next = n->next_ready;
      if (n->run == &timer_handle::entry::run_ready) {
        auto* e = &static_cast<timer_handle::entry&>(*n);
        e->cancelled = true;
        n->run(n);
      } else if (n->run == &remote_call::run) {
        delete &static_cast<remote_call&>(*n);
      }
      n = next;
    }
  };
  drop(m.head);
  m.head = m.tail = nullptr;
  {
    std::lock_guard lk(m.remote_mu);
    drop(m.remote_head);
    m.remote_head = m.remote_tail = nullptr;
  }
  while (!m.timers.empty()) {
    detail::timer_node* t = m.timers.pop();
    if (t->fire == &timer_handle::entry::fire) {
      auto* e = &static_cast<timer_handle::entry&>(*t);
      e->cancelled = true;
      e->fn = nullptr;
      e->self.reset();
    }
  }
  if (!m.signal_handlers.empty()) {
    sigset_t unblocked;  // what restoring the mask unblocks: handled here, not blocked before
    sigemptyset(&unblocked);
    for (const auto& h : m.signal_handlers)
      if (!sigismember(&m.previous_mask, h.first)) sigaddset(&unblocked, h.first);
    discard_pending(unblocked);
    ::pthread_sigmask(SIG_SETMASK, &m.previous_mask, nullptr);
  }
  m.signal_handlers.clear();
  m.fds.clear();
  if (m.sigfd >= 0) ::close(m.sigfd);
  ::close(m.wakefd);
  ::close(m.epfd);
  m.sigfd = m.wakefd = m.epfd = -1;
  closed_ = true;
}

// ------------------------------------------------------------------ fds

void loop::watch(int fd, std::uint32_t events, detail::io_source* src) {
  epoll_event ev{};
  ev.events = events | EPOLLET;
  ev.data.ptr = src;
  if (::epoll_ctl(impl_->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl(ADD)");
}

void loop::unwatch(int fd) noexcept {
  if (impl_->epfd >= 0) ::epoll_ctl(impl_->epfd, EPOLL_CTL_DEL, fd, nullptr);
}

void loop::watch_level(int fd, std::uint32_t events, detail::io_source* src, bool registered) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = src;
  if (::epoll_ctl(impl_->epfd, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
    throw_errno("epoll_ctl");
}

namespace {
void update_level_watch(int epfd, int fd, loop::impl::fd_callbacks* cb, bool existed) {
  epoll_event ev{};
  ev.events = (cb->reader ? EPOLLIN : 0u) | (cb->writer ? EPOLLOUT : 0u);
  ev.data.ptr = static_cast<detail::io_source*>(cb);
  if (ev.events == 0) {
    ::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    return;
  }
  if (::epoll_ctl(epfd, existed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
    throw_errno("epoll_ctl");
}
}  // namespace

void loop::add_reader(int fd, std::function<void()> fn) {
  auto [it, fresh] = impl_->fds.try_emplace(fd);
  if (fresh) it->second = std::make_unique<impl::fd_callbacks>();
  bool existed = !fresh && (it->second->reader || it->second->writer);
  it->second->reader = std::move(fn);
  try {
    update_level_watch(impl_->epfd, fd, it->second.get(), existed);
  } catch (...) {
    it->second->reader = nullptr;
    if (!it->second->writer) impl_->fds.erase(it);
    throw;
  }
}

void loop::add_writer(int fd, std::function<void()> fn) {
  auto [it, fresh] = impl_->fds.try_emplace(fd);
  if (fresh) it->second = std::make_unique<impl::fd_callbacks>();
  bool existed = !fresh && (it->second->reader || it->second->writer);
  it->second->writer = std::move(fn);
  try {
    update_level_watch(impl_->epfd, fd, it->second.get(), existed);
  } catch (...) {
    it->second->writer = nullptr;
    if (!it->second->reader) impl_->fds.erase(it);
    throw;
  }
}

namespace {
bool remove_fd_callback(loop::impl& m, int fd, bool reader) {
  auto it = m.fds.find(fd);
  if (it == m.fds.end()) return false;
  auto& slot = reader ? it->second->reader : it->second->writer;
  if (!slot) return false;
  slot = nullptr;
  update_level_watch(m.epfd, fd, it->second.get(), true);
  if (!it->second->reader && !it->second->writer) {
    // The object may be running this very callback (a reader removing itself): free it later.
    auto* cb = it->second.release();
    m.fds.erase(it);
    loop::current() ? (void)loop::current()->call_soon([cb] { delete cb; }) : (void)(delete cb);
  }
  return true;
}
}  // namespace

bool loop::remove_reader(int fd) { return remove_fd_callback(*impl_, fd, true); }
bool loop::remove_writer(int fd) { return remove_fd_callback(*impl_, fd, false); }

// ------------------------------------------------------------------ signals

namespace {
struct signal_source final : detail::io_source_owned {
  loop::impl* m;
  void on_events(std::uint32_t) noexcept override {
    signalfd_siginfo info;
    while (::read(m->sigfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      auto it = m->signal_handlers.find(static_cast<int>(info.ssi_signo));
      if (it == m->signal_handlers.end()) continue;
      auto fn = it->second;  // a handler may remove itself
      call_reporting(fn, "a signal handler");
    }
  }
};
}  // namespace

void loop::add_signal_handler(int sig, std::function<void()> fn) {
  if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP)
    throw std::invalid_argument("add_signal_handler: signal " + std::to_string(sig) +
                                " cannot be handled");
  impl& m = *impl_;
  if (m.signal_handlers.empty()) ::pthread_sigmask(SIG_BLOCK, nullptr, &m.previous_mask);
  sigaddset(&m.handled_signals, sig);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_BLOCK, &one, nullptr);
  int fd = ::signalfd(m.sigfd, &m.handled_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) throw_errno("signalfd");
  if (m.sigfd < 0) {
    m.sigfd = fd;
    auto src = std::make_unique<signal_source>();
    src->m = &m;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = static_cast<detail::io_source*>(src.get());
    m.signal_source = std::move(src);
    if (::epoll_ctl(m.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl(signalfd)");
  }
  m.signal_handlers[sig] = std::move(fn);
}

bool loop::remove_signal_handler(int sig) {
  impl& m = *impl_;
  if (m.signal_handlers.erase(sig) == 0) return false;
  sigdelset(&m.handled_signals, sig);
  if (!sigismember(&m.previous_mask, sig)) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    discard_pending(one);
    ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  }
  if (m.sigfd >= 0) ::signalfd(m.sigfd, &m.handled_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  return true;
}

}  // namespace tandem::aio
