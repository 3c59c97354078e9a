// Code addresses relative to their module, so that a worker started by `spawn` (loaded at another
// base by address-space randomisation) finds the same function.
#include <dlfcn.h>
#include <link.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "tandem/process/callable.hpp"

namespace tandem::detail {
namespace {

struct module_range {
  std::uintptr_t lo = 0, hi = 0, base = 0;
};

// The main executable is the first object dl_iterate_phdr reports.
module_range main_executable() {
  module_range r;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) -> int {
        auto& m = *static_cast<module_range*>(out);
        m.base = info->dlpi_addr;
        m.lo = UINTPTR_MAX;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          m.lo = std::min(m.lo, lo);
          m.hi = std::max(m.hi, lo + ph.p_memsz);
        }
        return 1;  // only the first
      },
      &r);
  return r;
}

const module_range& exe() {
  static const module_range r = main_executable();
  return r;
}

}  // namespace

code_address locate_code(const void* fn) {
  auto p = reinterpret_cast<std::uintptr_t>(fn);
  const auto& m = exe();
  if (p >= m.lo && p < m.hi) return {p - m.base, {}};
  Dl_info info{};
  if (!dladdr(fn, &info) || !info.dli_fname || !info.dli_fbase)
    throw std::invalid_argument("tandem::process_pool: a function to send is in no loaded module");
  return {p - reinterpret_cast<std::uintptr_t>(info.dli_fbase), info.dli_fname};
}

const void* resolve_code(const code_address& a) {
  if (a.module.empty()) return reinterpret_cast<const void*>(exe().base + a.offset);
  struct search {
    const std::string* name;
    std::uintptr_t base = 0;
    bool found = false;
  } s{&a.module};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) -> int {
        auto& q = *static_cast<search*>(out);
        if (info->dlpi_name && *q.name == info->dlpi_name) {
          q.base = info->dlpi_addr;
          q.found = true;
          return 1;
        }
        return 0;
      },
      &s);
  if (!s.found)
    throw decode_error("tandem::process_pool: the library " + a.module +
                       " that holds the function is not loaded in the worker");
  return reinterpret_cast<const void*>(s.base + a.offset);
}

}  // namespace tandem::detail
