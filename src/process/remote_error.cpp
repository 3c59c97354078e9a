// Exceptions across the process boundary: the worker encodes the exception it caught (a code for
// the standard and tandem types the parent can rebuild as themselves, the demangled type name and
// what()); the parent rebuilds it, or makes a remote_error of it.
#include <cxxabi.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "detail/protocol.hpp"
#include "tandem/error.hpp"

namespace tandem::detail::proto {
namespace {

// Types rebuilt as themselves. The code is the index; 0 is "anything else".
enum code : std::uint8_t {
  other = 0,
  logic_error,
  invalid_argument,
  domain_error,
  length_error,
  out_of_range,
  runtime_error,
  range_error,
  overflow_error,
  underflow_error,
  bad_alloc,
  tandem_error,
  timeout_error,
  invalid_state_error,
  broken_pool,
  decode_error_code,
  cancelled,
  remote,
};

code code_of(const std::type_info& t) {
  if (t == typeid(std::logic_error)) return logic_error;
  if (t == typeid(std::invalid_argument)) return invalid_argument;
  if (t == typeid(std::domain_error)) return domain_error;
  if (t == typeid(std::length_error)) return length_error;
  if (t == typeid(std::out_of_range)) return out_of_range;
  if (t == typeid(std::runtime_error)) return runtime_error;
  if (t == typeid(std::range_error)) return range_error;
  if (t == typeid(std::overflow_error)) return overflow_error;
  if (t == typeid(std::underflow_error)) return underflow_error;
  if (t == typeid(std::bad_alloc)) return bad_alloc;
  if (t == typeid(tandem::error)) return tandem_error;
  if (t == typeid(tandem::timeout_error)) return timeout_error;
  if (t == typeid(tandem::invalid_state_error)) return invalid_state_error;
  if (t == typeid(tandem::broken_pool)) return broken_pool;
  if (t == typeid(tandem::decode_error)) return decode_error_code;
  if (t == typeid(tandem::cancelled_error)) return cancelled;
  if (t == typeid(tandem::remote_error)) return remote;
  return other;
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> s(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && s ? std::string(s.get()) : std::string(name);
}

}  // namespace

void encode_current_exception(encoder& e) {
  const std::type_info* t = abi::__cxa_current_exception_type();
  std::string what;
  try {
    throw;
  } catch (const remote_error& r) {
    // A remote error passed on: keep the original type and message, not our wrapper's.
    tandem::encode(e, static_cast<std::uint8_t>(other));
    tandem::encode(e, r.type_name());
    tandem::encode(e, r.message());
    return;
  } catch (const std::exception& x) {
    what = x.what();
  } catch (const cancelled_error& c) {
    what = c.what();
  } catch (...) {
    what = "(not derived from std::exception)";
  }
  tandem::encode(e, static_cast<std::uint8_t>(t ? code_of(*t) : other));
  tandem::encode(e, t ? demangle(t->name()) : std::string("unknown"));
  tandem::encode(e, what);
}

std::exception_ptr decode_exception(decoder& d, pid_t pid) {
  auto c = tandem::decode<std::uint8_t>(d);
  auto type = tandem::decode<std::string>(d);
  auto what = tandem::decode<std::string>(d);
  switch (c) {
    case logic_error:
      return std::make_exception_ptr(std::logic_error(what));
    case invalid_argument:
      return std::make_exception_ptr(std::invalid_argument(what));
    case domain_error:
      return std::make_exception_ptr(std::domain_error(what));
    case length_error:
      return std::make_exception_ptr(std::length_error(what));
    case out_of_range:
      return std::make_exception_ptr(std::out_of_range(what));
    case runtime_error:
      return std::make_exception_ptr(std::runtime_error(what));
    case range_error:
      return std::make_exception_ptr(std::range_error(what));
    case overflow_error:
      return std::make_exception_ptr(std::overflow_error(what));
    case underflow_error:
      return std::make_exception_ptr(std::underflow_error(what));
    case bad_alloc:
      return std::make_exception_ptr(std::bad_alloc());
    case tandem_error:
      return std::make_exception_ptr(tandem::error(what));
    case timeout_error:
      return std::make_exception_ptr(tandem::timeout_error(what));
    case invalid_state_error:
      return std::make_exception_ptr(tandem::invalid_state_error(what));
    case broken_pool:
      return std::make_exception_ptr(tandem::broken_pool(what));
    case decode_error_code:
      return std::make_exception_ptr(tandem::decode_error(what));
    case cancelled:
      return std::make_exception_ptr(cancelled_error(what));
    default:
      return std::make_exception_ptr(
          remote_error(std::move(type), std::move(what), "worker pid " + std::to_string(pid), pid));
  }
}

}  // namespace tandem::detail::proto
