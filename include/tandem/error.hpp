// tandem's exception types, and the hook that reports errors nobody can retrieve.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tandem {

/// Durations in tandem's APIs are seconds as a double, like Python's; any std::chrono duration
/// converts implicitly (`f.get(250ms)`), and `tandem::seconds{0.25}` spells a plain number.
using seconds = std::chrono::duration<double>;

/// Base of every recoverable failure tandem reports; catch it to catch them all.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A wait ran past its timeout (`future::get(timeout)`, `map(..., {.timeout})`, `as_completed`).
/// Follows concurrent.futures.TimeoutError (an alias of the builtin TimeoutError since 3.11).
class timeout_error : public error {
 public:
  using error::error;
};

/// An operation that the object's current state does not allow: setting a result twice,
/// submitting to a pool after shutdown. Follows concurrent.futures.InvalidStateError.
class invalid_state_error : public error {
 public:
  using error::error;
};

/// The pool can no longer run work: a worker's initializer threw (thread_pool) or a worker
/// process died (process_pool). The message names the cause.
/// Follows concurrent.futures.BrokenExecutor (BrokenThreadPool, BrokenProcessPool).
class broken_pool : public error {
 public:
  using error::error;
};

/// An exception thrown by work that ran somewhere else (a worker process), whose type does not
/// exist on this side or is not one tandem rebuilds as itself (std::logic_error and
/// std::runtime_error and their standard subclasses, std::bad_alloc and tandem's own errors come
/// back as themselves). what() is "<type name> in <origin>: <message>".
/// Follows concurrent.futures.process._RemoteTraceback and Celery's remote exceptions.
class remote_error : public error {
 public:
  /// `type_name` is the remote exception's demangled type ("my::parse_error"); `origin` says
  /// where it ran ("worker pid 1234"); `message` is its what().
  remote_error(std::string type_name, std::string message, std::string origin, long pid = 0)
      : error(type_name + " in " + origin + ": " + message),
        type_name_(std::move(type_name)),
        message_(std::move(message)),
        pid_(pid) {}
  /// The remote exception's type name, demangled ("std::bad_variant_access", "my::parse_error").
  [[nodiscard]] const std::string& type_name() const noexcept { return type_name_; }
  /// The remote exception's own what(), without the type and origin.
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  /// The process id of the worker it was thrown in; 0 when it did not come from a process.
  [[nodiscard]] long pid() const noexcept { return pid_; }

 private:
  std::string type_name_;
  std::string message_;
  long pid_;
};

/// The promise was destroyed before it gave its future a result or an exception
/// (std::future_errc::broken_promise; Python has no such case because futures are set by
/// executors).
class broken_promise : public error {
 public:
  using error::error;
};

/// The awaited work was cancelled. Cancellation is an outcome, not a failure, so this type derives
/// from neither `tandem::error` nor `std::exception`: a `catch (const std::exception&)` cannot
/// swallow it by accident. This is asyncio's choice (CancelledError is a BaseException since 3.8);
/// docs/cancellation.md explains it.
class cancelled_error {
 public:
  cancelled_error() = default;
  /// `message` is kept and returned by what() (asyncio's `Task.cancel(msg)`).
  explicit cancelled_error(std::string message) : message_(std::move(message)) {}
  /// The message given at cancellation, or "cancelled".
  [[nodiscard]] const char* what() const noexcept {
    return message_.empty() ? "cancelled" : message_.c_str();
  }

 private:
  std::string message_;
};

/// An exception that escaped somewhere no caller can receive it (a done callback, an
/// `apply_async` callback). Follows Python's sys.unraisablehook arguments.
struct unraisable {
  std::exception_ptr error;  ///< what was thrown (never null)
  std::string_view where;    ///< where it escaped, e.g. "future done callback"
};

/// Replaces the function that reports unraisable exceptions and returns the previous one.
/// The default writes one line to stderr with the exception's message. The hook runs on the
/// thread where the exception escaped and must not throw (if it does, std::terminate).
/// Thread safety: safe to call from any thread; a report running concurrently may still use the
/// previous hook.
std::function<void(const unraisable&)> set_unraisable_hook(
    std::function<void(const unraisable&)> hook);

/// Reports `error` through the current unraisable hook. Never throws.
void report_unraisable(std::exception_ptr error, std::string_view where) noexcept;

/// The message of an exception_ptr's exception: what() for std::exception and cancelled_error,
/// "unknown exception" otherwise. Never throws.
std::string describe(const std::exception_ptr& error) noexcept;

}  // namespace tandem
