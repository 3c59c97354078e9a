// Must not compile: a lambda's captures cannot travel to a worker process.
#include "tandem/process/process_pool.hpp"

int main() {
  tandem::process_pool pool;
  int base = 40;
  return static_cast<int>(pool.submit([base](int x) { return base + x; }, 2).get());
}
