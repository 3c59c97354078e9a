// Small coroutines the aio combinator tests share.
#pragma once

#include <stdexcept>

#include "tandem/aio.hpp"

namespace aio_test {

namespace aio = tandem::aio;

/// Returns `v` after sleeping `delay` seconds.
inline aio::task<int> value_after(int v, double delay) {
  co_await aio::sleep(delay);
  co_return v;
}

/// Throws std::runtime_error("boom") after sleeping `delay` seconds.
inline aio::task<int> fail_after(double delay) {
  co_await aio::sleep(delay);
  throw std::runtime_error("boom");
}

}  // namespace aio_test
