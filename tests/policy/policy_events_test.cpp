// PolicyService's events (what TLS-RPT and metrics observe), the metrics observer, and the
// callbacks that re-enter the service ([6] review). Fake DNS and HTTPS, a memory store,
// manual time.
#include "cache/memory_policy_store.hpp"
#include "common/metrics.hpp"
#include "policy/policy_metrics.hpp"
#include "policy/policy_service.hpp"
#include "tests/fakes/fake_network.hpp"
#include "tests/fakes/manual_scheduler.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

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
    "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 604800\n";

struct Recorded {
  std::string domain;
  PolicyAnswer::Kind answer;
  LookupPath path;
  CacheState cache;
  std::optional<TlsRptResultType> fetch_failure;
  std::string reason;
};

struct RecordedResolve {
  std::string domain;
  ResolveReason reason;
  ResolveOutcome outcome;
  std::optional<TlsRptResultType> failure;
  std::chrono::milliseconds duration;
  std::optional<std::chrono::milliseconds> fetch_duration;
  bool kept;
};

class Recorder final : public PolicyEvents {
 public:
  std::vector<Recorded> lookups;
  std::vector<RecordedResolve> resolves;
  void lookupAnswered(const LookupEvent& e) noexcept override {
    Recorded r{std::string(e.domain), e.answer, e.path, e.cache, std::nullopt, {}};
    if (e.fetch_failure) {
      r.fetch_failure = e.fetch_failure->type;
      r.reason = std::string(e.fetch_failure->reason);
    }
    lookups.push_back(std::move(r));
  }
  void resolveFinished(const ResolveEvent& e) noexcept override {
    resolves.push_back(RecordedResolve{std::string(e.domain), e.reason, e.outcome,
                                       e.failure ? std::optional(e.failure->type) : std::nullopt, e.duration,
                                       e.fetch_duration, e.kept_cached_policy});
  }
};

struct Fixture {
  ManualClock clock;
  ManualScheduler scheduler;
  FakeQueue queue;
  FakeDnsClient dns{queue};
  FakeHttpsClient https{queue};
  cache::MemoryPolicyStore store;
  PolicyResolver resolver{dns, https, ResolverOptions{}};
  PolicyServiceOptions options;
  Recorder recorder;
  PolicyEventsFanOut fan_out;
  std::unique_ptr<PolicyService> service;

  Fixture() {
    publish("good.test", "id1", EnforceBody);
    fan_out.add(recorder);
    service = std::make_unique<PolicyService>(resolver, store, clock, scheduler, options, &fan_out);
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
  void advance(UnixSeconds seconds) {
    clock.advance(seconds);
    scheduler.advance(std::chrono::seconds(seconds));
  }
  PolicyAnswer::Kind ask(const std::string& domain) {
    std::optional<PolicyAnswer::Kind> kind;
    auto handle = service->lookup(domain, [&](const PolicyAnswer& a) { kind = a.kind; });
    settle();
    REQUIRE(kind.has_value());
    return *kind;
  }
  const Recorded& lastLookup() {
    REQUIRE_FALSE(recorder.lookups.empty());
    return recorder.lookups.back();
  }
  const RecordedResolve& lastResolve() {
    REQUIRE_FALSE(recorder.resolves.empty());
    return recorder.resolves.back();
  }
};

double sample(const metrics::Registry& registry, const std::string& family,
              const std::vector<std::string>& labels) {
  for (const auto& f : registry.collect()) {
    if (f.name != family) continue;
    for (const auto& s : f.series) {
      if (s.label_values == labels) return s.value;
    }
  }
  FAIL("no series " << family);
  return -1;
}

}  // namespace

TEST_CASE("a lookup event says how the answer came: resolved, cache hit, expired, timeout") {
  Fixture f;
  REQUIRE(f.ask("good.test") == PolicyAnswer::Kind::Enforce);
  CHECK(f.lastLookup().path == LookupPath::Resolved);
  CHECK(f.lastLookup().cache == CacheState::Missing);
  CHECK(f.lastLookup().answer == PolicyAnswer::Kind::Enforce);
  f.ask("good.test");
  CHECK(f.lastLookup().path == LookupPath::CacheHit);
  CHECK(f.lastLookup().cache == CacheState::Fresh);
  f.advance(604800);
  f.ask("good.test");
  CHECK(f.lastLookup().path == LookupPath::Resolved);
  CHECK(f.lastLookup().cache == CacheState::Expired);

  f.publish("slow.test", "s1", EnforceBody);
  f.https.silent.insert("mta-sts.slow.test");
  std::optional<PolicyAnswer::Kind> kind;
  auto handle = f.service->lookup("slow.test", [&](const PolicyAnswer& a) { kind = a.kind; });
  f.settle();
  f.scheduler.advance(f.options.query_wait_timeout);
  REQUIRE(kind == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.lastLookup().path == LookupPath::WaitTimeout);
  CHECK_FALSE(f.lastLookup().fetch_failure.has_value());
  for (const auto& l : f.recorder.lookups) CHECK_FALSE(l.fetch_failure.has_value());
}

TEST_CASE("a lookup answered without policy because the fetch failed carries the failure, exactly") {
  Fixture f;
  SUBCASE("the fetch fails with nothing cached: the waiter and later cache hits count") {
    f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsWebpkiInvalid, "certificate has expired");
    CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.lastLookup().fetch_failure == TlsRptResultType::StsWebpkiInvalid);
    CHECK(f.lastLookup().reason == "certificate has expired");
    CHECK(f.lastResolve().outcome == ResolveOutcome::FetchFailed);
    CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);  // within fetch_retry_interval
    CHECK(f.lastLookup().path == LookupPath::CacheHit);
    CHECK(f.lastLookup().fetch_failure == TlsRptResultType::StsWebpkiInvalid);
  }
  SUBCASE("an invalid policy is sts-policy-invalid") {
    f.https.setBody("mta-sts.good.test", "version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 5\n");
    CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.lastLookup().fetch_failure == TlsRptResultType::StsPolicyInvalid);
  }
  SUBCASE("an expired policy whose refresh failed recently waits for the retry, and counts") {
    f.https.setBody("mta-sts.good.test", "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 600\n");
    REQUIRE(f.ask("good.test") == PolicyAnswer::Kind::Enforce);
    f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsPolicyFetchError, "refused");
    f.advance(500);  // past three quarters of the life: a refresh starts, and fails
    REQUIRE(f.ask("good.test") == PolicyAnswer::Kind::Enforce);
    CHECK(f.lastLookup().path == LookupPath::CacheHit);
    CHECK_FALSE(f.lastLookup().fetch_failure.has_value());  // the valid policy was applied
    CHECK(f.lastResolve().outcome == ResolveOutcome::FetchFailed);
    CHECK(f.lastResolve().kept);
    f.advance(120);  // expired, the failure 2 minutes old: not fetched again yet
    CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.lastResolve().outcome == ResolveOutcome::RetryPending);
    CHECK(f.lastLookup().fetch_failure == TlsRptResultType::StsPolicyFetchError);
    CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.lastLookup().path == LookupPath::CacheHit);
    CHECK(f.lastLookup().fetch_failure == TlsRptResultType::StsPolicyFetchError);
  }
}

TEST_CASE("no fetch failure is reported for no record, mode none or testing, or a DNS failure") {
  Fixture f;
  f.publish("none.test", "n1", "version: STSv1\nmode: none\nmax_age: 86400\n");
  f.publish("testing.test", "t1", "version: STSv1\nmode: testing\nmx: mx.testing.test\nmax_age: 86400\n");
  f.dns.setTxtStatus("_mta-sts.servfail.test", net::DnsStatus::Failed, "SERVFAIL");
  for (const char* domain : {"norecord.test", "none.test", "testing.test", "servfail.test"}) {
    CAPTURE(domain);
    CHECK(f.ask(domain) == PolicyAnswer::Kind::NoPolicy);
    CHECK(f.ask(domain) == PolicyAnswer::Kind::NoPolicy);
  }
  for (const auto& l : f.recorder.lookups) {
    CAPTURE(l.domain);
    CHECK_FALSE(l.fetch_failure.has_value());
  }
  // The record vanishing after a failed fetch keeps last_failure, but is "no record" now.
  f.https.setFailure("mta-sts.good.test", TlsRptResultType::StsPolicyFetchError, "refused");
  CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);
  REQUIRE(f.lastLookup().fetch_failure.has_value());
  f.dns.setTxtStatus("_mta-sts.good.test", net::DnsStatus::NoRecord);
  f.advance(f.options.fetch_retry_interval);
  CHECK(f.ask("good.test") == PolicyAnswer::Kind::NoPolicy);
  CHECK(f.lastResolve().outcome == ResolveOutcome::NoRecord);
  CHECK_FALSE(f.lastLookup().fetch_failure.has_value());
}

TEST_CASE("a resolve event says why it ran, how it ended, and how long the fetch took") {
  Fixture f;
  f.ask("good.test");
  CHECK(f.lastResolve().reason == ResolveReason::First);
  CHECK(f.lastResolve().outcome == ResolveOutcome::Fetched);
  CHECK(f.lastResolve().fetch_duration.has_value());
  f.advance(f.options.txt_check_interval);
  f.ask("good.test");
  CHECK(f.lastResolve().reason == ResolveReason::Recheck);
  CHECK(f.lastResolve().outcome == ResolveOutcome::UnchangedId);
  CHECK(f.lastResolve().kept);
  CHECK_FALSE(f.lastResolve().fetch_duration.has_value());
  f.advance(f.options.refresh_interval * 11 / 10);
  f.ask("good.test");
  CHECK(f.lastResolve().reason == ResolveReason::Refresh);
  CHECK(f.lastResolve().outcome == ResolveOutcome::Fetched);

  // Durations are scheduler time: a fetch that answers after 1.5 s took 1.5 s.
  f.publish("slow.test", "s1", EnforceBody);
  f.https.held.insert("mta-sts.slow.test");
  auto handle = f.service->lookup("slow.test", [](const PolicyAnswer&) {});
  f.settle();
  f.scheduler.advance(1500ms);
  f.queue.releaseHeld();
  f.settle();
  CHECK(f.lastResolve().domain == "slow.test");
  CHECK(f.lastResolve().duration == 1500ms);
  CHECK(f.lastResolve().fetch_duration == std::optional(1500ms));
}

TEST_CASE("the metrics observer counts lookups, cache states, failures and fetch durations") {
  Fixture f;
  metrics::Registry registry;
  auto made = PolicyMetrics::create(registry);
  REQUIRE(made.has_value());
  f.fan_out.add(**made);
  f.ask("good.test");
  f.ask("good.test");
  f.https.setFailure("mta-sts.bad.test", TlsRptResultType::StsWebpkiInvalid, "expired");
  f.dns.setTxt("_mta-sts.bad.test", {{"v=STSv1; id=b1;"}});
  f.dns.setAddress("mta-sts.bad.test", "127.0.50.2");
  f.ask("bad.test");
  f.ask("bad.test");
  CHECK(sample(registry, "mtastsd_policy_lookups_total", {"enforce", "resolved"}) == 1);
  CHECK(sample(registry, "mtastsd_policy_lookups_total", {"enforce", "cache-hit"}) == 1);
  CHECK(sample(registry, "mtastsd_policy_lookups_total", {"no-policy", "cache-hit"}) == 1);
  CHECK(sample(registry, "mtastsd_policy_cache_lookups_total", {"hit"}) == 2);
  CHECK(sample(registry, "mtastsd_policy_cache_lookups_total", {"miss"}) == 2);
  CHECK(sample(registry, "mtastsd_policy_lookups_fetch_failed_total", {"sts-webpki-invalid"}) == 2);
  CHECK(sample(registry, "mtastsd_policy_fetch_failures_total", {"sts-webpki-invalid"}) == 1);
  CHECK(sample(registry, "mtastsd_policy_resolves_total", {"first", "fetched"}) == 1);
  CHECK(sample(registry, "mtastsd_policy_resolves_total", {"first", "fetch-failed"}) == 1);
  for (const auto& family : registry.collect()) {
    if (family.name != "mtastsd_policy_fetch_duration_seconds") continue;
    REQUIRE(family.series.size() == 1);
    std::uint64_t n = 0;
    for (auto c : family.series[0].bucket_counts) n += c;
    CHECK(n == 2);
  }
}

// The [6] review: finish() looped over the job's waiters while a callback could push a new
// one (a lookup for the same domain) into the same vector, and then cleared it.
TEST_CASE("a waiter's callback may look the same domain up again and gets its answer") {
  Fixture f;
  f.https.setBody("mta-sts.good.test", "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 0\n");
  std::optional<PolicyAnswer::Kind> inner;
  RequestHandle inner_handle;
  std::vector<RequestHandle> outer;
  for (int i = 0; i < 3; ++i) {  // several waiters, so a push would reallocate the vector
    outer.push_back(f.service->lookup("good.test", [&](const PolicyAnswer&) {
      if (!inner_handle) {
        inner_handle = f.service->lookup("good.test", [&](const PolicyAnswer& a) { inner = a.kind; });
      }
    }));
  }
  f.settle();  // max_age 0: nothing cached, so the inner lookup resolves anew
  REQUIRE(inner.has_value());
  CHECK(*inner == PolicyAnswer::Kind::Enforce);
}

TEST_CASE("a cache hit's callback may look another domain up without spoiling its own answer") {
  Fixture f;
  f.publish("other.test", "o1", "version: STSv1\nmode: enforce\nmx: other-mx.other.test\nmax_age: 86400\n");
  f.ask("good.test");
  f.ask("other.test");
  std::vector<std::string> outer_mx_after;
  std::vector<std::string> inner_mx;
  auto h = f.service->lookup("good.test", [&](const PolicyAnswer& a) {
    auto nested = f.service->lookup("other.test", [&](const PolicyAnswer& b) { inner_mx = *b.mx; });
    outer_mx_after = *a.mx;  // read after the nested lookup
  });
  CHECK(inner_mx == std::vector<std::string>{"other-mx.other.test"});
  CHECK(outer_mx_after == std::vector<std::string>{"mx.good.test"});
}
