#include "tandem/error.hpp"

#include <cstdio>
#include <mutex>

namespace tandem {
namespace {

void default_hook(const unraisable& u) {
  std::fprintf(stderr, "tandem: exception ignored in %.*s: %s\n", static_cast<int>(u.where.size()),
               u.where.data(), describe(u.error).c_str());
}

// The hook is swapped rarely and read on every report; a mutex keeps it simple and reports are
// rare.
std::mutex hook_mu;
std::function<void(const unraisable&)>& hook_slot() {
  static std::function<void(const unraisable&)> hook = default_hook;
  return hook;
}

}  // namespace

std::function<void(const unraisable&)> set_unraisable_hook(
    std::function<void(const unraisable&)> hook) {
  std::lock_guard lk(hook_mu);
  auto previous = std::move(hook_slot());
  hook_slot() = hook ? std::move(hook) : default_hook;
  return previous;
}

void report_unraisable(std::exception_ptr error, std::string_view where) noexcept {
  std::function<void(const unraisable&)> hook;
  {
    std::lock_guard lk(hook_mu);
    hook = hook_slot();
  }
  hook(unraisable{std::move(error), where});
}

std::string describe(const std::exception_ptr& error) noexcept {
  try {
    if (error) std::rethrow_exception(error);
    return "no exception";
  } catch (const std::exception& e) {
    return e.what();
  } catch (const cancelled_error& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace tandem
