// kill -9 in the middle of writes (DESIGN.md section 8): the store must reopen and hold every
// acknowledged commit, nothing half-written, nothing that was not committed — for two stores
// written at once from two threads of one process (the event loop's policies and a writer
// thread's counts, as with the TLS-RPT collector), the map growing under both.
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
#include <thread>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::paddedRecord;
using mtasts::cache::test::TempDir;

namespace {

constexpr int Rounds = 20;
constexpr int PollTimeoutMs = 5000;
const StoreSpec CountsSpec{"counts", 1, {}};

std::string key(int round, std::int32_t i) {
  return "r" + std::to_string(round) + "-" + std::to_string(i) + ".example";
}

std::string lastKey(int round) { return "r" + std::to_string(round) + "-last"; }

// The child: this thread writes policies r<round>-<i> (fetched_at = i), a second thread
// writes counts r<round>-<i> together with r<round>-last = i in the same commit; each acks
// its commits on its own pipe, until killed. A small map makes both grow it on the way.
[[noreturn]] void writeForever(const LmdbOptions& options, int round, int policy_ack_fd, int count_ack_fd) {
  auto env = LmdbEnv::open(options);
  if (!env) ::_exit(10);
  auto store = LmdbPolicyStore::attach(*env);
  auto counts = (*env)->openStore(CountsSpec);
  if (!store || !counts) ::_exit(13);
  std::thread writer([&] {
    const std::string value(1200, 'c');
    for (std::int32_t i = 0;; ++i) {
      auto r = (*env)->write([&](WriteTxn& txn) -> Result<void> {
        if (auto p = txn.put(*counts, key(round, i), value); !p) return p;
        return txn.put(*counts, lastKey(round), std::to_string(i));
      });
      if (!r) ::_exit(14);
      if (::write(count_ack_fd, &i, sizeof i) != sizeof i) ::_exit(15);
    }
  });
  PolicyRecord record = paddedRecord(1500);
  for (std::int32_t i = 0;; ++i) {
    record.fetched_at = i;
    if (!(*store)->put(key(round, i), record)) ::_exit(11);
    if (::write(policy_ack_fd, &i, sizeof i) != sizeof i) ::_exit(12);
  }
}

// Reads one ack with a hard timeout; false on timeout or EOF.
bool readAck(int fd, std::int32_t& value, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return false;
  return ::read(fd, &value, sizeof value) == sizeof value;
}

// Reads acks until `target` is acknowledged (or a timeout); returns the last one seen.
std::int32_t awaitAck(int fd, std::int32_t target) {
  std::int32_t acked = -1;
  std::int32_t value = 0;
  while (acked < target && readAck(fd, value, PollTimeoutMs)) acked = value;
  return acked;
}

std::int32_t drainAcks(int fd, std::int32_t acked) {
  std::int32_t value = 0;
  while (readAck(fd, value, 0)) acked = value;  // acks still in the pipe
  return acked;
}

// Per round: the records counted, and the highest index among this round's.
struct Seen {
  std::map<int, std::size_t> counts;
  std::int32_t highest = -1;
};

void visitCounts(LmdbEnv& env, MDB_dbi dbi, int round, Seen& seen, std::string& last) {
  ReadTxn txn;
  REQUIRE(env.beginRead(txn));
  MDB_cursor* cursor = nullptr;
  REQUIRE(mdb_cursor_open(txn.raw(), dbi, &cursor) == MDB_SUCCESS);
  MDB_val k{0, nullptr};
  MDB_val v{0, nullptr};
  for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    std::string name(static_cast<const char*>(k.mv_data), k.mv_size);
    std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
    int r_round = std::stoi(name.substr(1));
    if (name == lastKey(round)) {
      last = value;
      continue;
    }
    if (name.size() > 5 && name.compare(name.size() - 5, 5, "-last") == 0) continue;
    ++seen.counts[r_round];
    if (r_round == round) {
      auto dash = name.find('-');
      seen.highest = std::max(seen.highest, static_cast<std::int32_t>(std::stoi(name.substr(dash + 1))));
    }
  }
  mdb_cursor_close(cursor);
}

}  // namespace

TEST_CASE("a process killed with SIGKILL while two threads write two stores leaves exactly their commits") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = 64 << 10;
  std::map<int, std::size_t> kept_policies;  // round -> records that survived, checked again later
  std::map<int, std::size_t> kept_counts;
  for (int round = 0; round < Rounds; ++round) {
    CAPTURE(round);
    int policy_fds[2];
    int count_fds[2];
    REQUIRE(::pipe(policy_fds) == 0);
    REQUIRE(::pipe(count_fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(policy_fds[0]);
      ::close(count_fds[0]);
      writeForever(options, round, policy_fds[1], count_fds[1]);
    }
    ::close(policy_fds[1]);
    ::close(count_fds[1]);
    // Kill after a varying number of acknowledged commits of each writer.
    std::int32_t policy_target = 1 + (round * 7) % 25;
    std::int32_t count_target = 1 + (round * 11) % 25;
    std::int32_t policy_acked = awaitAck(policy_fds[0], policy_target);
    std::int32_t count_acked = awaitAck(count_fds[0], count_target);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE_MESSAGE(policy_acked >= policy_target, "child stopped early, status ", status);
    REQUIRE_MESSAGE(count_acked >= count_target, "child stopped early, status ", status);
    policy_acked = drainAcks(policy_fds[0], policy_acked);
    count_acked = drainAcks(count_fds[0], count_acked);
    ::close(policy_fds[0]);
    ::close(count_fds[0]);

    auto env = LmdbEnv::open(options);
    REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
    auto store = LmdbPolicyStore::attach(*env);
    REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
    Seen policies;
    auto visited = (*store)->forEach([&](std::string_view domain, const PolicyRecord& r) {
      int r_round = std::stoi(std::string(domain.substr(1)));
      ++policies.counts[r_round];
      if (r_round == round) policies.highest = std::max(policies.highest, static_cast<std::int32_t>(r.fetched_at));
      return true;
    });
    REQUIRE(visited);
    // Every acknowledged commit is there, plus at most the one committed before its ack.
    for (std::int32_t i = 0; i <= policy_acked; ++i) {
      PolicyRecord out;
      auto got = (*store)->get(key(round, i), out);
      REQUIRE(got);
      CHECK_MESSAGE(*got, "missing acknowledged policy ", i);
      CHECK(out.fetched_at == i);
    }
    CHECK(policies.highest >= policy_acked);
    CHECK(policies.highest <= policy_acked + 1);
    CHECK(policies.counts[round] == static_cast<std::size_t>(policies.highest + 1));

    // The counts: the same, and each commit's two records are there together or not at all.
    auto counts = (*env)->openStore(CountsSpec);
    REQUIRE(counts);
    Seen seen;
    std::string last;
    visitCounts(**env, *counts, round, seen, last);
    CHECK(seen.highest >= count_acked);
    CHECK(seen.highest <= count_acked + 1);
    CHECK(seen.counts[round] == static_cast<std::size_t>(seen.highest + 1));
    CHECK(last == std::to_string(seen.highest));

    kept_policies[round] = policies.counts[round];
    kept_counts[round] = seen.counts[round];
    for (int earlier = 0; earlier < round; ++earlier) {
      CAPTURE(earlier);
      CHECK(policies.counts[earlier] == kept_policies[earlier]);  // later rounds never disturb
      CHECK(seen.counts[earlier] == kept_counts[earlier]);        // earlier commits
    }
  }
}
