// How worker processes start (fork, forkserver, spawn) and the one line a program's main needs.
#pragma once

namespace tandem {

/// How a process_pool starts its workers. Follows multiprocessing's start methods.
enum class start_method {
  /// fork() of the calling process. Fastest, but a process that already runs threads forks only
  /// the calling one: a lock another thread held stays locked in the worker forever (Python's
  /// pool deadlocks come from here). Safe while the program is single-threaded.
  fork,
  /// Workers are forked by a clean helper process, itself forked by tandem::process_init while
  /// the program was still single-threaded. The default when process_init has run.
  forkserver,
  /// Workers re-execute the program (/proc/self/exe, same arguments); tandem::process_init, the
  /// first line of main, turns such a process into a worker. Slowest to start, never inherits
  /// anything but the program itself.
  spawn,
};

/// Call as the first line of main: `int main(int argc, char** argv) { tandem::process_init(argc,
/// argv); ... }`. In a worker started by `spawn` it runs the worker and never returns (Python's
/// `if __name__ == "__main__":` guard does this job). In the program itself it starts the
/// forkserver while the program is still single-threaded, which makes `forkserver` the default
/// start method; it does nothing else, and calling it again is harmless.
/// Errors: std::system_error if the forkserver cannot be started.
void process_init(int argc, char** argv);

/// The start method a process_pool uses when its options name none: `forkserver` after
/// process_init, `fork` otherwise (see start_method::fork for the caveat).
[[nodiscard]] start_method default_start_method() noexcept;

}  // namespace tandem
