// tandem::cpu_count: how many CPUs this process may actually use.
#pragma once

#include <cstddef>

namespace tandem {

/// The number of CPUs this process may run on at once: the CPUs in its affinity mask
/// (sched_getaffinity, as Python 3.13's os.process_cpu_count), further limited by a cgroup CPU
/// quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`) rounded up, as a
/// container runtime sets it. Always >= 1. Read once per call; cheap enough to call at pool
/// creation. Errors: none; anything unreadable is ignored.
[[nodiscard]] std::size_t cpu_count() noexcept;

/// The CPU limit implied by a cgroup v2 `cpu.max` line ("max 100000", "150000 100000"): the quota
/// divided by the period, rounded up; 0 when there is no limit or the line is malformed.
/// Exposed for tests.
[[nodiscard]] std::size_t cpu_quota_from_cpu_max(const char* line) noexcept;

}  // namespace tandem
