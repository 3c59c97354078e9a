// TANDEM_ASSERT: a caller bug (contract violation) aborts with a message; see STYLE.md "Errors".
#pragma once

namespace tandem::detail {
[[noreturn]] void assert_fail(const char* condition, const char* message, const char* file,
                              int line) noexcept;
}  // namespace tandem::detail

/// Aborts with `message` when `cond` is false. For caller bugs only, never for runtime failures.
#define TANDEM_ASSERT(cond, message) \
  ((cond) ? static_cast<void>(0)     \
          : ::tandem::detail::assert_fail(#cond, message, __FILE__, __LINE__))
