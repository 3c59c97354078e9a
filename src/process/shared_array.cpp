// shared_array's segments, and this process's tracker. The lifetime rules (flock liveness, the
// in-transit count, who unlinks) are at the top of include/tandem/process/shared_array.hpp.
//
//   creating process                          tracker (a grandchild, reparented to init)
//   register "/tandem-..." --SOCK_SEQPACKET--> table of names (mmap'd memory, no malloc)
//   unregister "/tandem-..." ---------------->   (remove)
//   exits or is killed: the socket's EOF ----> for each name still there: unlink it once no
//                                               mapping holds it and no handle is in transit
//                                               (or, in transit, 5 s after nobody holds it);
//                                               then _exit
//
// The tracker follows Python's multiprocessing.resource_tracker: one per creating process,
// started at the first creation, told about each name before the segment exists, so a kill at
// any point leaves no name it does not know. It is a grandchild (double fork) so nobody has to
// wait for it, it ignores SIGINT, SIGTERM and SIGHUP (a Ctrl-C to the process group must not
// kill it before it cleans up), and it holds no descriptor but its socket: not the terminal, not
// a pipe some test harness waits on, not the creator's segments (it unmaps those it inherited,
// which would otherwise hold their locks).
#include "tandem/process/shared_array.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tandem::detail {
namespace {

// The segment's first 64 bytes. 64: one cache line, so the data starts 64-byte aligned (mmap gives
// page alignment) and the in-transit counter shares no line with the elements.
struct segment_header {
  std::uint64_t magic;
  std::uint64_t count;       // items
  std::uint64_t item_size;   // bytes
  std::uint32_t in_transit;  // handles encoded and not yet decoded; only through std::atomic_ref
  std::uint32_t reserved;
};
constexpr std::size_t data_offset = 64;
static_assert(sizeof(segment_header) <= data_offset);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free,
              "the in-transit counter is shared between processes: it must be lock-free");
constexpr std::uint64_t header_magic = 0x3141'5372'646e'6174;  // "tandrSA1" in little endian

constexpr char name_prefix[] = "/tandem-";
constexpr std::size_t prefix_len = sizeof name_prefix - 1;
constexpr std::size_t name_len = prefix_len + 16;  // 16 hex digits: 64 random bits
constexpr char shm_dir[] = "/dev/shm";             // where glibc's shm_open keeps segments

// Grace for a handle in transit whose segment nobody holds any more, its creator dead: the
// receiver (a pool decodes results as they arrive) has this long to open it. 5 s: far above a
// busy machine's scheduling delays, short enough that a lost handle is not a lasting leak.
constexpr std::int64_t grace_ms = 5000;

// One message to the tracker: 'R' register or 'U' unregister, then the NUL-padded name. 32 bytes:
// a SOCK_SEQPACKET record arrives whole or not at all.
struct tracker_record {
  char op;
  char name[31];
};

// ------------------------------------------------------------------ this process's side

std::mutex tracker_mu;  // guards tracker_fd and tracker_pid; rebuilt in a forked child
int tracker_fd = -1;    // our end of the tracker's socket (O_CLOEXEC), or -1
pid_t tracker_pid = 0;  // the process that started it: a forked child must not use it
std::once_flag atfork_once;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "tandem::shared_array: " + what);
}

void atfork_child() noexcept {
  if (tracker_fd >= 0) ::close(tracker_fd);
  shared_array_after_fork_in_child();
}

// ------------------------------------------------------------------ the tracker (child side)
// Everything from here to start_tracker's fork runs in a child of a possibly multi-threaded
// process: async-signal-safe calls only, no malloc, no locks, no exceptions.

struct entry {
  char name[32];
  std::int64_t unheld_since_ms;  // when first seen held by nobody with a handle in transit; 0: not
};
entry* table = nullptr;
std::size_t table_len = 0, table_cap = 0;

void copy_name(char* out, std::size_t room, const char* name) noexcept {
  std::size_t i = 0;
  for (; i + 1 < room && name[i] != '\0'; ++i) out[i] = name[i];
  for (; i < room; ++i) out[i] = '\0';
}

bool same_name(const char* a, const char* b) noexcept {
  for (std::size_t i = 0; i < 32; ++i) {
    if (a[i] != b[i]) return false;
    if (a[i] == '\0') return true;
  }
  return true;
}

// "/dev/shm" + "/tandem-..." into `out`.
void path_of(const char* name, char (&out)[64]) noexcept {
  std::size_t n = 0;
  for (const char* p = shm_dir; *p; ++p) out[n++] = *p;
  for (const char* p = name; *p && n + 1 < sizeof out; ++p) out[n++] = *p;
  out[n] = '\0';
}

std::int64_t now_ms() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000 + 1;  // never 0
}

void remove_at(std::size_t i) noexcept { table[i] = table[--table_len]; }

// Room for one more name: first drop the names whose segment is gone already (unlinked by a
// holder other than the creator), then double the table. False if memory ran out.
bool make_room() noexcept {
  for (std::size_t i = table_len; i-- > 0;) {
    char path[64];
    path_of(table[i].name, path);
    if (::access(path, F_OK) != 0 && errno == ENOENT) remove_at(i);
  }
  if (table_len < table_cap) return true;
  std::size_t cap = table_cap ? table_cap * 2 : 256;  // 256 entries: 10 KiB, one or two pages
  void* p = ::mmap(nullptr, cap * sizeof(entry), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  auto* bigger = static_cast<entry*>(p);
  if (table_len) std::memcpy(bigger, table, table_len * sizeof(entry));
  if (table) ::munmap(table, table_cap * sizeof(entry));
  table = bigger;
  table_cap = cap;
  return true;
}

void track(const tracker_record& r) noexcept {
  if (r.op == 'R') {
    if (table_len == table_cap && !make_room()) return;
    copy_name(table[table_len].name, sizeof table[table_len].name, r.name);
    table[table_len].unheld_since_ms = 0;
    ++table_len;
  } else if (r.op == 'U') {
    for (std::size_t i = 0; i < table_len; ++i)
      if (same_name(table[i].name, r.name)) {
        remove_at(i);
        return;
      }
  }
}

// After the creator is gone: true when the name needs no more watching (gone, or unlinked now).
bool try_reap(entry& e, std::int64_t now) noexcept {
  char path[64];
  path_of(e.name, path);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno != EINTR && errno != EMFILE && errno != ENFILE;  // ENOENT: gone
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a live process holds it: its last holder unlinks
    ::close(fd);
    e.unheld_since_ms = 0;
    return false;
  }
  // Exclusive: no mapping exists, so nobody can change in_transit (encoders hold a mapping;
  // decoders lock before they subtract). A short header: the creator died before it was written.
  segment_header h{};
  ssize_t n = ::pread(fd, &h, sizeof h, 0);
  bool unlink_now =
      n != static_cast<ssize_t>(sizeof h) || h.magic != header_magic || h.in_transit == 0;
  if (!unlink_now) {
    if (e.unheld_since_ms == 0)
      e.unheld_since_ms = now;
    else if (now - e.unheld_since_ms >= grace_ms)
      unlink_now = true;
  }
  if (unlink_now) ::unlink(path);
  ::close(fd);
  return unlink_now;
}

// Unmaps every tandem segment this process inherited from the creator: a mapping keeps its open
// file description, and with it the creator's shared lock, alive.
void unmap_inherited_segments() noexcept {
  // A snapshot of /proc/self/maps in lazily allocated memory (8 MiB of address space: ~80,000
  // lines; a line of ours is short, and a longer file only means later lines are not looked at).
  constexpr std::size_t room = std::size_t{8} << 20;
  void* mem = ::mmap(nullptr, room, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return;
  char* buf = static_cast<char*>(mem);
  std::size_t len = 0;
  int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    for (;;) {
      ssize_t n = ::read(fd, buf + len, room - 1 - len);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      len += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  buf[len] = '\0';
  constexpr char needle[] = "/dev/shm/tandem-";
  for (char* line = buf; line < buf + len;) {
    char* eol = line;
    while (*eol && *eol != '\n') ++eol;
    *eol = '\0';
    bool ours = false;
    for (char* p = line; *p && !ours; ++p) {
      std::size_t k = 0;
      while (needle[k] && p[k] == needle[k]) ++k;
      ours = needle[k] == '\0';
    }
    if (ours) {  // "start-end perms ...", both hex
      std::uintptr_t lo = 0, hi = 0;
      char* p = line;
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      for (; hex(*p) >= 0; ++p) lo = lo * 16 + static_cast<std::uintptr_t>(hex(*p));
      if (*p == '-') ++p;
      for (; hex(*p) >= 0; ++p) hi = hi * 16 + static_cast<std::uintptr_t>(hex(*p));
      if (hi > lo) ::munmap(reinterpret_cast<void*>(lo), hi - lo);
    }
    line = eol + 1;
  }
  ::munmap(mem, room);
}

[[noreturn]] void tracker_main(int sock) noexcept {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::sigaction(sig, &ignore, nullptr);
  if (sock != 0 && ::dup2(sock, 0) < 0) ::_exit(1);
  ::close_range(1, ~0U, 0);  // the creator's end too: EOF must mean "every creator end is gone"
  unmap_inherited_segments();

  for (;;) {
    tracker_record r{};
    ssize_t n = ::read(0, &r, sizeof r);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the creator (and every process holding its end) is gone
    if (n != static_cast<ssize_t>(sizeof r)) continue;
    r.name[sizeof r.name - 1] = '\0';
    track(r);
  }
  ::close(0);

  for (;;) {
    std::int64_t now = now_ms();
    for (std::size_t i = table_len; i-- > 0;)
      if (try_reap(table[i], now)) remove_at(i);
    if (table_len == 0) ::_exit(0);
    timespec pause{0, 20'000'000};  // 20 ms between looks at segments live processes still hold
    ::nanosleep(&pause, nullptr);
  }
}

// ------------------------------------------------------------------ this process's side again

// Starts the tracker. Called with tracker_mu held.
void start_tracker_locked() {
  std::call_once(atfork_once, [] {
    if (int err = ::pthread_atfork(nullptr, nullptr, &atfork_child))
      throw_errno(err, "pthread_atfork");
  });
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    throw_errno(errno, "socketpair for the tracker");
  pid_t mid = ::fork();
  if (mid < 0) {
    int err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    throw_errno(err, "fork for the tracker");
  }
  if (mid == 0) {
    // The intermediate child: forks the tracker and leaves at once, so the tracker is
    // reparented to init (or a subreaper) and this process reaps only the intermediate.
    pid_t t = ::fork();
    if (t != 0) ::_exit(t < 0 ? 1 : 0);
    tracker_main(sv[1]);
  }
  ::close(sv[1]);
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::close(sv[0]);
    throw_errno(EAGAIN, "fork for the tracker (second fork failed)");
  }
  tracker_fd = sv[0];
  tracker_pid = ::getpid();
}

// Sends one record; with tracker_mu held. Registering starts the tracker if needed, and starts a
// new one if the old one is gone (killed by someone: the names it held are then not watched).
// Returns false if an unregister could not be sent (nothing to be done about it).
bool send_locked(char op, const char* name) {
  if (tracker_fd >= 0 && tracker_pid != ::getpid()) tracker_fd = -1;  // inherited, not ours
  tracker_record r{};
  r.op = op;
  copy_name(r.name, sizeof r.name, name);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (tracker_fd < 0) {
      if (op != 'R') return false;
      start_tracker_locked();
    }
    ssize_t n;
    while ((n = ::send(tracker_fd, &r, sizeof r, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof r)) return true;
    ::close(tracker_fd);
    tracker_fd = -1;
  }
  throw_errno(EPIPE, "the tracker process does not accept names");
}

void tracker_register(const char* name) {
  std::lock_guard lk(tracker_mu);
  send_locked('R', name);
}

void tracker_unregister(const char* name) noexcept {
  std::lock_guard lk(tracker_mu);
  send_locked('U', name);  // 'U' never starts a tracker, so never throws
}

void random_name(char (&out)[32]) {
  unsigned char bytes[8];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  constexpr char digits[] = "0123456789abcdef";
  std::memcpy(out, name_prefix, prefix_len);
  for (std::size_t i = 0; i < sizeof bytes; ++i) {
    out[prefix_len + 2 * i] = digits[bytes[i] >> 4];
    out[prefix_len + 2 * i + 1] = digits[bytes[i] & 15];
  }
  out[name_len] = '\0';
}

bool valid_name(const std::string& name) noexcept {
  if (name.size() != name_len || name.compare(0, prefix_len, name_prefix) != 0) return false;
  for (std::size_t i = prefix_len; i < name_len; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Bytes of a segment of `count` items of `item_size` bytes, header included; 0 if it overflows
// (size_t, or off_t for ftruncate).
std::size_t segment_bytes(std::size_t count, std::size_t item_size) noexcept {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<off_t>::max());
  if (item_size != 0 && count > (max - data_offset) / item_size) return 0;
  return data_offset + count * item_size;
}

void lock_shared(int fd) noexcept {
  while (::flock(fd, LOCK_SH) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void throw_decode(const std::string& what) {
  throw decode_error("tandem::shared_array: " + what);
}

}  // namespace

void shared_array_after_fork_in_child() noexcept {
  tracker_fd = -1;  // forgotten, not closed: the number may belong to something else by now
  // Another thread of the parent may have held the mutex at fork(): this copy would stay locked.
  // The child has one thread and the mutex has a trivial destructor, so build a fresh one.
  ::new (static_cast<void*>(&tracker_mu)) std::mutex;
}

void shared_array_start_tracker() {
  std::lock_guard lk(tracker_mu);
  if (tracker_fd >= 0 && tracker_pid != ::getpid()) tracker_fd = -1;
  if (tracker_fd < 0) start_tracker_locked();
}

std::shared_ptr<shm_mapping> shm_mapping::create(std::size_t count, std::size_t item_size) {
  std::size_t bytes = segment_bytes(count, item_size);
  if (bytes == 0)
    throw std::length_error("tandem::shared_array: " + std::to_string(count) + " items of " +
                            std::to_string(item_size) + " bytes do not fit in one segment");
  std::shared_ptr<shm_mapping> m(new shm_mapping);
  m->owner_pid_ = ::getpid();
  // A collision of 64 random bits with a live segment is all but impossible; 8 tries make a
  // broken random source an error instead of a loop.
  for (int attempt = 0;; ++attempt) {
    random_name(m->name_);
    tracker_register(m->name_);  // before the segment exists: a kill at any later point is seen
    m->registered_ = true;
    int fd = ::shm_open(m->name_, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
      m->fd_ = fd;
      break;
    }
    int err = errno;
    tracker_unregister(m->name_);  // the name is somebody else's (EEXIST) or nobody's
    m->registered_ = false;
    if (err != EEXIST || attempt == 7)
      throw_errno(err, std::string("shm_open(") + m->name_ + ", O_CREAT | O_EXCL)");
  }
  // From here on the destructor cleans up (unlink, unregister) if something throws.
  lock_shared(m->fd_);
  struct stat st {};
  if (::fstat(m->fd_, &st) == 0) {
    m->dev_ = st.st_dev;
    m->ino_ = st.st_ino;
  }
  // fallocate, not only ftruncate: the pages are reserved now, so a full /dev/shm is ENOSPC
  // here instead of a SIGBUS at some later first write.
  if (int err = ::posix_fallocate(m->fd_, 0, static_cast<off_t>(bytes)))
    throw_errno(err,
                std::string("fallocate(") + m->name_ + ", " + std::to_string(bytes) + " bytes)");
  m->map(bytes);
  auto* h = ::new (static_cast<void*>(m->base_)) segment_header{};
  h->count = count;
  h->item_size = item_size;
  h->magic = header_magic;
  return m;
}

std::shared_ptr<shm_mapping> shm_mapping::open(const std::string& name, std::size_t count,
                                               std::size_t item_size) {
  if (!valid_name(name))
    throw_decode("a handle names \"" + name.substr(0, 64) +
                 "\", which is not a shared_array segment name");
  std::shared_ptr<shm_mapping> m(new shm_mapping);
  m->owner_pid_ = ::getpid();
  copy_name(m->name_, sizeof m->name_, name.c_str());
  int fd = ::shm_open(m->name_, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == ENOENT)
      throw_decode("segment " + name +
                   " does not exist: every holder let go of it (or its creator died and the "
                   "grace passed) before this handle was decoded");
    throw_errno(errno, "shm_open(" + name + ")");
  }
  m->fd_ = fd;
  lock_shared(fd);  // before adopting the in-transit count (see the header's invariants)
  struct stat st {};
  if (::fstat(fd, &st) < 0) throw_errno(errno, "fstat(" + name + ")");
  m->dev_ = st.st_dev;
  m->ino_ = st.st_ino;
  auto size = static_cast<std::size_t>(st.st_size);
  if (size < data_offset)
    throw_decode("segment " + name + " holds " + std::to_string(size) +
                 " bytes, less than its header");
  m->map(size);
  auto* h = reinterpret_cast<segment_header*>(m->base_);
  if (h->magic != header_magic) throw_decode("segment " + name + " has no shared_array header");
  // Adopt the reference the encoder counted for us. Never below 0: decoding the same bytes twice
  // finds nothing more to adopt.
  std::atomic_ref<std::uint32_t> transit(h->in_transit);
  std::uint32_t t = transit.load(std::memory_order_acquire);
  while (t != 0 && !transit.compare_exchange_weak(t, t - 1, std::memory_order_acq_rel)) {
  }
  if (h->count != count || h->item_size != item_size || segment_bytes(count, item_size) != size)
    throw_decode("segment " + name + " holds " + std::to_string(h->count) + " items of " +
                 std::to_string(h->item_size) + " bytes (" + std::to_string(size) +
                 " bytes in all); the handle says " + std::to_string(count) + " of " +
                 std::to_string(item_size));
  return m;
}

void shm_mapping::map(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED)
    throw_errno(errno, std::string("mmap(") + name_ + ", " + std::to_string(bytes) + " bytes)");
  base_ = static_cast<std::byte*>(p);
  data_ = base_ + data_offset;
  bytes_ = bytes;
}

void shm_mapping::add_in_transit() const noexcept {
  std::atomic_ref<std::uint32_t>(reinterpret_cast<segment_header*>(base_)->in_transit)
      .fetch_add(1, std::memory_order_release);
}

shm_mapping::~shm_mapping() {
  const bool owner = ::getpid() == owner_pid_;
  // Exclusive without waiting succeeds only if no other mapping anywhere holds the segment (a
  // failed conversion drops our shared lock, so of two last holders letting go at once, the
  // second succeeds). Then in_transit says whether a receiver is still on its way.
  if (owner && fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
    std::uint32_t transit = 0;
    if (base_ && bytes_ >= data_offset)
      transit = std::atomic_ref<std::uint32_t>(reinterpret_cast<segment_header*>(base_)->in_transit)
                    .load(std::memory_order_acquire);
    if (transit == 0) {
      ::shm_unlink(name_);
      if (registered_) tracker_unregister(name_);
    }
  } else if (owner && fd_ < 0 && registered_) {
    tracker_unregister(name_);
  }
  if (base_) ::munmap(base_, bytes_);
  if (fd_ >= 0) {
    // In a forked child the number may have been closed and reused (a worker rearranges its
    // descriptors): close it only if it still is our segment.
    struct stat st {};
    if (owner || (::fstat(fd_, &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)) ::close(fd_);
  }
}

void encode_shared_array(encoder& e, const shm_mapping* m, std::size_t count,
                         std::size_t item_size) {
  encode_string(e, m ? m->name() : std::string_view{});
  const std::uint64_t sizes[2] = {m ? count : 0, m ? item_size : 0};
  e.write(sizes, sizeof sizes);
  if (m) m->add_in_transit();  // last: nothing after it can throw
}

std::shared_ptr<shm_mapping> decode_shared_array(decoder& d, std::size_t item_size,
                                                 std::size_t& count) {
  auto name = tandem::decode<std::string>(d);
  std::uint64_t sizes[2];
  d.read(sizes, sizeof sizes);
  if (name.empty()) {
    if (sizes[0] != 0 || sizes[1] != 0) throw_decode("an empty handle with a non-zero size");
    count = 0;
    return nullptr;
  }
  if (sizes[0] > std::numeric_limits<std::size_t>::max() ||
      sizes[1] > std::numeric_limits<std::size_t>::max())
    throw_decode("segment " + name + ": the handle's sizes do not fit in size_t");
  // Open (and adopt the in-transit count) before comparing the element size with ours, so a
  // mismatch still releases the reference the sender counted.
  auto m = shm_mapping::open(name, static_cast<std::size_t>(sizes[0]),
                             static_cast<std::size_t>(sizes[1]));
  if (sizes[1] != item_size)
    throw_decode("segment " + name + " holds items of " + std::to_string(sizes[1]) +
                 " bytes, decoded as a shared_array of " + std::to_string(item_size) +
                 "-byte items");
  count = static_cast<std::size_t>(sizes[0]);
  return m;
}

}  // namespace tandem::detail
