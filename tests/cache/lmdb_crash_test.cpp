// kill -9 in the middle of a write loop (DESIGN.md section 8): the store must reopen and
// hold every acknowledged commit, nothing half-written, nothing that was not committed.
#include "cache/lmdb_policy_store.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::paddedRecord;
using mtasts::cache::test::TempDir;

namespace {

constexpr int Rounds = 20;
constexpr int PollTimeoutMs = 5000;

std::string key(int round, std::int32_t i) {
  return "r" + std::to_string(round) + "-" + std::to_string(i) + ".example";
}

// The child: writes r<round>-<i> (fetched_at = i) one commit at a time, acks each commit
// on the pipe, until it is killed. A small map makes it grow the map along the way.
[[noreturn]] void writeForever(const LmdbOptions& options, int round, int ack_fd) {
  auto store = LmdbPolicyStore::open(options);
  if (!store) ::_exit(10);
  PolicyRecord record = paddedRecord(1500);
  for (std::int32_t i = 0;; ++i) {
    record.fetched_at = i;
    if (!(*store)->put(key(round, i), record)) ::_exit(11);
    if (::write(ack_fd, &i, sizeof i) != sizeof i) ::_exit(12);
  }
}

// Reads one ack with a hard timeout; false on timeout or EOF.
bool readAck(int fd, std::int32_t& value, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return false;
  return ::read(fd, &value, sizeof value) == sizeof value;
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL leaves a store with exactly its committed records") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = 64 << 10;
  std::map<int, std::size_t> kept;  // round -> records that survived, checked again later
  for (int round = 0; round < Rounds; ++round) {
    CAPTURE(round);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      writeForever(options, round, fds[1]);
    }
    ::close(fds[1]);
    // Kill after a varying number of acknowledged commits.
    std::int32_t target = 1 + (round * 7) % 25;
    std::int32_t acked = -1;
    std::int32_t value = 0;
    while (acked < target && readAck(fds[0], value, PollTimeoutMs)) acked = value;
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(acked >= target, "child stopped early, status ", status);
    while (readAck(fds[0], value, 0)) acked = value;  // acks still in the pipe
    ::close(fds[0]);

    auto store = LmdbPolicyStore::open(options);
    REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
    std::map<int, std::size_t> counts;
    std::int32_t highest = -1;
    auto visited = (*store)->forEach([&](std::string_view domain, const PolicyRecord& r) {
      int r_round = std::stoi(std::string(domain.substr(1)));
      ++counts[r_round];
      if (r_round == round) highest = std::max(highest, static_cast<std::int32_t>(r.fetched_at));
      return true;
    });
    REQUIRE(visited);
    // Every acknowledged commit is there, plus at most the one committed before its ack.
    for (std::int32_t i = 0; i <= acked; ++i) {
      PolicyRecord out;
      auto got = (*store)->get(key(round, i), out);
      REQUIRE(got);
      CHECK_MESSAGE(*got, "missing acknowledged record ", i);
      CHECK(out.fetched_at == i);
    }
    CHECK(highest >= acked);
    CHECK(highest <= acked + 1);
    CHECK(counts[round] == static_cast<std::size_t>(highest + 1));
    kept[round] = counts[round];
    for (const auto& entry : kept) {
      const auto earlier = entry.first;  // not a structured binding: clang 14 cannot capture one
      const auto count = entry.second;
      CAPTURE(earlier);
      CHECK(counts[earlier] == count);  // later rounds never disturb earlier commits
    }
  }
}
