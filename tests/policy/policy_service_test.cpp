// PolicyService against fake DNS, a fake HTTPS client, a memory store and manual time.
#include "cache/memory_policy_store.hpp"
#include "policy/policy_service.hpp"
#include "tests/fakes/fake_network.hpp"
#include "tests/fakes/log_capture.hpp"
#include "tests/fakes/manual_scheduler.hpp"

#include <doctest/doctest.h>
#include <fmt/chrono.h>

#include <ctime>
#include <optional>

using namespace mtasts;
using namespace mtasts::policy;
using mtasts::postfix::PolicyAnswer;
using mtasts::testing::FakeDnsClient;
using mtasts::testing::FakeHttpsClient;
using mtasts::testing::FakeQueue;
using mtasts::testing::ManualScheduler;
using namespace std::chrono_literals;

namespace {

constexpr const char* EnforceBody =
    "version: STSv1\nmode: enforce\nmx: mx.good.test\nmx: *.good.test\nmax_age: 604800\n";

std::string body(std::string_view mode, long max_age, std::string_view mx = "mx.good.test") {
  return "version: STSv1\nmode: " + std::string(mode) + "\nmx: " + std::string(mx) +
         "\nmax_age: " + std::to_string(max_age) + "\n";
}

struct Answer {
  PolicyAnswer::Kind kind;
  std::vector<std::string> mx;
  std::string reason;
};

// A store that can be told to fail, wrapping a memory store.
class FaultyStore final : public cache::PolicyStore {
 public:
  cache::MemoryPolicyStore inner;
  bool fail_get = false;
  bool fail_put = false;
  int puts = 0;
  Result<bool> get(std::string_view d, cache::PolicyRecord& out) override {
    if (fail_get) return fail(ErrorCode::Io, "disk on fire");
    return inner.get(d, out);
  }
  Result<void> put(std::string_view d, const cache::PolicyRecord& r) override {
    ++puts;
    if (fail_put) return fail(ErrorCode::TooLarge, "map full");
    return inner.put(d, r);
  }
  Result<bool> erase(std::string_view d) override { return inner.erase(d); }
  Result<void> eraseAll() override { return inner.eraseAll(); }
  Result<void> forEach(const Visitor& v) override { return inner.forEach(v); }
  Result<void> recordUsage(const std::vector<std::pair<std::string, UnixSeconds>>& s) override {
    return inner.recordUsage(s);
  }
};

struct Fixture {
  ManualClock clock;
  ManualScheduler scheduler;
  FakeQueue queue;
  FakeDnsClient dns{queue};
  FakeHttpsClient https{queue};
  FaultyStore store;
  PolicyResolver resolver{dns, https, ResolverOptions{}};
  PolicyServiceOptions options;
  std::unique_ptr<PolicyService> service;

  Fixture() {
    publish("good.test", "id1", EnforceBody);
    restart();
  }
  void restart() {
    service = std::make_unique<PolicyService>(resolver, store, clock, scheduler, options);
  }
  void publish(const std::string& domain, const std::string& id, const std::string& policy) {
    dns.setTxt("_mta-sts." + domain, {{"v=STSv1; id=" + id + ";"}});
    dns.setAddress("mta-sts." + domain, "127.0.50.1");
    https.setBody("mta-sts." + domain, policy);
  }
  void settle() {
    for (int i = 0; i < 100; ++i) {
      const int ran = queue.deliver();
      scheduler.advance(0ms);
      if (ran == 0 && queue.pending() == 0) return;
    }
  }
  // Moves both clocks together, running timers that come due.
  void advance(UnixSeconds seconds) {
    clock.advance(seconds);
    scheduler.advance(std::chrono::seconds(seconds));
  }
  std::optional<Answer> start(const std::string& domain, RequestHandle& handle,
                              std::optional<Answer>& slot) {
    handle = service->lookup(domain, [&slot](const PolicyAnswer& d) {
      Answer a{d.kind, {}, std::string(d.reason)};
      if (d.mx) a.mx = *d.mx;
      slot = a;
    });
    return slot;
  }
  Answer ask(const std::string& domain) {
    std::optional<Answer> slot;
    RequestHandle handle;
    start(domain, handle, slot);
    settle();
    REQUIRE(slot.has_value());
    return *slot;
  }
  int txtQueries(const std::string& d) { return dns.queries["TXT _mta-sts." + d]; }
  int fetches(const std::string& d) { return https.fetches["mta-sts." + d]; }
  cache::PolicyRecord record(const std::string& d) {
    cache::PolicyRecord r;
    REQUIRE(store.inner.get(d, r).value());
    return r;
  }
};

}  // namespace

TEST_CASE("an enforce policy is fetched on first use and then answered from the cache") {
  Fixture f;
  auto a = f.ask("good.test");
  CHECK(a.kind == PolicyAnswer::Kind::Enforce);
  CHECK(a.mx == std::vector<std::string>{"mx.good.test", "*.good.test"});
  CHECK(f.txtQueries("good.test") == 1);
  CHECK(f.fetches("good.test") == 1);

  std::optional<Answer> slot;
  RequestHandle h;
  f.start("good.test", h, slot);
  REQUIRE(slot.has_value());  // answered synchronously, before any delivery
  CHECK(h == nullptr);
  CHECK(slot->kind == PolicyAnswer::Kind::Enforce);
  f.settle();
  CHECK(f.txtQueries("good.test") == 1);
  CHECK(f.fetches("good.test") == 1);
}

TEST_CASE("the fetch asks the policy host's addresses and bounds it with the options") {
  Fixture f;
  f.ask("good.test");
  REQUIRE(f.https.requests.size() == 1);
  const auto& r = f.https.requests[0];
  CHECK(r.host == "mta-sts.good.test");
  CHECK(r.path == "/.well-known/mta-sts.txt");
  CHECK(r.addresses == std::vector<std::string>{"127.0.50.1"});
  CHECK(r.max_body == 64 * 1024);
}

TEST_CASE("testing and none policies get no verdict unless strict_testing") {
  Fixture f;
  f.publish("testing.test", "t1", body("testing", 86400));
  f.publish("none.test", "n1", "version: STSv1\nmode: none\nmax_age: 86400\n");
  CHECK(f.ask("testing.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.ask("none.test").kind == PolicyAnswer::Kind::NoPolicy);
  f.options.strict_testing = true;
  f.service->setOptions(f.options);
  CHECK(f.ask("testing.test").kind == PolicyAnswer::Kind::Enforce);
  CHECK(f.ask("none.test").kind == PolicyAnswer::Kind::NoPolicy);
}

TEST_CASE("a domain without a record is cached negatively for negative_ttl") {
  Fixture f;
  CHECK(f.ask("norecord.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.ask("norecord.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.txtQueries("norecord.test") == 1);
  f.advance(f.options.negative_ttl);
  CHECK(f.ask("norecord.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.txtQueries("norecord.test") == 2);
  CHECK(f.fetches("norecord.test") == 0);
}

TEST_CASE("invalid or duplicate TXT records mean no policy") {
  Fixture f;
  SUBCASE("two STS records") {
    f.dns.setTxt("_mta-sts.two.test", {{"v=STSv1; id=a;"}, {"v=STSv1; id=b;"}});
    CHECK(f.ask("two.test").kind == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.fetches("two.test") == 0);
  }
  SUBCASE("an id that is too long") {
    f.dns.setTxt("_mta-sts.bad.test", {{"v=STSv1; id=" + std::string(33, 'a') + ";"}});
    CHECK(f.ask("bad.test").kind == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.fetches("bad.test") == 0);
  }
}

TEST_CASE("a DNS failure without a cached policy is answered without policy and cached briefly") {
  Fixture f;
  f.dns.setTxtStatus("_mta-sts.servfail.test", net::DnsStatus::Failed, "SERVFAIL");
  CHECK(f.ask("servfail.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.record("servfail.test").kind == cache::EntryKind::LookupFailed);
  CHECK(f.ask("servfail.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.txtQueries("servfail.test") == 1);
  f.advance(f.options.failure_ttl);
  f.ask("servfail.test");
  CHECK(f.txtQueries("servfail.test") == 2);
}

TEST_CASE("a valid cached policy survives DNS failure, a vanished record and a failed refetch") {
  Fixture f;
  REQUIRE(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
  const auto fetched_at = f.record("good.test").fetched_at;

  SUBCASE("TXT lookup fails at the re-check") {
    f.dns.setTxtStatus("_mta-sts.good.test", net::DnsStatus::Failed, "timeout");
  }
  SUBCASE("TXT record removed") {
    f.dns.setTxtStatus("_mta-sts.good.test", net::DnsStatus::NoRecord);
  }
  SUBCASE("new id but the policy host is down") {
    f.dns.setTxt("_mta-sts.good.test", {{"v=STSv1; id=id2;"}});
    f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsPolicyFetchError, "refused");
  }
  SUBCASE("new id but the certificate is bad") {
    f.dns.setTxt("_mta-sts.good.test", {{"v=STSv1; id=id2;"}});
    f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsWebpkiInvalid, "expired");
  }
  SUBCASE("new id but the new policy is invalid") {
    f.dns.setTxt("_mta-sts.good.test", {{"v=STSv1; id=id2;"}});
    f.https.setBody("mta-sts.good.test", "version: STSv1\nmode: enforce\nmax_age: 1\n");
  }
  f.advance(f.options.txt_check_interval);
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);  // answered from cache, re-check starts
  f.settle();
  CHECK(f.txtQueries("good.test") == 2);
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
  auto r = f.record("good.test");
  CHECK(r.kind == cache::EntryKind::Policy);
  CHECK(r.txt_id == "id1");
  CHECK(r.fetched_at == fetched_at);  // nothing extended the policy's life
}

TEST_CASE("a failed refetch records the failure and is not retried for the same id within 5 minutes") {
  Fixture f;
  f.ask("good.test");
  f.dns.setTxt("_mta-sts.good.test", {{"v=STSv1; id=id2;"}});
  f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsWebpkiInvalid, "certificate has expired");
  f.advance(f.options.txt_check_interval);
  f.ask("good.test");
  f.settle();
  CHECK(f.fetches("good.test") == 2);
  auto r = f.record("good.test");
  REQUIRE(r.last_failure.has_value());
  CHECK(r.last_failure->type == TlsRptResultType::StsWebpkiInvalid);
  CHECK(r.last_failure->txt_id == "id2");
  CHECK(r.last_failure->reason == "certificate has expired");

  // Queries go on from the cache; the next TXT check comes only after txt_check_interval
  // and still must not refetch id2 sooner than fetch_retry_interval after the failure.
  for (int i = 0; i < 10; ++i) f.ask("good.test");
  CHECK(f.fetches("good.test") == 2);
  f.advance(f.options.fetch_retry_interval + f.options.txt_check_interval);
  f.https.setBody("mta-sts.good.test", body("enforce", 604800, "mx2.good.test"));
  f.ask("good.test");
  f.settle();
  CHECK(f.fetches("good.test") == 3);
  CHECK(f.ask("good.test").mx == std::vector<std::string>{"mx2.good.test"});
  CHECK_FALSE(f.record("good.test").last_failure.has_value());
}

TEST_CASE("an unchanged TXT id does not refetch and does not extend the policy") {
  Fixture f;
  f.options.refresh_interval = 400 * 86400;  // no proactive refresh in this test
  f.restart();
  f.https.setBody("mta-sts.good.test", body("enforce", 10 * 86400));
  f.ask("good.test");
  const auto first = f.record("good.test");
  for (int hour = 0; hour < 24; ++hour) {
    f.advance(f.options.txt_check_interval);
    f.ask("good.test");
    f.settle();
  }
  CHECK(f.fetches("good.test") == 1);
  CHECK(f.txtQueries("good.test") == 25);
  const auto later = f.record("good.test");
  CHECK(later.fetched_at == first.fetched_at);
  CHECK(later.expires_at == first.expires_at);
  CHECK(later.txt_checked_at == f.clock.now());
}

TEST_CASE("a changed TXT id is fetched and replaces the policy") {
  Fixture f;
  f.ask("good.test");
  f.publish("good.test", "id2", body("enforce", 604800, "new.good.test"));
  f.advance(f.options.txt_check_interval);
  f.ask("good.test");  // still the old answer, re-check starts
  f.settle();
  CHECK(f.fetches("good.test") == 2);
  CHECK(f.ask("good.test").mx == std::vector<std::string>{"new.good.test"});
  CHECK(f.record("good.test").txt_id == "id2");
}

TEST_CASE("a fetched mode none replaces an enforce policy") {
  Fixture f;
  f.ask("good.test");
  f.publish("good.test", "id2", "version: STSv1\nmode: none\nmax_age: 604800\n");
  f.advance(f.options.txt_check_interval);
  f.ask("good.test");
  f.settle();
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.record("good.test").policy.mode == sts::Mode::None);
  CHECK(f.record("good.test").expires_at == f.clock.now() + f.options.negative_ttl);
}

TEST_CASE("a used policy is refreshed proactively and only a successful fetch resets fetched_at") {
  Fixture f;
  f.options.txt_check_interval = 400 * 86400;  // isolate the refresh rule
  f.restart();
  f.ask("good.test");
  const auto first = f.record("good.test");
  f.advance(f.options.refresh_interval * 11 / 10);
  f.ask("good.test");
  f.settle();
  CHECK(f.fetches("good.test") == 2);
  const auto refreshed = f.record("good.test");
  CHECK(refreshed.fetched_at == f.clock.now());
  CHECK(refreshed.expires_at == f.clock.now() + 604800);
  CHECK(refreshed.expires_at > first.expires_at);

  // Now the host breaks: the refresh fails, the policy stays, fetched_at stays.
  f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsPolicyFetchError, "timeout");
  f.advance(f.options.refresh_interval * 11 / 10);
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
  f.settle();
  CHECK(f.fetches("good.test") == 3);
  CHECK(f.record("good.test").fetched_at == refreshed.fetched_at);
  // Not retried on every query: the retry interval holds.
  f.ask("good.test");
  f.settle();
  CHECK(f.fetches("good.test") == 3);
}

TEST_CASE("an expired policy whose refresh fails is no longer applied") {
  Fixture f;
  f.https.setBody("mta-sts.good.test", body("enforce", 3600));
  f.ask("good.test");
  f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsPolicyFetchError, "refused");
  f.dns.setTxt("_mta-sts.good.test", {{"v=STSv1; id=id9;"}});
  f.clock.advance(3600);  // no query, no timer: the policy simply expires
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::NoPolicy);
  auto r = f.record("good.test");
  CHECK(r.kind == cache::EntryKind::NoPolicy);
  REQUIRE(r.last_failure.has_value());
  CHECK(r.last_failure->type == TlsRptResultType::StsPolicyFetchError);
}

TEST_CASE("a failed first fetch is answered without policy and retried after the retry interval") {
  Fixture f;
  f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsWebpkiInvalid, "hostname mismatch");
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.fetches("good.test") == 1);
  f.advance(f.options.fetch_retry_interval);
  f.https.setBody("mta-sts.good.test", EnforceBody);
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
  CHECK(f.fetches("good.test") == 2);
}

TEST_CASE("an invalid policy body is recorded as sts-policy-invalid") {
  Fixture f;
  f.https.setBody("mta-sts.good.test", "version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 5\n");
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::NoPolicy);
  auto r = f.record("good.test");
  REQUIRE(r.last_failure.has_value());
  CHECK(r.last_failure->type == TlsRptResultType::StsPolicyInvalid);
}

TEST_CASE("a policy host without an address is a fetch error") {
  Fixture f;
  f.dns.addresses.erase("mta-sts.good.test");
  CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.fetches("good.test") == 0);
  REQUIRE(f.record("good.test").last_failure.has_value());
  CHECK(f.record("good.test").last_failure->type == TlsRptResultType::StsPolicyFetchError);
}

TEST_CASE("100 concurrent first queries share one TXT query and one fetch") {
  Fixture f;
  std::vector<std::optional<Answer>> slots(100);
  std::vector<RequestHandle> handles(100);
  for (std::size_t i = 0; i < 100; ++i) f.start("good.test", handles[i], slots[i]);
  CHECK(f.service->jobsInFlight() == 1);
  f.settle();
  CHECK(f.txtQueries("good.test") == 1);
  CHECK(f.fetches("good.test") == 1);
  for (const auto& s : slots) {
    REQUIRE(s.has_value());
    CHECK(s->kind == PolicyAnswer::Kind::Enforce);
  }
  CHECK(f.service->jobsInFlight() == 0);
}

TEST_CASE("a query that waits too long gets on_resolve_timeout and the resolve still fills the cache") {
  Fixture f;
  SUBCASE("NOTFOUND") {}
  SUBCASE("TEMP") {
    f.options.on_resolve_timeout = PolicyServiceOptions::OnTimeout::Temp;
    f.restart();
  }
  f.https.silent.insert("mta-sts.good.test");
  std::optional<Answer> slot;
  RequestHandle h;
  f.start("good.test", h, slot);
  f.settle();
  CHECK_FALSE(slot.has_value());
  f.scheduler.advance(f.options.query_wait_timeout - 1ms);
  CHECK_FALSE(slot.has_value());
  f.scheduler.advance(1ms);
  REQUIRE(slot.has_value());
  if (f.options.on_resolve_timeout == PolicyServiceOptions::OnTimeout::Temp) {
    CHECK(slot->kind == PolicyAnswer::Kind::TempFail);
    CHECK_FALSE(slot->reason.empty());
  } else {
    CHECK(slot->kind == PolicyAnswer::Kind::NoPolicy);
  }
  CHECK(f.service->jobsInFlight() == 1);  // the resolve goes on
}

TEST_CASE("a slow fetch that completes after the wait timeout fills the cache") {
  Fixture f;
  f.https.silent.insert("mta-sts.good.test");
  std::optional<Answer> slot;
  RequestHandle h;
  f.start("good.test", h, slot);
  f.settle();
  f.scheduler.advance(f.options.query_wait_timeout);
  REQUIRE(slot.has_value());
  CHECK(slot->kind == PolicyAnswer::Kind::NoPolicy);
  // The silent fetch never answers; a new query while the job runs joins it.
  std::optional<Answer> second;
  RequestHandle h2;
  f.start("good.test", h2, second);
  CHECK(f.fetches("good.test") == 1);
  CHECK(f.txtQueries("good.test") == 1);
}

TEST_CASE("dropping the handle before the answer cancels the callback") {
  Fixture f;
  bool called = false;
  auto h = f.service->lookup("good.test", [&](const PolicyAnswer&) { called = true; });
  REQUIRE(h != nullptr);
  h.reset();
  f.settle();
  f.scheduler.advance(f.options.query_wait_timeout * 2);
  CHECK_FALSE(called);
  CHECK(f.record("good.test").kind == cache::EntryKind::Policy);  // the resolve still finished
}

TEST_CASE("store failures answer TEMP on read and still answer on write") {
  Fixture f;
  SUBCASE("read fails") {
    f.store.fail_get = true;
    auto a = f.ask("good.test");
    CHECK(a.kind == PolicyAnswer::Kind::TempFail);
    CHECK(f.txtQueries("good.test") == 0);
  }
  SUBCASE("write fails") {
    f.store.fail_put = true;
    CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
    CHECK(f.store.inner.size() == 0);
  }
}

TEST_CASE("usage stamps are batched, never one store write per query") {
  Fixture f;
  f.options.txt_check_interval = 400 * 86400;  // no background TXT check writes
  f.restart();
  f.ask("good.test");
  f.clock.advance(f.options.usage_resolution);
  const auto writes = f.store.inner.writes();
  const UnixSeconds used_at = f.clock.now();
  for (int i = 0; i < 1000; ++i) f.ask("good.test");
  CHECK(f.store.inner.writes() == writes);
  f.clock.advance(60);
  f.service->flushUsage();
  CHECK(f.store.inner.writes() == writes + 1);
  CHECK(f.record("good.test").last_used == used_at);
}

TEST_CASE("a lookup within usage_resolution of the stored stamp records no usage") {
  Fixture f;
  f.options.txt_check_interval = 400 * 86400;  // no background TXT check writes
  f.restart();
  f.ask("good.test");  // fetched for a waiting query: last_used is now
  const UnixSeconds fetched_at = f.clock.now();
  const auto writes = f.store.inner.writes();
  for (UnixSeconds step : {UnixSeconds{0}, f.options.usage_resolution - 1}) {
    CAPTURE(step);
    f.clock.set(fetched_at + step);
    f.ask("good.test");
    f.service->flushUsage();
    CHECK(f.store.inner.writes() == writes);
  }
  f.clock.set(fetched_at + f.options.usage_resolution);
  f.ask("good.test");
  f.service->flushUsage();
  CHECK(f.store.inner.writes() == writes + 1);
  CHECK(f.record("good.test").last_used == fetched_at + f.options.usage_resolution);
}

TEST_CASE("the sweep deletes expired idle entries and refreshes used policies before expiry") {
  Fixture f;
  f.options.txt_check_interval = 400 * 86400;
  f.restart();
  f.publish("idle.test", "i1", body("enforce", 86400, "mx.idle.test"));
  f.ask("good.test");
  f.ask("idle.test");
  CHECK(f.ask("norecord.test").kind == PolicyAnswer::Kind::NoPolicy);
  f.service->flushUsage();

  // Two days on: good.test is still used daily, idle.test and norecord.test are not.
  f.clock.advance(86400);
  f.ask("good.test");
  f.clock.advance(86400);
  f.ask("good.test");
  f.settle();
  const int fetches_before = f.fetches("good.test");
  f.options.max_idle = 86400;
  f.service->setOptions(f.options);
  f.service->sweep();
  f.settle();
  cache::PolicyRecord r;
  CHECK_FALSE(f.store.inner.get("idle.test", r).value());
  CHECK_FALSE(f.store.inner.get("norecord.test", r).value());
  CHECK(f.store.inner.get("good.test", r).value());

  // Refresh due by the sweep alone (no query in between), while still within max_idle.
  f.options.max_idle = 30 * 86400;
  f.service->setOptions(f.options);
  f.clock.advance(f.options.refresh_interval * 11 / 10);
  f.service->flushUsage();
  f.service->sweep();
  f.settle();
  CHECK(f.fetches("good.test") > fetches_before);
  CHECK(f.record("good.test").fetched_at == f.clock.now());
}

TEST_CASE("the periodic timers flush usage and sweep") {
  Fixture f;
  f.options.usage_flush_interval = 1000ms;
  f.options.txt_check_interval = 400 * 86400;  // no background TXT check writes
  f.restart();
  f.service->startTimers();
  f.ask("good.test");
  const auto writes = f.store.inner.writes();
  f.clock.advance(f.options.usage_resolution);
  f.ask("good.test");
  f.scheduler.advance(1000ms);
  CHECK(f.store.inner.writes() == writes + 1);
  f.clock.advance(f.options.usage_resolution);
  f.ask("good.test");
  f.scheduler.advance(1000ms);
  CHECK(f.store.inner.writes() == writes + 2);
}

// ---- RFC 8461 3.3, 10.2: a cached policy is refreshed whatever the TXT record says ----

namespace {

enum class TxtBreak { NxDomain, ServFail, Invalid, TwoRecords };

std::string txtBreakName(TxtBreak b) {
  switch (b) {
    case TxtBreak::NxDomain: return "NXDOMAIN";
    case TxtBreak::ServFail: return "SERVFAIL";
    case TxtBreak::Invalid: return "invalid record";
    case TxtBreak::TwoRecords: return "two STS records";
  }
  return "?";
}

// What a DNS-only attacker (or a broken zone) makes the TXT lookup answer.
void breakTxt(Fixture& f, const std::string& domain, TxtBreak how) {
  const std::string name = "_mta-sts." + domain;
  switch (how) {
    case TxtBreak::NxDomain: f.dns.setTxtStatus(name, net::DnsStatus::NoRecord); break;
    case TxtBreak::ServFail: f.dns.setTxtStatus(name, net::DnsStatus::Failed, "SERVFAIL"); break;
    case TxtBreak::Invalid: f.dns.setTxt(name, {{"v=STSv1; id=" + std::string(33, 'a') + ";"}}); break;
    case TxtBreak::TwoRecords: f.dns.setTxt(name, {{"v=STSv1; id=a;"}, {"v=STSv1; id=b;"}}); break;
  }
}

// Asks every `step` seconds until `until` (clock time); counts the answers that were not
// Enforce and the clock times at which a new warning appeared.
struct Walk {
  int asked = 0;
  int not_enforced = 0;
  UnixSeconds first_lapse = 0;
  std::vector<UnixSeconds> warned_at;
};

Walk walk(Fixture& f, const std::string& domain, UnixSeconds until, UnixSeconds step,
          const mtasts::testing::LogCapture* log = nullptr) {
  Walk w;
  std::size_t warnings = log ? log->warnings({domain}) : 0;
  while (f.clock.now() + step <= until) {
    // A minute at a time, so that the service's timers (if started) see the right time
    // and what they start is answered within that minute.
    for (UnixSeconds moved = 0; moved < step;) {
      const UnixSeconds tick = std::min<UnixSeconds>(60, step - moved);
      f.advance(tick);
      f.settle();
      moved += tick;
    }
    const auto a = f.ask(domain);
    f.settle();
    ++w.asked;
    if (a.kind != PolicyAnswer::Kind::Enforce) {
      if (w.not_enforced++ == 0) w.first_lapse = f.clock.now();
    }
    if (log) {
      const std::size_t now_warnings = log->warnings({domain});
      for (; warnings < now_warnings; ++warnings) w.warned_at.push_back(f.clock.now());
    }
  }
  return w;
}

std::string isoTime(UnixSeconds t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(t)));
}

constexpr UnixSeconds Day = 86400;

}  // namespace

TEST_CASE("an enforce policy is refetched daily over HTTPS and never lapses while its TXT record is broken") {
  for (TxtBreak how : {TxtBreak::NxDomain, TxtBreak::ServFail, TxtBreak::Invalid, TxtBreak::TwoRecords}) {
    CAPTURE(txtBreakName(how));
    Fixture f;
    mtasts::testing::LogCapture log("policy");
    REQUIRE(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);  // max_age 604800
    const UnixSeconds start = f.clock.now();
    breakTxt(f, "good.test", how);

    // Fifteen days, a query every three hours: twice the policy's max_age.
    const Walk w = walk(f, "good.test", start + 15 * Day, 3 * 3600, &log);
    CHECK(w.not_enforced == 0);
    CAPTURE(w.first_lapse - start);
    // refresh_interval is 1 day +-10%, seen at the next query: 13 to 16 refetches.
    const int refetches = f.fetches("good.test") - 1;
    CHECK(refetches >= 13);
    CHECK(refetches <= 16);
    const auto r = f.record("good.test");
    CHECK(r.kind == cache::EntryKind::Policy);
    CHECK(r.txt_id == "id1");  // no valid id came back: the cached one is kept
    CHECK(r.fetched_at > f.clock.now() - 2 * Day);
    CHECK(r.expires_at == r.fetched_at + 604800);
    // Each query after a TXT check interval sees the broken TXT and says so.
    CHECK(log.warnings({"good.test", "TXT"}) >= 100);
  }
}

TEST_CASE("a policy host outage while TXT is broken keeps the policy, warns once per retry interval, then recovers") {
  for (TxtBreak how : {TxtBreak::NxDomain, TxtBreak::ServFail}) {
    CAPTURE(txtBreakName(how));
    Fixture f;
    mtasts::testing::LogCapture log("policy");
    REQUIRE(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
    const UnixSeconds start = f.clock.now();
    breakTxt(f, "good.test", how);

    // Two days of normal life, then the host fails for three days. Queries every minute
    // during the outage, so the warning rate is set by the service, not by the queries.
    CHECK(walk(f, "good.test", start + 2 * Day, 3 * 3600).not_enforced == 0);
    const auto before = f.record("good.test");
    CHECK(before.fetched_at > start);  // refreshed on day 1 already
    f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsPolicyFetchError, "connection refused");
    log.clear();
    const int fetches_before = f.fetches("good.test");
    const Walk outage = walk(f, "good.test", start + 5 * Day, 60, &log);
    CHECK(outage.not_enforced == 0);
    const auto during = f.record("good.test");
    CHECK(during.fetched_at == before.fetched_at);  // a failure never extends the policy
    CHECK(during.expires_at == before.expires_at);
    REQUIRE(during.last_failure.has_value());
    CHECK(during.last_failure->txt_id == "id1");

    // Retried at the retry interval, warned at most once per domain per retry interval.
    const int retries = f.fetches("good.test") - fetches_before;
    CHECK(retries > 0);
    CHECK(retries <= 3 * Day / f.options.fetch_retry_interval + 1);
    REQUIRE_FALSE(outage.warned_at.empty());
    for (std::size_t i = 1; i < outage.warned_at.size(); ++i) {
      CAPTURE(i);
      CHECK(outage.warned_at[i] - outage.warned_at[i - 1] >= f.options.fetch_retry_interval);
    }
    // The first refresh is due about a day after the last success; from then on a
    // failure every retry interval, each warned.
    CHECK(retries >= Day / f.options.fetch_retry_interval);
    CHECK(log.warnings({"good.test", "policy refresh failed"}) == static_cast<std::size_t>(retries));
    const auto warned = log.matching(spdlog::level::warn, {"good.test", "keeping cached policy"});
    REQUIRE_FALSE(warned.empty());
    const std::string& line = warned.back();
    CAPTURE(line);
    CHECK(line.find("failed=txt,fetch") != std::string::npos);
    CHECK(line.find("connection refused") != std::string::npos);
    CHECK(line.find("valid_until=" + isoTime(before.expires_at)) != std::string::npos);

    // The host comes back: the next retry refreshes, and life goes on for ten more days.
    f.https.setBody("mta-sts.good.test", EnforceBody);
    const Walk after = walk(f, "good.test", start + 15 * Day, 3 * 3600);
    CHECK(after.not_enforced == 0);
    const auto r = f.record("good.test");
    CHECK(r.fetched_at > start + 13 * Day);
    CHECK_FALSE(r.last_failure.has_value());
  }
}

TEST_CASE("with TXT broken and the policy host down, a cached policy is applied until it expires, not longer") {
  Fixture f;
  mtasts::testing::LogCapture log("policy");
  REQUIRE(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
  const auto first = f.record("good.test");
  breakTxt(f, "good.test", TxtBreak::NxDomain);
  f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsWebpkiInvalid, "certificate has expired");
  const Walk w = walk(f, "good.test", first.expires_at + 3600, 600, &log);
  CHECK(w.first_lapse == first.expires_at);  // the first query at or after expiry
  CHECK(f.record("good.test").kind == cache::EntryKind::NoPolicy);
  CHECK(log.warnings({"good.test", "valid_until=" + isoTime(first.expires_at)}) > 0);
}

TEST_CASE("a short-lived policy is refreshed before it expires while its TXT record is gone") {
  Fixture f;
  f.https.setBody("mta-sts.good.test", body("enforce", 7200));
  SUBCASE("queries every ten minutes") {
    REQUIRE(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
    breakTxt(f, "good.test", TxtBreak::NxDomain);
    CHECK(walk(f, "good.test", f.clock.now() + 3 * Day, 600).not_enforced == 0);
    CHECK(f.fetches("good.test") >= 3 * Day / 7200);
  }
  SUBCASE("queries every five hours, the hourly sweep refreshes in between") {
    f.service->startTimers();
    REQUIRE(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
    breakTxt(f, "good.test", TxtBreak::NxDomain);
    CHECK(walk(f, "good.test", f.clock.now() + 3 * Day, 5 * 3600).not_enforced == 0);
    CHECK(f.fetches("good.test") >= 3 * Day / 7200);
  }
  CHECK(f.record("good.test").kind == cache::EntryKind::Policy);
}

TEST_CASE("a failed TXT lookup is stamped like an answered one: 10 queries make 1 TXT query") {
  Fixture f;
  f.options.refresh_interval = 400 * Day;  // isolate the TXT check
  f.restart();
  f.ask("good.test");
  CHECK(f.txtQueries("good.test") == 1);
  f.dns.setTxtStatus("_mta-sts.good.test", net::DnsStatus::Failed, "SERVFAIL");
  f.advance(f.options.txt_check_interval);
  for (int i = 0; i < 10; ++i) {
    CHECK(f.ask("good.test").kind == PolicyAnswer::Kind::Enforce);
    f.settle();
  }
  CHECK(f.txtQueries("good.test") == 2);
  CHECK(f.record("good.test").txt_checked_at == f.clock.now());
  CHECK(f.fetches("good.test") == 1);  // not due: a failed TXT check alone fetches nothing
}

TEST_CASE("refresh failures of a cached mode none are not warned about") {
  // Without a break the TXT record stays and only the policy host is down.
  for (std::optional<TxtBreak> how : {std::optional<TxtBreak>{}, std::optional{TxtBreak::NxDomain},
                                      std::optional{TxtBreak::ServFail}, std::optional{TxtBreak::Invalid}}) {
    const std::string name = how ? txtBreakName(*how) : "TXT fine, host down";
    CAPTURE(name);
    Fixture f;
    mtasts::testing::LogCapture log("policy");
    f.publish("none.test", "n1", "version: STSv1\nmode: none\nmax_age: 86400\n");
    REQUIRE(f.ask("none.test").kind == PolicyAnswer::Kind::NoPolicy);
    const auto cached = f.record("none.test");
    REQUIRE(cached.policy.mode == sts::Mode::None);
    if (how) breakTxt(f, "none.test", *how);
    f.https.setFailure("mta-sts.none.test", TlsRptResultType::StsPolicyFetchError, "refused");
    // Kept (not enforced) until it expires, re-checked and refreshed in the meantime.
    while (f.clock.now() + 60 < cached.expires_at) {
      f.advance(60);
      CHECK(f.ask("none.test").kind == PolicyAnswer::Kind::NoPolicy);
      f.settle();
    }
    CHECK(f.txtQueries("none.test") > 1);
    if (how) {
      CHECK(f.fetches("none.test") == 1);  // blocking TXT downgrades nothing: no refetch
    } else {
      CHECK(f.fetches("none.test") > 1);  // the refresh was tried and failed
      REQUIRE(f.record("none.test").last_failure.has_value());
    }
    CHECK(log.warnings({"none.test"}) == 0);
    CHECK(f.record("none.test").kind == cache::EntryKind::Policy);
  }
}

TEST_CASE("a failing TXT re-check shorter than the retry interval is warned once per retry interval") {
  Fixture f;
  f.options.txt_check_interval = 60;
  f.options.refresh_interval = 400 * Day;  // only TXT checks in this test
  f.restart();
  mtasts::testing::LogCapture log("policy");
  f.ask("good.test");
  breakTxt(f, "good.test", TxtBreak::ServFail);
  const UnixSeconds start = f.clock.now();
  const Walk w = walk(f, "good.test", start + 3600, 60, &log);
  CHECK(w.not_enforced == 0);
  CHECK(f.txtQueries("good.test") == 61);
  CHECK(w.warned_at.size() == 3600 / f.options.fetch_retry_interval);
  for (std::size_t i = 1; i < w.warned_at.size(); ++i)
    CHECK(w.warned_at[i] - w.warned_at[i - 1] == f.options.fetch_retry_interval);
}
