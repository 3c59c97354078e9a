// tandem::shared_array<T>: a fixed-size array in POSIX shared memory that crosses a process
// boundary as a handle (a segment name), never as a copy of its elements. Follows joblib's
// memmapping of large arrays and Python's multiprocessing.shared_memory, with the lifetime done
// for the user: the segment is unlinked when the last process holding it lets go, also when
// processes were killed.
//
//   process A                          /dev/shm/tandem-<16 hex>            process B
//   shared_array<double> a(n) --create-> [header | 64-byte aligned data] <--open-- decode(handle)
//   encode(a) -> "name, n, 8" --------------------pipe---------------------> shared_array<double>
//   a[i] = x                             same pages, MAP_SHARED                b[i] sees x
//
// Lifetime across processes (invariants; docs/process.md "Shared arrays" tells the story):
// - Every mapping holds a shared flock() on its own open file description of the segment. The
//   kernel drops that lock when the process dies, however it dies, so "is anyone alive holding
//   it?" is answered by the kernel, not by a counter a killed process could leave behind.
// - The header's `in_transit` counts handles that were encoded and not yet decoded. encode()
//   adds one on behalf of the receiver; the first decode of those bytes adopts it (takes its
//   shared lock first, then subtracts one).
// - A process letting go of its mapping's last handle tries to turn its lock exclusive without
//   waiting. It succeeds only if no other mapping anywhere holds the segment; it then unlinks the
//   name iff in_transit is 0. Lock first, then read in_transit: a decoder locks before it
//   subtracts, so an exclusive holder reading 0 knows no handle is on its way.
// - The creating process registers each name with its tracker process (below) before creating
//   it and unregisters it once it unlinked it itself. When the creator dies, the tracker takes
//   over: it unlinks each registered name as soon as no mapping holds it and in_transit is 0, or,
//   when a handle is still in transit with nobody left holding the segment, after a grace of 5
//   seconds in which its receiver may still open it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tandem/process/codec.hpp"

namespace tandem {

template <class T>
class shared_array;

namespace detail {

/// Called in a child process right after fork()/clone(), before it creates shared arrays: the
/// child forgets the parent's tracker (it is not the child's to use) and starts its own at its
/// first creation. Only async-signal-safe work: the child may come from a multi-threaded parent.
/// Registered with pthread_atfork's child handler too (which also closes the inherited tracker
/// descriptor); process_pool's workers call it explicitly because they may start by a raw clone.
/// It never closes a descriptor: in a child that already rearranged its descriptors, the number
/// may have been reused.
void shared_array_after_fork_in_child() noexcept;

/// Starts this process's tracker now if it is not running (it otherwise starts at the first
/// creation). For leak checks that compare descriptor lists: the tracker's socket is one
/// descriptor held for the life of the process.
/// Errors: std::system_error if socketpair or fork fails.
void shared_array_start_tracker();

/// One mapping of a segment in this process, shared by every shared_array copied from the same
/// creation or decode. Its destructor releases the mapping (see the lifetime rules at the top of
/// this file).
///
/// Thread safety: immutable after construction; destroyed once, by the last handle.
class shm_mapping {
 public:
  /// Creates and maps a new zero-filled segment of `count` items of `item_size` bytes.
  /// Errors: std::system_error (with errno and the segment name) from shm_open, ftruncate, mmap;
  /// std::length_error if the size overflows.
  static std::shared_ptr<shm_mapping> create(std::size_t count, std::size_t item_size);

  /// Opens and maps the segment `name`, adopting one in-transit reference, and checks that it
  /// holds `count` items of `item_size` bytes.
  /// Errors: decode_error naming the segment if it does not exist or does not match.
  static std::shared_ptr<shm_mapping> open(const std::string& name, std::size_t count,
                                           std::size_t item_size);

  /// Releases the mapping: unlinks the segment if this was the last mapping anywhere and no
  /// handle is in transit. Never throws.
  ~shm_mapping();
  shm_mapping(const shm_mapping&) = delete;
  shm_mapping& operator=(const shm_mapping&) = delete;

  /// The first item (64-byte aligned).
  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  /// The segment's name, "/tandem-" and 16 lowercase hex digits.
  [[nodiscard]] std::string_view name() const noexcept { return name_; }
  /// Counts one more handle in transit (called by encode).
  /// Memory ordering: release, so that the receiver's decode sees it.
  void add_in_transit() const noexcept;

 private:
  shm_mapping() = default;
  void map(std::size_t bytes);

  int fd_ = -1;  // our own open file description; holds the shared flock
  std::byte* base_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t bytes_ = 0;
  int owner_pid_ = 0;                // the process that mapped it; a forked child never unlinks
  bool registered_ = false;          // created here and registered with our tracker
  std::uint64_t dev_ = 0, ino_ = 0;  // identify fd_'s file (a child may have reused the number)
  char name_[32] = {};
};

/// The wire format of a shared_array handle: the name (as a std::string), then u64 item count,
/// then u64 item size; an empty handle is an empty name and two zeros.
void encode_shared_array(encoder& e, const shm_mapping* m, std::size_t count,
                         std::size_t item_size);
/// Reads a handle written by encode_shared_array and maps its segment (null for an empty one).
/// Errors: decode_error for truncated bytes, a missing segment, or one whose size or item size
/// does not match.
std::shared_ptr<shm_mapping> decode_shared_array(decoder& d, std::size_t item_size,
                                                 std::size_t& count);

}  // namespace detail

/// A fixed-size array of trivially copyable `T` in shared memory; copying it (or sending it to a
/// worker process with process_pool) copies a handle, and every handle, in every process, sees
/// the same elements. Follows multiprocessing.shared_memory and joblib's memmapping, with the
/// unlink done for you.
///
/// Like std::span, the handle's constness is not the elements': a const shared_array still
/// gives `T&`. Elements start zero-filled.
///
/// The segment: /dev/shm/tandem-<16 random lowercase hex digits> (64 bits from getrandom),
/// created with O_EXCL and mode 0600, unlinked when the last handle in the last process holding
/// it goes, or, if processes are killed, by the creator's tracker process (see the top of
/// shared_array.hpp and docs/process.md). Each mapping holds one O_CLOEXEC descriptor.
///
/// Thread safety: handles are like std::shared_ptr: distinct handles to the same segment may be
/// copied and destroyed from any thread; one handle is not written by two threads at once. The
/// elements are plain memory: synchronise access to them yourself (the pool's future does).
/// Memory ordering: none for the elements across processes beyond what the program arranges;
/// a result returned from a worker is visible to its future's get() (the pipe orders it).
/// Errors: std::system_error carrying errno and the segment name when shm_open, ftruncate or mmap
/// fails (ENOSPC/ENOMEM: /dev/shm is full); decode_error naming the segment when a received
/// handle's segment is gone or does not match.
/// Example:
///   tandem::shared_array<double> a(1'000'000);        // zero-filled, in /dev/shm
///   pool.submit(fill, a).get();                       // the worker writes a[i]; no copy
///   double s = std::accumulate(a.begin(), a.end(), 0.0);
template <class T>
class shared_array {
  static_assert(std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> &&
                    !std::is_member_pointer_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                "tandem::shared_array<T>: T must be a non-const trivially copyable type that is "
                "not a pointer (its bytes are shared with other processes, where an address or "
                "an owning member means nothing)");
  static_assert(alignof(T) <= 64,
                "tandem::shared_array<T>: the elements start 64-byte aligned, so alignof(T) may "
                "be at most 64");

 public:
  using element_type = T;                  ///< as std::span
  using value_type = T;                    ///< as std::span
  using size_type = std::size_t;           ///< as std::span
  using difference_type = std::ptrdiff_t;  ///< as std::span
  using pointer = T*;                      ///< as std::span
  using reference = T&;                    ///< as std::span
  using iterator = T*;                     ///< contiguous
  using const_iterator = const T*;         ///< contiguous

  /// An empty handle: size 0, no segment, name "".
  shared_array() noexcept = default;

  /// Creates a segment of `n` zero-filled elements.
  /// Errors: std::system_error (errno, segment name); std::length_error if n * sizeof(T)
  /// overflows.
  explicit shared_array(std::size_t n)
      : mapping_(detail::shm_mapping::create(n, sizeof(T))),
        data_(reinterpret_cast<T*>(mapping_->data())),
        size_(n) {}

  /// Creates a segment holding a copy of `values`.
  /// Errors: as shared_array(n).
  explicit shared_array(std::span<const T> values) : shared_array(values.size()) {
    if (!values.empty()) std::memcpy(static_cast<void*>(data_), values.data(), values.size_bytes());
  }

  /// The first element; null for an empty handle.
  [[nodiscard]] T* data() const noexcept { return data_; }
  /// Number of elements.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Size in bytes of the elements (the segment is 64 bytes larger).
  [[nodiscard]] std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
  /// True when size() is 0.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// Element `i`. Precondition: i < size() (unchecked, as std::span).
  [[nodiscard]] T& operator[](std::size_t i) const noexcept { return data_[i]; }
  /// First element.
  [[nodiscard]] T* begin() const noexcept { return data_; }
  /// One past the last element.
  [[nodiscard]] T* end() const noexcept { return data_ + size_; }
  /// The elements as a span (valid while some handle to this mapping lives).
  [[nodiscard]] std::span<T> span() const noexcept { return {data_, size_}; }
  /// The segment's name ("/tandem-" and 16 hex digits); "" for an empty handle.
  [[nodiscard]] std::string_view name() const noexcept {
    return mapping_ ? mapping_->name() : std::string_view{};
  }
  /// Handles in this process sharing this mapping (as shared_ptr::use_count); 0 when empty.
  [[nodiscard]] long use_count() const noexcept { return mapping_.use_count(); }

 private:
  friend struct codec<shared_array<T>>;
  shared_array(std::shared_ptr<detail::shm_mapping> m, std::size_t n) noexcept
      : mapping_(std::move(m)),
        data_(mapping_ ? reinterpret_cast<T*>(mapping_->data()) : nullptr),
        size_(n) {}

  std::shared_ptr<detail::shm_mapping> mapping_;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A shared_array travels as its handle: the segment's name, element count and element size.
/// Encoding counts one handle in transit so that the segment outlives the sender's last handle
/// until the receiver has opened it; decoding opens and maps the segment and adopts that count.
/// Decode each encoded handle once: a second decode of the same bytes maps the segment too but
/// has no in-transit count to adopt (it is then only as safe as any other holder keeps it).
/// An encoded handle that is never decoded keeps the segment until its creator process has
/// exited and the 5-second grace has passed (see the top of this file).
///
/// Errors: decode throws decode_error naming the segment when it no longer exists, or its size
/// or element size does not match the handle.
template <class T>
struct codec<shared_array<T>> {
  /// Writes the handle (name, count, element size) and counts it in transit.
  static void encode(encoder& e, const shared_array<T>& a) {
    detail::encode_shared_array(e, a.mapping_.get(), a.size_, sizeof(T));
  }
  /// Opens the segment named by the handle.
  static shared_array<T> decode(decoder& d) {
    std::size_t n = 0;
    auto m = detail::decode_shared_array(d, sizeof(T), n);
    return shared_array<T>(std::move(m), n);
  }
};

}  // namespace tandem
