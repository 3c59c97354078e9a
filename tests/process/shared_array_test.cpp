// tandem::shared_array: handles, the codec, and the segment's lifetime across processes, killed
// ones included. Every test reaps what it forks and leaves no /dev/shm entry behind
// (process_test_main.cpp checks both after each test).
//
// The fork tests run under ThreadSanitizer too: each forks while this process runs one thread
// (the threads of HandlesFromManyThreads are joined), which TSan supports; its children run
// tandem code, not only _exit.
#include "tandem/process/shared_array.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "tandem/process/codec.hpp"

namespace {

using tandem::shared_array;

// The tracker's socket is one descriptor for the life of the process: start it before the first
// test, so the leak check does not count it against whichever test creates an array first.
struct start_tracker : ::testing::Environment {
  void SetUp() override { tandem::detail::shared_array_start_tracker(); }
};
[[maybe_unused]] auto* const tracker_env = ::testing::AddGlobalTestEnvironment(new start_tracker);

std::string shm_path(std::string_view name) { return "/dev/shm" + std::string(name); }

bool shm_exists(std::string_view name) { return ::access(shm_path(name).c_str(), F_OK) == 0; }

std::size_t count_entries(const char* dir, const std::string& prefix = "") {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

// Polls `done` every 5 ms for at most `limit`; for effects of other processes (a tracker's
// unlink), which no latch can signal.
bool within(std::chrono::milliseconds limit, const std::function<bool()>& done) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

template <class T>
tandem::byte_buffer encoded(const T& value) {
  tandem::byte_buffer buf;
  tandem::encoder e(buf);
  tandem::encode(e, value);
  return buf;
}

template <class T>
T decoded(const tandem::byte_buffer& buf) {
  tandem::decoder d(buf.data(), buf.size());
  return tandem::decode<T>(d);
}

void write_all(int fd, const void* p, std::size_t n) {
  auto* b = static_cast<const char*>(p);
  while (n) {
    ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ::_exit(90);  // only called in children
    b += w;
    n -= static_cast<std::size_t>(w);
  }
}

bool read_all(int fd, void* p, std::size_t n) {
  auto* b = static_cast<char*>(p);
  while (n) {
    ssize_t r = ::read(fd, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// A length-prefixed message on a pipe.
void send_bytes(int fd, const tandem::byte_buffer& buf) {
  std::uint64_t n = buf.size();
  write_all(fd, &n, sizeof n);
  write_all(fd, buf.data(), buf.size());
}

bool receive_bytes(int fd, tandem::byte_buffer& buf) {
  std::uint64_t n = 0;
  if (!read_all(fd, &n, sizeof n) || n > (1u << 20)) return false;
  buf.resize(static_cast<std::size_t>(n));
  return read_all(fd, buf.data(), buf.size());
}

struct pipe_pair {
  int rd = -1, wr = -1;
  pipe_pair() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      rd = p[0];
      wr = p[1];
    }
  }
  ~pipe_pair() { close_both(); }
  void close_both() {
    if (rd >= 0) ::close(rd);
    if (wr >= 0) ::close(wr);
    rd = wr = -1;
  }
};

// Forks a child that runs `body` and _exits with its return value (99 if it throws).
pid_t fork_child(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  return pid;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

TEST(SharedArray, CreatesZeroFilledAndHoldsWrites) {
  shared_array<std::int64_t> a(1000);
  ASSERT_EQ(a.size(), 1000u);
  ASSERT_EQ(a.size_bytes(), 8000u);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u);
  for (auto x : a) EXPECT_EQ(x, 0);
  std::iota(a.begin(), a.end(), std::int64_t{0});
  EXPECT_EQ(a[999], 999);
  std::span<std::int64_t> s = a;
  EXPECT_EQ(std::accumulate(s.begin(), s.end(), std::int64_t{0}), 999 * 1000 / 2);
}

TEST(SharedArray, CopiesFromASpan) {
  std::vector<double> v{1.5, 2.5, 3.5};
  shared_array<double> a{std::span<const double>(v)};
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], 1.5);
  EXPECT_EQ(a[2], 3.5);
  shared_array<double> empty_copy{std::span<const double>()};
  EXPECT_EQ(empty_copy.size(), 0u);
  EXPECT_TRUE(shm_exists(empty_copy.name()));  // an empty array still has its segment
}

TEST(SharedArray, CopiesShareTheMemory) {
  shared_array<int> a(10);
  shared_array<int> b = a;
  shared_array<int> c;
  c = b;
  EXPECT_EQ(a.use_count(), 3);
  b[3] = 42;
  EXPECT_EQ(a[3], 42);
  EXPECT_EQ(c[3], 42);
  EXPECT_EQ(a.data(), c.data());
  EXPECT_EQ(a.name(), c.name());
}

TEST(SharedArray, DefaultHandleIsEmpty) {
  shared_array<int> a;
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.name(), "");
  EXPECT_EQ(a.use_count(), 0);
  auto b = decoded<shared_array<int>>(encoded(a));
  EXPECT_EQ(b.name(), "");
  EXPECT_EQ(b.size(), 0u);
}

TEST(SharedArray, NameHas64RandomBitsAndTheFileMode0600) {
  shared_array<char> a(1), b(1);
  // ^/tandem-[0-9a-f]{16}$, checked by hand: std::regex trips g++ 12's -Wmaybe-uninitialized
  // under ASan.
  auto name = a.name();
  EXPECT_EQ(name.size(), 24u) << name;
  EXPECT_EQ(name.substr(0, 8), "/tandem-") << name;
  EXPECT_EQ(name.substr(8).find_first_not_of("0123456789abcdef"), std::string_view::npos) << name;
  EXPECT_NE(a.name(), b.name());
  struct stat st {};
  ASSERT_EQ(::stat(shm_path(a.name()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(static_cast<std::size_t>(st.st_size), 64u + 1u);  // header + data
}

TEST(SharedArray, SegmentGoesWithTheLastHandle) {
  std::string name;
  {
    shared_array<float> a(100);
    name = a.name();
    {
      shared_array<float> b = a;
      EXPECT_TRUE(shm_exists(name));
    }
    EXPECT_TRUE(shm_exists(name));  // a still holds it
  }
  EXPECT_FALSE(shm_exists(name));
}

TEST(SharedArray, EncodeDecodeInTheSameProcess) {
  shared_array<int> a(5);
  auto buf = encoded(a);
  auto b = decoded<shared_array<int>>(buf);
  EXPECT_EQ(b.name(), a.name());
  EXPECT_EQ(b.size(), 5u);
  b[4] = 7;  // another mapping of the same pages
  EXPECT_EQ(a[4], 7);
  std::string name(a.name());
  a = shared_array<int>();
  EXPECT_TRUE(shm_exists(name)) << "b's mapping still holds it";
  b = shared_array<int>();
  EXPECT_FALSE(shm_exists(name));
}

TEST(SharedArray, HandleInTransitKeepsTheSegmentAfterTheSenderLetsGo) {
  tandem::byte_buffer buf;
  std::string name;
  {
    shared_array<int> a(3);
    a[1] = 11;
    name = a.name();
    buf = encoded(a);
  }  // the sender's last handle: the receiver has not opened it yet
  ASSERT_TRUE(shm_exists(name));
  auto b = decoded<shared_array<int>>(buf);
  EXPECT_EQ(b[1], 11);
  b = shared_array<int>();
  EXPECT_FALSE(shm_exists(name));
}

TEST(SharedArray, DecodingAMissingSegmentNamesIt) {
  std::string name;
  tandem::byte_buffer buf;
  {
    shared_array<int> a(3);
    name = a.name();
    buf = encoded(a);
    auto adopt = decoded<shared_array<int>>(buf);  // consumes the in-transit count
  }
  ASSERT_FALSE(shm_exists(name));
  try {
    (void)decoded<shared_array<int>>(buf);
    FAIL() << "decode_error expected";
  } catch (const tandem::decode_error& e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
}

TEST(SharedArray, DecodingWithTheWrongElementTypeFailsAndReleases) {
  std::string name;
  tandem::byte_buffer buf;
  {
    shared_array<std::int32_t> a(4);
    name = a.name();
    buf = encoded(a);
  }
  try {
    (void)decoded<shared_array<double>>(buf);
    FAIL() << "decode_error expected";
  } catch (const tandem::decode_error& e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
  EXPECT_FALSE(shm_exists(name)) << "the failed decode still released the in-transit count";
}

TEST(SharedArray, DecodingRejectsNamesThatAreNotOurs) {
  tandem::byte_buffer buf;
  tandem::encoder e(buf);
  tandem::encode_string(e, "/../../etc/passwd");
  const std::uint64_t sizes[2] = {1, 4};
  e.write(sizes, sizeof sizes);
  EXPECT_THROW((void)decoded<shared_array<int>>(buf), tandem::decode_error);
  tandem::byte_buffer truncated;
  truncated.append(buf.data(), buf.size() - 1);
  EXPECT_THROW((void)decoded<shared_array<int>>(truncated), tandem::decode_error);
}

TEST(SharedArray, ForkedChildWritesThroughADecodedHandle) {
  shared_array<int> a(64);
  pipe_pair p;
  pid_t pid = fork_child([&] {
    tandem::byte_buffer buf;
    if (!receive_bytes(p.rd, buf)) return 2;
    auto b = decoded<shared_array<int>>(buf);
    if (b.size() != 64) return 3;
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<int>(i) * 3;
    return 0;
  });
  ASSERT_GT(pid, 0);
  send_bytes(p.wr, encoded(a));
  int status = reap(pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], static_cast<int>(i) * 3);
}

TEST(SharedArray, AKilledHolderDoesNotPinTheSegment) {
  // The worker-killed-while-holding-an-argument case: a count in the header would stay 2 forever.
  std::string name;
  {
    shared_array<int> a(16);
    name = a.name();
    pipe_pair to_child, from_child;
    pid_t pid = fork_child([&] {
      tandem::byte_buffer buf;
      if (!receive_bytes(to_child.rd, buf)) return 2;
      auto b = decoded<shared_array<int>>(buf);
      if (b.data() == nullptr) return 3;
      b[0] = 1;
      char ready = 'r';
      write_all(from_child.wr, &ready, 1);
      ::pause();
      return 0;
    });
    ASSERT_GT(pid, 0);
    send_bytes(to_child.wr, encoded(a));
    char ready = 0;
    ASSERT_TRUE(read_all(from_child.rd, &ready, 1));
    EXPECT_EQ(a[0], 1);
    ::kill(pid, SIGKILL);
    int status = reap(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }
  EXPECT_FALSE(shm_exists(name));
}

// A child creates an array, sends its handle, and is killed: the handle still opens (within the
// grace), and once the parent lets go nothing is left.
TEST(SharedArray, ArrayFromAKilledChildStillOpensAndIsThenRemoved) {
  pipe_pair p;
  pid_t pid = fork_child([&] {
    shared_array<int> a(100);
    std::fill(a.begin(), a.end(), 7);
    send_bytes(p.wr, encoded(a));
    ::pause();
    return 0;
  });
  ASSERT_GT(pid, 0);
  tandem::byte_buffer buf;
  ASSERT_TRUE(receive_bytes(p.rd, buf));
  ::kill(pid, SIGKILL);
  reap(pid);
  std::string name;
  {
    auto a = decoded<shared_array<int>>(buf);
    name = a.name();
    ASSERT_EQ(a.size(), 100u);
    EXPECT_EQ(a[0], 7);
    EXPECT_EQ(a[99], 7);
  }
  EXPECT_TRUE(within(std::chrono::seconds(1), [&] { return !shm_exists(name); }));
}

TEST(SharedArray, HandleLostWithItsKilledCreatorIsRemovedAfterTheGrace) {
  pipe_pair p;
  pid_t pid = fork_child([&] {
    shared_array<int> a(10);
    send_bytes(p.wr, encoded(a));  // in transit, and never decoded
    ::pause();
    return 0;
  });
  ASSERT_GT(pid, 0);
  tandem::byte_buffer buf;
  ASSERT_TRUE(receive_bytes(p.rd, buf));
  tandem::decoder d(buf.data(), buf.size());
  auto name = tandem::decode<std::string>(d);
  ::kill(pid, SIGKILL);
  reap(pid);
  EXPECT_TRUE(shm_exists(name)) << "kept for the grace: its receiver may still open it";
  EXPECT_TRUE(within(std::chrono::seconds(10), [&] { return !shm_exists(name); }));
}

TEST(SharedArray, KilledCreatorsSegmentsAreRemovedByItsTracker) {
  pipe_pair p;
  pid_t pid = fork_child([&] {
    std::vector<shared_array<double>> arrays;
    for (int i = 0; i < 3; ++i) arrays.emplace_back(1000);
    for (auto& a : arrays) write_all(p.wr, a.name().data(), a.name().size());
    ::pause();
    return 0;
  });
  ASSERT_GT(pid, 0);
  std::vector<std::string> names(3, std::string(24, '\0'));
  for (auto& n : names) ASSERT_TRUE(read_all(p.rd, n.data(), n.size()));
  for (auto& n : names) EXPECT_TRUE(shm_exists(n)) << n;
  ::kill(pid, SIGKILL);
  reap(pid);
  EXPECT_TRUE(within(std::chrono::seconds(1), [&] {
    for (auto& n : names)
      if (shm_exists(n)) return false;
    return true;
  }));
}

TEST(SharedArray, ThousandCreateDestroyCyclesLeaveNothingBehind) {
  tandem::detail::shared_array_start_tracker();
  const std::size_t fds = count_entries("/proc/self/fd");
  // Names, not a count of /dev/shm: other test processes may create segments meanwhile.
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    shared_array<std::uint8_t> a(static_cast<std::size_t>(i) + 1);
    a[static_cast<std::size_t>(i)] = 1;
    shared_array<std::uint8_t> b = decoded<shared_array<std::uint8_t>>(encoded(a));
    ASSERT_EQ(b[static_cast<std::size_t>(i)], 1);
    names.emplace_back(a.name());
  }
  EXPECT_EQ(count_entries("/proc/self/fd"), fds);
  for (auto& n : names) ASSERT_FALSE(shm_exists(n)) << n;
}

TEST(SharedArray, HandlesFromManyThreads) {
  shared_array<std::uint64_t> a(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 8; ++t)
    threads.emplace_back([a, t] {  // a copy per thread: copies and releases race on the count
      for (int i = 0; i < 1000; ++i) {
        shared_array<std::uint64_t> local = a;
        shared_array<std::uint64_t> fresh(1);
        local[t] += 1;
        fresh[0] = local[t];
      }
    });
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < 8; ++t) EXPECT_EQ(a[t], 1000u);
  EXPECT_EQ(a.use_count(), 1);
}

}  // namespace
