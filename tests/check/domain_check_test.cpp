// --check-domain's pure half: the finding builders and the verdict over made-up DomainFacts
// (a correct domain, then one mistake at a time), and the gatherer over fake DNS, HTTPS and
// TLS probes. No network, no clock: `now` is a constant.
#include "check/domain_check.hpp"
#include "check/domain_check_gather.hpp"
#include "tests/fakes/fake_network.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace mtasts;
using namespace mtasts::check;

namespace {

constexpr UnixSeconds Now = 1'800'000'000;  // 2027-01-15T08:00:00Z
constexpr std::int64_t Day = 86'400;
const std::string Url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
const std::string GoodPolicy = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmx: *.backup.example.com\nmax_age: 604800\n";

net::TxtAnswer txt(std::vector<std::vector<std::string>> records) {
  net::TxtAnswer a;
  a.status = records.empty() ? net::DnsStatus::NoRecord : net::DnsStatus::Ok;
  a.records = std::move(records);
  return a;
}

net::AddressAnswer addresses(std::vector<std::string> list) {
  net::AddressAnswer a;
  a.status = net::DnsStatus::Ok;
  a.addresses = std::move(list);
  return a;
}

net::TlsProbeResult tlsOk(const std::string& host, std::int64_t days_left = 90) {
  net::TlsProbeResult r;
  r.outcome = net::TlsProbeOutcome::TlsEstablished;
  r.stage = net::TlsProbeStage::Done;
  r.tls.version = "TLSv1.3";
  r.tls.certificate.present = true;
  r.tls.certificate.dns_names = {host};
  r.tls.certificate.subject_cn = host;
  r.tls.certificate.name_matches = true;
  r.tls.certificate.not_before = Now - 10 * Day;
  r.tls.certificate.not_after = Now + days_left * Day + 3600;
  return r;
}

net::HttpsResult response(int status, net::HttpHeaders headers, std::string body) {
  net::HttpsResult r;
  r.response.status = status;
  r.response.headers = std::move(headers);
  r.response.body = std::move(body);
  return r;
}

DomainFacts goodFacts() {
  DomainFacts f;
  f.domain = "example.com";
  f.sts_txt = txt({{"v=STSv1; id=2024", "0101"}});
  f.policy_host = addresses({"192.0.2.10"});
  f.policy_host_tls = {{"192.0.2.10", tlsOk("mta-sts.example.com")}};
  f.fetch = response(200, {{"content-type", "text/plain; charset=utf-8"}}, GoodPolicy);
  f.mx.status = net::DnsStatus::Ok;
  f.mx.records = {{10, "mx.example.com"}, {20, "mx1.backup.example.com"}};
  f.mx_hosts = {{10, "mx.example.com", addresses({"192.0.2.25"}), {{"192.0.2.25", tlsOk("mx.example.com")}}},
                {20, "mx1.backup.example.com", addresses({"192.0.2.26"}),
                 {{"192.0.2.26", tlsOk("mx1.backup.example.com")}}}};
  f.tlsrpt_txt = txt({{"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"}});
  return f;
}

// Element by element, so that a failure shows the two lines (doctest cannot print vectors).
void checkLines(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    CAPTURE(i);
    CHECK((i < got.size() ? got[i] : "(missing)") == (i < want.size() ? want[i] : "(none)"));
  }
}

// "severity check subject: message" per finding, for whole-list comparisons.
std::vector<std::string> lines(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    out.push_back(std::string(severityName(f.severity)) + " " + f.check + " " + f.subject + ": " + f.message);
  }
  return out;
}

const Finding* find(const std::vector<Finding>& findings, const std::string& check) {
  for (const auto& f : findings) {
    if (f.check == check) return &f;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a correct domain gets only ok findings and is ready for enforce") {
  const DomainFacts f = goodFacts();
  const auto findings = checkDomainFindings(f, Now);
  const std::vector<std::string> want = {
      "ok sts.txt _mta-sts.example.com: v=STSv1 record, id=20240101",
      "ok sts.host mta-sts.example.com: addresses 192.0.2.10",
      "ok sts.tls mta-sts.example.com[192.0.2.10]: TLSv1.3",
      "ok sts.cert.name mta-sts.example.com[192.0.2.10]: certificate valid for mta-sts.example.com",
      "ok sts.cert.trust mta-sts.example.com[192.0.2.10]: chains to a trusted root",
      "ok sts.cert.expiry mta-sts.example.com[192.0.2.10]: certificate expires in 90 days (2027-04-15)",
      "ok sts.fetch " + Url + ": status 200, text/plain; charset=utf-8, 89 bytes",
      "ok sts.policy " + Url + ": valid policy: mode enforce, max_age 604800, mx mx.example.com, *.backup.example.com",
      "ok sts.mode " + Url + ": mode enforce: senders deliver only over verified TLS to the listed MX hosts",
      "ok sts.max_age " + Url + ": max_age 604800 (7 days)",
      "ok mx.dns example.com: 2 MX records: 10 mx.example.com, 20 mx1.backup.example.com",
      "ok mx.match mx.example.com: matched by the policy's mx: mx.example.com",
      "ok smtp.starttls mx.example.com[192.0.2.25]: STARTTLS offered",
      "ok smtp.tls mx.example.com[192.0.2.25]: TLSv1.3",
      "ok smtp.cert.name mx.example.com[192.0.2.25]: certificate valid for mx.example.com",
      "ok smtp.cert.trust mx.example.com[192.0.2.25]: chains to a trusted root",
      "ok smtp.cert.expiry mx.example.com[192.0.2.25]: certificate expires in 90 days (2027-04-15)",
      "ok mx.match mx1.backup.example.com: matched by the policy's mx: *.backup.example.com",
      "ok smtp.starttls mx1.backup.example.com[192.0.2.26]: STARTTLS offered",
      "ok smtp.tls mx1.backup.example.com[192.0.2.26]: TLSv1.3",
      "ok smtp.cert.name mx1.backup.example.com[192.0.2.26]: certificate valid for mx1.backup.example.com",
      "ok smtp.cert.trust mx1.backup.example.com[192.0.2.26]: chains to a trusted root",
      "ok smtp.cert.expiry mx1.backup.example.com[192.0.2.26]: certificate expires in 90 days (2027-04-15)",
      "ok tlsrpt.txt _smtp._tls.example.com: v=TLSRPTv1 record",
      "ok tlsrpt.rua _smtp._tls.example.com: reports go to mailto:tlsrpt@example.com",
  };
  checkLines(lines(findings), want);
  for (const auto& finding : findings) CHECK(finding.fix.empty());
  const Verdict v = checkDomainVerdict(f, findings);
  CHECK(v.readiness == Readiness::ReadyForEnforce);
  CHECK(v.exitCode() == 0);
  CHECK(v.summary == "ready for enforce: the policy is enforced and every check passed");
}

TEST_CASE("the _mta-sts record: none, several, discarded, invalid, lookup failure") {
  struct Case {
    const char* name;
    net::TxtAnswer answer;
    std::string want_message;
  };
  net::TxtAnswer failed;
  failed.status = net::DnsStatus::Failed;
  failed.detail = "SERVFAIL";
  const Case cases[] = {
      {"no record", txt({}), "no TXT record: senders see no MTA-STS policy"},
      {"only other TXT records", txt({{"v=spf1 -all"}}),
       "no v=STSv1 record among 1 TXT record(s): senders see no MTA-STS policy"},
      {"two records", txt({{"v=STSv1; id=1"}, {"v=STSv1; id=2"}}),
       "2 v=STSv1 records: senders ignore them all (RFC 8461 3.1)"},
      {"no semicolon after the version", txt({{"v=STSv1 id=1"}}),
       "\"v=STSv1 id=1\" is discarded by senders: v=STSv1 must be followed by ';'"},
      {"an id with a dash", txt({{"v=STSv1; id=2024-01-01"}}), "invalid record: "},
      {"lookup failure", failed, "TXT lookup failed (SERVFAIL): senders cannot tell whether there is a policy"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DomainFacts f = goodFacts();
    f.sts_txt = c.answer;
    const auto findings = stsRecordFindings(f);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].severity == Severity::Error);
    CHECK(findings[0].check == "sts.txt");
    CHECK(findings[0].message.rfind(c.want_message, 0) == 0);
    CHECK_FALSE(findings[0].fix.empty());
    CHECK(checkDomainVerdict(f, checkDomainFindings(f, Now)).readiness == Readiness::NotReady);
  }
}

TEST_CASE("the how-to's mode: test is refused with its line and a fix that names the value") {
  DomainFacts f = goodFacts();
  f.fetch->response.body = "version: STSv1\nmode: test\nmx: mx.example.com\nmax_age: 604800\n";
  const auto findings = policyFindings(f);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].severity == Severity::Error);
  CHECK(findings[0].check == "sts.policy");
  CHECK(findings[0].message == "mode must be enforce, testing or none (line 2)");
  CHECK(findings[0].fix == "write \"mode: testing\" (or enforce, or none; lower case) instead of \"test\"");
  CHECK_FALSE(fetchedPolicy(f).has_value());
  const auto all = checkDomainFindings(f, Now);
  CHECK(find(all, "mx.match") == nullptr);  // no policy, nothing to match against
  CHECK(checkDomainVerdict(f, all).exitCode() == 2);
}

TEST_CASE("policy problems: each with its line or field, each with a fix") {
  struct Case {
    const char* name;
    std::string body;
    std::string want_message;
  };
  const Case cases[] = {
      {"missing mx", "version: STSv1\nmode: enforce\nmax_age: 86400\n", "no mx line in mode enforce"},
      {"space before the colon", "version: STSv1\nmode : enforce\nmx: a.example\nmax_age: 1\n",
       "whitespace before ':' (line 2)"},
      {"an IP as mx", "version: STSv1\nmode: enforce\nmx: 192.0.2.1\nmax_age: 1\n",
       "mx: invalid pattern \"192.0.2.1\" (want a hostname in A-label form or \"*.\" + hostname, not an IP address) "
       "(line 3)"},
      {"a blank line at the end", GoodPolicy + "\n", "empty line (line 6)"},
      {"max_age in days", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 7d\n",
       "max_age: not a decimal number \"7d\" (line 4)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DomainFacts f = goodFacts();
    f.fetch->response.body = c.body;
    const auto findings = policyFindings(f);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].severity == Severity::Error);
    CHECK(findings[0].message == c.want_message);
    CHECK_FALSE(findings[0].fix.empty());
  }
}

TEST_CASE("mode and max_age: testing and none are warnings; a short enforce max_age and one over the cap too") {
  struct Case {
    const char* name;
    std::string body;
    std::string check;
    Severity want;
    std::string want_message;
  };
  const Case cases[] = {
      {"testing", "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n", "sts.mode", Severity::Warning,
       "mode testing: failures are only reported, mail is delivered anyway"},
      {"none", "version: STSv1\nmode: none\nmax_age: 86400\n", "sts.mode", Severity::Warning,
       "mode none: senders treat the domain as having no policy"},
      {"an hour under enforce", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 3600\n", "sts.max_age",
       Severity::Warning,
       "max_age 3600 is under one day: a policy that lapses this fast protects little against an attacker who "
       "blocks the refresh"},
      {"an hour under testing is fine", "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 3600\n",
       "sts.max_age", Severity::Ok, "max_age 3600 (1 hour)"},
      {"over a year", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 99999999\n", "sts.max_age",
       Severity::Warning, "max_age 99999999 is over the cap of 31557600 s (one year): senders use 31557600"},
      {"exactly the cap", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 31557600\n", "sts.max_age",
       Severity::Ok, "max_age 31557600 (365 days 6 hours)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DomainFacts f = goodFacts();
    f.fetch->response.body = c.body;
    const auto findings = policyFindings(f);
    const Finding* got = find(findings, c.check);
    REQUIRE(got != nullptr);
    CHECK(got->severity == c.want);
    CHECK(got->message == c.want_message);
    CHECK(got->fix.empty() == (c.want == Severity::Ok));
  }
}

TEST_CASE("the fetch: redirects, statuses, media types and transport failures are errors with a fix") {
  struct Case {
    const char* name;
    net::HttpsResult result;
    std::string want_message;
  };
  net::HttpsResult cert_error;
  cert_error.error = net::HttpsError{net::HttpsErrorKind::TlsCertificate, "certificate has expired (192.0.2.10)"};
  net::HttpsResult too_large;
  too_large.error = net::HttpsError{net::HttpsErrorKind::TooLarge, "body over 65536 bytes"};
  const Case cases[] = {
      {"redirect", response(301, {{"location", "https://www.example.com/mta-sts.txt"}}, ""),
       "answers 301 redirect to https://www.example.com/mta-sts.txt: senders never follow redirects (RFC 8461 3.3)"},
      {"redirect without Location", response(302, {}, ""),
       "answers 302 redirect: senders never follow redirects (RFC 8461 3.3)"},
      {"not found", response(404, {{"content-type", "text/html"}}, ""), "answers HTTP status 404"},
      {"HTML", response(200, {{"content-type", "text/html"}}, GoodPolicy),
       "Content-Type is text/html, not text/plain: senders refuse it"},
      {"no media type", response(200, {}, GoodPolicy), "no Content-Type: senders want text/plain"},
      {"expired certificate", cert_error, "refused, certificate: certificate has expired (192.0.2.10)"},
      {"too large", too_large, "the response is too large: body over 65536 bytes"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DomainFacts f = goodFacts();
    f.fetch = c.result;
    const auto findings = policyHostFindings(f, Now);
    const Finding* got = find(findings, "sts.fetch");
    REQUIRE(got != nullptr);
    CHECK(got->severity == Severity::Error);
    CHECK(got->message == c.want_message);
    CHECK_FALSE(got->fix.empty());
    CHECK(policyFindings(f).empty());  // no policy document, nothing to parse
    CHECK(checkDomainVerdict(f, checkDomainFindings(f, Now)).readiness == Readiness::NotReady);
  }
}

TEST_CASE("certificates: name, trust and expiry, each its own finding") {
  const std::string host = "mx.example.com";
  auto cert = [&] { return tlsOk(host).tls.certificate; };
  struct Case {
    const char* name;
    net::CertificateFacts cert;
    std::string check;
    Severity want;
    std::string want_message;
  };
  std::vector<Case> cases;
  {
    auto c = cert();
    c.name_matches = false;
    c.dns_names = {"mail.other.example", "*.other.example"};
    cases.push_back({"another name", c, "smtp.cert.name", Severity::Error,
                     "certificate not valid for mx.example.com (its names: mail.other.example, *.other.example)"});
  }
  {
    auto c = cert();
    c.name_matches = false;
    c.dns_names.clear();
    cases.push_back({"the name only in the CN", c, "smtp.cert.name", Severity::Error,
                     "certificate not valid for mx.example.com (mx.example.com is only its subject CN, without a "
                     "subjectAltName; senders want a DNS-ID (RFC 6125))"});
  }
  {
    auto c = cert();
    c.chain_problems = {"self-signed certificate (depth 0)"};
    cases.push_back({"self-signed", c, "smtp.cert.trust", Severity::Error,
                     "not trusted: self-signed certificate (depth 0)"});
  }
  {
    auto c = cert();
    c.not_after = Now - 3 * Day - 10;
    cases.push_back({"expired", c, "smtp.cert.expiry", Severity::Error, "certificate expired 3 days ago (2027-01-12)"});
  }
  {
    auto c = cert();
    c.not_after = Now - 10;
    cases.push_back({"expired just now", c, "smtp.cert.expiry", Severity::Error,
                     "certificate expired less than a day ago (2027-01-15)"});
  }
  {
    auto c = cert();
    c.not_before = Now + Day;
    cases.push_back({"not yet valid", c, "smtp.cert.expiry", Severity::Error,
                     "certificate not valid before 2027-01-16"});
  }
  {
    auto c = cert();
    c.not_after = Now + 13 * Day + 100;
    cases.push_back({"13 days left", c, "smtp.cert.expiry", Severity::Warning,
                     "certificate expires in 13 days (2027-01-28)"});
  }
  {
    auto c = cert();
    c.not_after = Now + 14 * Day + 100;
    cases.push_back({"14 days left", c, "smtp.cert.expiry", Severity::Ok, "certificate expires in 14 days (2027-01-29)"});
  }
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto findings = certificateFindings("smtp.cert", "mx.example.com[192.0.2.25]", host, c.cert, Now,
                                              Severity::Error, true);
    REQUIRE(findings.size() == 3);
    const Finding* got = find(findings, c.check);
    REQUIRE(got != nullptr);
    CHECK(got->severity == c.want);
    CHECK(got->message == c.want_message);
    // A certificate that expires soon still works: a warning that does not block enforce.
    CHECK(got->blocks_enforce == (c.want == Severity::Error));
  }
}

TEST_CASE("an MX no mx pattern covers is an error under enforce and a warning under testing") {
  for (const bool enforce : {true, false}) {
    CAPTURE(enforce);
    DomainFacts f = goodFacts();
    f.fetch->response.body = std::string("version: STSv1\nmode: ") + (enforce ? "enforce" : "testing") +
                             "\nmx: mx.example.com\nmx: *.example.com\nmax_age: 604800\n";
    // *.example.com covers one label only: not mx1.backup.example.com.
    const auto findings = checkDomainFindings(f, Now);
    std::vector<const Finding*> matches;
    for (const auto& x : findings) {
      if (x.check == "mx.match") matches.push_back(&x);
    }
    REQUIRE(matches.size() == 2);
    CHECK(matches[0]->severity == Severity::Ok);
    CHECK(matches[0]->message == "matched by the policy's mx: mx.example.com");
    CHECK(matches[1]->subject == "mx1.backup.example.com");
    CHECK(matches[1]->severity == (enforce ? Severity::Error : Severity::Warning));
    CHECK(matches[1]->blocks_enforce);
    CHECK(matches[1]->message == (enforce ? "no mx pattern of the policy matches: senders that enforce defer its mail"
                                          : "no mx pattern of the policy matches: under enforce its mail would be "
                                            "deferred"));
    CHECK(matches[1]->fix == "add \"mx: mx1.backup.example.com\" to the policy and change the id of "
                             "_mta-sts.example.com (or remove this MX record)");
    const Verdict v = checkDomainVerdict(f, findings);
    CHECK(v.readiness == Readiness::TestingOnly);
    CHECK(v.summary == (enforce ? "testing only: with mode enforce published, senders defer mail now (1 finding(s) "
                                  "above); go back to mode: testing until they are fixed"
                                : "testing only: 1 finding(s) above would defer mail under enforce; keep mode: "
                                  "testing until they are fixed"));
  }
}

TEST_CASE("SMTP probes: no STARTTLS blocks enforce, an unreachable port is an error of its own") {
  struct Case {
    const char* name;
    net::TlsProbeResult result;
    std::string check;
    std::string want_message;
    bool want_blocks;
  };
  net::TlsProbeResult no_tls;
  no_tls.outcome = net::TlsProbeOutcome::NoStartTls;
  no_tls.stage = net::TlsProbeStage::Done;
  net::TlsProbeResult refused;
  refused.stage = net::TlsProbeStage::Connect;
  refused.detail = "connect failed: Connection refused";
  net::TlsProbeResult greeting;
  greeting.stage = net::TlsProbeStage::Greeting;
  greeting.detail = "greeting 554 go away";
  net::TlsProbeResult handshake;
  handshake.stage = net::TlsProbeStage::Handshake;
  handshake.detail = "TLS handshake failed: wrong version number";
  net::TlsProbeResult old = tlsOk("mx.example.com");
  old.tls.version = "TLSv1";
  const Case cases[] = {
      {"no STARTTLS", no_tls, "smtp.starttls", "STARTTLS not offered: senders that enforce defer mail to it", true},
      {"port closed", refused, "smtp.connect", "cannot connect to port 25: connect failed: Connection refused", false},
      {"greeting refused", greeting, "smtp.session", "greeting 554 go away", false},
      {"handshake failed", handshake, "smtp.tls", "TLS handshake failed: wrong version number", true},
      {"TLS 1.0", old, "smtp.tls", "TLSv1 negotiated: senders that require TLS 1.2 or newer fail", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DomainFacts f = goodFacts();
    f.mx_hosts[0].probes[0].result = c.result;
    const auto findings = mxFindings(f, fetchedPolicy(f), Now);
    const Finding* got = find(findings, c.check);
    REQUIRE(got != nullptr);
    CHECK(got->subject == "mx.example.com[192.0.2.25]");
    CHECK(got->message == c.want_message);
    CHECK(got->blocks_enforce == c.want_blocks);
    CHECK(got->severity == (c.check == "smtp.tls" && !c.want_blocks ? Severity::Warning : Severity::Error));
    CHECK_FALSE(got->fix.empty());
    const Verdict v = checkDomainVerdict(f, checkDomainFindings(f, Now));
    CHECK(v.readiness == (got->severity == Severity::Warning ? Readiness::ReadyForEnforce : Readiness::TestingOnly));
  }
}

TEST_CASE("MX records: a failed lookup, an implicit MX, a null MX, an MX host without address") {
  SUBCASE("a failed MX lookup leaves senders nowhere to go: not ready") {
    DomainFacts f = goodFacts();
    f.mx = {};
    f.mx.status = net::DnsStatus::Failed;
    f.mx.detail = "SERVFAIL";
    f.mx_hosts.clear();
    const auto findings = checkDomainFindings(f, Now);
    CHECK(find(findings, "mx.dns")->message == "MX lookup failed (SERVFAIL)");
    CHECK(checkDomainVerdict(f, findings).readiness == Readiness::NotReady);
  }
  SUBCASE("a null MX") {
    DomainFacts f = goodFacts();
    f.mx.records = {{0, ""}};
    f.mx_hosts.clear();
    const auto findings = mxFindings(f, fetchedPolicy(f), Now);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].severity == Severity::Error);
    CHECK(findings[0].message == "null MX (RFC 7505): the domain receives no mail");
  }
  SUBCASE("no MX: the domain itself must match") {
    DomainFacts f = goodFacts();
    f.mx = {};
    f.mx.status = net::DnsStatus::NoRecord;
    f.mx_hosts = {{0, "example.com", addresses({"192.0.2.1"}), {{"192.0.2.1", tlsOk("example.com")}}}};
    const auto findings = mxFindings(f, fetchedPolicy(f), Now);
    CHECK(findings[0].severity == Severity::Warning);
    CHECK(findings[1].check == "mx.match");
    CHECK(findings[1].severity == Severity::Error);  // neither pattern matches example.com itself
  }
  SUBCASE("an MX host without an address") {
    DomainFacts f = goodFacts();
    f.mx_hosts[1].addresses = {};
    f.mx_hosts[1].addresses.status = net::DnsStatus::NoRecord;
    f.mx_hosts[1].probes.clear();
    const auto findings = mxFindings(f, fetchedPolicy(f), Now);
    const Finding* got = find(findings, "mx.host");
    REQUIRE(got != nullptr);
    CHECK(got->message == "no A or AAAA record: no mail reaches this MX");
    CHECK(checkDomainVerdict(f, checkDomainFindings(f, Now)).readiness == Readiness::TestingOnly);
  }
  SUBCASE("--no-smtp: matches only, and the verdict says what was not looked at") {
    DomainFacts f = goodFacts();
    f.smtp_checked = false;
    const auto findings = mxFindings(f, fetchedPolicy(f), Now);
    checkLines(lines(findings), std::vector<std::string>{
                                 "ok mx.dns example.com: 2 MX records: 10 mx.example.com, 20 mx1.backup.example.com",
                                 "ok mx.match mx.example.com: matched by the policy's mx: mx.example.com",
                                 "ok mx.match mx1.backup.example.com: matched by the policy's mx: *.backup.example.com"});
    CHECK(checkDomainVerdict(f, checkDomainFindings(f, Now)).summary ==
          "ready for enforce: the policy is enforced and every check passed (MX hosts not probed: --no-smtp)");
  }
}

TEST_CASE("the _smtp._tls record: none is a warning, two or a broken one an error, rua entries each") {
  struct Case {
    const char* name;
    net::TxtAnswer answer;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"none", txt({}),
       {"warning tlsrpt.txt _smtp._tls.example.com: no TLSRPT record: nobody reports failed TLS deliveries to you"}},
      {"two", txt({{"v=TLSRPTv1; rua=mailto:a@example.com"}, {"v=TLSRPTv1; rua=mailto:b@example.com"}}),
       {"error tlsrpt.txt _smtp._tls.example.com: 2 v=TLSRPTv1 records: reporters send no report at all (RFC 8460 3)"}},
      {"no usable rua", txt({{"v=TLSRPTv1; rua=ftp://example.com/x"}}),
       {"error tlsrpt.txt _smtp._tls.example.com: invalid record: "}},
      {"two destinations and an unknown scheme",
       txt({{"v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/tlsrpt,ftp://x.example/"}}),
       {"ok tlsrpt.txt _smtp._tls.example.com: v=TLSRPTv1 record",
        "ok tlsrpt.rua _smtp._tls.example.com: reports go to mailto:a@example.com",
        "ok tlsrpt.rua _smtp._tls.example.com: reports go to https://r.example.com/tlsrpt",
        "warning tlsrpt.rua _smtp._tls.example.com: rua entry not used: "}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    DomainFacts f = goodFacts();
    f.tlsrpt_txt = c.answer;
    const auto got = lines(tlsRptFindings(f));
    REQUIRE(got.size() == c.want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(got[i]);
      CHECK(got[i].rfind(c.want[i], 0) == 0);  // prefixes: the parser's reasons are its own
    }
  }
  DomainFacts missing = goodFacts();
  missing.tlsrpt_txt = txt({});
  CHECK(checkDomainVerdict(missing, checkDomainFindings(missing, Now)).readiness == Readiness::ReadyForEnforce);
  DomainFacts doubled = goodFacts();
  doubled.tlsrpt_txt = txt({{"v=TLSRPTv1; rua=mailto:a@example.com"}, {"v=TLSRPTv1; rua=mailto:b@example.com"}});
  const Verdict v = checkDomainVerdict(doubled, checkDomainFindings(doubled, Now));
  CHECK(v.readiness == Readiness::TestingOnly);
  CHECK(v.summary == "testing only: fix the 1 error(s) above before mode: enforce");
}

TEST_CASE("the text report aligns the columns and puts each fix under its finding; JSON carries the same") {
  DomainFacts f = goodFacts();
  f.tlsrpt_txt = txt({});
  f.smtp_checked = false;
  f.mx_hosts.resize(1);
  const auto findings = checkDomainFindings(f, Now);
  const Verdict v = checkDomainVerdict(f, findings);
  const std::string text = formatCheckDomainText(f, findings, v);
  CHECK(text.rfind("checking example.com (MX hosts not probed: --no-smtp)\n", 0) == 0);
  CHECK(text.find("ok      sts.txt          _mta-sts.example.com: v=STSv1 record, id=20240101\n") != std::string::npos);
  CHECK(text.find("warning tlsrpt.txt       _smtp._tls.example.com: no TLSRPT record: nobody reports failed TLS "
                  "deliveries to you\n                         fix: publish one TXT record _smtp._tls.example.com "
                  "\"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\"\n") != std::string::npos);
  CHECK(text.find("result: ready for enforce: the policy is enforced and every check passed (MX hosts not probed: "
                  "--no-smtp) (exit 0)\n") != std::string::npos);
  const std::string json = formatCheckDomainJson(f, findings, v, Now);
  CHECK(json.find("\"checked_at\": \"2027-01-15T08:00:00Z\"") != std::string::npos);
  CHECK(json.find("\"check\": \"tlsrpt.txt\"") != std::string::npos);
  CHECK(json.find("\"severity\": \"warning\"") != std::string::npos);
  CHECK(json.find("\"verdict\": \"ready for enforce\"") != std::string::npos);
  CHECK(json.find("\"exit_code\": 0") != std::string::npos);
  CHECK(json.find("\"smtp_checked\": false") != std::string::npos);
}

// ----- the gatherer, over fakes -----

namespace {

class FakeTlsProber final : public net::TlsProber {
 public:
  explicit FakeTlsProber(testing::FakeQueue& q) : queue_(q) {}
  std::vector<net::TlsProbeRequest> requests;
  std::map<std::string, net::TlsProbeResult> results;  // by "host address"

  RequestHandle probe(net::TlsProbeRequest request, Callback done) override {
    requests.push_back(request);
    net::TlsProbeResult r;
    r.detail = "connect failed: Connection refused";
    if (auto it = results.find(request.host + " " + request.address); it != results.end()) r = it->second;
    return queue_.push([done = std::move(done), r]() mutable { done(std::move(r)); });
  }

 private:
  testing::FakeQueue& queue_;
};

struct GatherWorld {
  testing::FakeQueue queue;
  testing::FakeDnsClient dns{queue};
  testing::FakeHttpsClient https{queue};
  FakeTlsProber prober{queue};

  DomainFacts run(DomainCheckOptions options) {
    DomainCheckGather gather(dns, https, prober, std::move(options));
    std::optional<DomainFacts> got;
    gather.start([&](DomainFacts f) { got = std::move(f); });
    CHECK_FALSE(got.has_value());
    queue.deliver();
    REQUIRE(got.has_value());
    return std::move(*got);
  }
};

DomainCheckOptions options(bool smtp = true) {
  DomainCheckOptions o;
  o.domain = "example.com";
  o.smtp = smtp;
  o.smtp_port = 2525;
  o.ehlo_name = "checker.example.org";
  return o;
}

}  // namespace

TEST_CASE("the gatherer asks for everything, probes each address and fetches the policy like a sender") {
  GatherWorld w;
  w.dns.setTxt("_mta-sts.example.com", {{"v=STSv1; id=1"}});
  w.dns.setTxt("_smtp._tls.example.com", {{"v=TLSRPTv1; rua=mailto:r@example.com"}});
  w.dns.addresses["mta-sts.example.com"] = addresses({"192.0.2.11", "192.0.2.10"});
  w.dns.setMx("example.com", {{20, "mx2.example.com"}, {10, "mx.example.com"}, {30, "mx.example.com"}});
  w.dns.addresses["mx.example.com"] = addresses({"2001:db8::25", "192.0.2.25", "192.0.2.26", "192.0.2.27", "192.0.2.28"});
  w.https.setBody("mta-sts.example.com", GoodPolicy);
  w.prober.results["mx.example.com 192.0.2.25"] = tlsOk("mx.example.com");

  const DomainFacts f = w.run(options());
  CHECK(f.sts_txt.records.size() == 1);
  CHECK(f.tlsrpt_txt.records.size() == 1);
  REQUIRE(f.policy_host_tls.size() == 2);
  CHECK(f.policy_host_tls[0].address == "192.0.2.10");  // sorted
  REQUIRE(f.fetch.has_value());
  CHECK(f.fetch->response.body == GoodPolicy);
  REQUIRE(w.https.requests.size() == 1);
  CHECK(w.https.requests[0].host == "mta-sts.example.com");
  CHECK(w.https.requests[0].path == "/.well-known/mta-sts.txt");
  CHECK(w.https.requests[0].addresses == std::vector<std::string>{"192.0.2.10", "192.0.2.11"});
  // MX hosts by preference, each once; the second has no address.
  REQUIRE(f.mx_hosts.size() == 2);
  CHECK(f.mx_hosts[0].host == "mx.example.com");
  CHECK(f.mx_hosts[1].host == "mx2.example.com");
  CHECK(f.mx_hosts[1].addresses.status == net::DnsStatus::NoRecord);
  // At most MaxProbedAddresses per host, in a stable order.
  REQUIRE(f.mx_hosts[0].probes.size() == MaxProbedAddresses);
  CHECK(f.mx_hosts[0].probes[0].address == "192.0.2.25");
  CHECK(f.mx_hosts[0].probes[0].result.outcome == net::TlsProbeOutcome::TlsEstablished);
  CHECK(f.mx_hosts[0].probes[1].result.outcome == net::TlsProbeOutcome::Failed);
  // Two direct TLS probes of the policy host, four SMTP probes on the configured port.
  REQUIRE(w.prober.requests.size() == 6);
  CHECK(w.prober.requests[0].mode == net::TlsProbeMode::DirectTls);
  CHECK(w.prober.requests[0].port == 443);
  CHECK(w.prober.requests[2].mode == net::TlsProbeMode::SmtpStartTls);
  CHECK(w.prober.requests[2].port == 2525);
  CHECK(w.prober.requests[2].ehlo_name == "checker.example.org");
  CHECK(w.prober.requests[2].host == "mx.example.com");
}

TEST_CASE("the gatherer: --no-smtp looks no MX host up; no MX record means the domain itself") {
  GatherWorld w;
  w.dns.addresses["example.com"] = addresses({"192.0.2.1"});
  SUBCASE("no SMTP") {
    w.dns.setMx("example.com", {{10, "mx.example.com"}});
    const DomainFacts f = w.run(options(false));
    CHECK_FALSE(f.smtp_checked);
    REQUIRE(f.mx_hosts.size() == 1);
    CHECK(w.dns.queries.count("A mx.example.com") == 0);
    CHECK(w.prober.requests.empty());
    CHECK_FALSE(f.fetch.has_value());  // mta-sts.example.com has no address: nothing to fetch
  }
  SUBCASE("implicit MX") {
    const DomainFacts f = w.run(options());
    REQUIRE(f.mx_hosts.size() == 1);
    CHECK(f.mx_hosts[0].host == "example.com");
    CHECK(w.prober.requests.size() == 1);
  }
  SUBCASE("a null MX is not probed") {
    w.dns.setMx("example.com", {{0, ""}});
    const DomainFacts f = w.run(options());
    CHECK(f.mx_hosts.empty());
    CHECK(w.prober.requests.empty());
  }
}
