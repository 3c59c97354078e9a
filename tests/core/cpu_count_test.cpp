#include "tandem/cpu_count.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

TEST(CpuCount, ParsesCgroupV2CpuMax) {
  EXPECT_EQ(tandem::cpu_quota_from_cpu_max("max 100000"), 0u);
  EXPECT_EQ(tandem::cpu_quota_from_cpu_max("200000 100000"), 2u);
  EXPECT_EQ(tandem::cpu_quota_from_cpu_max("150000 100000"), 2u);  // 1.5 CPUs round up
  EXPECT_EQ(tandem::cpu_quota_from_cpu_max("50000 100000"), 1u);
  EXPECT_EQ(tandem::cpu_quota_from_cpu_max(""), 0u);
  EXPECT_EQ(tandem::cpu_quota_from_cpu_max("garbage"), 0u);
}

TEST(CpuCount, NeverExceedsTheAffinityMask) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  std::size_t n = tandem::cpu_count();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, static_cast<std::size_t>(CPU_COUNT(&set)));
}

TEST(CpuCount, FollowsANarrowedAffinityMask) {
  // Affinity is per thread on Linux: narrow a fresh thread to one CPU and ask from there.
  std::size_t seen = 0;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    cpu_set_t all;
    sched_getaffinity(0, sizeof all, &all);
    for (std::size_t c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &all)) {
        CPU_SET(c, &one);
        break;
      }
    sched_setaffinity(0, sizeof one, &one);
    seen = tandem::cpu_count();
  });
  t.join();
  EXPECT_EQ(seen, 1u);
}
