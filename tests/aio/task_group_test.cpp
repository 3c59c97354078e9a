// task_group, following CPython's test_taskgroups.py.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using tandem::cancelled_error;

namespace {

struct counters {
  int done = 0;
  int cancelled = 0;
};

aio::task<int> child(double delay, counters* c) {
  try {
    co_await aio::sleep(delay);
  } catch (const cancelled_error&) {
    ++c->cancelled;
    throw;
  }
  ++c->done;
  co_return 1;
}

aio::task<int> crash(double delay, std::string what) {
  co_await aio::sleep(delay);
  throw std::runtime_error(what);
}

aio::task<void> spawn_ok(aio::task_group* tg, counters* c) {
  tg->create_task(child(0.01, c));
  tg->create_task(child(0.02, c));
  co_return;
}

aio::task<int> all_finish() {
  counters c;
  aio::task_group tg;
  co_await tg.run(spawn_ok(&tg, &c));
  co_return c.done;
}

// A task that, when cancelled, fails in its cleanup: its error joins the group's too.
aio::task<int> fails_when_cancelled() {
  bool cancelled = false;
  try {
    co_await aio::sleep(5);
  } catch (const cancelled_error&) {
    cancelled = true;
  }
  if (cancelled) throw std::runtime_error("second");
  co_return 0;
}

aio::task<void> spawn_failing(aio::task_group* tg, counters* c, bool* body_cancelled) {
  tg->create_task(child(5, c));
  tg->create_task(crash(0.01, "first"));
  tg->create_task(fails_when_cancelled());
  try {
    co_await aio::sleep(5);
  } catch (const cancelled_error&) {
    *body_cancelled = true;
    throw;
  }
}

aio::task<std::string> first_failure_cancels_siblings_and_body() {
  counters c;
  bool body_cancelled = false;
  aio::task_group tg;
  try {
    co_await tg.run(spawn_failing(&tg, &c, &body_cancelled));
  } catch (const aio::exception_group& eg) {
    co_return std::to_string(eg.exceptions().size()) + " errors, sibling cancelled " +
        std::to_string(c.cancelled) + ", body cancelled " + (body_cancelled ? "yes" : "no") +
        ", task still cancelling " + std::to_string(aio::current_task()->cancelling());
  }
  co_return "no exception_group";
}

aio::task<void> body_cancels(aio::task_group* tg, counters* c) {
  tg->create_task(child(5, c));
  co_await aio::sleep(0.005);  // let the child start (its first step is one iteration away)
  tg->cancel();
  co_await aio::sleep(5);
}

aio::task<std::string> cancel_from_inside() {
  counters c;
  aio::task_group tg;
  co_await tg.run(body_cancels(&tg, &c));
  co_return "returned normally, cancelled " + std::to_string(c.cancelled);
}

aio::task<void> group_in_task(counters* c) {
  aio::task_group tg;
  co_await tg.run(spawn_ok(&tg, c));
  co_await aio::sleep(5);
}

aio::task<std::string> external_cancel_propagates() {
  counters c;
  auto t = aio::create_task(group_in_task(&c));
  co_await aio::sleep(0.005);
  t.cancel();
  try {
    co_await t;
  } catch (const cancelled_error&) {
    co_return "cancelled, children cancelled " + std::to_string(c.cancelled);
  }
  co_return "not cancelled";
}

aio::task<std::string> create_after_finish_refused() {
  counters c;
  aio::task_group tg;
  co_await tg.run(spawn_ok(&tg, &c));
  try {
    tg.create_task(child(0, &c));
  } catch (const tandem::invalid_state_error&) {
    co_return "refused";
  }
  co_return "accepted";
}

}  // namespace

TEST(TaskGroup, WaitsForEveryTask) { EXPECT_EQ(aio::run(all_finish()), 2); }

TEST(TaskGroup, FirstFailureCancelsSiblingsAndBodyThenRaisesAGroup) {
  EXPECT_EQ(aio::run(first_failure_cancels_siblings_and_body()),
            "2 errors, sibling cancelled 1, body cancelled yes, task still cancelling 0");
}

TEST(TaskGroup, CancelEndsTheGroupWithoutError) {
  EXPECT_EQ(aio::run(cancel_from_inside()), "returned normally, cancelled 1");
}

TEST(TaskGroup, ExternalCancelPropagates) {
  EXPECT_EQ(aio::run(external_cancel_propagates()), "cancelled, children cancelled 2");
}

TEST(TaskGroup, CreateTaskAfterFinishIsRefused) {
  EXPECT_EQ(aio::run(create_after_finish_refused()), "refused");
}
