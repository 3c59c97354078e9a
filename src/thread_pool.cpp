// thread_pool's scheduler: worker threads, their deques, the shared queue, parking and shutdown.
//
//   submit() from outside ----> injection_ (bounded MPMC) --+
//                                                          v
//   submit() from worker i ---> workers_[i]->deque --> worker i runs:  own deque (LIFO)
//                                                                      then injection_ (FIFO)
//                                                                      then steal from others
//                                                                      (FIFO)
//   Idle workers search (poll, then yield), then park on the epoch_ futex; a submit wakes a parked
//   worker only when no worker is searching (see worker_main and notify_work).
#include <pthread.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "detail/fence.hpp"
#include "detail/injection_queue.hpp"
#include "detail/work_stealing_deque.hpp"
#include "tandem/cpu_count.hpp"
#include "tandem/detail/assert.hpp"
#include "tandem/detail/futex.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::detail {

namespace {
// 8,192 tasks a worker: deep enough for recursive divide-and-conquer, small enough (64 KiB) to
// keep per-worker memory trivial. Past it, the submitting worker runs the task inline.
constexpr std::size_t local_capacity = 8192;
// Idle workers poll a few rounds, then yield this many times before parking. Yielding, not
// pausing, is what matters on a small machine: a map's consumer thread and the workers together
// outnumber the cores, and a pausing worker keeps its core for a whole time slice while a yielding
// one hands it straight back. Parking too early is worse still: a futex wake-up took tens of
// microseconds here, and a map whose consumer waits on a parked worker for every chunk ran 6x
// slower (measured with 1,024-item chunks).
constexpr int spin_rounds = 4;
constexpr int yield_rounds = 128;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

class scheduler {
 public:
  explicit scheduler(thread_pool::options o)
      : opts_(std::move(o)), injection_(std::max<std::size_t>(2, opts_.max_queued)) {
    std::size_t n = opts_.max_workers ? opts_.max_workers : cpu_count();
    workers_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker>(i));
  }
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;
  ~scheduler() { shutdown(true, false); }

  // Called once, after every member exists: no thread sees a half-built scheduler.
  void start() {
    for (auto& w : workers_) w->thread = std::thread([this, p = w.get()] { worker_main(*p); });
  }

  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

  void enqueue(state_base* task) {
    if (current == this) {
      if (stopping_.load(std::memory_order_relaxed)) reject(task);
      if (current_worker->deque.push(task)) {
        store_load_fence();  // the deque's push is a plain store; see notify_work()
        notify_work();
        return;
      }
      task->run();  // own deque full: caller-runs, which bounds memory without blocking a worker
      task->release();
      return;
    }
    for (;;) {
      switch (injection_.try_push(task)) {
        case injection_queue<state_base*>::push_result::ok:
          notify_work();
          return;
        case injection_queue<state_base*>::push_result::closed:
          reject(task);
        case injection_queue<state_base*>::push_result::full:
          wait_for_space();
          break;
      }
    }
  }

  void shutdown(bool wait, bool cancel_futures) {
    {
      std::lock_guard lk(lifecycle_mu_);
      if (!stopping_.load(std::memory_order_relaxed)) {
        injection_.close();
        stopping_.store(true, std::memory_order_seq_cst);
      }
    }
    if (cancel_futures) {
      take_all_queued([](state_base* t) {
        t->cancel();
        t->discard(nullptr);
        t->release();
      });
    }
    wake_everyone();
    if (!wait) return;
    std::lock_guard lk(join_mu_);  // not lifecycle_mu_: a worker may need that one to finish
    for (auto& w : workers_) {
      if (!w->thread.joinable()) continue;
      if (w->thread.get_id() == std::this_thread::get_id()) {
        TANDEM_ASSERT(!destroying_.load(std::memory_order_relaxed),
                      "a thread_pool was destroyed by one of its own tasks");
        continue;  // a task shutting down its own pool: the destructor joins this thread later
      }
      w->thread.join();
    }
  }

  void mark_destroying() noexcept { destroying_.store(true, std::memory_order_relaxed); }

 private:
  struct worker {
    explicit worker(std::size_t i)
        : deque(local_capacity), index(i), rng(i * 0x9E3779B97F4A7C15ull + 1) {}
    work_stealing_deque<state_base*> deque;
    std::thread thread;
    std::size_t index;
    std::uint64_t rng;  // xorshift state for the steal order
  };

  static thread_local scheduler* current;
  static thread_local worker* current_worker;

  [[noreturn]] void reject(state_base* task) {
    task->release();  // the queue's reference; the caller's future still holds the other
    if (broken_.load(std::memory_order_acquire)) {
      std::lock_guard lk(lifecycle_mu_);
      throw broken_pool(broken_message_);
    }
    throw invalid_state_error("cannot schedule new futures after shutdown");
  }

  void worker_main(worker& w) {
    current = this;
    current_worker = &w;
    std::string name = opts_.thread_name_prefix + "-" + std::to_string(w.index);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    if (opts_.initializer) {
      try {
        opts_.initializer();
      } catch (...) {
        break_pool(std::current_exception());
      }
    }
    // Idle protocol (tokio's, simplified): a worker with nothing to run is "searching" while it
    // spins; a submit wakes a parked worker only when nobody is searching, and the last searcher
    // to find work wakes the next one if more is waiting. So a burst of submits costs at most one
    // futex wake at a time, and work never waits while a worker sleeps.
    bool searching = false;
    int spins = 0;
    for (;;) {
      if (broken_.load(std::memory_order_acquire)) {
        if (searching) searching_.fetch_sub(1, std::memory_order_seq_cst);
        fail_all_queued();
        return;
      }
      if (state_base* t = find_work(w)) {
        if (searching) {
          searching = false;
          if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
              sleepers_.load(std::memory_order_seq_cst) > 0 && has_work())
            notify_work();
        }
        run(t);
        continue;
      }
      if (!searching) {
        searching = true;
        spins = 0;
        searching_.fetch_add(1, std::memory_order_seq_cst);
      }
      if (stopping_.load(std::memory_order_acquire) && !has_work()) {
        searching_.fetch_sub(1, std::memory_order_seq_cst);
        return;
      }
      if (++spins < spin_rounds) {
        for (int k = 0; k < 16; ++k) cpu_relax();
        continue;
      }
      if (spins < spin_rounds + yield_rounds) {
        std::this_thread::yield();
        continue;
      }
      searching_.fetch_sub(1, std::memory_order_seq_cst);
      park();
      // Awake again: count as searching at once, so that a burst of submits does not wake the
      // other sleepers too, and so that finding work chains the next wake-up.
      spins = 0;
      searching_.fetch_add(1, std::memory_order_seq_cst);
    }
  }

  static void run(state_base* t) noexcept {
    t->run();
    t->release();
  }

  state_base* find_work(worker& w) noexcept {
    if (state_base* t = w.deque.pop()) return t;
    if (state_base* t = injection_.try_pop()) {
      after_injection_pop();
      return t;
    }
    std::size_t n = workers_.size();
    if (n < 2) return nullptr;
    w.rng ^= w.rng << 13;
    w.rng ^= w.rng >> 7;
    w.rng ^= w.rng << 17;
    std::size_t start = static_cast<std::size_t>(w.rng % n);
    for (std::size_t k = 0; k < n; ++k) {
      worker& victim = *workers_[(start + k) % n];
      if (&victim == &w) continue;
      if (state_base* t = victim.deque.steal()) return t;
    }
    return nullptr;
  }

  [[nodiscard]] bool has_work() const noexcept {
    if (injection_.size() > 0) return true;
    for (auto& w : workers_)
      if (!w->deque.empty()) return true;
    return false;
  }

  // Sleeps until a submit (or shutdown) bumps epoch_, unless work or shutdown is already here.
  void park() noexcept {
    std::uint32_t e = epoch_.load(std::memory_order_acquire);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    // Pairs with the barrier before notify_work(): either the submitter sees us (in sleepers_,
    // or searching_ already dropped), or we see its task in has_work().
    store_load_fence();
    if (!has_work() && !stopping_.load(std::memory_order_seq_cst) &&
        !broken_.load(std::memory_order_seq_cst))
      futex_wait(epoch_, e);
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  }

  // Wakes a parked worker if nobody is searching. Precondition: the caller published its work
  // and then did a full store->load barrier: the injection queue's seq_cst claim, a seq_cst RMW,
  // or store_load_fence(). With the worker's seq_cst register-then-recheck in park(), either we
  // see the worker (searching or asleep) or the worker sees the work.
  void notify_work() noexcept {
    // sleepers_ first: it changes only when a worker parks, so in a busy pool this read hits a
    // shared cache line, while searching_ changes with every task a searcher finds.
    if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
    if (searching_.load(std::memory_order_seq_cst) > 0) return;  // a searcher will find it
    epoch_.fetch_add(1, std::memory_order_release);
    futex_wake(epoch_, 1);
  }

  void wake_everyone() noexcept {
    epoch_.fetch_add(1, std::memory_order_release);
    futex_wake(epoch_, INT_MAX);
    space_epoch_.fetch_add(1, std::memory_order_release);
    futex_wake(space_epoch_, INT_MAX);
  }

  void after_injection_pop() noexcept {
    if (blocked_producers_.load(std::memory_order_relaxed) > 0 &&
        injection_.size() <= injection_.capacity() / 2) {
      space_epoch_.fetch_add(1, std::memory_order_release);
      futex_wake(space_epoch_, INT_MAX);
    }
  }

  void wait_for_space() noexcept {
    blocked_producers_.fetch_add(1, std::memory_order_seq_cst);
    std::uint32_t e = space_epoch_.load(std::memory_order_acquire);
    // The 2 ms limit is a safety net: consumers read blocked_producers_ without a fence (a fence
    // on every pop would tax the common path), so a wake-up can be missed at worst for 2 ms.
    if (injection_.size() >= injection_.capacity() && !injection_.closed())
      futex_wait(space_epoch_, e, seconds{0.002});
    blocked_producers_.fetch_sub(1, std::memory_order_relaxed);
  }

  template <class Fn>
  void take_all_queued(Fn&& fn) {
    injection_.drain(fn);
    for (auto& w : workers_)
      while (state_base* t = w->deque.steal()) fn(t);
  }

  void fail_all_queued() {
    std::exception_ptr why;
    {
      std::lock_guard lk(lifecycle_mu_);
      why = std::make_exception_ptr(broken_pool(broken_message_));
    }
    take_all_queued([&](state_base* t) {
      t->discard(why);
      t->release();
    });
  }

  void break_pool(std::exception_ptr cause) {
    {
      std::lock_guard lk(lifecycle_mu_);
      if (broken_.load(std::memory_order_relaxed)) return;
      broken_message_ = "a thread_pool worker's initializer failed: " + describe(cause);
      injection_.close();
      broken_.store(true, std::memory_order_seq_cst);
    }
    fail_all_queued();
    wake_everyone();
  }

  thread_pool::options opts_;
  std::vector<std::unique_ptr<worker>> workers_;
  injection_queue<state_base*> injection_;

  alignas(64) std::atomic<std::uint32_t> epoch_{0};        // parked workers futex-wait here
  std::atomic<std::uint32_t> sleepers_{0};                 // workers parked or about to park
  std::atomic<std::uint32_t> searching_{0};                // workers spinning for work
  alignas(64) std::atomic<std::uint32_t> space_epoch_{0};  // producers blocked on a full queue
  std::atomic<std::uint32_t> blocked_producers_{0};
  alignas(64) std::atomic<bool> stopping_{false};
  std::atomic<bool> broken_{false};

  std::mutex lifecycle_mu_;              // orders close/stop/break; guards broken_message_
  std::string broken_message_;           // guarded by lifecycle_mu_
  std::mutex join_mu_;                   // one thread joins the workers at a time
  std::atomic<bool> destroying_{false};  // set by ~thread_pool, read by whoever joins
};

thread_local scheduler* scheduler::current = nullptr;
thread_local scheduler::worker* scheduler::current_worker = nullptr;

}  // namespace tandem::detail

namespace tandem {

thread_pool::thread_pool(options opts)
    : sched_(std::make_unique<detail::scheduler>(std::move(opts))) {
  sched_->start();
}

thread_pool::~thread_pool() {
  sched_->mark_destroying();
  sched_->shutdown(true, false);
}

void thread_pool::enqueue(detail::state_base* task) { sched_->enqueue(task); }

void thread_pool::shutdown(bool wait, bool cancel_futures) {
  sched_->shutdown(wait, cancel_futures);
}

std::size_t thread_pool::max_workers() const noexcept { return sched_->size(); }

}  // namespace tandem
