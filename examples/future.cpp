// future and promise: the one result type. A promise is the producing end; futures are shared
// handles on the same result (copies see the same thing, as Python references do). Here a plain
// std::thread produces the value; thread_pool hands out exactly the same kind of future.
//
// Python:  f = concurrent.futures.Future(); f.add_done_callback(cb); ...; f.set_result(42)
#include <tandem/error.hpp>
#include <tandem/future.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

using namespace std::chrono_literals;

int main() {
  tandem::promise<int> promise;
  tandem::future<int> f = promise.get_future();
  tandem::future<int> same = f;  // a second handle on the same result

  // Nothing is set yet: get(timeout) gives up with timeout_error (the work itself goes on).
  bool timed_out = false;
  try {
    (void)f.get(10ms);
  } catch (const tandem::timeout_error&) {
    timed_out = true;
  }

  // A callback added before completion runs later, on the thread that completes the future.
  std::thread::id callback_thread;
  int seen = 0;
  f.add_done_callback([&](const tandem::future<int>& done) {
    callback_thread = std::this_thread::get_id();
    seen = done.get();  // done: get() returns at once
  });

  std::thread producer([p = std::move(promise)]() mutable { p.set_result(42); });
  int value = same.get();  // blocks until the producer has set the result
  const std::thread::id producer_id = producer.get_id();
  producer.join();  // also makes the callback's writes visible here

  // A promise destroyed without a result breaks its future instead of leaving it hanging.
  tandem::future<std::string> orphan;
  {
    tandem::promise<std::string> forgotten;
    orphan = forgotten.get_future();
  }
  bool broken = false;
  try {
    (void)orphan.get();
  } catch (const tandem::broken_promise&) {
    broken = true;
  }

  std::printf("value %d, timed out first: %s, callback on producer thread: %s, broken: %s\n", value,
              timed_out ? "yes" : "no", callback_thread == producer_id ? "yes" : "no",
              broken ? "yes" : "no");
  return value == 42 && seen == 42 && timed_out && callback_thread == producer_id && broken ? 0 : 1;
}
