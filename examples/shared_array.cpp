// shared_array: a large array shared with worker processes by handle, as joblib memmaps big
// numpy arrays. The workers fill slices of one array in place and return an array of their own;
// nothing but names crosses the pipes, and no /dev/shm segment outlives its last user.
// Run: ./example_shared_array
#include <tandem/process.hpp>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

// Fills a[lo, hi) with sin(i): the worker writes straight into the parent's memory.
long fill_slice(tandem::shared_array<double> a, long lo, long hi) {
  for (long i = lo; i < hi; ++i) a[static_cast<std::size_t>(i)] = std::sin(static_cast<double>(i));
  return hi - lo;
}

// A worker creates an array and returns it: the handle travels back, the segment stays until
// the parent lets go (a killed worker's arrays are removed by its tracker process).
tandem::shared_array<int> squares(long n) {
  tandem::shared_array<int> out(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = static_cast<int>(i * i);
  return out;
}

int main(int argc, char** argv) {
  tandem::process_init(argc, argv);  // first line: starts the forkserver; spawned workers stop here

  constexpr long n = 4'000'000;  // 32 MB of doubles: sent as a 48-byte handle, not copied
  tandem::shared_array<double> a(n);
  std::string name(a.name());
  {
    tandem::process_pool pool({.processes = 4});
    std::vector<tandem::future<long>> parts;
    for (long lo = 0; lo < n; lo += n / 8)
      parts.push_back(pool.submit(fill_slice, a, lo, lo + n / 8));
    long written = 0;
    for (auto& f : parts) written += f.get();
    std::printf("workers wrote %ld elements of %s in place\n", written, name.c_str());

    double err = 0;
    for (long i = 0; i < n; i += 9973)
      err += std::abs(a[static_cast<std::size_t>(i)] - std::sin(static_cast<double>(i)));
    std::printf("parent reads them: error %g\n", err);
    if (written != n || err != 0) return 1;

    tandem::shared_array<int> sq = pool.submit(squares, 1000L).get();
    std::printf("a worker returned %s: sq[999] = %d\n", std::string(sq.name()).c_str(), sq[999]);
    if (sq[999] != 999 * 999) return 1;
  }

  a = tandem::shared_array<double>();  // the last handle: the segment is unlinked now
  bool gone = ::access(("/dev/shm" + name).c_str(), F_OK) != 0;
  std::printf("%s %s\n", name.c_str(), gone ? "is gone from /dev/shm" : "is still there!");
  return gone ? 0 : 1;
}
