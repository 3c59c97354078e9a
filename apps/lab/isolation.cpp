#include "lab/isolation.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <ranges>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lab/harness.hpp"
#include "lab/primes.hpp"
#include "lab/report.hpp"
#include "lab/verdict.hpp"
#include "tandem/error.hpp"
#include "tandem/process/process_pool.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::lab {
namespace {

using clock = std::chrono::steady_clock;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// "SIGSEGV" for 11; "signal 99" for a number glibc has no name for.
std::string signal_text(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

// One shared counter in memory that a forked child writes and this process reads: how many tasks
// finished inside the child before it died. MAP_SHARED survives the fork; a lock-free atomic works
// across processes.
class shared_counter {
 public:
  shared_counter() {
    void* p = ::mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("isolation: mmap");
    count_ = new (p) std::atomic<std::uint64_t>(0);
  }
  ~shared_counter() { ::munmap(count_, sizeof *count_); }
  shared_counter(const shared_counter&) = delete;
  shared_counter& operator=(const shared_counter&) = delete;
  std::atomic<std::uint64_t>& get() const { return *count_; }

 private:
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  std::atomic<std::uint64_t>* count_;
};

// The child standing in for a program that uses a thread pool: runs every task on a
// tandem::thread_pool, writes the results to `out` and exits 0, or dies with its crashing task.
// Never returns: it must not run the rest of the lab (or a test runner) a second time.
[[noreturn]] void thread_pool_program(const isolation_options& o, int out,
                                      std::atomic<std::uint64_t>& finished) noexcept {
  try {
    std::vector<std::uint64_t> results;
    results.reserve(o.tasks);
    {
      tandem::thread_pool pool({.max_workers = o.workers, .thread_name_prefix = "isolation"});
      auto crashing = [&finished, crash_at = o.crash_at](std::size_t i) {
        std::uint64_t v = isolation_task(crash_at, i);
        finished.fetch_add(1, std::memory_order_relaxed);
        return v;
      };
      // chunksize 1, as the process pool's one submit per task.
      for (std::uint64_t v :
           pool.map(crashing, std::views::iota(std::size_t{0}, o.tasks), {.chunksize = 1}))
        results.push_back(v);
    }
    const auto* p = reinterpret_cast<const char*>(results.data());
    std::size_t left = results.size() * sizeof(std::uint64_t);
    while (left > 0) {
      ssize_t n = ::write(out, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(3);
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  } catch (...) {
    ::_exit(4);
  }
}

nlohmann::json outcome_json(const isolation_outcome& o) {
  return {{"tasks", o.tasks},
          {"completed", o.completed},
          {"failed", o.failed},
          {"lost", o.lost},
          {"wrong", o.wrong},
          {"program_died", o.program_died},
          {"death", o.program_died ? nlohmann::json(o.death) : nlohmann::json()},
          {"signal", o.signal != 0 ? nlohmann::json(signal_text(o.signal)) : nlohmann::json()},
          {"finished_before_death", o.finished_before_death},
          {"replaced_workers", o.replaced_workers},
          {"error", o.error.empty() ? nlohmann::json() : nlohmann::json(o.error)}};
}

// The workload, for the header and for what the tasks should compute; nothing runs it task by
// task (run_task(crash_at) would crash the lab).
class isolation_workload final : public workload {
 public:
  explicit isolation_workload(isolation_options o) : o_(o) {}
  [[nodiscard]] std::size_t task_count() const override { return o_.tasks; }
  [[nodiscard]] task_result run_task(std::size_t i) const override {
    return {.value = isolation_task(o_.crash_at, i)};
  }

 private:
  isolation_options o_;
};

class isolation_experiment final : public experiment {
 public:
  explicit isolation_experiment(isolation_options o) : opts_(o) {}

  [[nodiscard]] std::string name() const override { return "isolation"; }
  [[nodiscard]] std::string summary() const override {
    return "Faults: one of --tasks tasks writes through a null pointer (SIGSEGV); thread_pool (in "
           "a child process, so the lab survives) vs process_pool with respawn.";
  }
  void add_options(CLI::App& cmd) override {
    cmd.add_option("--tasks", opts_.tasks, "number of tasks")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    cmd.add_option("--crash-at", opts_.crash_at,
                   "the task that writes through a null pointer (0-based, below --tasks)")
        ->capture_default_str();
    cmd.add_option("--workers", opts_.workers, "threads of the thread_pool, processes of the pool")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  }
  [[nodiscard]] prepared prepare(std::size_t /*cores*/) override {
    if (opts_.crash_at >= opts_.tasks)
      throw usage_error(fmt::format("isolation: --crash-at {} is not below --tasks {}",
                                    opts_.crash_at, opts_.tasks));
    return {
        .work = std::make_unique<isolation_workload>(opts_),
        .size = fmt::format(
            "{} tasks on {}, task {} writes through a null pointer", group_digits(opts_.tasks),
            opts_.workers == 1 ? std::string("1 worker") : fmt::format("{} workers", opts_.workers),
            opts_.crash_at),
        .parameters = {{"tasks", opts_.tasks},
                       {"crash_at", opts_.crash_at},
                       {"workers", opts_.workers},
                       {"numbers_per_task", isolation_numbers_per_task}},
        .notes = {"each task counts the primes in its own 2,000 numbers; task " +
                      std::to_string(opts_.crash_at) + " dereferences a null pointer instead",
                  "thread_pool runs in a forked child process standing in for a program that "
                  "uses a thread pool, so that its crash does not take the lab down",
                  "process_pool runs in the lab itself, with respawn: a dead worker is replaced"}};
  }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t /*cores*/) const override {
    return {};  // run_itself runs the two methods: their outcomes differ by design
  }
  [[nodiscard]] std::vector<column> columns() const override {
    return {{"completed", "completed", column_style::rate},
            {"failed", "failed", column_style::rate},
            {"lost", "lost", column_style::rate}};
  }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override { return r.metrics; }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    return fmt::format("{} tasks; task {} crashes, so at most {} results can come back",
                       group_digits(a.items), opts_.crash_at, group_digits(a.items - 1));
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    return {{"tasks", a.items}, {"crash_at", opts_.crash_at}, {"can_complete", a.items - 1}};
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows,
                                    std::size_t /*cores*/) const override {
    isolation_outcome threads, processes;
    for (const row& r : rows)
      (r.method == "thread_pool" ? threads : processes) = isolation_outcome_of(r);
    return isolation_verdict(threads, processes, opts_.crash_at);
  }

  [[nodiscard]] std::optional<std::vector<row>> run_itself(std::size_t cores, reporter& out,
                                                           std::size_t /*repeats*/) override {
    // One run each: the outcome is the point, not the time, and it does not vary.
    prepared p = prepare(cores);
    std::vector<std::uint64_t> expected(opts_.tasks, 0);
    for (std::size_t i = 0; i < opts_.tasks; ++i)
      if (i != opts_.crash_at) expected[i] = isolation_task(opts_.crash_at, i);
    out.begin_experiment({.name = name(),
                          .summary = summary(),
                          .size = p.size,
                          .parameters = p.parameters,
                          .cores = cores,
                          .notes = p.notes,
                          .columns = columns()});
    std::vector<isolation_outcome> outcomes;
    std::vector<row> rows;
    for (auto run : {&run_isolation_on_threads, &run_isolation_on_processes}) {
      outcomes.push_back(run(opts_, expected));
      const isolation_outcome& o = outcomes.back();
      rows.push_back(isolation_row(o));
      rows.back().experiment = name();
      out.add_row(rows.back(), outcome_json(o));
      if (o.wrong > 0)
        throw check_error(fmt::format("isolation: {} returned {} wrong results", o.method,
                                      group_digits(o.wrong)));
    }
    answer expected_answer{.items = opts_.tasks};
    out.end_experiment({.answer_text = answer_text(expected_answer),
                        .answer = answer_json(expected_answer),
                        .methods = rows.size(),
                        .verdict = isolation_verdict(outcomes[0], outcomes[1], opts_.crash_at),
                        .background_cores = std::nullopt,
                        .agreement = false});
    return rows;
  }

 private:
  isolation_options opts_;
};

}  // namespace

std::uint64_t isolation_task(std::uint64_t crash_at, std::uint64_t i) {
  if (i == crash_at) {
    // A crash on purpose leaves no core file behind, whatever the machine's ulimit -c says.
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    // Both volatile: the pointer, so that the compiler loads it at run time and cannot prove it
    // null (no trap of its own instead); the int, so that the write cannot be dropped as a dead
    // store (g++ -O3 drops `*p = 1` through an `int* volatile p`: measured).
    volatile int* volatile null = nullptr;
    *null = 1;
  }
  std::uint64_t lo = i * isolation_numbers_per_task;
  return count_primes(lo, lo + isolation_numbers_per_task);
}

isolation_outcome run_isolation_on_threads(const isolation_options& o,
                                           std::span<const std::uint64_t> expected) {
  isolation_outcome r;
  r.method = "thread_pool";
  r.workers = o.workers;
  r.tasks = o.tasks;
  shared_counter finished;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("isolation: pipe2");
  double cpu0 = process_cpu_seconds();
  auto t0 = clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::system_error(e, std::generic_category(), "isolation: fork");
  }
  if (pid == 0) {
    ::close(fds[0]);
    thread_pool_program(o, fds[1], finished.get());
  }
  ::close(fds[1]);
  std::vector<std::uint64_t> got(o.tasks, 0);
  auto* dst = reinterpret_cast<char*>(got.data());
  std::size_t want = got.size() * sizeof(std::uint64_t), have = 0;
  for (;;) {
    ssize_t n = ::read(fds[0], dst + have, want - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end: the child exited (or died); an error ends the results too
    have += static_cast<std::size_t>(n);
    if (have == want) break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_errno("isolation: waitpid");
  r.wall_s = std::chrono::duration<double>(clock::now() - t0).count();
  r.cpu_s = process_cpu_seconds() - cpu0;
  r.finished_before_death = finished.get().load();
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 && have == want;
  if (clean) {
    // Only if the crashing task did not crash (it always does on Linux): every result came back.
    r.completed = o.tasks;
    for (std::size_t i = 0; i < o.tasks; ++i)
      if (i != o.crash_at && got[i] != expected[i]) ++r.wrong;
    r.finished_before_death = 0;
    return r;
  }
  r.program_died = true;
  r.lost = o.tasks;
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.death = "killed by " + signal_text(r.signal);
  } else {
    r.death = fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  return r;
}

isolation_outcome run_isolation_on_processes(const isolation_options& o,
                                             std::span<const std::uint64_t> expected) {
  isolation_outcome r;
  r.method = "process_pool";
  r.workers = o.workers;
  r.tasks = o.tasks;
  double cpu0 = process_cpu_seconds();
  auto t0 = clock::now();
  {
    tandem::process_pool pool({.processes = o.workers, .respawn = true});
    std::vector<pid_t> first = pool.pids();
    std::set<pid_t> seen(first.begin(), first.end());
    std::vector<tandem::future<std::uint64_t>> futures;
    futures.reserve(o.tasks);
    auto task = tandem::bind(&isolation_task, std::uint64_t{o.crash_at});
    for (std::size_t i = 0; i < o.tasks; ++i)
      futures.push_back(pool.submit(task, std::uint64_t{i}));
    for (std::size_t i = 0; i < futures.size(); ++i) {
      try {
        std::uint64_t v = futures[i].get();
        ++r.completed;
        if (v != expected[i]) ++r.wrong;
      } catch (const std::exception& e) {
        ++r.failed;
        if (r.error.empty()) r.error = e.what();
      } catch (const tandem::cancelled_error& e) {
        ++r.failed;
        if (r.error.empty()) r.error = std::string("cancelled: ") + e.what();
      }
    }
    // The pool fails the dead worker's future first and then, on its I/O thread, drops the dead
    // pid from pids() and starts the replacement; the last future can be collected in between.
    // So wait (1 ms at a time, at most 1 s) until pids() is back to full width with live
    // processes only (the dead one is reaped before its future fails: kill(pid, 0) says ESRCH).
    auto settled = [&pool, &o] {
      std::vector<pid_t> now = pool.pids();
      return now.size() >= o.workers &&
             std::all_of(now.begin(), now.end(), [](pid_t p) { return ::kill(p, 0) == 0; });
    };
    for (int ms = 0; ms < 1000 && !settled(); ++ms)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (pid_t p : pool.pids())
      if (seen.insert(p).second) ++r.replaced_workers;
    pool.shutdown();
  }
  r.wall_s = std::chrono::duration<double>(clock::now() - t0).count();
  r.cpu_s = process_cpu_seconds() - cpu0;
  return r;
}

row isolation_row(const isolation_outcome& o) {
  row r;
  r.experiment = "isolation";
  r.method = o.method;
  r.workers = o.workers;
  r.wall_s = o.wall_s;
  r.cpu_s = o.cpu_s;
  r.speedup = std::nan("");
  r.runs = 1;
  r.result = {.value = 0, .items = o.tasks, .bytes = 0, .failures = o.failed + o.lost};
  auto d = [](std::size_t n) { return static_cast<double>(n); };
  r.metrics = {{"completed", d(o.completed)},
               {"failed", d(o.failed)},
               {"lost", d(o.lost)},
               {"program_died", o.program_died ? 1.0 : 0.0},
               {"signal", static_cast<double>(o.signal)},
               {"finished_before_death", d(o.finished_before_death)},
               {"replaced_workers", d(o.replaced_workers)}};
  return r;
}

isolation_outcome isolation_outcome_of(const row& r) {
  auto count = [&r](const char* key) {
    return static_cast<std::size_t>(std::llround(find_metric(r, key).value_or(0)));
  };
  isolation_outcome o;
  o.method = r.method;
  o.workers = r.workers;
  o.wall_s = r.wall_s;
  o.cpu_s = r.cpu_s;
  o.tasks = static_cast<std::size_t>(r.result.items);
  o.completed = count("completed");
  o.failed = count("failed");
  o.lost = count("lost");
  o.program_died = count("program_died") != 0;
  o.signal = static_cast<int>(count("signal"));
  if (o.program_died)
    o.death = o.signal != 0 ? "killed by " + signal_text(o.signal) : std::string("exited");
  o.finished_before_death = count("finished_before_death");
  o.replaced_workers = count("replaced_workers");
  return o;
}

std::unique_ptr<experiment> make_isolation_experiment(isolation_options opts) {
  return std::make_unique<isolation_experiment>(opts);
}

}  // namespace tandem::lab
