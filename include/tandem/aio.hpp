// tandem::aio: asyncio for C++20. One include for the whole layer; docs/aio.md is the guide.
#pragma once

#include "tandem/aio/barrier.hpp"
#include "tandem/aio/channel.hpp"
#include "tandem/aio/condition.hpp"
#include "tandem/aio/errors.hpp"
#include "tandem/aio/event.hpp"
#include "tandem/aio/gather.hpp"
#include "tandem/aio/lock.hpp"
#include "tandem/aio/loop.hpp"
#include "tandem/aio/queue.hpp"
#include "tandem/aio/run.hpp"
#include "tandem/aio/semaphore.hpp"
#include "tandem/aio/sleep.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/aio/threads.hpp"
#include "tandem/aio/timeout.hpp"
