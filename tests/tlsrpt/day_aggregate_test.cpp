// The day aggregate on a manual clock: sys4's counting of real datagrams, the UTC day of
// receipt (midnight), takeDelta() handing each session over exactly once, the day bounds
// (domains, policies per domain, detail rows) with their counters and rate-limited logs, own
// fetch failures, source positions, and producers on several threads.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/fakes/log_capture.hpp"
#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/datagram.hpp"
#include "tlsrpt/day_aggregate.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

constexpr UnixSeconds Noon = 1'764'504'000;  // 2025-11-30T12:00:00Z
constexpr UnixSeconds LastSecond = 1'764'547'199;  // 2025-11-30T23:59:59Z

std::string readFixture(const std::string& name) {
  const std::string path = std::string(MTASTS_TLSRPT_FIXTURES) + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, "cannot open ", path);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

DatagramSessions sessionsFromFixture(const std::string& name) {
  auto parsed = parseDatagram(readFixture(name));
  REQUIRE_MESSAGE(parsed, name, ": ", (parsed ? "" : parsed.error().detail));
  return sessionsOf(std::move(*parsed));
}

void addFixture(DayAggregate& aggregate, const std::string& name, int times = 1) {
  std::vector<DatagramSessions> batch;
  for (int i = 0; i < times; ++i) batch.push_back(sessionsFromFixture(name));
  aggregate.addDatagrams(batch);
}

const DayEntry* find(const DayDelta& delta, const std::string& domain, PolicyType type) {
  for (const auto& e : delta.entries) {
    if (e.domain == domain && e.counts.policy.type == type) return &e;
  }
  return nullptr;
}

struct Fixture {
  ManualClock clock{Noon};
  CollectorStats stats;
  DayLimits limits;
  DayAggregate aggregate{clock, limits, stats};
};

}  // namespace

TEST_CASE("real datagrams are counted the way sys4's collector counts them") {
  Fixture f;
  addFixture(f.aggregate, "pf311-good-success.dgram", 3);
  addFixture(f.aggregate, "pf311-unknownca-205-validation-failure.dgram", 2);
  addFixture(f.aggregate, "libtlsrpt-two-failure-details.dgram");   // "t":2, two rows
  addFixture(f.aggregate, "libtlsrpt-failure-without-details.dgram");  // failure, no row
  addFixture(f.aggregate, "libtlsrpt-two-policies.dgram");  // two sessions
  DayDelta delta = f.aggregate.takeDelta();
  const DayEntry* good = find(delta, "good.test", PolicyType::Sts);
  REQUIRE(good != nullptr);
  CHECK(good->counts.successful_sessions == 3);
  CHECK(good->counts.failed_sessions == 0);
  CHECK(good->tlsrpt_record == "v=TLSRPTv1; rua=mailto:tlsrpt@good.test");
  CHECK(good->sources[0] == 3);
  CHECK(good->day == utcDayOf(Noon));
  const DayEntry* unknownca = find(delta, "unknownca.test", PolicyType::Sts);
  REQUIRE(unknownca != nullptr);
  CHECK(unknownca->counts.failed_sessions == 2);
  REQUIRE(unknownca->counts.failures.size() == 1);
  CHECK(unknownca->counts.failures[0].sessions == 2);
  CHECK(unknownca->counts.failures[0].detail.receiving_mx_helo == "receiver-127.0.50.16");
  CHECK(unknownca->counts.failures[0].detail.failure_reason_code == "unable_to_get_local_issuer_certificate");
  std::uint64_t sessions = 0;
  for (const auto& e : delta.entries) sessions += e.counts.successful_sessions + e.counts.failed_sessions;
  CHECK(sessions == 3 + 2 + 1 + 1 + 2);
  CHECK(f.stats.sessions[0].load() == sessions);
  CHECK(delta.sessions() == sessions);
}

TEST_CASE("a session counts once, in the UTC day of the clock reading when it is added") {
  Fixture f;
  f.clock.set(LastSecond);
  addFixture(f.aggregate, "pf311-good-success.dgram");
  f.clock.advance(1);  // midnight
  addFixture(f.aggregate, "pf311-good-success.dgram");
  DayDelta delta = f.aggregate.takeDelta();
  REQUIRE(delta.entries.size() == 2);
  CHECK(delta.entries[0].day == utcDayOf(LastSecond));
  CHECK(delta.entries[1].day.days == delta.entries[0].day.days + 1);
  CHECK(delta.entries[0].counts.successful_sessions == 1);
  CHECK(delta.entries[1].counts.successful_sessions == 1);
}

TEST_CASE("takeDelta hands every session over exactly once") {
  Fixture f;
  addFixture(f.aggregate, "pf311-good-success.dgram", 2);
  CHECK(f.aggregate.pendingEntries() == 1);
  DayDelta first = f.aggregate.takeDelta();
  CHECK(first.sessions() == 2);
  CHECK(f.aggregate.pendingEntries() == 0);
  CHECK(f.aggregate.takeDelta().empty());
  addFixture(f.aggregate, "pf311-good-success.dgram");
  CHECK(f.aggregate.takeDelta().sessions() == 1);
}

TEST_CASE("sessions of a domain past max_domains_per_day are dropped, counted and logged once a minute") {
  testing::LogCapture log("tlsrpt");
  Fixture f;
  f.limits.max_domains_per_day = 2;
  DayAggregate aggregate(f.clock, f.limits, f.stats);
  addFixture(aggregate, "pf311-good-success.dgram");
  addFixture(aggregate, "pf311-twomx-success.dgram");
  addFixture(aggregate, "pf311-wildok-success.dgram");  // a third domain
  addFixture(aggregate, "pf311-wildok-success.dgram");
  addFixture(aggregate, "pf311-good-success.dgram");  // known domains still count
  CHECK(f.stats.dropped_domain_bound.load() == 2);
  CHECK(log.warnings({"day bound", "wildok.test"}) == 1);
  f.clock.advance(61);
  addFixture(aggregate, "pf311-wildok-success.dgram");
  CHECK(log.warnings({"day bound"}) == 2);
  DayDelta delta = aggregate.takeDelta();
  CHECK(delta.sessions() == 3);
  CHECK(find(delta, "wildok.test", PolicyType::Sts) == nullptr);
  // The bound is per day: the next day admits the domain again.
  f.clock.advance(86'400);
  addFixture(aggregate, "pf311-wildok-success.dgram");
  CHECK(aggregate.takeDelta().sessions() == 1);
}

TEST_CASE("committed domains and policies of the day count against its bounds once seeded") {
  Fixture f;
  f.limits.max_domains_per_day = 1;
  f.limits.max_policies_per_domain = 1;
  DayAggregate aggregate(f.clock, f.limits, f.stats);
  DayEntry stored = sampleEntry(utcDayOf(Noon), "good.test");
  stored.tlsrpt_record = "v=TLSRPTv1; rua=mailto:other@good.test";  // not the datagram's record
  aggregate.seed(stored);
  addFixture(aggregate, "pf311-twomx-success.dgram");  // another domain: over the bound
  addFixture(aggregate, "pf311-good-success.dgram");   // good.test, but another policy: over
  CHECK(f.stats.dropped_domain_bound.load() == 1);
  CHECK(f.stats.dropped_policy_bound.load() == 1);
  CHECK(aggregate.takeDelta().empty());
  // The stored policy itself still counts.
  std::vector<SessionOutcome> sessions(1);
  sessions[0].policy = stored.counts.policy;
  aggregate.addSessions(SessionSource::Maillog, "good.test", stored.tlsrpt_record, sessions);
  DayDelta delta = aggregate.takeDelta();
  REQUIRE(delta.entries.size() == 1);
  CHECK(delta.entries[0].sources[static_cast<std::size_t>(SessionSource::Maillog)] == 1);
}

TEST_CASE("failure rows past max_detail_rows go to an overflow row, logged once per domain and day") {
  testing::LogCapture log("tlsrpt");
  Fixture f;
  f.limits.max_detail_rows = 1;
  DayAggregate aggregate(f.clock, f.limits, f.stats);
  for (const char* reason : {"a", "b", "c"}) CHECK(aggregate.addOwnFailure("fail.example", TlsRptResultType::StsPolicyFetchError, reason));
  // A commit in between does not reset the once-per-day log.
  DayDelta first = aggregate.takeDelta();
  CHECK(aggregate.addOwnFailure("fail.example", TlsRptResultType::StsPolicyFetchError, "d"));
  DayDelta second = aggregate.takeDelta();
  CHECK(f.stats.overflow_rows.load() == 2);  // b and c; d had room in its own delta
  CHECK(log.warnings({"overflow rows", "fail.example"}) == 1);
  REQUIRE(first.entries.size() == 1);
  REQUIRE(first.entries[0].counts.failures.size() == 2);
  CHECK(first.entries[0].counts.failures[0].detail.failure_reason_code == "a");
  CHECK(isOverflowRow(first.entries[0].counts.failures[1].detail));
  CHECK(first.entries[0].counts.failures[1].sessions == 2);
  CHECK(first.entries[0].counts.failed_sessions == 3);
  // The next delta starts with room for one row again; the store merge applies the bound
  // to the stored rows plus these (mergeDayEntry).
  REQUIRE(second.entries.size() == 1);
  CHECK(second.entries[0].counts.failures[0].detail.failure_reason_code == "d");
}

TEST_CASE("an own fetch failure is one sts failure session with the reason as failure-reason-code") {
  Fixture f;
  CHECK(f.aggregate.addOwnFailure("Fail.Example.", TlsRptResultType::StsWebpkiInvalid,
                                  std::string("certificate\nexpired \x01\xff", 22) + std::string(400, 'x')));
  DayDelta delta = f.aggregate.takeDelta();
  REQUIRE(delta.entries.size() == 1);
  const DayEntry& e = delta.entries[0];
  CHECK(e.domain == "fail.example");
  CHECK(e.tlsrpt_record.empty());
  CHECK(e.counts.policy.type == PolicyType::Sts);
  CHECK(e.counts.policy.domain == "fail.example");
  CHECK(e.counts.policy.strings.empty());
  CHECK(e.counts.policy.mx_hosts.empty());
  CHECK(e.counts.failed_sessions == 1);
  CHECK(e.sources[static_cast<std::size_t>(SessionSource::OwnFailure)] == 1);
  REQUIRE(e.counts.failures.size() == 1);
  const FailureDetail& d = e.counts.failures[0].detail;
  CHECK(d.result == TlsRptResultType::StsWebpkiInvalid);
  CHECK(d.failure_reason_code.starts_with("certificate expired  \xef\xbf\xbd"));
  CHECK(d.failure_reason_code.size() <= MaxOwnFailureReasonBytes + 2);
  CHECK(d.receiving_mx_hostname.empty());

  SUBCASE("an invalid domain or a result type that is not the daemon's own is refused and counted") {
    CHECK_FALSE(f.aggregate.addOwnFailure("not a domain", TlsRptResultType::StsPolicyFetchError, "x"));
    CHECK_FALSE(f.aggregate.addOwnFailure("192.0.2.1", TlsRptResultType::StsPolicyFetchError, "x"));
    CHECK_FALSE(f.aggregate.addOwnFailure("ok.example", TlsRptResultType::CertificateExpired, "x"));
    CHECK(f.stats.rejected_own_failures.load() == 3);
    CHECK(f.aggregate.takeDelta().empty());
  }
}

TEST_CASE("source positions travel with the delta, the latest per name") {
  Fixture f;
  CHECK(f.aggregate.setPosition("maillog", "100"));
  CHECK_FALSE(f.aggregate.setPosition("", "1"));
  CHECK_FALSE(f.aggregate.setPosition(std::string(MaxPositionNameBytes + 1, 'x'), "1"));
  CHECK_FALSE(f.aggregate.setPosition(std::string("a\0b", 3), "1"));
  CHECK_FALSE(f.aggregate.setPosition("big", std::string(MaxPositionBytes + 1, 0)));
  CHECK(f.aggregate.setPosition("journal", "c1"));
  CHECK(f.aggregate.setPosition("maillog", "200"));
  DayDelta delta = f.aggregate.takeDelta();
  REQUIRE(delta.positions.size() == 2);
  CHECK(delta.positions[0] == std::pair<std::string, std::string>{"maillog", "200"});
  CHECK(f.aggregate.takeDelta().positions.empty());
}

TEST_CASE("a kept delta merges with the next one: sessions added, positions of the newer one") {
  DayDelta kept;
  kept.entries.push_back(sampleEntry());
  kept.positions = {{"maillog", "1"}};
  DayDelta next;
  next.entries.push_back(sampleEntry());
  next.entries.push_back(sampleEntry(UtcDay{20'001}));
  next.positions = {{"maillog", "2"}, {"journal", "x"}};
  DayLimits limits;
  CHECK(mergeDelta(kept, std::move(next), limits) == 0);
  REQUIRE(kept.entries.size() == 2);
  CHECK(kept.entries[0].counts.successful_sessions == 80);
  CHECK(kept.positions.size() == 2);
  CHECK(kept.positions[0].second == "2");
}

TEST_CASE("a kept delta of thousands of entries merges entry by entry with the next one") {
  // Domains 0-2999 kept, 2000-4999 next: 1000 shared, merged; 4000 others appended.
  const auto entryFor = [](int i) {
    DayEntry e = sampleEntry(UtcDay{20'000}, "d" + std::to_string(i) + ".example");
    if (i % 3 == 0) e.counts.policy.mx_hosts.push_back("mx" + std::to_string(i) + ".example");
    return e;
  };
  DayDelta kept;
  for (int i = 0; i < 3000; ++i) kept.entries.push_back(entryFor(i));
  DayDelta next;
  for (int i = 2000; i < 5000; ++i) next.entries.push_back(entryFor(i));
  const std::uint64_t per_entry = sampleEntry().counts.successful_sessions;
  CHECK(mergeDelta(kept, std::move(next), DayLimits{}) == 0);
  REQUIRE(kept.entries.size() == 5000);
  CHECK(kept.sessions() == 6000 * (per_entry + sampleEntry().counts.failed_sessions));
  for (const auto& e : kept.entries) {
    const int i = std::stoi(e.domain.substr(1));
    CAPTURE(e.domain);
    CHECK(e.counts.successful_sessions == (i >= 2000 && i < 3000 ? 2 : 1) * per_entry);
  }
  // Into an empty delta: taken as it is.
  DayDelta empty;
  DayDelta one;
  one.entries.push_back(entryFor(7));
  CHECK(mergeDelta(empty, std::move(one), DayLimits{}) == 0);
  REQUIRE(empty.entries.size() == 1);
  CHECK(empty.entries[0].domain == "d7.example");
}

TEST_CASE("producers on several threads and a taker lose and double nothing") {
  ManualClock clock(Noon);
  CollectorStats stats;
  DayAggregate aggregate(clock, DayLimits{}, stats);
  const DatagramSessions proto = sessionsFromFixture("pf311-good-success.dgram");
  constexpr int PerThread = 2000;
  std::uint64_t taken = 0;
  std::thread datagrams([&] {
    for (int i = 0; i < PerThread; ++i) {
      std::vector<DatagramSessions> batch{proto};
      aggregate.addDatagrams(batch);
    }
  });
  std::thread own([&] {
    for (int i = 0; i < PerThread; ++i) {
      (void)aggregate.addOwnFailure("fail.example", TlsRptResultType::StsPolicyFetchError, "x");
    }
  });
  for (int i = 0; i < 200; ++i) taken += aggregate.takeDelta().sessions();
  datagrams.join();
  own.join();
  taken += aggregate.takeDelta().sessions();
  CHECK(taken == 2 * PerThread);
}

TEST_CASE("a mail-log batch counts each session under its own day and sets its position in the same take") {
  Fixture f;
  std::vector<DayAggregate::SourcedSession> batch(3);
  for (auto& s : batch) {
    s.report_domain = "good.test";
    s.outcome.policy = stsPolicy("good.test");
  }
  batch[0].at = Noon - 86'400;  // caught up from yesterday's log
  batch[1].at = Noon;
  batch[2].at = 0;  // no time: now
  batch[2].outcome.failed = true;
  batch[2].outcome.failure_details = {failureRow()};
  REQUIRE(f.aggregate.addBatch(SessionSource::Maillog, batch, "file:/var/log/mail.log", "pos-1"));
  DayDelta delta = f.aggregate.takeDelta();
  REQUIRE(delta.positions.size() == 1);
  CHECK(delta.positions[0].second == "pos-1");
  REQUIRE(delta.entries.size() == 2);
  CHECK(delta.entries[0].day == utcDayOf(Noon - 86'400));
  CHECK(delta.entries[0].counts.successful_sessions == 1);
  CHECK(delta.entries[1].day == utcDayOf(Noon));
  CHECK(delta.entries[1].counts.successful_sessions == 1);
  CHECK(delta.entries[1].counts.failed_sessions == 1);
  CHECK(delta.entries[1].sources[static_cast<std::size_t>(SessionSource::Maillog)] == 2);
  CHECK(f.stats.sessions[static_cast<std::size_t>(SessionSource::Maillog)].load() == 3);
  // A refused position counts nothing.
  CHECK_FALSE(f.aggregate.addBatch(SessionSource::Maillog, batch, "", "pos-2"));
  CHECK(f.aggregate.takeDelta().empty());
}

TEST_CASE("a day older than yesterday, added to by two batches of one delta, has one entry in it") {
  // Catch-up from an old log: each batch prunes the bounds of past days first, and must not
  // forget the entry the previous batch made for the same key in the same delta.
  Fixture f;
  std::vector<DayAggregate::SourcedSession> batch(1);
  batch[0].at = Noon - 3 * 86'400;
  batch[0].report_domain = "good.test";
  batch[0].outcome.policy = stsPolicy("good.test");
  REQUIRE(f.aggregate.addBatch(SessionSource::Maillog, batch, "file:/var/log/mail.log", "pos-1"));
  REQUIRE(f.aggregate.addBatch(SessionSource::Maillog, batch, "file:/var/log/mail.log", "pos-2"));
  DayDelta delta = f.aggregate.takeDelta();
  REQUIRE(delta.entries.size() == 1);
  CHECK(delta.entries[0].day == utcDayOf(Noon - 3 * 86'400));
  CHECK(delta.entries[0].counts.successful_sessions == 2);
  // The next delta starts afresh for that day too.
  REQUIRE(f.aggregate.addBatch(SessionSource::Maillog, batch, "file:/var/log/mail.log", "pos-3"));
  delta = f.aggregate.takeDelta();
  REQUIRE(delta.entries.size() == 1);
  CHECK(delta.entries[0].counts.successful_sessions == 1);
}

TEST_CASE("a recycled delta's storage holds only the sessions added after the take") {
  Fixture f;
  addFixture(f.aggregate, "pf311-good-success.dgram", 2);
  addFixture(f.aggregate, "pf311-unknownca-205-validation-failure.dgram");
  DayDelta first = f.aggregate.takeDelta();
  REQUIRE(first.entries.size() == 2);
  f.aggregate.recycle(std::move(first.entries));
  for (int round = 0; round < 3; ++round) {
    // Slots of the earlier delta point past the (now empty) entries: they must not be used.
    addFixture(f.aggregate, "pf311-unknownca-205-validation-failure.dgram");
    addFixture(f.aggregate, "pf311-good-success.dgram");
    DayDelta next = f.aggregate.takeDelta();
    REQUIRE(next.entries.size() == 2);
    CHECK(next.sessions() == 2);
    const DayEntry* good = find(next, "good.test", PolicyType::Sts);
    REQUIRE(good != nullptr);
    CHECK(good->counts.successful_sessions == 1);
    CHECK(good->sources[0] == 1);
    f.aggregate.recycle(std::move(next.entries));
  }
  CHECK(f.aggregate.pendingEntries() == 0);
}
