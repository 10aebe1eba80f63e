// The report builder from stored day entries: golden JSON files, one "policies" entry per
// distinct policy, the record that decides the destinations, strict record parsing of DNS
// answers; and the whole pipeline against sys4: every fixture datagram through parseDatagram,
// sessionsOf and the DayAggregate into a DayStore, each domain's report built from the store
// and compared, per policy and failure row, with the report sys4's tlsrpt-reportd made from
// the same datagrams (tests/fixtures/tlsrpt/README.md says which went into which).
//
// Differences from sys4 on purpose (see README "TLS reports"): receiving-mx-helo is the name
// of the EHLO reply (heloNameFromEhlo), not the whole multi-line reply; failure-details is
// left out when there are no rows instead of written as []; policy-domain is always written
// (the report domain for no-policy-found); report-id is "<day>.<random token>.<domain>@<submitter>",
// not sys4's per-day counter. Every built report also passes validateReportJson(strict).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/collector_stats.hpp"
#include "tlsrpt/day_aggregate.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/ehlo_name.hpp"
#include "tlsrpt/gzip.hpp"
#include "tlsrpt/report_builder.hpp"
#include "tlsrpt/report_validator.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;

namespace {

const UtcDay FixtureDay{20'786};  // 2026-11-29, the day of sys4's reports
const ReporterIdentity Who{"mtastsd reference run", "tlsrpt-noreply@sender.e2e.test", "sender.e2e.test"};

struct Store {
  test::TempDir dir;
  std::shared_ptr<cache::LmdbEnv> env;
  std::unique_ptr<DayStore> days;
  Store() {
    auto e = cache::LmdbEnv::open(cache::LmdbOptions{dir.path()});
    REQUIRE(e);
    env = *e;
    auto d = DayStore::attach(env);
    REQUIRE(d);
    days = std::move(*d);
  }
  void commit(std::vector<DayEntry> entries) {
    DayDelta delta;
    delta.entries = std::move(entries);
    REQUIRE(days->commit(delta, nullptr, DayLimits{}));
  }
  std::vector<DayEntry> entries(UtcDay day, const std::string& domain) {
    auto got = days->entries(day, domain);
    REQUIRE(got);
    return *got;
  }
};

BuiltReport build(Store& store, UtcDay day, const std::string& domain, const std::string& token = "0123456789abcdef") {
  auto built = buildReport(day, domain, store.entries(day, domain), Who, token, dayStart(day) + 86400 + 3600);
  REQUIRE_MESSAGE(built, (built ? "" : built.error().detail));
  CHECK(validateReportJson(built->json, ValidationOptions{true}).empty());
  auto gunzipped = gzipDecompress(built->stored.gzip, 1 << 20);
  REQUIRE(gunzipped);
  CHECK(*gunzipped == built->json);
  return std::move(*built);
}

// ---- comparison per policy and failure row (our report against sys4's) ----
struct Counts {
  long successful = 0;
  long failed = 0;
  std::map<FailureDetail, long> rows;
  bool operator==(const Counts&) const = default;
};
using Aggregate = std::map<PolicyDescriptor, Counts>;

std::string str(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? j.at(key).get<std::string>() : std::string();
}

Aggregate aggregateOf(const nlohmann::json& report, const std::string& domain) {
  Aggregate agg;
  for (const auto& entry : report.at("policies")) {
    const auto& p = entry.at("policy");
    PolicyDescriptor policy;
    const std::string type = p.at("policy-type").get<std::string>();
    policy.type = type == "sts" ? PolicyType::Sts : type == "tlsa" ? PolicyType::Tlsa : PolicyType::NoPolicyFound;
    policy.domain = p.contains("policy-domain") ? str(p, "policy-domain") : domain;
    if (p.contains("policy-string")) policy.strings = p.at("policy-string").get<std::vector<std::string>>();
    if (p.contains("mx-host")) policy.mx_hosts = p.at("mx-host").get<std::vector<std::string>>();
    Counts& c = agg[policy];
    c.successful += entry.at("summary").at("total-successful-session-count").get<long>();
    c.failed += entry.at("summary").at("total-failure-session-count").get<long>();
    if (!entry.contains("failure-details")) continue;
    for (const auto& d : entry.at("failure-details")) {
      const auto result = parseTlsRptResultType(str(d, "result-type"));
      REQUIRE(result.has_value());
      const FailureDetail row{*result,
                              str(d, "sending-mta-ip"),
                              str(d, "receiving-mx-hostname"),
                              heloNameFromEhlo(str(d, "receiving-mx-helo")),
                              str(d, "receiving-ip"),
                              str(d, "additional-information"),
                              str(d, "failure-reason-code")};
      c.rows[row] += d.at("failed-session-count").get<long>();
    }
  }
  return agg;
}

void addFixtures(Store& store, const std::vector<std::string>& names) {
  ManualClock clock(dayStart(FixtureDay) + 12 * 3600);
  CollectorStats stats;
  DayAggregate aggregate(clock, DayLimits{}, stats);
  std::vector<DatagramSessions> batch;
  for (const auto& name : names) {
    auto parsed = parseDatagram(test::fixtureBytes(name));
    REQUIRE_MESSAGE(parsed, name);
    batch.push_back(sessionsOf(std::move(*parsed)));
  }
  aggregate.addDatagrams(batch);
  DayDelta delta = aggregate.takeDelta();
  REQUIRE(store.days->commit(delta, nullptr, DayLimits{}));
}

}  // namespace

TEST_CASE("a report built from stored entries matches its golden file") {
  Store store;
  const UtcDay day{20'421};
  DayEntry sts = test::sampleEntry(day, "example.com");
  DayEntry same_policy_other_record = sts;  // same descriptor, another "pr": one policies entry
  same_policy_other_record.tlsrpt_record = "v=TLSRPTv1; rua=mailto:other@example.com";
  same_policy_other_record.counts.successful_sessions = 2;
  same_policy_other_record.counts.failed_sessions = 1;
  same_policy_other_record.counts.failures = {FailureCount{test::failureRow(), 1}};
  DayEntry none;
  none.day = day;
  none.domain = "example.com";
  none.counts.policy.type = PolicyType::NoPolicyFound;  // policy-domain: the report domain
  none.counts.successful_sessions = 5;
  DayEntry own;  // an own fetch failure: sts without strings or mx hosts, unknown record
  own.day = day;
  own.domain = "example.com";
  own.counts.policy.type = PolicyType::Sts;
  own.counts.policy.domain = "example.com";
  own.counts.failed_sessions = 1;
  FailureDetail fetch;
  fetch.result = TlsRptResultType::StsPolicyFetchError;
  fetch.failure_reason_code = "HTTP status 404";
  own.counts.failures = {FailureCount{fetch, 1}};
  store.commit({sts, same_policy_other_record, none, own, test::sampleEntry(day, "other.example")});

  const BuiltReport built = build(store, day, "example.com");
  test::checkGolden("report-built-example.com.json", built.json);
  CHECK(built.stored.report_id == "2025-11-29.0123456789abcdef.example.com@sender.e2e.test");
  // The unique-id: the first 32 letters and digits of the report-id's left part.
  CHECK(built.stored.file_name ==
        "sender.e2e.test!example.com!1764374400!1764460799!202511290123456789abcdefexamplec.json.gz");
  CHECK(built.stored.submitter == "sender.e2e.test");
  const auto json = nlohmann::json::parse(built.json);
  CHECK(json.at("policies").size() == 3);
  CHECK(json.dump().find("other.example") == std::string::npos);
}

TEST_CASE("the same entries with another token give another report-id and nothing else different") {
  Store store;
  const UtcDay day{20'421};
  store.commit({test::sampleEntry(day)});
  const auto a = build(store, day, "example.com", "aaaa");
  const auto b = build(store, day, "example.com", "bbbb");
  CHECK(a.stored.report_id != b.stored.report_id);
  auto ja = nlohmann::json::parse(a.json);
  auto jb = nlohmann::json::parse(b.json);
  ja.erase("report-id");
  jb.erase("report-id");
  CHECK(ja == jb);
}

TEST_CASE("the record carried by the most sessions decides, ties to the smallest text") {
  DayEntry a = test::sampleEntry();
  a.tlsrpt_record = "v=TLSRPTv1; rua=mailto:b@example.com";
  DayEntry b = a;
  b.tlsrpt_record = "v=TLSRPTv1; rua=mailto:a@example.com";
  DayEntry unknown = a;
  unknown.tlsrpt_record.clear();
  unknown.counts.successful_sessions = 1000;
  CHECK(carriedRecord({a, b, unknown}) == std::optional<std::string>("v=TLSRPTv1; rua=mailto:a@example.com"));
  b.counts.successful_sessions = 1;
  CHECK(carriedRecord({a, b}) == std::optional<std::string>("v=TLSRPTv1; rua=mailto:b@example.com"));
  CHECK_FALSE(carriedRecord({unknown}).has_value());
}

TEST_CASE("the _smtp._tls answer is parsed strictly") {
  net::TxtAnswer answer;
  answer.status = net::DnsStatus::Ok;
  SUBCASE("one record, strings joined") {
    answer.records = {{"v=TLSRPTv1; rua=mailto:tls", "rpt@example.com,https://r.example.com/x"}, {"v=spf1 -all"}};
    auto r = recordFromTxt(answer);
    REQUIRE(r);
    REQUIRE(r->rua.size() == 2);
    CHECK(r->rua[0].address == "tlsrpt@example.com");
    CHECK(r->rua[1].host == "r.example.com");
    const auto dests = destinationsOf(*r, 77);
    REQUIRE(dests.size() == 2);
    CHECK(dests[0].first == 1);
    CHECK(dests[1].second.kind == DeliveryKind::Https);
    CHECK(dests[1].second.next_attempt == 77);
  }
  SUBCASE("two records: no report") {
    answer.records = {{"v=TLSRPTv1; rua=mailto:a@example.com"}, {"v=TLSRPTv1; rua=mailto:b@example.com"}};
    auto r = recordFromTxt(answer);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::NotFound);
  }
  SUBCASE("no record and a failed lookup differ") {
    answer.status = net::DnsStatus::NoRecord;
    CHECK(recordFromTxt(answer).error().code == ErrorCode::NotFound);
    answer.status = net::DnsStatus::Failed;
    CHECK(recordFromTxt(answer).error().code == ErrorCode::Temporary);
  }
  CHECK(tlsRptRecordName("example.com") == "_smtp._tls.example.com");
}

TEST_CASE("the fixture datagrams give sys4's counts per policy and failure row, through the day store") {
  Store libtlsrpt;
  Store pf311;
  std::vector<std::string> lib_names;
  for (const auto& e : std::filesystem::directory_iterator(MTASTS_TLSRPT_FIXTURES)) {
    const std::string name = e.path().filename().string();
    // reportd dropped the invalid-UTF-8 one (we count it, with U+FFFD): leave it out here.
    if (name.starts_with("libtlsrpt-") && name.ends_with(".dgram") && name != "libtlsrpt-invalid-utf8.dgram") {
      lib_names.push_back(name);
    }
  }
  addFixtures(libtlsrpt, lib_names);
  addFixtures(pf311, {"pf311-good-success.dgram", "pf311-good-success.dgram",
                      "pf311-bad-202-certificate-host-mismatch.dgram", "pf311-untrusted-205-validation-failure.dgram",
                      "pf311-unknownca-205-validation-failure.dgram", "pf311-expired-204-certificate-expired.dgram",
                      "pf311-nostarttls-201-starttls-not-supported.dgram", "pf311-nosts-success-no-policy-found.dgram",
                      "pf311-tempfail-success-no-policy-found.dgram", "pf311-wildok-success.dgram",
                      "pf311-twomx-success.dgram", "pf311-noenforce-wild-success.dgram",
                      "pf311-stub-pfail-303-sts-webpki-invalid.dgram"});
  std::size_t compared = 0;
  for (const auto& e : std::filesystem::directory_iterator(MTASTS_TLSRPT_FIXTURES)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("reportd-") || e.path().extension() != ".json") continue;
    CAPTURE(name);
    const std::string key = name.substr(8, name.size() - 8 - 5);  // libtlsrpt-<d> / pf311-<d>
    const std::string domain = key.substr(key.find('-') + 1);
    Store& store = key.starts_with("pf311-") ? pf311 : libtlsrpt;
    const BuiltReport ours = build(store, FixtureDay, domain);
    const auto theirs = nlohmann::json::parse(test::readFile(e.path().string()));
    const auto mine = nlohmann::json::parse(ours.json);
    CHECK(aggregateOf(mine, domain) == aggregateOf(theirs, domain));
    CHECK(mine.at("date-range") == theirs.at("date-range"));
    CHECK(mine.at("organization-name") == theirs.at("organization-name"));
    CHECK(mine.at("contact-info") == theirs.at("contact-info"));
    ++compared;
  }
  CHECK(compared == 31);
  // Every domain the store holds has a sys4 report: nothing counted that sys4 did not report.
  std::size_t domains = 0;
  for (Store* store : {&libtlsrpt, &pf311}) {
    std::string cursor;
    for (;;) {
      auto next = store->days->nextDomain(FixtureDay, cursor);
      REQUIRE(next);
      if (!*next) break;
      cursor = **next;
      ++domains;
    }
  }
  CHECK(domains == 31);
}

TEST_CASE("the report of Postfix 3.11's bad.test datagram matches its golden file") {
  Store store;
  addFixtures(store, {"pf311-bad-202-certificate-host-mismatch.dgram"});
  const BuiltReport built = build(store, FixtureDay, "bad.test");
  test::checkGolden("report-built-pf311-bad.test.json", built.json);
}

TEST_CASE("a domain's entries that cannot make a valid report are refused, not sent broken") {
  Store store;
  const UtcDay day{20'421};
  DayEntry e = test::sampleEntry(day);
  e.counts.failures[0].detail.receiving_ip = "not-an-ip";
  store.commit({e});
  auto built = buildReport(day, "example.com", store.entries(day, "example.com"), Who, "0123", 1);
  REQUIRE_FALSE(built);
  CHECK(built.error().code == ErrorCode::InvalidInput);
  CHECK(built.error().detail.find("receiving-ip") != std::string::npos);
}

TEST_CASE("nextDomain walks a day's report domains once each, in key order") {
  Store store;
  const UtcDay day{20'421};
  store.commit({test::sampleEntry(day, "b.example"), test::sampleEntry(day, "a.example"),
                test::sampleEntry(day, "a.example-x"), test::sampleEntry(UtcDay{day.days + 1}, "c.example")});
  DayEntry second_policy = test::sampleEntry(day, "a.example");
  second_policy.counts.policy.strings.push_back("extra: x");
  store.commit({second_policy});
  std::vector<std::string> seen;
  std::string cursor;
  for (;;) {
    auto next = store.days->nextDomain(day, cursor);
    REQUIRE(next);
    if (!*next) break;
    cursor = **next;
    seen.push_back(cursor);
  }
  CHECK(seen == std::vector<std::string>{"a.example", "a.example-x", "b.example"});
}
