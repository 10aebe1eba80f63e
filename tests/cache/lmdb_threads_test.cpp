// One env shared by threads, as in the daemon: writer threads commit their stores in a loop
// (the TLS-RPT collector's writer) while this thread, the event loop, reads and writes
// policies; the map grows under all of them. Also run under ThreadSanitizer: configure with
// -DMTASTS_SANITIZE=thread (clang) and run cache_tests -tc='*thread*'.
#include "cache/lmdb_env.hpp"
#include "cache/lmdb_policy_store.hpp"
#include "tests/cache/test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace mtasts;
using namespace mtasts::cache;
using mtasts::cache::test::paddedRecord;
using mtasts::cache::test::recordDiff;
using mtasts::cache::test::TempDir;

namespace {

constexpr std::size_t SmallMap = 64 << 10;

std::shared_ptr<LmdbEnv> openEnv(const LmdbOptions& options) {
  auto env = LmdbEnv::open(options);
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  return std::move(*env);
}

// First error seen by a thread, reported by the main thread (doctest is not thread-safe).
class Errors {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (first_.empty()) first_ = what;
    ++count_;
  }
  std::string first() {
    std::lock_guard lock(mutex_);
    return first_;
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::string first_;
  int count_ = 0;
};

// Waits (without sleeping) until `done` holds; false after 20 s.
template <typename Pred>
bool waitFor(Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

std::string countKey(std::size_t writer, int i) { return "w" + std::to_string(writer) + "-" + std::to_string(i); }

}  // namespace

TEST_CASE("writer threads commit in a loop while this thread reads and writes policies, through map growth") {
  constexpr std::size_t Writers = 2;
  constexpr int Rounds = 100;
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = SmallMap;
  auto env = openEnv(options);
  auto policies = LmdbPolicyStore::attach(env);
  REQUIRE(policies);
  std::vector<MDB_dbi> counts;
  for (std::size_t w = 0; w < Writers; ++w) {  // stores are opened before the threads start
    auto dbi = env->openStore({"counts" + std::to_string(w), 1, {}});
    REQUIRE(dbi);
    counts.push_back(*dbi);
  }

  Errors errors;
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < Writers; ++w) {
    writers.emplace_back([&, w] {
      const std::string value(1500, static_cast<char>('a' + w));
      for (int i = 0; i < Rounds; ++i) {
        // One commit: a new record and the running total, which must always agree.
        auto r = env->write([&](WriteTxn& txn) -> Result<void> {
          if (auto p = txn.put(counts[w], countKey(w, i), value); !p) return p;
          return txn.put(counts[w], "total", std::to_string(i + 1));
        });
        if (!r) errors.add("writer " + std::to_string(w) + ": " + r.error().detail);
      }
    });
  }

  // The event loop's part: put, get back, and read the writers' stores in snapshots.
  PolicyRecord record = paddedRecord(1500);
  std::vector<int> last_total(Writers, 0);
  ReadTxn snapshot;
  for (int i = 0; i < Rounds; ++i) {
    record.fetched_at = i;
    auto put = (*policies)->put("p" + std::to_string(i) + ".example", record);
    if (!put) errors.add("put: " + put.error().detail);
    PolicyRecord out;
    auto got = (*policies)->get("p" + std::to_string(i / 2) + ".example", out);
    if (!got || !*got || out.fetched_at != i / 2) errors.add("get " + std::to_string(i / 2));
    if (!env->beginRead(snapshot)) {
      errors.add("beginRead");
      continue;
    }
    for (std::size_t w = 0; w < Writers; ++w) {
      std::string_view total;
      auto found = snapshot.get(counts[w], "total", total);
      if (!found) errors.add("read total");
      if (!found || !*found) continue;
      int n = std::stoi(std::string(total));
      std::string_view last;
      // The snapshot holds the record of every counted round, and totals never go back.
      auto has_last = snapshot.get(counts[w], countKey(w, n - 1), last);
      if (!has_last || !*has_last || n < last_total[w]) errors.add("inconsistent snapshot");
      last_total[w] = n;
    }
    snapshot.reset();
  }
  for (auto& t : writers) t.join();

  CHECK_MESSAGE(errors.count() == 0, errors.first());
  for (int i = 0; i < Rounds; ++i) {
    PolicyRecord out;
    auto got = (*policies)->get("p" + std::to_string(i) + ".example", out);
    REQUIRE(got);
    CHECK(*got);
  }
  REQUIRE(env->beginRead(snapshot));
  for (std::size_t w = 0; w < Writers; ++w) {
    std::string_view total;
    REQUIRE(*snapshot.get(counts[w], "total", total));
    CHECK(total == std::to_string(Rounds));
    MDB_stat stat{};
    REQUIRE(mdb_stat(snapshot.raw(), counts[w], &stat) == MDB_SUCCESS);
    CHECK(stat.ms_entries == Rounds + 1);
  }
  snapshot.reset();
  // About 3 x 100 x 1.5 KB were written from a 64 KiB map: it grew at least 8-fold.
  CHECK(env->mapSize() >= 8 * SmallMap);
}

TEST_CASE("growth by a writer thread waits for this thread's read txn, whose values stay valid") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = SmallMap;
  auto env = openEnv(options);
  auto policies = LmdbPolicyStore::attach(env);
  REQUIRE(policies);
  auto counts = env->openStore({"counts", 1, {}});
  REQUIRE(counts);
  REQUIRE((*policies)->put("held.example", paddedRecord(100)));

  ReadTxn held;
  REQUIRE(env->beginRead(held));
  std::string_view view;
  REQUIRE(*held.get((*policies)->dbi(), "held.example", view));
  const std::string copy(view);

  std::atomic<bool> writer_done{false};
  Errors errors;
  std::thread writer([&] {
    const std::string value(2000, 'w');
    const std::size_t initial = env->mapSize();
    for (int i = 0; env->mapSize() == initial && i < 1000; ++i) {
      auto r = env->write([&](WriteTxn& txn) { return txn.put(*counts, "k" + std::to_string(i), value); });
      if (!r) errors.add(r.error().detail);
    }
    writer_done = true;
  });
  // The writer fills the map, then waits for `held` to end before it remaps.
  bool pending = waitFor([&] { return env->exclusivePending() || writer_done.load(); });
  CHECK(pending);
  CHECK_FALSE(writer_done.load());
  CHECK(env->mapSize() == SmallMap);
  CHECK(view == copy);  // the map did not move under the open txn
  held.reset();
  writer.join();
  CHECK_MESSAGE(errors.count() == 0, errors.first());
  CHECK(env->mapSize() == 2 * SmallMap);
}

TEST_CASE("a write that needs growth while its own thread holds a read txn fails at once") {
  TempDir tmp;
  LmdbOptions options{tmp.path()};
  options.map_size = SmallMap;
  auto env = openEnv(options);
  auto policies = LmdbPolicyStore::attach(env);
  REQUIRE(policies);
  ReadTxn held;
  REQUIRE(env->beginRead(held));
  Result<void> last;
  int i = 0;
  for (; i < 100 && last; ++i) last = (*policies)->put("d" + std::to_string(i) + ".example", paddedRecord(3000));
  REQUIRE_FALSE(last);
  CHECK(last.error().code == ErrorCode::TooLarge);
  CHECK(last.error().detail.find("cannot grow while this thread has a txn open") != std::string::npos);
  held.reset();
  // Without the txn the same writes go on, and the map grows when they need it.
  for (int j = 0; j < 100 && env->mapSize() == SmallMap; ++j) {
    auto after = (*policies)->put("after" + std::to_string(j) + ".example", paddedRecord(3000));
    REQUIRE_MESSAGE(after, (after ? "" : after.error().detail));
  }
  CHECK(env->mapSize() == 2 * SmallMap);
}

TEST_CASE("a store opened while another thread writes waits for that write and both succeed") {
  TempDir tmp;
  auto env = openEnv({tmp.path()});
  auto counts = env->openStore({"counts", 1, {}});
  REQUIRE(counts);
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  Errors errors;
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto r = env->write([&](WriteTxn& txn) { return txn.put(*counts, "k" + std::to_string(i % 50), "v"); });
      if (!r) errors.add(r.error().detail);
      ++commits;
    }
  });
  REQUIRE(waitFor([&] { return commits.load() > 3; }));
  for (int s = 0; s < 5; ++s) {
    auto dbi = env->openStore({"late" + std::to_string(s), 1, {}});
    CHECK_MESSAGE(dbi, (dbi ? "" : dbi.error().detail));
  }
  int before = commits.load();
  CHECK(waitFor([&] { return commits.load() > before + 3; }));  // the writer went on
  stop = true;
  writer.join();
  CHECK_MESSAGE(errors.count() == 0, errors.first());
}
