// PolicyService with DANE on (RFC 8461 2: DANE takes precedence over MTA-STS), against fake
// DNS and HTTPS, a memory store and manual time: one test per verdict row of issue 16, the
// DANE state cached in the same entry with its TTL (a warm lookup asks nothing), refreshed
// in the background before it expires, and waited for once it has.
#include "cache/memory_policy_store.hpp"
#include "policy/policy_service.hpp"
#include "tests/fakes/fake_network.hpp"
#include "tests/fakes/log_capture.hpp"
#include "tests/fakes/manual_scheduler.hpp"

#include <doctest/doctest.h>

#include <optional>

using namespace mtasts;
using namespace mtasts::policy;
using cache::DaneState;
using mtasts::postfix::PolicyAnswer;
using mtasts::testing::FakeDnsClient;
using mtasts::testing::FakeHttpsClient;
using mtasts::testing::FakeQueue;
using mtasts::testing::LogCapture;
using mtasts::testing::ManualScheduler;
using net::DnssecStatus;
using namespace std::chrono_literals;
using Kind = PolicyAnswer::Kind;

namespace {

const std::string Sha256(32, '\x22');

struct Got {
  Kind kind;
  bool has_mx;
};

struct DaneFixture {
  ManualClock clock;
  ManualScheduler scheduler;
  FakeQueue queue;
  FakeDnsClient dns{queue};
  FakeHttpsClient https{queue};
  cache::MemoryPolicyStore store;
  PolicyResolver resolver{dns, https, ResolverOptions{}};
  PolicyServiceOptions options;
  std::unique_ptr<PolicyService> service;

  DaneFixture() {
    options.dane = true;
    restart();
  }
  void restart() { service = std::make_unique<PolicyService>(resolver, store, clock, scheduler, options); }
  void sts(const std::string& domain) {
    dns.setTxt("_mta-sts." + domain, {{"v=STSv1; id=id1;"}});
    dns.setAddress("mta-sts." + domain, "127.0.50.1");
    https.setBody("mta-sts." + domain,
                  "version: STSv1\nmode: enforce\nmx: mx." + domain + "\nmax_age: 604800\n");
  }
  void mx(const std::string& domain, DnssecStatus dnssec, std::uint32_t ttl = 600) {
    net::MxAnswer a;
    a.status = net::DnsStatus::Ok;
    a.records = {{10, "mx." + domain}};
    a.dnssec = dnssec;
    a.ttl = ttl;
    dns.mx[domain] = a;
  }
  void mxBogus(const std::string& domain) {
    net::MxAnswer a;
    a.status = net::DnsStatus::Failed;
    a.dnssec = DnssecStatus::Bogus;
    a.detail = "SERVFAIL";
    dns.mx[domain] = a;
  }
  void tlsa(const std::string& domain, DnssecStatus dnssec, std::uint32_t ttl = 300) {
    net::TlsaAnswer a;
    a.status = net::DnsStatus::Ok;
    a.records = {{3, 1, 1, Sha256}};
    a.dnssec = dnssec;
    a.ttl = ttl;
    dns.tlsa["_25._tcp.mx." + domain] = a;
  }
  void tlsaBogus(const std::string& domain) {
    net::TlsaAnswer a;
    a.status = net::DnsStatus::Failed;
    a.dnssec = DnssecStatus::Bogus;
    a.detail = "SERVFAIL";
    dns.tlsa["_25._tcp.mx." + domain] = a;
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
  // The answer, and whether it came synchronously (from the cache, no lookup waited for).
  Got ask(const std::string& domain, bool* sync = nullptr) {
    std::optional<Got> slot;
    RequestHandle h = service->lookup(domain, [&slot](const PolicyAnswer& a) { slot = Got{a.kind, a.mx != nullptr}; });
    if (sync) *sync = slot.has_value();
    settle();
    REQUIRE(slot.has_value());
    return *slot;
  }
  int mxQueries(const std::string& d) { return dns.queries["MX " + d]; }
  int tlsaQueries(const std::string& d) { return dns.queries["TLSA _25._tcp.mx." + d]; }
  cache::DaneInfo dane(const std::string& d) {
    cache::PolicyRecord r;
    REQUIRE(store.get(d, r).value());
    return r.dane;
  }
};

}  // namespace

TEST_CASE("a secure MX RRset with usable TLSA makes an MTA-STS domain dane-only, without its mx patterns") {
  DaneFixture f;
  f.sts("d.test");
  f.mx("d.test", DnssecStatus::Secure);
  f.tlsa("d.test", DnssecStatus::Secure);
  const Got got = f.ask("d.test");
  CHECK(got.kind == Kind::DaneOnly);
  CHECK_FALSE(got.has_mx);  // a bare dane-only: Postfix does DANE and reports it itself
  CHECK(f.dane("d.test").state == DaneState::Usable);
}

TEST_CASE("a bogus TLSA or MX answer makes an MTA-STS domain dane-only, with a warning") {
  DaneFixture f;
  LogCapture logs("policy");
  f.sts("d.test");
  SUBCASE("bogus TLSA") {
    f.mx("d.test", DnssecStatus::Secure);
    f.tlsaBogus("d.test");
  }
  SUBCASE("bogus MX") { f.mxBogus("d.test"); }
  CHECK(f.ask("d.test").kind == Kind::DaneOnly);
  CHECK(f.dane("d.test").state == DaneState::Bogus);
  CHECK(logs.warnings({"DNSSEC bogus", "domain=d.test"}) == 1);
}

TEST_CASE("an insecure (unsigned) domain, or a secure one without TLSA, keeps its MTA-STS verdict") {
  DaneFixture f;
  f.sts("d.test");
  SUBCASE("insecure MX RRset, even with TLSA") {
    f.mx("d.test", DnssecStatus::Insecure);
    f.tlsa("d.test", DnssecStatus::Secure);
  }
  SUBCASE("secure MX RRset, no TLSA") { f.mx("d.test", DnssecStatus::Secure); }
  const Got got = f.ask("d.test");
  CHECK(got.kind == Kind::Enforce);
  CHECK(got.has_mx);
}

TEST_CASE("a DANE domain without MTA-STS is NOTFOUND, or dane with dane_without_sts") {
  DaneFixture f;
  f.mx("d.test", DnssecStatus::Secure);
  f.tlsa("d.test", DnssecStatus::Secure);
  SUBCASE("default: Postfix's own level applies, no DNS asked beyond the TXT record") {
    CHECK(f.ask("d.test").kind == Kind::NoPolicy);
    CHECK(f.mxQueries("d.test") == 0);
  }
  SUBCASE("dane_without_sts = yes") {
    f.options.dane_without_sts = true;
    f.restart();
    CHECK(f.ask("d.test").kind == Kind::Dane);
    CHECK(f.dane("d.test").state == DaneState::Usable);
  }
}

TEST_CASE("with dane off the MTA-STS verdict stands and no MX or TLSA is asked") {
  DaneFixture f;
  f.options.dane = false;
  f.restart();
  f.sts("d.test");
  f.mx("d.test", DnssecStatus::Secure);
  f.tlsa("d.test", DnssecStatus::Secure);
  CHECK(f.ask("d.test").kind == Kind::Enforce);
  CHECK(f.mxQueries("d.test") == 0);
  CHECK(f.dane("d.test").state == DaneState::Unchecked);
}

TEST_CASE("the DANE state is cached with the TTLs of its answers: warm lookups ask nothing until it runs out") {
  DaneFixture f;
  f.sts("d.test");
  f.mx("d.test", DnssecStatus::Secure, 600);
  f.tlsa("d.test", DnssecStatus::Secure, 400);
  REQUIRE(f.ask("d.test").kind == Kind::DaneOnly);
  const cache::DaneInfo first = f.dane("d.test");
  CHECK(first.expires_at - first.checked_at == 400);  // the smaller of the MX and TLSA TTLs
  bool sync = false;
  for (int i = 0; i < 5; ++i) {
    CHECK(f.ask("d.test", &sync).kind == Kind::DaneOnly);
    CHECK(sync);
  }
  CHECK(f.mxQueries("d.test") == 1);
  CHECK(f.tlsaQueries("d.test") == 1);

  SUBCASE("in the last quarter of its life a used state is refreshed in the background") {
    f.advance(301);
    f.tlsaBogus("d.test");  // what the refresh will see
    CHECK(f.ask("d.test", &sync).kind == Kind::DaneOnly);
    CHECK(sync);  // answered from the cache, the refresh runs beside
    CHECK(f.mxQueries("d.test") == 2);
    CHECK(f.dane("d.test").state == DaneState::Bogus);
  }
  SUBCASE("once expired it is waited for, and a change of the TLSA records changes the verdict") {
    f.advance(400);
    net::TlsaAnswer gone;  // the TLSA records were withdrawn (secure NXDOMAIN)
    gone.status = net::DnsStatus::NoRecord;
    gone.dnssec = DnssecStatus::Secure;
    gone.ttl = 300;
    f.dns.tlsa["_25._tcp.mx.d.test"] = gone;
    CHECK(f.ask("d.test", &sync).kind == Kind::Enforce);
    CHECK_FALSE(sync);
    CHECK(f.dane("d.test").state == DaneState::NoTlsa);
    CHECK(f.mxQueries("d.test") == 2);
  }
}

TEST_CASE("a DANE state that expired while its check hangs is answered from the entry at the wait timeout") {
  DaneFixture f;
  f.sts("d.test");
  f.mx("d.test", DnssecStatus::Secure, 600);
  f.tlsa("d.test", DnssecStatus::Secure, 600);
  REQUIRE(f.ask("d.test").kind == Kind::DaneOnly);
  f.advance(600);
  f.dns.silent.insert("d.test");  // the MX lookup never answers
  std::optional<Kind> slot;
  RequestHandle h = f.service->lookup("d.test", [&slot](const PolicyAnswer& a) { slot = a.kind; });
  f.settle();
  CHECK_FALSE(slot.has_value());
  f.scheduler.advance(f.options.query_wait_timeout);
  REQUIRE(slot.has_value());
  CHECK(*slot == Kind::DaneOnly);  // never silently the MTA-STS verdict
}

TEST_CASE("the TXT and the DANE halves of a cold lookup both end before the one answer") {
  DaneFixture f;
  f.sts("d.test");
  f.mx("d.test", DnssecStatus::Secure);
  f.tlsa("d.test", DnssecStatus::Secure);
  f.dns.silent.insert("_25._tcp.mx.d.test");  // TLSA never answers
  std::optional<Kind> slot;
  RequestHandle h = f.service->lookup("d.test", [&slot](const PolicyAnswer& a) { slot = a.kind; });
  f.settle();
  CHECK_FALSE(slot.has_value());  // the MTA-STS half ended long ago; the entry waits for DANE
  CHECK(f.https.fetches["mta-sts.d.test"] == 1);
}
