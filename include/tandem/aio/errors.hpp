// The exceptions of aio's queues, barrier and channel.
#pragma once

#include "tandem/error.hpp"

namespace tandem::aio {

/// get_nowait() on an empty queue. Follows asyncio.QueueEmpty.
class queue_empty : public error {
 public:
  queue_empty() : error("queue is empty") {}
  using error::error;
};

/// put_nowait() on a full queue. Follows asyncio.QueueFull.
class queue_full : public error {
 public:
  queue_full() : error("queue is full") {}
  using error::error;
};

/// put() on a queue that was shut down, or get() on one that was shut down and is empty (or shut
/// down with immediate = true). Follows asyncio.QueueShutDown (3.13).
class queue_shut_down : public error {
 public:
  queue_shut_down() : error("queue is shut down") {}
  using error::error;
};

/// A barrier::wait() that cannot complete: the barrier was aborted, or reset while the task
/// waited. Follows asyncio.BrokenBarrierError.
class broken_barrier_error : public error {
 public:
  using error::error;
};

/// A push onto a channel that was closed (tandem::channel, no asyncio equivalent).
class channel_closed : public error {
 public:
  channel_closed() : error("channel is closed") {}
  using error::error;
};

}  // namespace tandem::aio
