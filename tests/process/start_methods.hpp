// Test fixtures run once per start method (fork, forkserver, spawn), shared by the process tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "tandem/process/process_pool.hpp"

namespace tandem::test {

/// A test parameterised by start method: `with({...})` is pool options using it.
class start_method_test : public ::testing::TestWithParam<start_method> {
 protected:
  process_pool::options with(process_pool::options o) {
    o.start_method = GetParam();
    return o;
  }
};

/// Test-name suffix for a start method ("fork", "forkserver", "spawn").
inline std::string start_name(const ::testing::TestParamInfo<start_method>& i) {
  switch (i.param) {
    case start_method::fork:
      return "fork";
    case start_method::forkserver:
      return "forkserver";
    case start_method::spawn:
      return "spawn";
  }
  return "unknown";
}

/// The three start methods, for INSTANTIATE_TEST_SUITE_P.
inline auto all_start_methods() {
  return ::testing::Values(start_method::fork, start_method::forkserver, start_method::spawn);
}

}  // namespace tandem::test
