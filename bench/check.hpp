// A benchmark that computed the wrong answer must stop the run, not become a number in the table.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tandem_bench {

/// Aborts the whole run, naming the variant, if `got` differs from `want`.
/// Why abort rather than SkipWithError: run.sh must not print a table that is missing a row
/// because one variant silently failed; a non-zero exit stops `make bench`.
inline void check_equal(const char* variant, long long got, long long want) {
  if (got == want) return;
  std::fprintf(stderr, "%s: result %lld, expected %lld: FAILED\n", variant, got, want);
  std::abort();
}

}  // namespace tandem_bench
