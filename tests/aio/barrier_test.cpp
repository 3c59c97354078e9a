#include "tandem/aio/barrier.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "aio/sync_test_util.hpp"
#include "tandem/aio.hpp"

namespace aio = tandem::aio;
using sync_test::ended_cancelled;
using sync_test::until;

namespace {

struct b_state {
  explicit b_state(std::size_t n) : b(n) {}
  aio::barrier b;
  std::vector<std::size_t> indices;
  int broken = 0;
  int started = 0;
};

aio::task<void> party(b_state* s, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    ++s->started;
    try {
      s->indices.push_back(co_await s->b.wait());
    } catch (const aio::broken_barrier_error&) {
      ++s->broken;
    }
  }
}

aio::task<void> releases_when_full_with_arrival_indices() {
  b_state s(3);
  EXPECT_EQ(s.b.parties(), 3u);
  auto a = aio::create_task(party(&s, 1));
  auto b = aio::create_task(party(&s, 1));
  co_await until([&] { return s.b.n_waiting() == 2; });
  EXPECT_TRUE(s.indices.empty());
  auto c = aio::create_task(party(&s, 1));
  co_await a;
  co_await b;
  co_await c;
  std::sort(s.indices.begin(), s.indices.end());
  EXPECT_EQ(s.indices, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(s.b.n_waiting(), 0u);
  EXPECT_FALSE(s.b.broken());
}

aio::task<void> is_cyclic() {
  b_state s(4);
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 4; ++i) hs.push_back(aio::create_task(party(&s, 5)));
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.indices.size(), 20u);
  std::sort(s.indices.begin(), s.indices.end());
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(s.indices[i], i / 5);
}

aio::task<void> one_party_passes_at_once() {
  aio::barrier b(1);
  EXPECT_EQ(co_await b.wait(), 0u);
  EXPECT_EQ(co_await b.wait(), 0u);
}

aio::task<void> abort_breaks_it_until_reset() {
  b_state s(3);
  auto a = aio::create_task(party(&s, 1));
  co_await until([&] { return s.b.n_waiting() == 1; });
  co_await s.b.abort();
  co_await a;
  EXPECT_EQ(s.broken, 1);
  EXPECT_TRUE(s.b.broken());
  bool threw = false;
  try {
    (void)co_await s.b.wait();
  } catch (const aio::broken_barrier_error&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
  co_await s.b.reset();
  EXPECT_FALSE(s.b.broken());
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(aio::create_task(party(&s, 1)));
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.indices.size(), 3u);
}

aio::task<void> reset_breaks_the_current_round() {
  b_state s(3);
  auto a = aio::create_task(party(&s, 1));
  auto b = aio::create_task(party(&s, 1));
  co_await until([&] { return s.b.n_waiting() == 2; });
  co_await s.b.reset();
  co_await a;
  co_await b;
  EXPECT_EQ(s.broken, 2);
  EXPECT_FALSE(s.b.broken());
  std::vector<aio::task_handle<void>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(aio::create_task(party(&s, 1)));
  for (auto& h : hs) co_await h;
  EXPECT_EQ(s.indices.size(), 3u);
}

aio::task<void> cancelled_party_leaves_the_count() {
  b_state s(2);
  auto a = aio::create_task(party(&s, 1));
  co_await until([&] { return s.b.n_waiting() == 1; });
  a.cancel();
  EXPECT_TRUE(co_await ended_cancelled(a));
  EXPECT_EQ(s.b.n_waiting(), 0u);
  auto b = aio::create_task(party(&s, 1));
  auto c = aio::create_task(party(&s, 1));
  co_await b;
  co_await c;
  std::sort(s.indices.begin(), s.indices.end());
  EXPECT_EQ(s.indices, (std::vector<std::size_t>{0, 1}));
}

}  // namespace

TEST(Barrier, ReleasesWhenFullWithArrivalIndices) {
  aio::run(releases_when_full_with_arrival_indices());
}
TEST(Barrier, IsCyclic) { aio::run(is_cyclic()); }
TEST(Barrier, OnePartyPassesAtOnce) { aio::run(one_party_passes_at_once()); }
TEST(Barrier, AbortBreaksItUntilReset) { aio::run(abort_breaks_it_until_reset()); }
TEST(Barrier, ResetBreaksTheCurrentRound) { aio::run(reset_breaks_the_current_round()); }
TEST(Barrier, CancelledPartyLeavesTheCount) { aio::run(cancelled_party_leaves_the_count()); }
