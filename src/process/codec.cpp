// The cold paths of the codec: buffer growth and the decode_error messages. Kept out of line so
// the inlined fast paths (a bounds check and a memcpy) stay small at every call site.
#include "tandem/process/codec.hpp"

#include <cstdlib>
#include <limits>
#include <new>
#include <string>

namespace tandem {

void byte_buffer::grow_for(std::size_t more) {
  if (more > std::numeric_limits<std::size_t>::max() - size_) throw std::bad_alloc();
  std::size_t needed = size_ + more;
  // Doubling keeps appends amortised O(1); 256 bytes first, enough for a typical small task
  // message (16-byte frame header, a code address, a few arguments) in a single allocation.
  std::size_t doubled = capacity_ > std::numeric_limits<std::size_t>::max() / 2
                            ? std::numeric_limits<std::size_t>::max()
                            : capacity_ * 2;
  std::size_t target = needed;
  if (target < doubled) target = doubled;
  if (target < 256) target = 256;
  grow_to(target);
}

void byte_buffer::grow_to(std::size_t capacity) {
  // realloc keeps the bytes in use (and may extend in place); on failure the old block is intact.
  void* p = std::realloc(data_, capacity);
  if (p == nullptr) throw std::bad_alloc();
  data_ = static_cast<std::byte*>(p);
  capacity_ = capacity;
}

namespace detail {

void throw_truncated(std::size_t needed, std::size_t left) {
  throw decode_error("tandem::decode: message truncated: needed " + std::to_string(needed) +
                     " bytes, " + std::to_string(left) + " left");
}

void throw_bad_count(std::uint64_t count, std::size_t min_item_bytes, std::size_t left) {
  throw decode_error("tandem::decode: container count " + std::to_string(count) +
                     " cannot fit in the " + std::to_string(left) + " bytes left (" +
                     (min_item_bytes != 0
                          ? "at least " + std::to_string(min_item_bytes) + " bytes per item"
                          : std::string("implausibly large")) +
                     "): corrupt or truncated message");
}

void throw_bad_value(const char* what) {
  throw decode_error(std::string("tandem::decode: ") + what);
}

}  // namespace detail
}  // namespace tandem
