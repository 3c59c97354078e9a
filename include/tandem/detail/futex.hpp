// Linux futex wait/wake on a std::atomic<uint32_t>, with a timeout that std::atomic::wait lacks.
#pragma once

#include <atomic>
#include <cstdint>

#include "tandem/error.hpp"

namespace tandem::detail {

/// Blocks while `*word == expected`, at most `timeout` (negative: no limit). Returns false on
/// timeout. May return spuriously; callers re-check their condition.
bool futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                seconds timeout = seconds{-1}) noexcept;

/// Wakes up to `count` threads blocked in futex_wait on `word`.
void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace tandem::detail
