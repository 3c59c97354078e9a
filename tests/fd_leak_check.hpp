// A test fixture that fails any test which leaves an fd open (sockets, pipes, epoll, eventfds).
#pragma once

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace tandem::test {

/// Counts /proc/self/fd before each test and expects the same count after it. Derive a suite's
/// fixture from it (`class Streams : public tandem::test::fd_leak_check {};`).
class fd_leak_check : public ::testing::Test {
 protected:
  void SetUp() override { fds_ = count_entries("/proc/self/fd"); }
  void TearDown() override { EXPECT_EQ(count_entries("/proc/self/fd"), fds_) << "an fd leaked"; }

 private:
  int fds_ = 0;
};

}  // namespace tandem::test
