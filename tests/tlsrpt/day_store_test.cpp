// The day store on a real LMDB env in a temp dir: commits merge into stored records, the
// row bound applies across commits, digest collisions and undecodable records are handled,
// positions and counters commit with the counts, days are listed, the sweep keeps recent
// days, the map grows without counting twice, and the policy store beside it is untouched.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cache/lmdb_policy_store.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/day_record_codec.hpp"
#include "tlsrpt/day_store.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

const UtcDay Day{20'422};

struct Opened {
  std::shared_ptr<cache::LmdbEnv> env;
  std::unique_ptr<DayStore> store;
};

Opened open(const std::string& dir, std::size_t map_size = 1 << 20) {
  cache::LmdbOptions options{dir};
  options.map_size = map_size;
  auto env = cache::LmdbEnv::open(options);
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  auto store = DayStore::attach(*env);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
  return {*env, std::move(*store)};
}

DayDelta deltaOf(std::vector<DayEntry> entries) {
  DayDelta d;
  d.entries = std::move(entries);
  return d;
}

std::vector<DayEntry> entriesOf(DayStore& store, UtcDay day) {
  auto got = store.entries(day);
  REQUIRE_MESSAGE(got, (got ? "" : got.error().detail));
  return *got;
}

}  // namespace

TEST_CASE("commits merge into the stored record of the same day, domain, policy and record") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& store = opened.store;
  DayLimits limits;
  REQUIRE(store->commit(deltaOf({sampleEntry(Day)}), nullptr, limits));
  auto second = store->commit(deltaOf({sampleEntry(Day), sampleEntry(Day, "b.example")}), nullptr, limits);
  REQUIRE(second);
  CHECK(second->records == 2);
  auto got = entriesOf(*store, Day);
  REQUIRE(got.size() == 2);
  CHECK(got[0].domain == "b.example");  // key order: domain
  CHECK(entryDiff(got[0], sampleEntry(Day, "b.example")) == "");
  DayEntry twice = sampleEntry(Day);
  mergeDayEntry(twice, sampleEntry(Day), 100);
  CHECK(entryDiff(got[1], twice) == "");
  auto by_domain = store->entries(Day, "example.com");
  REQUIRE(by_domain);
  CHECK(by_domain->size() == 1);
  CHECK(entriesOf(*store, UtcDay{Day.days + 1}).empty());
}

TEST_CASE("another policy or another TLSRPT record of the domain is its own entry") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& store = opened.store;
  DayEntry other_record = sampleEntry(Day);
  other_record.tlsrpt_record = "v=TLSRPTv1; rua=https://r.example/";
  DayEntry other_policy = sampleEntry(Day);
  other_policy.counts.policy.strings.back() = "max_age: 604800";
  REQUIRE(store->commit(deltaOf({sampleEntry(Day), other_record, other_policy}), nullptr, DayLimits{}));
  CHECK(entriesOf(*store, Day).size() == 3);
}

TEST_CASE("the detail row bound applies to the stored rows plus the committed ones") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& store = opened.store;
  DayLimits limits;
  limits.max_detail_rows = 2;
  REQUIRE(store->commit(deltaOf({sampleEntry(Day)}), nullptr, limits));  // two rows
  DayEntry more = sampleEntry(Day);
  more.counts.failures = {FailureCount{failureRow(TlsRptResultType::StarttlsNotSupported), 4}};
  auto committed = store->commit(deltaOf({more}), nullptr, limits);
  REQUIRE(committed);
  CHECK(committed->overflowed == 4);
  auto got = entriesOf(*store, Day);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].counts.failures.size() == 3);
  CHECK(isOverflowRow(got[0].counts.failures[0].detail));
  CHECK(got[0].counts.failures[0].sessions == 4);
}

TEST_CASE("a digest taken by another descriptor moves the entry to the next key, and it stays there") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& env = opened.env;
  auto& store = opened.store;
  const DayEntry entry = sampleEntry(Day);
  const EntryDigest digest = entryDigest(entry.counts.policy, entry.tlsrpt_record);
  DayEntry squatter = sampleEntry(Day);
  squatter.counts.policy.type = PolicyType::Tlsa;  // same key, another descriptor
  REQUIRE(env->write([&](cache::WriteTxn& txn) {
    return txn.put(*env->openStore(DayStore::daysSpec()), dayEntryKey(Day, entry.domain, digest, 0),
                   encodeDayRecord(squatter));
  }));
  REQUIRE(store->commit(deltaOf({entry}), nullptr, DayLimits{}));
  REQUIRE(store->commit(deltaOf({entry}), nullptr, DayLimits{}));
  auto got = entriesOf(*store, Day);
  REQUIRE(got.size() == 2);
  CHECK(got[0].counts.policy.type == PolicyType::Tlsa);
  CHECK(got[0].counts.successful_sessions == 40);  // untouched
  CHECK(got[1].counts.successful_sessions == 80);  // both commits, in the probe-1 key

  SUBCASE("when every key is taken the sessions are dropped and counted") {
    REQUIRE(env->write([&](cache::WriteTxn& txn) -> Result<void> {
      for (int probe = 1; probe <= MaxKeyProbe; ++probe) {
        auto r = txn.put(*env->openStore(DayStore::daysSpec()), dayEntryKey(Day, entry.domain, digest, probe),
                         encodeDayRecord(squatter));
        if (!r) return r;
      }
      return {};
    }));
    auto dropped = store->commit(deltaOf({entry}), nullptr, DayLimits{});
    REQUIRE(dropped);
    CHECK(dropped->dropped == 43);
    CHECK(dropped->records == 0);
  }
}

TEST_CASE("an undecodable stored record is replaced, and skipped when read") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& env = opened.env;
  auto& store = opened.store;
  const DayEntry entry = sampleEntry(Day);
  const std::string key = dayEntryKey(Day, entry.domain, entryDigest(entry.counts.policy, entry.tlsrpt_record), 0);
  const MDB_dbi dbi = *env->openStore(DayStore::daysSpec());
  REQUIRE(env->write([&](cache::WriteTxn& txn) { return txn.put(dbi, key, "\x07garbage"); }));
  CHECK(entriesOf(*store, Day).empty());
  auto committed = store->commit(deltaOf({entry}), nullptr, DayLimits{});
  REQUIRE(committed);
  CHECK(committed->replaced == 1);
  auto got = entriesOf(*store, Day);
  REQUIRE(got.size() == 1);
  CHECK(entryDiff(got[0], entry) == "");
}

TEST_CASE("positions and counters are committed with the counts, in the same transaction") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& store = opened.store;
  CHECK_FALSE(store->counters()->has_value());
  CHECK_FALSE(store->position("file:/var/log/mail.log")->has_value());
  DayDelta delta = deltaOf({sampleEntry(Day)});
  delta.positions = {{"file:/var/log/mail.log", "offset=1234 inode=99"}};
  CollectorCounters counters;
  counters.started_at = 1'700'000'000;
  counters.last_commit = 1'700'000'060;
  counters.values = {{"received", 7}, {"rejected-invalid", 1}};
  REQUIRE(store->commit(delta, &counters, DayLimits{}));
  CHECK(store->position("file:/var/log/mail.log")->value() == "offset=1234 inode=99");
  auto stored = store->counters();
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  CHECK(**stored == counters);
}

TEST_CASE("a commit that fails (map full) writes neither counts nor positions, and the store stays usable") {
  TempDir dir;
  cache::LmdbOptions options{dir.path()};
  options.map_size = 64 << 10;
  options.max_map_size = 64 << 10;  // cannot grow
  auto env = cache::LmdbEnv::open(options);
  REQUIRE(env);
  auto store = DayStore::attach(*env);
  REQUIRE(store);
  DayDelta small = deltaOf({sampleEntry(Day)});
  small.positions = {{"maillog", "1"}};
  REQUIRE((*store)->commit(small, nullptr, DayLimits{}));
  std::vector<DayEntry> many;
  for (int i = 0; i < 2000; ++i) many.push_back(sampleEntry(Day, "full" + std::to_string(i) + ".example"));
  DayDelta big = deltaOf(many);
  big.positions = {{"maillog", "2"}};
  auto failed = (*store)->commit(big, nullptr, DayLimits{});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == ErrorCode::TooLarge);
  CHECK((*store)->position("maillog")->value() == "1");
  CHECK(entriesOf(**store, Day).size() == 1);
  REQUIRE((*store)->commit(small, nullptr, DayLimits{}));
  CHECK(entriesOf(**store, Day)[0].counts.successful_sessions == 80);
}

TEST_CASE("days are listed once each, ascending, and the sweep deletes only days before the kept one") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& store = opened.store;
  std::vector<DayEntry> entries;
  for (std::int64_t d : {20'400, 20'401, 20'405}) {
    for (int i = 0; i < 1500; ++i) entries.push_back(sampleEntry(UtcDay{d}, "d" + std::to_string(i) + ".example"));
  }
  REQUIRE(store->commit(deltaOf(entries), nullptr, DayLimits{}));
  auto days = store->days();
  REQUIRE(days);
  CHECK(*days == std::vector<UtcDay>{UtcDay{20'400}, UtcDay{20'401}, UtcDay{20'405}});
  auto swept = store->sweep(UtcDay{20'400});
  REQUIRE(swept);
  CHECK(*swept == 0);
  swept = store->sweep(UtcDay{20'405});  // 3000 records: more than one delete batch
  REQUIRE(swept);
  CHECK(*swept == 3000);
  CHECK(*store->days() == std::vector<UtcDay>{UtcDay{20'405}});
  CHECK(entriesOf(*store, UtcDay{20'405}).size() == 1500);
}

TEST_CASE("a commit that makes the map grow counts every session exactly once") {
  TempDir dir;
  Opened opened = open(dir.path(), 64 << 10);
  auto& env = opened.env;
  auto& store = opened.store;
  const std::size_t before = env->mapSize();
  std::vector<DayEntry> entries;
  for (int i = 0; i < 400; ++i) entries.push_back(sampleEntry(Day, "grow" + std::to_string(i) + ".example"));
  const DayDelta delta = deltaOf(entries);
  REQUIRE(store->commit(delta, nullptr, DayLimits{}));
  REQUIRE(store->commit(delta, nullptr, DayLimits{}));
  CHECK(env->mapSize() > before);
  auto got = entriesOf(*store, Day);
  REQUIRE(got.size() == 400);
  for (const auto& e : got) CHECK(e.counts.successful_sessions == 80);
}

TEST_CASE("the day store shares the env with the policy store and leaves it untouched") {
  TempDir dir;
  Opened opened = open(dir.path());
  auto& env = opened.env;
  auto& store = opened.store;
  auto policies = cache::LmdbPolicyStore::attach(env);
  REQUIRE(policies);
  cache::PolicyRecord record;
  record.kind = cache::EntryKind::NoPolicy;
  record.expires_at = 123;
  REQUIRE((*policies)->put("example.com", record));
  REQUIRE(store->commit(deltaOf({sampleEntry(UtcDay{1})}), nullptr, DayLimits{}));
  REQUIRE(store->sweep(UtcDay{100}));
  cache::PolicyRecord out;
  auto got = (*policies)->get("example.com", out);
  REQUIRE(got);
  CHECK(*got);
  CHECK(out.expires_at == 123);
}

TEST_CASE("a day store written by a newer mtastsd is refused, and the policies stay") {
  TempDir dir;
  {
    Opened opened = open(dir.path());
    auto& env = opened.env;
    auto policies = cache::LmdbPolicyStore::attach(env);
    REQUIRE(policies);
    REQUIRE((*policies)->put("example.com", cache::PolicyRecord{}));
    REQUIRE(env->write([&](cache::WriteTxn& txn) { return txn.put(env->meta(), "version:tlsrpt_days", "2"); }));
  }
  auto env = cache::LmdbEnv::open(cache::LmdbOptions{dir.path()});
  REQUIRE(env);
  auto store = DayStore::attach(*env);
  REQUIRE_FALSE(store);
  CHECK(store.error().detail.find("newer mtastsd") != std::string::npos);
  auto policies = cache::LmdbPolicyStore::attach(*env);
  REQUIRE(policies);
  cache::PolicyRecord out;
  CHECK(*(*policies)->get("example.com", out));
}

TEST_CASE("a read-only env without the day stores reports NotFound") {
  TempDir dir;
  { auto env = cache::LmdbEnv::open(cache::LmdbOptions{dir.path()}); REQUIRE(env); }
  cache::LmdbOptions ro{dir.path()};
  ro.read_only = true;
  auto env = cache::LmdbEnv::open(ro);
  REQUIRE(env);
  auto store = DayStore::attach(*env);
  REQUIRE_FALSE(store);
  CHECK(store.error().code == ErrorCode::NotFound);
}
