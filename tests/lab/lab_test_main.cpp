// The lab's unit tests start process pools in-process (the process_pool rows, isolation), so their
// main calls tandem::process_init first, as every program using process_pool must: it starts the
// forkserver while the test program is still single-threaded.
#include <gtest/gtest.h>

#include "tandem/process/start.hpp"

int main(int argc, char** argv) {
  tandem::process_init(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
