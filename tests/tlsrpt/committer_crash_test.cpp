// kill -9 in the middle of a flood (issue 12): a child process adds sessions at a steady
// rate while its committer commits every 50 ms, and acknowledges on pipes what it added and
// what each commit stored. After SIGKILL the store must open, hold every acknowledged commit,
// at most one more commit, never more than was added, and lose no more than what arrived
// during the last interval and the commit in flight.
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/committer.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;
using namespace std::chrono_literals;

namespace {

constexpr int Rounds = 6;
constexpr int Rate = 5000;             // sessions per second
constexpr int Chunk = 25;              // sessions per add, every 5 ms
constexpr auto Interval = 50ms;        // commit interval
constexpr int PollTimeoutMs = 10'000;

struct Ack {
  std::uint64_t added = 0;      // progress pipe: sessions added so far
  std::uint64_t committed = 0;  // commit pipe: sessions stored so far (after each commit)
};

[[noreturn]] void floodForever(const std::string& dir, int progress_fd, int commit_fd) {
  auto env = cache::LmdbEnv::open(cache::LmdbOptions{dir});
  if (!env) ::_exit(10);
  auto store = DayStore::attach(*env);
  if (!store) ::_exit(11);
  SystemClock clock;
  CollectorStats stats;
  DayAggregate aggregate(clock, DayLimits{}, stats);
  std::uint64_t stored = 0;
  CommitterOptions options;
  options.interval = Interval;
  options.after_commit = [&](std::uint64_t sessions) {
    stored += sessions;
    if (::write(commit_fd, &stored, sizeof stored) != sizeof stored) ::_exit(12);
  };
  Committer committer(aggregate, **store, stats, clock, options);
  if (!committer.prepare()) ::_exit(13);
  committer.start();
  const DatagramSessions proto = fixtureSessions("pf311-good-success.dgram");
  if (proto.sessions.size() != 1) ::_exit(14);
  std::uint64_t added = 0;
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    std::vector<DatagramSessions> batch(Chunk, proto);
    aggregate.addDatagrams(batch);
    added += Chunk;
    if (::write(progress_fd, &added, sizeof added) != sizeof added) ::_exit(15);
    next += std::chrono::microseconds(1'000'000 * Chunk / Rate);
    std::this_thread::sleep_until(next);  // pacing in the child; the test itself never sleeps
  }
}

// Reads every value available on fd (waiting up to timeout_ms for the first), keeping the last.
bool readLatest(int fd, std::uint64_t& value, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  bool got = false;
  std::uint64_t v = 0;
  while (::poll(&p, 1, got ? 0 : timeout_ms) == 1 && ::read(fd, &v, sizeof v) == sizeof v) {
    value = v;
    got = true;
  }
  return got;
}

std::uint64_t storedSessions(const std::string& dir) {
  auto env = cache::LmdbEnv::open(cache::LmdbOptions{dir});
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  auto store = DayStore::attach(*env);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
  auto days = (*store)->days();
  REQUIRE(days);
  std::uint64_t n = 0;
  for (UtcDay day : *days) {
    auto entries = (*store)->entries(day);
    REQUIRE(entries);
    for (const auto& e : *entries) n += e.counts.successful_sessions + e.counts.failed_sessions;
  }
  return n;
}

}  // namespace

TEST_CASE("a collector killed with SIGKILL during a flood keeps every commit and loses at most the last interval") {
  TempDir dir;
  std::uint64_t before = 0;  // stored by earlier rounds
  for (int round = 0; round < Rounds; ++round) {
    CAPTURE(round);
    int progress[2];
    int commits[2];
    REQUIRE(::pipe(progress) == 0);
    REQUIRE(::pipe(commits) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(progress[0]);
      ::close(commits[0]);
      floodForever(dir.path(), progress[1], commits[1]);
    }
    ::close(progress[1]);
    ::close(commits[1]);
    // Let 2 to 7 commits happen, then 1 to 9 more adds (5 ms apart: the kill lands at a
    // varying point of the 50 ms interval, sometimes during a commit), then kill.
    Ack ack;
    const int wanted = 2 + round;
    for (int seen = 0; seen < wanted;) {
      std::uint64_t value = ack.committed;
      REQUIRE_MESSAGE(readLatest(commits[0], value, PollTimeoutMs), "no commit acknowledged");
      if (value != ack.committed) ++seen;
      ack.committed = value;
    }
    readLatest(progress[0], ack.added, 0);
    const std::uint64_t kill_at = ack.added + Chunk * static_cast<std::uint64_t>(1 + (round * 7) % 9);
    while (ack.added < kill_at) REQUIRE(readLatest(progress[0], ack.added, PollTimeoutMs));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    readLatest(commits[0], ack.committed, 0);
    readLatest(progress[0], ack.added, 0);
    ::close(progress[0]);
    ::close(commits[0]);

    const std::uint64_t stored = storedSessions(dir.path()) - before;
    const std::uint64_t sent_at_most = ack.added + Chunk;  // one add may be unacknowledged
    INFO("round ", round, ": added >= ", ack.added, ", acknowledged commits stored ", ack.committed,
            ", store holds ", stored, ", lost ", ack.added > stored ? ack.added - stored : 0);
    CHECK(stored >= ack.committed);  // no acknowledged commit is lost
    CHECK(stored <= sent_at_most);   // never counted twice
    // Lost: what arrived since the last commit began. At 5,000/s and 50 ms that is about
    // 250 sessions; a commit that was in flight adds its own interval. Allow 4 intervals for
    // a loaded machine's scheduling.
    const std::uint64_t bound = static_cast<std::uint64_t>(Rate) * 4 * Interval.count() / 1000;
    CHECK(ack.added <= stored + bound);
    before += stored;
  }
}
