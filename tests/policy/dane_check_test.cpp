// The DANE check (policy/dane_check.hpp) over a fake DNS client: which TLSA records are
// usable, which MX hosts count, the state every combination of MX and TLSA answers leads
// to, its TTL, and the verdict next to the MTA-STS one.
#include "policy/dane_check.hpp"
#include "tests/fakes/fake_network.hpp"

#include <doctest/doctest.h>

#include <optional>

using namespace mtasts;
using namespace mtasts::policy;
using cache::DaneState;
using mtasts::postfix::PolicyAnswer;
using mtasts::testing::FakeDnsClient;
using mtasts::testing::FakeQueue;
using net::DnssecStatus;
using net::DnsStatus;

namespace {

const std::string Sha256(32, '\x11');

net::TlsaRecord tlsa(std::uint8_t usage, std::uint8_t selector, std::uint8_t mtype, std::string data) {
  return net::TlsaRecord{usage, selector, mtype, std::move(data)};
}

net::MxAnswer mxAnswer(std::vector<net::MxRecord> records, DnssecStatus dnssec, std::uint32_t ttl = 600) {
  net::MxAnswer a;
  a.status = records.empty() ? DnsStatus::NoRecord : DnsStatus::Ok;
  a.records = std::move(records);
  a.dnssec = dnssec;
  a.ttl = ttl;
  return a;
}

net::TlsaAnswer tlsaAnswer(std::vector<net::TlsaRecord> records, DnssecStatus dnssec, std::uint32_t ttl = 300) {
  net::TlsaAnswer a;
  a.status = records.empty() ? DnsStatus::NoRecord : DnsStatus::Ok;
  a.records = std::move(records);
  a.dnssec = dnssec;
  a.ttl = ttl;
  return a;
}

template <typename Answer>
Answer failed(DnssecStatus dnssec, std::string detail) {
  Answer a;
  a.status = DnsStatus::Failed;
  a.dnssec = dnssec;
  a.detail = std::move(detail);
  return a;
}

DaneOutcome run(FakeDnsClient& dns, FakeQueue& queue, const std::string& domain) {
  std::optional<DaneOutcome> got;
  RequestHandle h = checkDane(dns, domain, [&got](DaneOutcome o) { got = std::move(o); });
  queue.deliver();
  REQUIRE(got.has_value());
  return *got;
}

}  // namespace

TEST_CASE("only DANE-TA and DANE-EE records with a known selector and a well-sized digest are usable") {
  struct Case {
    const char* name;
    net::TlsaRecord record;
    bool usable;
  };
  const std::vector<Case> cases{
      {"3 1 1 with a SHA-256 digest", tlsa(3, 1, 1, Sha256), true},
      {"2 0 2 with a SHA-512 digest", tlsa(2, 0, 2, std::string(64, 'x')), true},
      {"3 0 0 with a full certificate", tlsa(3, 0, 0, "der"), true},
      {"3 0 0 empty", tlsa(3, 0, 0, ""), false},
      {"PKIX-TA (0) is unusable for SMTP", tlsa(0, 1, 1, Sha256), false},
      {"PKIX-EE (1) is unusable for SMTP", tlsa(1, 1, 1, Sha256), false},
      {"usage 4", tlsa(4, 1, 1, Sha256), false},
      {"selector 2", tlsa(3, 2, 1, Sha256), false},
      {"matching type 3", tlsa(3, 1, 3, Sha256), false},
      {"SHA-256 of 31 bytes", tlsa(3, 1, 1, std::string(31, 'x')), false},
      {"SHA-512 of 32 bytes", tlsa(3, 1, 2, Sha256), false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(usableTlsaRecord(c.record) == c.usable);
  }
  CHECK(usableTlsaCount({tlsa(3, 1, 1, Sha256), tlsa(0, 1, 1, Sha256), tlsa(2, 1, 1, Sha256)}) == 2);
}

TEST_CASE("the MX hosts checked are by preference, without duplicates or the null MX, at most MaxDaneHosts") {
  net::MxAnswer mx;
  mx.records = {{20, "b.test"}, {10, "a.test"}, {20, "c.test"}, {30, "a.test"}, {0, ""}};
  CHECK(daneHosts(mx) == std::vector<std::string>{"a.test", "b.test", "c.test"});
  mx.records.clear();
  for (int i = 0; i < 50; ++i) mx.records.push_back({static_cast<std::uint16_t>(i), "h" + std::to_string(i)});
  CHECK(daneHosts(mx).size() == MaxDaneHosts);
}

TEST_CASE("each combination of MX and TLSA answers leads to one DANE state, with its TTL") {
  struct Case {
    const char* name;
    net::MxAnswer mx;
    std::optional<net::TlsaAnswer> tlsa;  // for _25._tcp.mx.d.test (and the domain's own)
    DaneState state;
    std::uint32_t ttl;
    std::size_t tlsa_queries;
  };
  const std::vector<net::MxRecord> one{{10, "mx.d.test"}};
  const std::vector<Case> cases{
      {"secure MX, secure usable TLSA", mxAnswer(one, DnssecStatus::Secure, 600),
       tlsaAnswer({tlsa(3, 1, 1, Sha256)}, DnssecStatus::Secure, 300), DaneState::Usable, 300, 1},
      {"secure MX, secure TLSA of unusable records only", mxAnswer(one, DnssecStatus::Secure),
       tlsaAnswer({tlsa(1, 1, 1, Sha256)}, DnssecStatus::Secure), DaneState::NoTlsa, 300, 1},
      {"secure MX, secure NXDOMAIN for TLSA", mxAnswer(one, DnssecStatus::Secure, 900),
       tlsaAnswer({}, DnssecStatus::Secure, 120), DaneState::NoTlsa, 120, 1},
      {"secure MX, insecure TLSA (the host's zone is unsigned)", mxAnswer(one, DnssecStatus::Secure),
       tlsaAnswer({tlsa(3, 1, 1, Sha256)}, DnssecStatus::Insecure), DaneState::NoTlsa, 300, 1},
      {"secure MX, bogus TLSA", mxAnswer(one, DnssecStatus::Secure),
       failed<net::TlsaAnswer>(DnssecStatus::Bogus, "SERVFAIL"), DaneState::Bogus, MinDaneTtl, 1},
      {"secure MX, TLSA lookup failed", mxAnswer(one, DnssecStatus::Secure),
       failed<net::TlsaAnswer>(DnssecStatus::Unchecked, "timeout"), DaneState::TlsaFailed, MinDaneTtl, 1},
      {"bogus MX", failed<net::MxAnswer>(DnssecStatus::Bogus, "SERVFAIL"), std::nullopt, DaneState::Bogus,
       MinDaneTtl, 0},
      {"MX lookup failed", failed<net::MxAnswer>(DnssecStatus::Unchecked, "timeout"), std::nullopt,
       DaneState::MxFailed, MinDaneTtl, 0},
      {"insecure MX (unsigned zone) with TLSA", mxAnswer(one, DnssecStatus::Insecure, 7200),
       tlsaAnswer({tlsa(3, 1, 1, Sha256)}, DnssecStatus::Secure), DaneState::Insecure, MaxDaneTtl, 0},
      {"unvalidated MX", mxAnswer(one, DnssecStatus::Unchecked, 10), std::nullopt, DaneState::Insecure,
       MinDaneTtl, 0},
      {"secure null MX", mxAnswer({{0, ""}}, DnssecStatus::Secure), std::nullopt, DaneState::NoTlsa, 600, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    FakeQueue queue;
    FakeDnsClient dns{queue};
    dns.mx["d.test"] = c.mx;
    if (c.tlsa) dns.tlsa["_25._tcp.mx.d.test"] = *c.tlsa;
    const DaneOutcome got = run(dns, queue, "d.test");
    CHECK(daneStateName(got.state) == daneStateName(c.state));
    CHECK(got.ttl == c.ttl);
    CHECK(dns.queries["TLSA _25._tcp.mx.d.test"] == static_cast<int>(c.tlsa_queries));
    CHECK_FALSE(got.detail.empty());
  }
}

TEST_CASE("with several MX hosts, a bogus TLSA answer wins over usable ones, and one usable host is enough") {
  FakeQueue queue;
  FakeDnsClient dns{queue};
  dns.mx["d.test"] = mxAnswer({{10, "a.d.test"}, {20, "b.d.test"}}, DnssecStatus::Secure);
  dns.tlsa["_25._tcp.a.d.test"] = tlsaAnswer({tlsa(3, 1, 1, Sha256)}, DnssecStatus::Secure);
  dns.tlsa["_25._tcp.b.d.test"] = tlsaAnswer({}, DnssecStatus::Secure);
  CHECK(run(dns, queue, "d.test").state == DaneState::Usable);
  dns.tlsa["_25._tcp.b.d.test"] = failed<net::TlsaAnswer>(DnssecStatus::Bogus, "SERVFAIL");
  const DaneOutcome bogus = run(dns, queue, "d.test");
  CHECK(bogus.state == DaneState::Bogus);
  CHECK(bogus.detail.find("b.d.test") != std::string::npos);
}

TEST_CASE("a secure domain without MX is its own host (implicit MX) and its TLSA are asked") {
  FakeQueue queue;
  FakeDnsClient dns{queue};
  dns.mx["d.test"] = mxAnswer({}, DnssecStatus::Secure);
  dns.tlsa["_25._tcp.d.test"] = tlsaAnswer({tlsa(3, 1, 1, Sha256)}, DnssecStatus::Secure);
  const DaneOutcome got = run(dns, queue, "d.test");
  CHECK(got.implicit_mx);
  CHECK(got.state == DaneState::Usable);
}

TEST_CASE("dropping the handle cancels the check: the callback never runs") {
  FakeQueue queue;
  FakeDnsClient dns{queue};
  dns.mx["d.test"] = mxAnswer({{10, "mx.d.test"}}, DnssecStatus::Secure);
  bool called = false;
  {
    RequestHandle h = checkDane(dns, "d.test", [&called](DaneOutcome) { called = true; });
  }
  queue.deliver();
  CHECK_FALSE(called);
}

TEST_CASE("DANE decides where it applies, the MTA-STS verdict elsewhere") {
  using Kind = PolicyAnswer::Kind;
  struct Row {
    DaneState state;
    bool sts;
    bool without_sts;
    Kind want;
  };
  const std::vector<Row> rows{
      {DaneState::Usable, true, false, Kind::DaneOnly},     {DaneState::Bogus, true, false, Kind::DaneOnly},
      {DaneState::TlsaFailed, true, false, Kind::DaneOnly}, {DaneState::Insecure, true, false, Kind::Enforce},
      {DaneState::NoTlsa, true, false, Kind::Enforce},      {DaneState::MxFailed, true, false, Kind::Enforce},
      {DaneState::Unchecked, true, false, Kind::Enforce},   {DaneState::Usable, false, false, Kind::NoPolicy},
      {DaneState::Usable, false, true, Kind::Dane},         {DaneState::Bogus, false, true, Kind::Dane},
      {DaneState::Insecure, false, true, Kind::NoPolicy},   {DaneState::NoTlsa, false, false, Kind::NoPolicy},
  };
  for (const auto& r : rows) {
    CAPTURE(daneStateName(r.state));
    CAPTURE(r.sts);
    CAPTURE(r.without_sts);
    CHECK(postfix::policyAnswerKindName(daneVerdict(r.state, r.sts, r.without_sts)) ==
          postfix::policyAnswerKindName(r.want));
  }
}
