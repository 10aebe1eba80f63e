// sessionsOf: the counting rule (sys4's), first on hand-made datagrams, then row by row
// against the reports sys4's tlsrpt-reportd 0.6.0rc2 built from the same fixture datagrams.
#include "tlsrpt/datagram_sessions.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "tlsrpt/ehlo_name.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using R = TlsRptResultType;

namespace {

std::string readFixture(const std::string& name) {
  const std::string path = std::string(MTASTS_TLSRPT_FIXTURES) + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE_MESSAGE(f != nullptr, "missing fixture " << path);
  std::string bytes;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
  std::fclose(f);
  return bytes;
}

DatagramSessions sessionsOfFixture(const std::string& name) {
  auto d = parseDatagram(readFixture(name));
  REQUIRE_MESSAGE(d.has_value(), name << ": " << d.error().detail);
  return sessionsOf(std::move(d).value());
}

}  // namespace

TEST_CASE("a success datagram is one successful session with no failure rows") {
  const auto got = sessionsOfFixture("pf311-good-success.dgram");
  CHECK(got.report_domain == "good.test");
  CHECK(got.tlsrpt_record == "v=TLSRPTv1; rua=mailto:tlsrpt@good.test");
  REQUIRE(got.sessions.size() == 1);
  const PolicyDescriptor want{PolicyType::Sts, "good.test",
                              {"version: STSv1", "mode: enforce", "mx: mx.good.test", "max_age: 86400"},
                              {"mx.good.test"}};
  CHECK(got.sessions[0] == SessionOutcome{want, false, {}});
}

TEST_CASE("a failure datagram is one failed session whose row carries the HELO name, not the EHLO reply") {
  const auto got = sessionsOfFixture("pf311-bad-202-certificate-host-mismatch.dgram");
  REQUIRE(got.sessions.size() == 1);
  CHECK(got.sessions[0].failed);
  const FailureDetail want{R::CertificateHostMismatch, "127.0.50.20", "mx.bad.test",
                           "receiver-127.0.50.11",     "127.0.50.11", "",
                           ""};
  REQUIRE(got.sessions[0].failure_details.size() == 1);
  CHECK(got.sessions[0].failure_details[0] == want);
}

TEST_CASE("sessionsOf counts one session per policy and one row per failure detail") {
  struct Case {
    std::string fixture;
    std::vector<bool> failed;         // per session
    std::vector<std::size_t> rows;    // failure rows per session
  };
  const Case cases[] = {
      {"libtlsrpt-two-policies.dgram", {false, false}, {0, 0}},
      {"libtlsrpt-two-failure-details.dgram", {true}, {2}},
      {"libtlsrpt-failure-without-details.dgram", {true}, {0}},
      {"libtlsrpt-success-no-policy-found.dgram", {false}, {0}},
      {"libtlsrpt-no-policy-found-failure.dgram", {true}, {1}},
      {"pf311-stub-tempfail-301-sts-policy-fetch-error.dgram", {true}, {1}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.fixture);
    const auto got = sessionsOfFixture(c.fixture);
    REQUIRE(got.sessions.size() == c.failed.size());
    for (std::size_t i = 0; i < c.failed.size(); ++i) {
      CHECK(got.sessions[i].failed == c.failed[i]);
      CHECK(got.sessions[i].failure_details.size() == c.rows[i]);
    }
  }
  const auto two = sessionsOfFixture("libtlsrpt-two-policies.dgram");
  CHECK(two.sessions[0].policy.type == PolicyType::Tlsa);
  CHECK(two.sessions[1].policy.type == PolicyType::Sts);
}

TEST_CASE("sessionsOf follows f and the failure-details entries, never t") {
  Datagram d;
  d.domain = "x.test";
  d.tlsrpt_record = "v=TLSRPTv1; rua=mailto:r@x.test";
  DatagramPolicy p;
  p.policy = PolicyDescriptor{PolicyType::Sts, "x.test", {}, {}};
  p.failure_count = 7;  // t says 7, one detail was sent: one row
  p.failed = true;
  p.failure_details.push_back({R::StarttlsNotSupported, "192.0.2.1", "mx.x.test", "250 MX.X.TEST", "192.0.2.2", "a", "f"});
  d.policies.push_back(p);
  p.failed = false;  // f = 0 with a detail: a success, and the row still counts (as sys4 does)
  p.failure_count = 0;
  d.policies.push_back(p);
  const auto got = sessionsOf(d);
  REQUIRE(got.sessions.size() == 2);
  CHECK(got.sessions[0].failed);
  CHECK_FALSE(got.sessions[1].failed);
  const FailureDetail row{R::StarttlsNotSupported, "192.0.2.1", "mx.x.test", "mx.x.test", "192.0.2.2", "a", "f"};
  CHECK(got.sessions[0].failure_details == std::vector<FailureDetail>{row});
  CHECK(got.sessions[1].failure_details == std::vector<FailureDetail>{row});
}

TEST_CASE("a policy without policy-domain is reported under the datagram's domain") {
  const auto got = sessionsOfFixture("libtlsrpt-missing-optional-fields.dgram");
  REQUIRE(got.sessions.size() == 1);
  CHECK(got.sessions[0].policy.domain == "minimal.example");
  const auto nopol = sessionsOfFixture("libtlsrpt-no-policy-found-failure.dgram");
  CHECK(nopol.sessions[0].policy.domain == "nopol.example");
  CHECK(nopol.sessions[0].policy.type == PolicyType::NoPolicyFound);
}

TEST_CASE("an EHLO reply that names nothing valid leaves receiving-mx-helo unknown") {
  const auto got = sessionsOfFixture("libtlsrpt-json-escapes.dgram");
  CHECK(got.sessions[0].failure_details[0].receiving_mx_helo.empty());
  const auto named = sessionsOfFixture("libtlsrpt-202-certificate-host-mismatch.dgram");
  CHECK(named.sessions[0].failure_details[0].receiving_mx_helo == "mx1.f202.example");
}

// ---------------------------------------------------------------------------------------
// Row by row against sys4: the day aggregate of our sessions equals reportd's report for
// each domain. sys4 copies "h" into receiving-mx-helo verbatim and leaves policy-domain out
// when the datagram has none; those two fields are compared through our rules.

namespace {

struct Counts {
  long successful = 0;
  long failed = 0;
  std::map<FailureDetail, long> rows;
  bool operator==(const Counts&) const = default;
};
using Aggregate = std::map<PolicyDescriptor, Counts>;

void add(Aggregate& agg, const DatagramSessions& ds) {
  for (const auto& s : ds.sessions) {
    Counts& c = agg[s.policy];
    (s.failed ? c.failed : c.successful) += 1;
    for (const auto& row : s.failure_details) c.rows[row] += 1;
  }
}

std::string str(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? j.at(key).get<std::string>() : std::string();
}

Aggregate fromReport(const nlohmann::json& report, const std::string& domain) {
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

}  // namespace

TEST_CASE("the sessions of the fixture datagrams add up to sys4's reports, row by row") {
  // What reportd was fed (fixtures README): every libtlsrpt-* datagram once (it dropped the
  // invalid-UTF-8 one), and thirteen Postfix datagrams, pf311-good-success twice.
  std::map<std::string, Aggregate> ours;
  for (const auto& e : std::filesystem::directory_iterator(MTASTS_TLSRPT_FIXTURES)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("libtlsrpt-", 0) == 0 && e.path().extension() == ".dgram" &&
        name != "libtlsrpt-invalid-utf8.dgram") {
      const auto ds = sessionsOfFixture(name);
      add(ours["libtlsrpt-" + ds.report_domain], ds);
    }
  }
  for (const char* name :
       {"pf311-good-success.dgram", "pf311-good-success.dgram", "pf311-bad-202-certificate-host-mismatch.dgram",
        "pf311-untrusted-205-validation-failure.dgram", "pf311-unknownca-205-validation-failure.dgram",
        "pf311-expired-204-certificate-expired.dgram", "pf311-nostarttls-201-starttls-not-supported.dgram",
        "pf311-nosts-success-no-policy-found.dgram", "pf311-tempfail-success-no-policy-found.dgram",
        "pf311-wildok-success.dgram", "pf311-twomx-success.dgram", "pf311-noenforce-wild-success.dgram",
        "pf311-stub-pfail-303-sts-webpki-invalid.dgram"}) {
    const auto ds = sessionsOfFixture(name);
    add(ours["pf311-" + ds.report_domain], ds);
  }

  std::size_t reports = 0;
  for (const auto& e : std::filesystem::directory_iterator(MTASTS_TLSRPT_FIXTURES)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("reportd-", 0) != 0 || e.path().extension() != ".json") continue;
    CAPTURE(name);
    const std::string key = name.substr(8, name.size() - 8 - 5);  // libtlsrpt-<d> / pf311-<d>
    const std::string domain = key.substr(key.find('-') + 1);
    const auto report = nlohmann::json::parse(readFixture(name));
    const auto it = ours.find(key);
    REQUIRE_MESSAGE(it != ours.end(), "no datagram counted for " << key);
    CHECK(it->second == fromReport(report, domain));
    ++reports;
  }
  CHECK(reports == ours.size());
  CHECK(reports == 31);
}
