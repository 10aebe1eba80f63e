// The report-state records, the retry rules and the report-state store on a real LMDB env in
// a temp dir: keys and values round-trip canonically and refuse damage; the backoff doubles,
// stops at its cap and never passes the 24 h window; claims are taken once, by one process
// run, and stale claims of a gone process are taken over; a report is stored only once; the
// store keeps its own version beside the day store.
#include <doctest/doctest.h>

#include <filesystem>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/tlsrpt/day_test_support.hpp"
#include "tlsrpt/day_store.hpp"
#include "tlsrpt/report_retry.hpp"
#include "tlsrpt/report_state_codec.hpp"
#include "tlsrpt/report_state_store.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using namespace mtasts::tlsrpt::test;

namespace {

const UtcDay Day{20'421};  // 2025-11-29

ReportUri mailto(const std::string& address) {
  ReportUri u;
  u.kind = RuaKind::Mailto;
  u.uri = "mailto:" + address;
  u.address = address;
  u.host = address.substr(address.find('@') + 1);
  return u;
}

ReportUri https(const std::string& host, const std::string& target = "/v1") {
  ReportUri u;
  u.kind = RuaKind::Https;
  u.uri = "https://" + host + target;
  u.host = host;
  u.target = target;
  return u;
}

Delivery pendingTo(const ReportUri& rua, UnixSeconds next = 1000) {
  Delivery d;
  d.kind = rua.kind == RuaKind::Mailto ? DeliveryKind::Mailto : DeliveryKind::Https;
  d.rua = rua;
  d.next_attempt = next;
  return d;
}

StoredReport sampleStored(const std::string& id = "2025-11-29.0123456789abcdef.example.com@sender.test") {
  StoredReport r;
  r.report_id = id;
  r.file_name = "sender.test!example.com!1764374400!1764460799!2025112901234567.json.gz";
  r.submitter = "sender.test";
  r.created_at = 1764464400;
  r.gzip = std::string("\x1f\x8b\x08\x00gzip bytes\x00\xff", 16);
  return r;
}

struct Opened {
  std::shared_ptr<cache::LmdbEnv> env;
  std::unique_ptr<ReportStateStore> store;
};

Opened open(const std::string& dir, bool read_only = false) {
  cache::LmdbOptions options{dir};
  options.map_size = 1 << 20;
  options.read_only = read_only;
  auto env = cache::LmdbEnv::open(options);
  REQUIRE_MESSAGE(env, (env ? "" : env.error().detail));
  auto store = ReportStateStore::attach(*env);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().detail));
  return {*env, std::move(*store)};
}

std::string fixtureBytesAt(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

ClaimRules rulesAt(UnixSeconds now, std::uint64_t owner, std::int64_t pid = 100) {
  ClaimRules r;
  r.now = now;
  r.owner = owner;
  r.pid = pid;
  r.process_alive = [](std::int64_t) { return true; };
  return r;
}

}  // namespace

TEST_CASE("state keys are written and parsed back byte for byte") {
  CHECK(dayPlanKey(Day) == "day 2025-11-29");
  CHECK(reportKey(Day, "example.com") == "rep 2025-11-29 example.com");
  CHECK(deliveryKey(Day, "example.com", 3) == "dst 2025-11-29 example.com 03");
  for (const std::string& key : {dayPlanKey(Day), reportKey(Day, "a.example"), deliveryKey(Day, "x-y.example", 0),
                                 deliveryKey(Day, "example.com", 8)}) {
    CAPTURE(key);
    auto parsed = parseStateKey(key);
    REQUIRE(parsed);
    CHECK(parsed->day == Day);
    if (parsed->kind == StateKey::Kind::DayPlan) CHECK(dayPlanKey(parsed->day) == key);
    if (parsed->kind == StateKey::Kind::Report) CHECK(reportKey(parsed->day, parsed->domain) == key);
    if (parsed->kind == StateKey::Kind::Delivery) CHECK(deliveryKey(parsed->day, parsed->domain, parsed->index) == key);
  }
}

TEST_CASE("state keys that are not exactly ours are refused") {
  for (const char* key : {"", "day ", "day 2025-11-29 ", "day 2025-13-01", "rep 2025-11-29", "rep 2025-11-29 ",
                          "rep 2025-11-29 Example.com", "rep 2025-11-29 exa mple.com", "dst 2025-11-29 example.com",
                          "dst 2025-11-29 example.com 9", "dst 2025-11-29 example.com 09",
                          "dst 2025-11-29 example.com 0a", "xyz 2025-11-29", "dst 2025-11-29  01"}) {
    CAPTURE(key);
    CHECK_FALSE(parseStateKey(key));
  }
}

TEST_CASE("state records round-trip and re-encode to the same bytes") {
  DayPlan plan{1764464400 + 1234, true, "example.com", 3, 7};
  auto p = decodeDayPlan(encodeDayPlan(plan));
  REQUIRE(p);
  CHECK(*p == plan);

  auto encoded = encodeStoredReport(sampleStored());
  REQUIRE(encoded);
  auto r = decodeStoredReport(*encoded);
  REQUIRE(r);
  CHECK(*r == sampleStored());

  for (Delivery d : {pendingTo(mailto("tlsrpt@example.com")), pendingTo(https("rua.example.net", "/a?b=c"))}) {
    d.state = DeliveryState::Claimed;
    d.first_attempt = 1000;
    d.last_attempt = 2000;
    d.attempts = 4;
    d.claim_owner = 0xfeedface12345678ULL;
    d.claim_pid = 4242;
    d.claimed_at = 2000;
    d.last_error = "sendmail exit 75: temporary failure";
    auto bytes = encodeDelivery(d);
    REQUIRE(bytes);
    auto back = decodeDelivery(*bytes);
    REQUIRE(back);
    CHECK(*back == d);
    CHECK(*encodeDelivery(*back) == *bytes);
  }
  Delivery lookup;
  lookup.next_attempt = -5;  // signed times survive
  auto back = decodeDelivery(*encodeDelivery(lookup));
  REQUIRE(back);
  CHECK(*back == lookup);
}

TEST_CASE("damaged state records are refused with a reason") {
  const std::string plan = encodeDayPlan(DayPlan{1, false, "", 0, 0});
  const std::string report = *encodeStoredReport(sampleStored());
  const std::string delivery = *encodeDelivery(pendingTo(mailto("a@b.example")));
  SUBCASE("every truncation") {
    for (std::size_t n = 0; n < plan.size(); ++n) CHECK_FALSE(decodeDayPlan(plan.substr(0, n)));
    for (std::size_t n = 0; n < report.size(); ++n) CHECK_FALSE(decodeStoredReport(report.substr(0, n)));
    for (std::size_t n = 0; n < delivery.size(); ++n) CHECK_FALSE(decodeDelivery(delivery.substr(0, n)));
  }
  SUBCASE("trailing bytes, another version, out-of-range codes") {
    CHECK_FALSE(decodeDayPlan(plan + "x"));
    CHECK_FALSE(decodeDelivery(delivery + "x"));
    std::string v2 = delivery;
    v2[0] = 2;
    auto e = decodeDelivery(v2);
    REQUIRE_FALSE(e);
    CHECK(e.error().detail.find("version 2") != std::string::npos);
    std::string bad_kind = delivery;
    bad_kind[1] = 3;
    CHECK_FALSE(decodeDelivery(bad_kind));
    std::string bad_state = delivery;
    bad_state[2] = 4;
    CHECK_FALSE(decodeDelivery(bad_state));
  }
}

TEST_CASE("a report over the record bound is refused instead of stored") {
  StoredReport big = sampleStored();
  big.gzip.assign(MaxReportGzipBytes + 1, 'x');
  CHECK_FALSE(encodeStoredReport(big));
  Delivery d = pendingTo(mailto("a@b.example"));
  d.rua.uri.assign(MaxStateStringBytes + 1, 'u');
  CHECK_FALSE(encodeDelivery(d));
  d = pendingTo(mailto("a@b.example"));
  d.last_error.assign(MaxDeliveryErrorBytes * 2, 'e');  // cut, not refused
  auto back = decodeDelivery(*encodeDelivery(d));
  REQUIRE(back);
  CHECK(back->last_error.size() == MaxDeliveryErrorBytes);
}

TEST_CASE("a day's reports are due at the next midnight plus the delay") {
  CHECK(reportDueAt(Day, 0) == dayStart(UtcDay{Day.days + 1}));
  CHECK(reportDueAt(Day, 4 * 3600) == dayStart(UtcDay{Day.days + 1}) + 4 * 3600);
}

TEST_CASE("the retry interval doubles up to its cap and the last attempt is at the end of the window") {
  RetryPolicy p;  // 300 s, 4 h cap, 24 h window
  const UnixSeconds first = 1'000'000;
  std::vector<UnixSeconds> attempts{first};
  for (std::uint32_t n = 1;; ++n) {
    auto next = nextAttemptAfterFailure(p, first, n, attempts.back());
    if (!next) break;
    attempts.push_back(*next);
    REQUIRE(attempts.size() < 100);
  }
  std::vector<UnixSeconds> offsets;
  for (auto t : attempts) offsets.push_back(t - first);
  const std::vector<UnixSeconds> want{0,     300,   900,   2100,  4500,  9300,
                                      18900, 33300, 47700, 62100, 76500, 86400};
  CHECK(offsets == want);
  CHECK_FALSE(nextAttemptAfterFailure(p, first, 12, first + 86400));
  CHECK_FALSE(nextAttemptAfterFailure(p, first, 1, first + 90000));
}

TEST_CASE("claims: pending and due, once per run; stale claims of gone processes are taken over") {
  Delivery d = pendingTo(mailto("a@b.example"), 1000);
  CHECK_FALSE(claimable(d, rulesAt(999, 1)));
  CHECK(claimable(d, rulesAt(1000, 1)));
  ClaimRules manual = rulesAt(999, 1);
  manual.manual_since = 900;
  CHECK(claimable(d, manual));  // a manual run does not wait for the schedule
  applyClaim(d, rulesAt(1000, 1));
  CHECK(d.state == DeliveryState::Claimed);
  CHECK(d.attempts == 1);
  CHECK(d.first_attempt == 1000);
  CHECK_FALSE(claimable(d, rulesAt(1000, 1)));  // ours, in flight
  CHECK_FALSE(claimable(d, rulesAt(1001, 2, 200)));  // another run's, alive
  ClaimRules dead = rulesAt(1001, 2, 200);
  dead.process_alive = [](std::int64_t) { return false; };
  CHECK(claimable(d, dead));                           // its process is gone
  CHECK(claimable(d, rulesAt(1001, 2, 100)));          // a run before us with our pid
  CHECK(claimable(d, rulesAt(1000 + 3600, 2, 200)));   // too old
  d.state = DeliveryState::Pending;
  d.last_attempt = 1000;
  d.next_attempt = 1300;
  manual.manual_since = 1000;
  manual.now = 1100;
  CHECK_FALSE(claimable(d, manual));  // tried in this run already
  d.state = DeliveryState::Done;
  CHECK_FALSE(claimable(d, rulesAt(5000, 2)));
  d.state = DeliveryState::GivenUp;
  CHECK_FALSE(claimable(d, rulesAt(5000, 2)));
}

TEST_CASE("the store keeps the first report of a day and domain and claims each delivery once") {
  TempDir dir;
  Opened o = open(dir.path());
  auto& s = *o.store;
  std::vector<std::pair<int, Delivery>> dests{{1, pendingTo(mailto("a@example.com"))},
                                              {2, pendingTo(https("rua.example.com"))}};
  DayPlan plan{5, false, "example.com", 1, 0};
  auto first = s.storeReport(Day, "example.com", sampleStored(), dests, &plan);
  REQUIRE(first);
  CHECK(*first);
  auto second = s.storeReport(Day, "example.com", sampleStored("other-id@sender.test"), dests, nullptr);
  REQUIRE(second);
  CHECK_FALSE(*second);
  auto stored = s.report(Day, "example.com");
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  CHECK((*stored)->report_id == sampleStored().report_id);
  CHECK(*s.dayPlan(Day) == std::optional<DayPlan>(plan));

  auto records = s.deliveries(deliveryDayPrefix(Day));
  REQUIRE(records);
  REQUIRE(records->size() == 2);
  std::vector<std::string> keys{(*records)[0].key, (*records)[1].key};
  auto a = s.claim(keys, rulesAt(1000, 11));
  REQUIRE(a);
  CHECK(a->size() == 2);
  auto b = s.claim(keys, rulesAt(1000, 22, 200));
  REQUIRE(b);
  CHECK(b->empty());  // already claimed by a live run

  Delivery done = (*a)[0].delivery;
  done.state = DeliveryState::Done;
  auto not_ours = s.finish(keys[0], 22, done);
  REQUIRE(not_ours);
  CHECK_FALSE(*not_ours);
  auto ours = s.finish(keys[0], 11, done);
  REQUIRE(ours);
  CHECK(*ours);
  auto again = s.finish(keys[0], 11, done);
  REQUIRE(again);
  CHECK_FALSE(*again);  // no longer claimed: a second outcome is not written
}

TEST_CASE("a resolved lookup adds its destinations in the same txn") {
  TempDir dir;
  Opened o = open(dir.path());
  auto& s = *o.store;
  Delivery lookup;
  lookup.next_attempt = 10;
  REQUIRE(s.storeReport(Day, "example.com", sampleStored(), {{LookupIndex, lookup}}, nullptr));
  const std::string key = deliveryKey(Day, "example.com", LookupIndex);
  auto claimed = s.claim({key}, rulesAt(10, 5));
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  Delivery resolved = (*claimed)[0].delivery;
  resolved.state = DeliveryState::Done;
  REQUIRE(s.resolveLookup(key, 5, resolved, {{1, pendingTo(mailto("r@example.com"), 20)}}));
  auto records = s.deliveries(deliveryDomainPrefix(Day, "example.com"));
  REQUIRE(records);
  REQUIRE(records->size() == 2);
  CHECK((*records)[0].delivery.state == DeliveryState::Done);
  CHECK((*records)[1].delivery.rua.address == "r@example.com");
  CHECK((*records)[1].where.index == 1);
}

TEST_CASE("scans start after a cursor and stay within their prefix") {
  TempDir dir;
  Opened o = open(dir.path());
  auto& s = *o.store;
  for (const char* domain : {"a.example", "b.example", "c.example"}) {
    REQUIRE(s.storeReport(Day, domain, sampleStored(), {{1, pendingTo(mailto("r@x.example"))}}, nullptr));
    REQUIRE(s.storeReport(UtcDay{Day.days + 1}, domain, sampleStored(), {{1, pendingTo(mailto("r@x.example"))}},
                          nullptr));
  }
  std::vector<std::string> seen;
  REQUIRE(s.scanDeliveries(deliveryDayPrefix(Day), deliveryKey(Day, "a.example", 1), [&](DeliveryRecord&& r) {
    seen.push_back(r.where.domain);
    return true;
  }));
  CHECK(seen == std::vector<std::string>{"b.example", "c.example"});
  seen.clear();
  REQUIRE(s.scanDeliveries(std::string(DeliveryKeyPrefix), "", [&](DeliveryRecord&& r) {
    seen.push_back(formatDate(r.where.day) + " " + r.where.domain);
    return true;
  }));
  CHECK(seen.size() == 6);
}

TEST_CASE("a day's state is deleted as a whole, other days stay") {
  TempDir dir;
  Opened o = open(dir.path());
  auto& s = *o.store;
  const UtcDay next{Day.days + 1};
  REQUIRE(s.putDayPlan(Day, DayPlan{}));
  REQUIRE(s.storeReport(Day, "example.com", sampleStored(), {{1, pendingTo(mailto("r@x.example"))}}, nullptr));
  REQUIRE(s.storeReport(next, "example.com", sampleStored(), {{1, pendingTo(mailto("r@x.example"))}}, nullptr));
  CHECK(*s.days() == std::vector<UtcDay>{Day, next});
  auto deleted = s.deleteDay(Day);
  REQUIRE(deleted);
  CHECK(*deleted == 3);
  CHECK(*s.days() == std::vector<UtcDay>{next});
}

TEST_CASE("the report store has its own version beside the day store, and opens read-only") {
  TempDir dir;
  {
    Opened o = open(dir.path());
    auto days = DayStore::attach(o.env);
    REQUIRE(days);
    REQUIRE(o.store->putDayPlan(Day, DayPlan{}));
  }
  CHECK(ReportStateStore::spec().name == "tlsrpt_reports");
  CHECK(ReportStateStore::spec().version == 1);
  Opened ro = open(dir.path(), true);
  auto plan = ro.store->dayPlan(Day);
  REQUIRE(plan);
  CHECK(plan->has_value());
}

TEST_CASE("every seed of the report-state fuzz corpus is a record or key that decodes") {
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(MTASTS_REPORT_STATE_CORPUS)) {
    const std::string bytes = fixtureBytesAt(entry.path().string());
    CAPTURE(entry.path().filename().string());
    const bool decodes = parseStateKey(bytes).has_value() || decodeDayPlan(bytes).has_value() ||
                         decodeStoredReport(bytes).has_value() || decodeDelivery(bytes).has_value();
    CHECK(decodes);
    ++seeds;
  }
  CHECK(seeds >= 9);
}
