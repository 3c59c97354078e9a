#include "tandem/detail/state_alloc.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

using tandem::detail::state_alloc;
using tandem::detail::state_free;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool caching = false;
#else
constexpr bool caching = true;
#endif

TEST(StateAlloc, AFreedBlockIsReusedForTheSameSizeClass) {
  if (!caching) GTEST_SKIP() << "sanitizer builds bypass the cache";
  void* a = state_alloc(100);
  state_free(a, 100);
  void* b = state_alloc(110);  // same 16-byte class (97..112)
  EXPECT_EQ(a, b);
  void* c = state_alloc(40);  // another class: not a
  EXPECT_NE(c, a);
  state_free(b, 110);
  state_free(c, 40);
}

TEST(StateAlloc, BlocksAreUsableAndDistinct) {
  std::vector<void*> blocks;
  for (std::size_t n = 1; n <= 600; n += 7) {
    void* p = state_alloc(n);
    std::memset(p, 0xab, n);  // ASan checks the whole size is ours
    blocks.push_back(p);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) state_free(blocks[i], 1 + 7 * i);
}

TEST(StateAlloc, BlocksFreedOnAnotherThreadAreFine) {
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) blocks.push_back(state_alloc(96));
  std::thread t([&] {
    for (void* p : blocks) state_free(p, 96);
  });
  t.join();  // that thread's cache is released at its exit
  for (int i = 0; i < 10000; ++i) state_free(state_alloc(96), 96);
}
