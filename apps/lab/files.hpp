// The real-data experiment: hash every regular file under a directory with XXH3, a mix of
// syscalls, page-cache copies and hashing (and disk reads, when the cache is cold).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lab/experiment.hpp"

namespace tandem::lab {

/// Options of `tandem-lab files`.
struct files_options {
  /// The tree to hash; /usr/share is on every Debian machine and holds tens of thousands of files.
  std::string dir = "/usr/share";
  /// thread_pool widths to measure; empty means files_default_workers.
  std::vector<std::size_t> workers;
  /// process_pool widths to measure; empty means default_process_widths(cpu_count()) (primes.hpp).
  std::vector<std::size_t> processes;
};

/// The default thread_pool widths: 1 (the pool's own overhead), 2 (the cores here), 4 and 8 (a
/// few threads per core, which is what overlapping blocked reads needs), 32 (far past the cores:
/// shows whether anything is left to overlap). docs/lab.md explains the choice.
inline constexpr std::size_t files_default_workers[] = {1, 2, 4, 8, 32};

/// Files handed to a pool worker at once. A file costs ~10-20 us here (open, read, close, hash),
/// a pool task ~1 us of dispatch; 16 files amortise that below 1% while leaving thousands of tasks
/// for balancing the occasional multi-megabyte file.
inline constexpr std::size_t files_chunksize = 16;

/// What one walk of a tree found.
struct file_list {
  std::vector<std::string> paths;  ///< regular files, in walk order
  std::uint64_t bytes = 0;         ///< their sizes at walk time, summed
  std::size_t symlinks = 0;        ///< symbolic links skipped (never followed: no file twice)
  std::size_t others = 0;          ///< sockets, FIFOs, devices skipped
  std::size_t unlistable = 0;      ///< directories that could not be listed (permissions), skipped
};

/// Walks `root` once, depth first, without following symbolic links below it, and lists its
/// regular files. Directories it cannot open are counted and skipped.
/// Errors: `usage_error` if `root` does not exist or is not a directory.
[[nodiscard]] file_list walk_regular_files(const std::string& root);

/// One file's XXH3-64 hash, or ok == false if it could not be opened or read in full.
struct file_hash {
  std::uint64_t hash = 0;   ///< XXH3_64bits of the content (seed 0); 0 when !ok
  std::uint64_t bytes = 0;  ///< bytes hashed; 0 when !ok
  bool ok = false;          ///< false: unreadable (permissions, vanished, I/O error, not regular)
};

/// Hashes the file at `path` with XXH3_64bits streaming, in 64 KiB reads. Never follows a symbolic
/// link and never opens anything but a regular file (a FIFO swapped in after the walk would
/// otherwise block the pass).
/// Thread safety: safe to call concurrently.
[[nodiscard]] file_hash hash_file(const std::string& path) noexcept;

/// One task of the files workload: hash_file(path) as a task_result (value = hash, bytes, failures
/// = 1 if unreadable). A plain function of the path, so that a worker process can run it: the
/// process_pool row sends each path to a worker once and gets one task_result back.
[[nodiscard]] task_result files_task(const std::string& path) noexcept;

/// One checksum for a whole pass: XXH3_64bits of the per-file results in list order, so it
/// changes if any file's hash, readability or position differs.
[[nodiscard]] std::uint64_t combine_file_hashes(std::span<const task_result> results) noexcept;

/// A workload hashing every file of `files`, one task per file, chunksize files_chunksize.
/// answer: value = combine_file_hashes, items = files, bytes = bytes hashed, failures = unreadable.
[[nodiscard]] std::unique_ptr<workload> make_files_workload(file_list files);

/// The files experiment with `opts`; add_options() binds --dir and --workers to them.
/// prepare() walks the tree and runs one untimed warm-up pass so every timed pass starts with
/// the same (warm) page cache.
[[nodiscard]] std::unique_ptr<experiment> make_files_experiment(files_options opts = {});

}  // namespace tandem::lab
