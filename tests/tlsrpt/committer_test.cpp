// The committer over a real LMDB store: commits what the aggregate took, skips idle
// intervals, stores the counters, keeps a failed commit's delta and retries it, drops kept
// days older than yesterday as lost, seeds the day bounds and sweeps at startup, and runs as
// a thread with a final commit at stop. The kill -9 test is in committer_crash_test.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "cache/lmdb_policy_store.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/committer.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;
using namespace std::chrono_literals;

namespace {

constexpr UnixSeconds Noon = 1'764'504'000;  // 2025-11-30T12:00:00Z

struct World {
  explicit World(const std::string& dir, std::size_t max_map_size = 1 << 30) {
    cache::LmdbOptions options{dir};
    options.map_size = std::min<std::size_t>(64 << 10, max_map_size);
    options.max_map_size = max_map_size;
    auto opened = cache::LmdbEnv::open(options);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().detail));
    env = *opened;
    auto s = DayStore::attach(env);
    REQUIRE_MESSAGE(s, (s ? "" : s.error().detail));
    store = std::move(*s);
  }
  std::uint64_t storedSessions(UtcDay day) {
    auto entries = store->entries(day);
    REQUIRE(entries);
    std::uint64_t n = 0;
    for (const auto& e : *entries) n += e.counts.successful_sessions + e.counts.failed_sessions;
    return n;
  }

  ManualClock clock{Noon};
  CollectorStats stats;
  std::shared_ptr<cache::LmdbEnv> env;
  std::unique_ptr<DayStore> store;
  DayAggregate aggregate{clock, DayLimits{}, stats};
};

void addGood(DayAggregate& aggregate, int times) {
  std::vector<DatagramSessions> batch;
  for (int i = 0; i < times; ++i) batch.push_back(fixtureSessions("pf311-good-success.dgram"));
  REQUIRE(batch.front().sessions.size() == 1);
  aggregate.addDatagrams(batch);
}

}  // namespace

TEST_CASE("a commit stores what was added, and an idle interval commits nothing") {
  TempDir dir;
  World w(dir.path());
  Committer committer(w.aggregate, *w.store, w.stats, w.clock, CommitterOptions{});
  addGood(w.aggregate, 5);
  w.stats.received = 5;
  REQUIRE(committer.commitOnce());
  CHECK(committer.commits() == 1);
  CHECK(w.storedSessions(utcDayOf(Noon)) == 5);
  auto counters = w.store->counters();
  REQUIRE(counters);
  REQUIRE(counters->has_value());
  CHECK((*counters)->value("received") == 5);
  CHECK((*counters)->value("commits") == 1);
  CHECK((*counters)->last_commit == Noon);
  CHECK(w.stats.last_commit.load() == Noon);
  w.clock.advance(1);
  REQUIRE(committer.commitOnce());
  CHECK(committer.commits() == 1);  // nothing new: no txn, no fdatasync
  w.stats.rejected_invalid = 1;     // a counter changed: worth a commit
  REQUIRE(committer.commitOnce());
  CHECK(committer.commits() == 2);
  CHECK((*w.store->counters())->value("rejected-invalid") == 1);
  CHECK(w.storedSessions(utcDayOf(Noon)) == 5);  // nothing counted twice
}

TEST_CASE("a failed commit keeps its delta and the next commit stores it once") {
  TempDir dir;
  World w(dir.path(), 256 << 10);
  auto policies = cache::LmdbPolicyStore::attach(w.env);
  REQUIRE(policies);
  // Fill the map with policies until it is full (it cannot grow past 256 KiB).
  cache::PolicyRecord big;
  big.kind = cache::EntryKind::Policy;
  big.policy.lines.emplace_back("x-padding", std::string(2000, 'p'));
  for (int i = 0; (*policies)->put("p" + std::to_string(i) + ".example", big); ++i) REQUIRE(i < 1000);
  Committer committer(w.aggregate, *w.store, w.stats, w.clock, CommitterOptions{});
  addGood(w.aggregate, 3);
  auto failed = committer.commitOnce();
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == ErrorCode::TooLarge);
  CHECK(w.stats.commit_failures.load() == 1);
  addGood(w.aggregate, 2);  // more arrives meanwhile
  REQUIRE_FALSE(committer.commitOnce());
  REQUIRE((*policies)->eraseAll());  // room again
  REQUIRE(committer.commitOnce());
  CHECK(w.storedSessions(utcDayOf(Noon)) == 5);
  CHECK(w.stats.lost_sessions.load() == 0);
}

TEST_CASE("kept sessions of days before yesterday are dropped and counted as lost") {
  TempDir dir;
  World w(dir.path(), 128 << 10);
  auto policies = cache::LmdbPolicyStore::attach(w.env);
  REQUIRE(policies);
  cache::PolicyRecord big;
  big.kind = cache::EntryKind::Policy;
  big.policy.lines.emplace_back("x-padding", std::string(2000, 'p'));
  for (int i = 0; (*policies)->put("p" + std::to_string(i) + ".example", big); ++i) REQUIRE(i < 1000);
  Committer committer(w.aggregate, *w.store, w.stats, w.clock, CommitterOptions{});
  addGood(w.aggregate, 3);
  REQUIRE_FALSE(committer.commitOnce());
  w.clock.advance(86'400);
  addGood(w.aggregate, 1);
  REQUIRE_FALSE(committer.commitOnce());  // yesterday's 3 are still kept
  CHECK(w.stats.lost_sessions.load() == 0);
  w.clock.advance(86'400);
  REQUIRE((*policies)->eraseAll());
  REQUIRE(committer.commitOnce());  // the first day is now two days back: dropped
  CHECK(w.stats.lost_sessions.load() == 3);
  CHECK(w.storedSessions(utcDayOf(Noon)) == 0);
  CHECK(w.storedSessions(utcDayOf(Noon + 86'400)) == 1);
}

TEST_CASE("prepare seeds today's stored domains into the day bounds and sweeps days past keep_days") {
  TempDir dir;
  World w(dir.path());
  const UtcDay today = utcDayOf(Noon);
  REQUIRE(w.store->commit(DayDelta{{sampleEntry(today, "seeded.example"), sampleEntry(UtcDay{today.days - 3}),
                                    sampleEntry(UtcDay{today.days - 2})},
                                   {}},
                          nullptr, DayLimits{}));
  DayLimits limits;
  limits.max_domains_per_day = 1;
  DayAggregate aggregate(w.clock, limits, w.stats);
  CommitterOptions options;
  options.keep_days = 2;
  Committer committer(aggregate, *w.store, w.stats, w.clock, options);
  REQUIRE(committer.prepare());
  CHECK(w.stats.started_at.load() == Noon);
  auto days = w.store->days();
  REQUIRE(days);
  CHECK(*days == std::vector<UtcDay>{UtcDay{today.days - 2}, today});
  addGood(aggregate, 1);  // good.test would be the day's second domain
  CHECK(w.stats.dropped_domain_bound.load() == 1);
}

TEST_CASE("the writer thread commits every interval and once more when stopped") {
  TempDir dir;
  World w(dir.path());
  std::uint64_t committed = 0;
  CommitterOptions options;
  options.interval = 5ms;
  options.after_commit = [&](std::uint64_t sessions) { committed += sessions; };  // writer thread only
  Committer committer(w.aggregate, *w.store, w.stats, w.clock, options);
  committer.start();
  addGood(w.aggregate, 2);
  REQUIRE(committer.waitForCommits(1, 10s));  // a bounded wait for the thread, not a sleep
  addGood(w.aggregate, 3);
  REQUIRE(committer.stop());
  CHECK(w.storedSessions(utcDayOf(Noon)) == 5);
  CHECK(committed == 5);
  CHECK(committer.stop());  // twice is harmless
}

TEST_CASE("stop without start makes the final commit on the calling thread") {
  TempDir dir;
  World w(dir.path());
  {
    Committer committer(w.aggregate, *w.store, w.stats, w.clock, CommitterOptions{});
    addGood(w.aggregate, 4);
  }  // the destructor stops
  CHECK(w.storedSessions(utcDayOf(Noon)) == 4);
}
