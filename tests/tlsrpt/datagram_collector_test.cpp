// The datagram collector on a real unix datagram socket in a temp dir: the real libtlsrpt and
// Postfix 3.11 datagrams sent by several processes the way libtlsrpt sends them are counted
// exactly (compared entry by entry with the same sessions added in-process), bad datagrams
// are counted as rejected and the reader goes on, oversized ones are caught by MSG_TRUNC,
// stop() counts what is queued, and the receive buffers cost no memory until written.
#include <doctest/doctest.h>

#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fakes/log_capture.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/datagram_collector.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr UnixSeconds Noon = 1'764'504'000;

// libtlsrpt's way: a new socket per datagram, sendto with MSG_DONTWAIT, close. 0 or errno.
int sendLikeLibtlsrpt(const std::string& path, std::string_view bytes) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  const ssize_t n =
      ::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sun), sizeof sun);
  const int err = n == static_cast<ssize_t>(bytes.size()) ? 0 : errno;
  ::close(fd);
  return err;
}

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(MTASTS_TLSRPT_FIXTURES)) {
    const std::string name = f.path().filename().string();
    if (name.ends_with(".dgram")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// In a private network namespace (root only) net.unix.max_dgram_qlen can be raised to the
// recommended value without touching the host's. Returns the value sockets made now get.
long raiseQlenPrivately() {
  static const long value = [] {
    if (::unshare(CLONE_NEWNET) == 0) {
      std::ofstream("/proc/sys/net/unix/max_dgram_qlen") << RecommendedMaxDgramQlen;
    }
    auto qlen = net::readMaxDgramQlen();
    return qlen ? *qlen : 0L;
  }();
  return value;
}

struct Rig {
  explicit Rig(const std::string& dir, std::size_t batch = 32) {
    DatagramCollectorOptions options;
    options.path = dir + "/tlsrpt.sock";
    options.batch = batch;
    auto opened = DatagramCollector::open(options, aggregate, stats, clock);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().detail));
    collector = std::move(*opened);
  }
  ManualClock clock{Noon};
  CollectorStats stats;
  DayAggregate aggregate{clock, DayLimits{}, stats};
  std::unique_ptr<DatagramCollector> collector;
};

std::vector<DayEntry> sorted(std::vector<DayEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const DayEntry& a, const DayEntry& b) {
    return std::tie(a.domain, a.counts.policy, a.tlsrpt_record) < std::tie(b.domain, b.counts.policy, b.tlsrpt_record);
  });
  return entries;
}

}  // namespace

TEST_CASE("real datagrams sent by several processes the way libtlsrpt sends them are counted exactly") {
  const long qlen = raiseQlenPrivately();
  TempDir dir;
  Rig rig(dir.path());
  rig.collector->start();
  const auto names = fixtureNames();
  REQUIRE(names.size() >= 36);
  std::vector<std::string> bytes;
  for (const auto& n : names) bytes.push_back(fixtureBytes(n));
  constexpr int Senders = 4;
  constexpr int Rounds = 30;
  // Each sender reports, per fixture, how many sends succeeded, then its EAGAIN count.
  int pipes[Senders][2];
  std::vector<pid_t> pids;
  for (int s = 0; s < Senders; ++s) {
    REQUIRE(::pipe(pipes[s]) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      std::vector<std::uint32_t> ok(bytes.size() + 1, 0);
      for (int r = 0; r < Rounds; ++r) {
        for (std::size_t i = 0; i < bytes.size(); ++i) {
          const int err = sendLikeLibtlsrpt(rig.collector->path(), bytes[i]);
          if (err == 0) ++ok[i];
          if (err == EAGAIN) ++ok.back();
          // About 1,000 datagrams/s per sender: a moderate rate, as the issue asks.
          std::this_thread::sleep_for(std::chrono::microseconds(1000));
        }
      }
      const auto size = static_cast<ssize_t>(ok.size() * sizeof ok[0]);
      ::_exit(::write(pipes[s][1], ok.data(), ok.size() * sizeof ok[0]) == size ? 0 : 1);
    }
    ::close(pipes[s][1]);
    pids.push_back(pid);
  }
  std::vector<std::uint64_t> sent(bytes.size(), 0);
  std::uint64_t eagain = 0;
  for (int s = 0; s < Senders; ++s) {
    std::vector<std::uint32_t> ok(bytes.size() + 1, 0);
    const auto size = static_cast<ssize_t>(ok.size() * sizeof ok[0]);
    REQUIRE(::read(pipes[s][0], ok.data(), ok.size() * sizeof ok[0]) == size);
    ::close(pipes[s][0]);
    for (std::size_t i = 0; i < bytes.size(); ++i) sent[i] += ok[i];
    eagain += ok.back();
    int status = 0;
    const pid_t child = pids[static_cast<std::size_t>(s)];
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WEXITSTATUS(status) == 0);
  }
  rig.collector->stop();  // counts what is still queued

  // The same datagrams, as many times, added in-process: the expected entries.
  CollectorStats expected_stats;
  DayAggregate expected(rig.clock, DayLimits{}, expected_stats);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::vector<DatagramSessions> batch;
    for (std::uint64_t k = 0; k < sent[i]; ++k) batch.push_back(fixtureSessions(names[i]));
    expected.addDatagrams(batch);
    total += sent[i];
  }
  CHECK(rig.stats.received.load() == total);
  CHECK(rig.stats.accepted.load() == total);
  CHECK(rig.stats.rejected_invalid.load() == 0);
  CHECK(rig.stats.warned_utf8_replaced.load() == sent[static_cast<std::size_t>(std::find(names.begin(), names.end(), "libtlsrpt-invalid-utf8.dgram") - names.begin())]);
  const auto got = sorted(rig.aggregate.takeDelta().entries);
  const auto want = sorted(expected.takeDelta().entries);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(got[i].domain);
    CHECK(entryDiff(got[i], want[i]) == "");
  }
  if (qlen >= RecommendedMaxDgramQlen) {
    CHECK_MESSAGE(eagain == 0, "senders saw EAGAIN ", eagain, " times with max_dgram_qlen ", qlen);
  } else {
    WARN_MESSAGE(eagain == 0, "not root: max_dgram_qlen stays ", qlen, "; senders saw EAGAIN ", eagain, " times");
  }
}

TEST_CASE("malformed datagrams are counted as rejected, logged once, and the reader goes on") {
  testing::LogCapture log("tlsrpt");
  TempDir dir;
  Rig rig(dir.path());
  const std::string good = fixtureBytes("pf311-good-success.dgram");
  const char* bad[] = {"not json", "{\"dpv\": \"2\"}", "{\"dpv\": \"1\",\"d\": \"x.example\"", ""};
  for (const char* b : bad) REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), b) == 0);
  REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), good) == 0);
  CHECK(rig.collector->drainOnce() == 5);
  CHECK(rig.stats.received.load() == 5);
  CHECK(rig.stats.rejected_invalid.load() == 4);
  CHECK(rig.stats.accepted.load() == 1);
  CHECK(log.warnings({"rejected", "count=4"}) == 1);
  // Within the minute more rejections are counted but not logged; after it they are.
  REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), "x") == 0);
  rig.collector->drainOnce();
  CHECK(log.warnings({"rejected"}) == 1);
  rig.clock.advance(60);
  REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), good) == 0);
  rig.collector->drainOnce();
  CHECK(log.warnings({"rejected", "count=1"}) == 1);
  CHECK(rig.aggregate.takeDelta().sessions() == 2);
}

TEST_CASE("a datagram longer than the buffer is rejected as truncated; one of exactly the bound is read") {
  TempDir dir;
  Rig rig(dir.path(), 4);
  const std::string good = fixtureBytes("pf311-good-success.dgram");
  std::string at_bound = good + std::string(MaxDatagramBytes - good.size(), ' ');  // JSON allows trailing space
  REQUIRE(at_bound.size() == MaxDatagramBytes);
  REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), std::string(MaxDatagramBytes + 1, '{')) == 0);
  REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), at_bound) == 0);
  CHECK(rig.collector->drainOnce() == 2);
  CHECK(rig.stats.rejected_truncated.load() == 1);
  CHECK(rig.stats.accepted.load() == 1);
}

TEST_CASE("stop counts the datagrams still queued") {
  TempDir dir;
  Rig rig(dir.path());
  rig.collector->start();
  const std::string good = fixtureBytes("pf311-good-success.dgram");
  for (int i = 0; i < 8; ++i) REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), good) == 0);
  rig.collector->stop();
  CHECK(rig.stats.accepted.load() == 8);
  CHECK(rig.aggregate.takeDelta().sessions() == 8);
  rig.collector.reset();
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/tlsrpt.sock"));
}

TEST_CASE("a socket systemd bound is adopted: read like a bound one, its file and mode left to systemd") {
  TempDir dir;
  const std::string path = dir.path() + "/held.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // blocking, as systemd passes it
  REQUIRE(fd >= 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  REQUIRE(::chmod(path.c_str(), 0620) == 0);
  const std::string good = fixtureBytes("pf311-good-success.dgram");
  REQUIRE(sendLikeLibtlsrpt(path, good) == 0);  // queued while nobody read: systemd held it
  ManualClock clock{Noon};
  CollectorStats stats;
  DayAggregate aggregate{clock, DayLimits{}, stats};
  DatagramCollectorOptions options;
  options.path = path;
  options.permissions = net::SocketFilePermissions{0600, "", "no-such-group-mtastsd"};  // not applied
  testing::LogCapture log("tlsrpt");
  auto opened = DatagramCollector::open(options, aggregate, stats, clock, net::UniqueFd(fd));
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().detail));
  CHECK(log.matching(spdlog::level::info, {"socket ready", "from=systemd"}).size() == 1);
  (*opened)->start();
  REQUIRE(sendLikeLibtlsrpt(path, good) == 0);
  (*opened)->stop();
  CHECK(stats.accepted.load() == 2);
  opened->reset();
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);  // systemd removes it (RemoveOnStop=yes)
  CHECK((st.st_mode & 07777) == 0620);
}

TEST_CASE("opening warns about a low max_dgram_qlen and refuses a bad batch size or delay") {
  testing::LogCapture log("tlsrpt");
  TempDir dir;
  Rig rig(dir.path());
  auto qlen = net::readMaxDgramQlen();
  REQUIRE(qlen);
  CHECK(log.warnings({"max_dgram_qlen is low"}) == (*qlen < RecommendedMaxDgramQlen ? 1U : 0U));
  DatagramCollectorOptions options;
  options.path = dir.path() + "/other.sock";
  options.batch = 0;
  CHECK_FALSE(DatagramCollector::open(options, rig.aggregate, rig.stats, rig.clock));
  options.batch = 32;
  options.coalesce = MaxCoalesce + std::chrono::microseconds{1};
  CHECK_FALSE(DatagramCollector::open(options, rig.aggregate, rig.stats, rig.clock));
  // The reader waits only when the kernel queue is long enough to hold what arrives meanwhile.
  CHECK(log.matching(spdlog::level::info, {"socket ready", *qlen >= RecommendedMaxDgramQlen ? "coalesce_us=2000" : "coalesce_us=0"})
            .size() == 1);
}

TEST_CASE("the receive buffers cost resident memory only for the bytes written") {
  auto residentKb = [] {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return 0L;
  };
  const std::string good = fixtureBytes("pf311-good-success.dgram");
  {
    // What is measured is the buffers, not the first run of the reader's code (its pages are
    // faulted in by 64 KiB, megabytes when this test runs alone) or the allocator's first pages.
    TempDir warm_dir;
    Rig warm(warm_dir.path(), 1);
    REQUIRE(sendLikeLibtlsrpt(warm.collector->path(), good) == 0);
    warm.collector->drainOnce();
  }
  TempDir dir;
  const long before = residentKb();
  Rig rig(dir.path(), 256);  // 256 x 64 KiB = 16 MiB of address space
  const long after = residentKb();
  CHECK(after - before < 2048);
  for (int i = 0; i < 8; ++i) REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), good) == 0);
  rig.collector->drainOnce();
  CHECK(residentKb() - before < 2048);
}

TEST_CASE("a datagram received again is counted from the memo, warnings included; rejected ones are parsed again") {
  TempDir dir;
  Rig rig(dir.path());
  const std::string name = "libtlsrpt-invalid-utf8.dgram";
  const std::string bytes = fixtureBytes(name);
  REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), bytes) == 0);
  CHECK(rig.collector->drainOnce() == 1);
  CHECK(rig.collector->memoHits() == 0);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), bytes) == 0);
    REQUIRE(sendLikeLibtlsrpt(rig.collector->path(), "{\"dpv\": \"1\"") == 0);
  }
  CHECK(rig.collector->drainOnce() == 4);
  CHECK(rig.collector->memoHits() == 2);
  CHECK(rig.stats.warned_utf8_replaced.load() == 3);
  CHECK(rig.stats.rejected_invalid.load() == 2);
  CHECK(rig.stats.accepted.load() == 3);

  CollectorStats expected_stats;
  DayAggregate expected(rig.clock, DayLimits{}, expected_stats);
  std::vector<DatagramSessions> batch(3, fixtureSessions(name));
  expected.addDatagrams(batch);
  const auto got = rig.aggregate.takeDelta().entries;
  const auto want = expected.takeDelta().entries;
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(entryDiff(got[i], want[i]) == "");
}
