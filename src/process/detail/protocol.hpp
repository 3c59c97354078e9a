// The messages between a process_pool and its workers, over two pipes per worker.
//
// Every message is a frame: a 16-byte header, then `size` bytes of payload encoded with
// tandem::codec. Parent to worker: hello (the worker's limits), init (the initializer call), task
// (a call); worker to parent, in the order the tasks arrived: result, error (an encoded
// exception), init_failed, retiring (the worker leaves after this frame; tasks it has not
// answered never started, so the parent sends them elsewhere).
#pragma once

#include <sys/types.h>
#include <cstdint>

#include "tandem/process/process_pool.hpp"

namespace tandem::detail::proto {

struct frame_header {
  std::uint32_t size;  // payload bytes after the header
  std::uint32_t kind;
  std::uint64_t id;  // the task's id (echoed in its result), 0 for others
};
static_assert(sizeof(frame_header) == frame_header_bytes);

enum kind : std::uint32_t {
  hello = 1,
  init = 2,
  task = 3,
  result = 10,
  error = 11,
  init_failed = 12,
  retiring = 13,
};

/// The worker's side of its limits, sent in the hello frame.
struct worker_limits {
  std::uint64_t max_tasks = 0;   // 0: none
  std::uint64_t max_memory = 0;  // bytes of RSS growth; 0: none
};

/// Runs the worker loop on `in` (frames from the parent) and `out` (frames to it) until `in`
/// ends or the worker retires; never returns. `parent` is the pid the worker must outlive by no
/// more than a moment: if it is gone already, the worker exits at once.
[[noreturn]] void run_worker(int in, int out, pid_t parent) noexcept;

/// Appends the exception being handled (inside a catch block) to `e`.
void encode_current_exception(encoder& e);
/// Rebuilds an exception encoded by encode_current_exception in worker `pid`.
std::exception_ptr decode_exception(decoder& d, pid_t pid);

}  // namespace tandem::detail::proto

namespace tandem::detail {
/// Starts one worker process reading frames from `in` and writing them to `out` (this process's
/// ends are not touched). Returns the worker's pid; it is this process's child whatever the
/// method. Errors: std::system_error.
pid_t start_worker(start_method method, int in, int out);
/// Throws invalid_state_error if `method` cannot be used in this program (spawn or forkserver
/// without tandem::process_init in main).
void check_start_method(start_method method);
}  // namespace tandem::detail
