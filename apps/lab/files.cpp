#include "lab/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include <xxhash.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lab/harness.hpp"
#include "lab/methods.hpp"
#include "lab/primes.hpp"
#include "lab/process_workload.hpp"
#include "lab/report.hpp"
#include "lab/verdict.hpp"
#include "tandem/process/process_pool.hpp"

namespace tandem::lab {
namespace {

namespace fs = std::filesystem;

// 64 KiB per read: each read() costs a syscall, so bigger is cheaper per byte, and the buffer
// stays small enough for a worker's stack; most files here are smaller and take a single read.
constexpr std::size_t read_size = 64 * 1024;

struct fd_closer {
  int fd;
  ~fd_closer() { ::close(fd); }
};

struct xxh3_deleter {
  void operator()(XXH3_state_t* s) const noexcept { XXH3_freeState(s); }
};

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

class files_workload final : public workload, public process_workload {
 public:
  explicit files_workload(file_list files) : files_(std::move(files)) {}
  [[nodiscard]] std::size_t task_count() const override { return files_.paths.size(); }
  [[nodiscard]] task_result run_task(std::size_t i) const override {
    return files_task(files_.paths[i]);
  }
  [[nodiscard]] std::vector<task_result> map_on(tandem::process_pool& pool) const override {
    // The workers have no copy of the list (forkserver workers do not inherit this process's
    // memory), so each path travels to a worker once, files_chunksize paths a message, as Python's
    // pool.map(hash_file, paths, chunksize=16) would send them.
    std::vector<task_result> out;
    out.reserve(files_.paths.size());
    for (const task_result& r : pool.map(&files_task, files_.paths, {.chunksize = chunksize()}))
      out.push_back(r);
    return out;
  }
  [[nodiscard]] std::size_t chunksize() const override { return files_chunksize; }
  [[nodiscard]] answer reduce(std::span<const task_result> results) const override {
    answer a = workload::reduce(results);
    a.value = combine_file_hashes(results);
    return a;
  }
  [[nodiscard]] std::optional<std::string> check(const answer& a) const override {
    if (a.items != files_.paths.size())
      return fmt::format("{} files hashed, but the walk listed {}", a.items, files_.paths.size());
    return std::nullopt;
  }

 private:
  file_list files_;
};

class files_experiment final : public experiment {
 public:
  explicit files_experiment(files_options o) : opts_(std::move(o)) {}

  [[nodiscard]] std::string name() const override { return "files"; }
  [[nodiscard]] std::string summary() const override {
    return "Real data, mixed I/O and CPU: XXH3-hash every regular file under --dir (default "
           "/usr/share); "
           "sequential vs thread_pool at 1, 2, 4, 8, 32 workers vs process_pool at 2 and "
           "cpu_count().";
  }
  // Each pass takes well under a second here, short enough for the machine's noise to show.
  [[nodiscard]] std::size_t default_repeats() const override { return 3; }
  void add_options(CLI::App& cmd) override {
    // No CLI::ExistingDirectory check: prepare() reports a missing directory itself, in the same
    // words for the default and for --dir, and both exit with status 2.
    cmd.add_option("--dir", opts_.dir, "the directory tree to hash")->capture_default_str();
    cmd.add_option("--workers", opts_.workers,
                   "thread_pool widths, comma-separated (default: 1,2,4,8,32)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
    cmd.add_option("--processes", opts_.processes,
                   "process_pool widths, comma-separated (default: 2 and cpu_count())")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
  }
  [[nodiscard]] prepared prepare(std::size_t /*cores*/) override {
    file_list files = walk_regular_files(opts_.dir);
    prepared p;
    p.size = fmt::format("{} files, {} under {}", group_digits(files.paths.size()),
                         megabytes(files.bytes), opts_.dir);
    p.parameters = {{"dir", opts_.dir},
                    {"files", files.paths.size()},
                    {"bytes", files.bytes},
                    {"skipped_symlinks", files.symlinks},
                    {"skipped_other", files.others},
                    {"unlistable_dirs", files.unlistable}};
    p.notes.push_back(
        fmt::format("walked once: {} regular files; skipped {} symlinks, {} other entries, {} "
                    "unlistable directories",
                    group_digits(files.paths.size()), group_digits(files.symlinks),
                    group_digits(files.others), group_digits(files.unlistable)));
    p.work = make_files_workload(std::move(files));
    // The first pass over a tree reads it from the disk, every later pass from the page cache, so
    // without this the sequential row alone would pay for the disk. Run it on the widest pool:
    // cold reads are where threads overlap waiting best.
    std::size_t widest = std::ranges::max(widths());
    measurement warm = measure(*make_thread_pool(widest), *p.work);
    p.notes.push_back(fmt::format(
        "warm-up: one untimed pass ({} workers, {:.2f} s) loaded the files into the page cache; "
        "the timed "
        "passes below read from memory, so they measure syscalls and hashing, not the disk",
        widest, warm.wall_s));
    return p;
  }
  [[nodiscard]] std::vector<std::unique_ptr<method>> methods(std::size_t cores) const override {
    std::vector<std::unique_ptr<method>> out;
    out.push_back(make_sequential());
    for (std::size_t w : widths()) out.push_back(make_thread_pool(w));
    std::vector<std::size_t> processes =
        opts_.processes.empty() ? default_process_widths(cores) : opts_.processes;
    for (std::size_t w : processes) out.push_back(make_process_pool(w));
    return out;
  }
  [[nodiscard]] std::vector<column> columns() const override {
    return {{"files_per_s", "files/s", column_style::rate},
            {"mb_per_s", "MB/s", column_style::decimal}};
  }
  [[nodiscard]] std::vector<metric> metrics(const row& r) const override {
    if (r.wall_s <= 0) return {};
    return {{"files_per_s", static_cast<double>(r.result.items) / r.wall_s},
            {"mb_per_s", static_cast<double>(r.result.bytes) / 1e6 / r.wall_s}};
  }
  [[nodiscard]] std::string answer_text(const answer& a) const override {
    return fmt::format("{} files, {} hashed, checksum {:016x}; {} unreadable (counted, not hashed)",
                       group_digits(a.items), megabytes(a.bytes), a.value,
                       group_digits(a.failures));
  }
  [[nodiscard]] nlohmann::json answer_json(const answer& a) const override {
    // The checksum as hex text: JSON readers that hold numbers as doubles would round a 64-bit one.
    return {{"files", a.items},
            {"bytes", a.bytes},
            {"unreadable", a.failures},
            {"checksum", fmt::format("{:016x}", a.value)}};
  }
  [[nodiscard]] std::string verdict(std::span<const row> rows, std::size_t cores) const override {
    return files_verdict(rows, cores);
  }

 private:
  [[nodiscard]] std::vector<std::size_t> widths() const {
    if (!opts_.workers.empty()) return opts_.workers;
    return {std::begin(files_default_workers), std::end(files_default_workers)};
  }
  files_options opts_;
};

}  // namespace

file_list walk_regular_files(const std::string& root) {
  std::error_code ec;
  fs::file_status st = fs::status(root, ec);  // the root itself may be a symlink to a directory
  if (ec || !fs::exists(st)) throw usage_error(fmt::format("files: directory not found: {}", root));
  if (!fs::is_directory(st)) throw usage_error(fmt::format("files: not a directory: {}", root));

  file_list out;
  std::vector<fs::path> pending{fs::path(root)};
  while (!pending.empty()) {
    fs::path dir = std::move(pending.back());
    pending.pop_back();
    fs::directory_iterator it(dir, ec);
    if (ec) {
      ++out.unlistable;
      continue;
    }
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::error_code entry_ec;
      fs::file_status s = it->symlink_status(entry_ec);
      if (entry_ec) {
        ++out.others;  // vanished between readdir and lstat
      } else if (fs::is_symlink(s)) {
        ++out.symlinks;
      } else if (fs::is_directory(s)) {
        pending.push_back(it->path());
      } else if (fs::is_regular_file(s)) {
        std::uintmax_t size = it->file_size(entry_ec);
        if (!entry_ec) out.bytes += size;
        out.paths.push_back(it->path().string());
      } else {
        ++out.others;
      }
    }
    if (ec) ++out.unlistable;  // failed part-way through: what was listed stays listed
  }
  return out;
}

file_hash hash_file(const std::string& path) noexcept {
  // O_NOFOLLOW and O_NONBLOCK guard the gap between walk and hash: a file replaced by a symlink
  // or a FIFO fails here instead of being followed or blocking; regular files ignore O_NONBLOCK.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return {};
  fd_closer closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  std::unique_ptr<XXH3_state_t, xxh3_deleter> state(XXH3_createState());
  if (!state || XXH3_64bits_reset(state.get()) != XXH_OK) return {};
  std::array<unsigned char, read_size> buf;
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return {};
    }
    if (n == 0) break;
    if (XXH3_64bits_update(state.get(), buf.data(), static_cast<std::size_t>(n)) != XXH_OK)
      return {};
    total += static_cast<std::uint64_t>(n);
  }
  return {.hash = XXH3_64bits_digest(state.get()), .bytes = total, .ok = true};
}

task_result files_task(const std::string& path) noexcept {
  file_hash h = hash_file(path);
  return {.value = h.hash, .bytes = h.bytes, .failures = h.ok ? 0u : 1u};
}

std::uint64_t combine_file_hashes(std::span<const task_result> results) noexcept {
  // Hashing the sequence (not summing or xor-ing) keeps duplicate files from cancelling out and
  // makes the order count; a failure hashes as its own marker, distinct from any content hash.
  std::unique_ptr<XXH3_state_t, xxh3_deleter> state(XXH3_createState());
  if (!state) return 0;
  XXH3_64bits_reset(state.get());
  for (const task_result& r : results) {
    std::uint64_t words[2] = {r.value, r.failures};
    XXH3_64bits_update(state.get(), words, sizeof words);
  }
  return XXH3_64bits_digest(state.get());
}

std::unique_ptr<workload> make_files_workload(file_list files) {
  return std::make_unique<files_workload>(std::move(files));
}

std::unique_ptr<experiment> make_files_experiment(files_options opts) {
  return std::make_unique<files_experiment>(std::move(opts));
}

}  // namespace tandem::lab
