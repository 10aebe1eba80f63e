// parseDatagram over every real datagram in tests/fixtures/tlsrpt (libtlsrpt 0.5.1rc2 API
// calls and Postfix 3.11.6 runs): each with its expected value written out, and each
// written back in libtlsrpt's format byte for byte.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "tests/tlsrpt/libtlsrpt_writer.hpp"
#include "tlsrpt/datagram.hpp"

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

DatagramFailureDetail detail(R result, std::string s, std::string n, std::string h, std::string r,
                             std::string a = "", std::string f = "") {
  return {result, std::move(s), std::move(n), std::move(h), std::move(r), std::move(a), std::move(f)};
}

DatagramPolicy policy(PolicyType type, std::string domain, std::vector<std::string> strings,
                      std::vector<std::string> mx, std::vector<DatagramFailureDetail> details,
                      std::uint32_t t, bool failed) {
  DatagramPolicy p;
  p.policy = PolicyDescriptor{type, std::move(domain), std::move(strings), std::move(mx)};
  p.failure_details = std::move(details);
  p.failure_count = t;
  p.failed = failed;
  return p;
}

Datagram datagram(std::string d, std::vector<DatagramPolicy> policies, DatagramWarnings w = {}) {
  return {d, "v=TLSRPTv1; rua=mailto:tlsrpt@" + d, std::move(policies), w};
}

// The policy the libtlsrpt-* fixtures pass for <d>: mx1.<d> and *.backup.<d>.
std::vector<std::string> libStrings(const std::string& d) {
  return {"version: STSv1", "mode: enforce", "mx: mx1." + d, "mx: *.backup." + d, "max_age: 604800"};
}
std::vector<std::string> libMx(const std::string& d) { return {"mx1." + d, "*.backup." + d}; }

DatagramPolicy libFailure(const std::string& d, DatagramFailureDetail fd) {
  return policy(PolicyType::Sts, d, libStrings(d), libMx(d), {std::move(fd)}, 1, true);
}

const std::string TlsaRecord = "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6";

// The policies the pf311-* runs served: "mx: <mx>", max_age 86400.
std::vector<std::string> pfStrings(const std::string& mx) {
  return {"version: STSv1", "mode: enforce", "mx: " + mx, "max_age: 86400"};
}
std::string ehlo(const std::string& ip, bool starttls = true) {
  return "250-receiver-" + ip + "\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n" +
         (starttls ? "250-STARTTLS\r\n" : "") + "250 HELP";
}
DatagramPolicy pfSuccess(const std::string& d, const std::string& mx) {
  return policy(PolicyType::Sts, d, pfStrings(mx), {mx}, {}, 0, false);
}
DatagramPolicy pfFailure(const std::string& d, const std::string& mx, R result,
                         const std::string& ip, const std::string& reason = "", bool starttls = true) {
  return policy(PolicyType::Sts, d, pfStrings(mx), {mx},
                {detail(result, "127.0.50.20", mx, ehlo(ip, starttls), ip, "", reason)}, 1, true);
}
DatagramPolicy noPolicy(const std::string& d) {
  return policy(PolicyType::NoPolicyFound, d, {}, {}, {}, 0, false);
}

std::map<std::string, Datagram> expectedFixtures() {
  const std::string C = "192.0.2.25";
  std::map<std::string, Datagram> m;
  m["libtlsrpt-201-starttls-not-supported.dgram"] = datagram(
      "f201.example", {libFailure("f201.example", detail(R::StarttlsNotSupported, C, "mx1.f201.example",
                                                         "", "198.51.100.1"))});
  m["libtlsrpt-202-certificate-host-mismatch.dgram"] = datagram(
      "f202.example",
      {libFailure("f202.example", detail(R::CertificateHostMismatch, C, "mx1.f202.example",
                                         "mx1.f202.example", "198.51.100.2", "", "hostname_mismatch"))});
  m["libtlsrpt-203-certificate-not-trusted.dgram"] = datagram(
      "f203.example",
      {libFailure("f203.example", detail(R::CertificateNotTrusted, C, "mx1.f203.example", "", "198.51.100.3",
                                         "", "self-signed_certificate"))});
  m["libtlsrpt-204-certificate-expired.dgram"] = datagram(
      "f204.example",
      {libFailure("f204.example", detail(R::CertificateExpired, C, "mx1.f204.example", "", "198.51.100.4",
                                         "", "certificate_has_expired"))});
  m["libtlsrpt-205-validation-failure.dgram"] = datagram(
      "f205.example",
      {libFailure("f205.example", detail(R::ValidationFailure, C, "mx1.f205.example", "", "198.51.100.5",
                                         "TLS handshake failed after STARTTLS", "handshake_failure"))});
  m["libtlsrpt-301-sts-policy-fetch-error.dgram"] = datagram(
      "f301.example",
      {policy(PolicyType::Sts, "f301.example", {}, {},
              {detail(R::StsPolicyFetchError, C, "mx1.f301.example", "", "198.51.100.11",
                      "HTTP 404 from https://mta-sts.f301.example/.well-known/mta-sts.txt")},
              1, true)});
  m["libtlsrpt-302-sts-policy-invalid.dgram"] = datagram(
      "f302.example",
      {policy(PolicyType::Sts, "f302.example", {}, {},
              {detail(R::StsPolicyInvalid, C, "mx1.f302.example", "", "198.51.100.12",
                      "policy line 2: unknown mode 'enforcing'")},
              1, true)});
  m["libtlsrpt-303-sts-webpki-invalid.dgram"] = datagram(
      "f303.example",
      {policy(PolicyType::Sts, "f303.example", {}, {},
              {detail(R::StsWebpkiInvalid, C, "mx1.f303.example", "", "198.51.100.13", "",
                      "certificate_verify_failed")},
              1, true)});
  m["libtlsrpt-304-tlsa-invalid.dgram"] = datagram(
      "f304.example", {policy(PolicyType::Tlsa, "f304.example", {TlsaRecord}, {},
                              {detail(R::TlsaInvalid, C, "mx1.f304.example", "", "198.51.100.30", "",
                                      "tlsa_record_mismatch")},
                              1, true)});
  m["libtlsrpt-305-dnssec-invalid.dgram"] = datagram(
      "f305.example", {policy(PolicyType::Tlsa, "f305.example", {TlsaRecord}, {},
                              {detail(R::DnssecInvalid, C, "mx1.f305.example", "", "198.51.100.30",
                                      "bogus DNSSEC answer for _25._tcp.mx1.f305.example")},
                              1, true)});
  m["libtlsrpt-306-dane-required.dgram"] = datagram(
      "f306.example", {policy(PolicyType::Tlsa, "f306.example", {TlsaRecord}, {},
                              {detail(R::DaneRequired, C, "mx1.f306.example", "", "198.51.100.30")}, 1,
                              true)});
  m["libtlsrpt-failure-without-details.dgram"] = datagram(
      "nodetail.example", {policy(PolicyType::Sts, "nodetail.example", libStrings("nodetail.example"),
                                  libMx("nodetail.example"), {}, 0, true)});
  {
    Datagram d = datagram(
        "latin1.example",
        {libFailure("latin1.example", detail(R::ValidationFailure, C, "mx1.latin1.example", "",
                                             "198.51.100.60", "latin-1 byte: \xEF\xBF\xBD (invalid UTF-8)"))});
    d.warnings.invalid_utf8_replaced = true;
    m["libtlsrpt-invalid-utf8.dgram"] = d;
  }
  {
    Datagram d = datagram(
        "escape.example",
        {policy(PolicyType::Sts, "escape.example",
                {"version: STSv1", "mode: enforce\r\n",
                 "mx: \"quoted\".escape.example\\back\tslash/\x01\x1f\x7f"},
                {"*.escape.example"},
                {detail(R::ValidationFailure, C, "mx1.escape.example", "helo \"x\"\n", "198.51.100.20",
                        "additional: \"q\" \\ / tab\t nl\n bell\x07 utf8:\xC3\xA4\xE2\x82\xAC",
                        "reason\b\f")},
                1, true)});
    d.tlsrpt_record = "v=TLSRPTv1; rua=mailto:tls\"rpt\\@escape.example";
    m["libtlsrpt-json-escapes.dgram"] = d;
  }
  m["libtlsrpt-missing-optional-fields.dgram"] = datagram(
      "minimal.example",
      {policy(PolicyType::Sts, "", {}, {}, {detail(R::StarttlsNotSupported, "", "", "", "")}, 1, true)});
  m["libtlsrpt-no-policy-found-failure.dgram"] = datagram(
      "nopol.example", {policy(PolicyType::NoPolicyFound, "", {}, {},
                               {detail(R::StarttlsNotSupported, C, "mx1.nopol.example", "", "198.51.100.40")},
                               1, true)});
  {
    Datagram d = datagram("example.org", {noPolicy("example.org")});
    d.tlsrpt_record = "v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://tlsrpt.example.org/v1";
    m["libtlsrpt-success-no-policy-found.dgram"] = d;
  }
  m["libtlsrpt-success-sts.dgram"] = datagram(
      "example.com",
      {policy(PolicyType::Sts, "example.com",
              {"version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.net",
               "mx: backupmx.example.com", "max_age: 604800"},
              {"mail.example.com", "*.example.net", "backupmx.example.com"}, {}, 0, false)});
  m["libtlsrpt-two-failure-details.dgram"] = datagram(
      "multi.example",
      {policy(PolicyType::Sts, "multi.example", libStrings("multi.example"), libMx("multi.example"),
              {detail(R::CertificateExpired, C, "mx1.multi.example", "", "198.51.100.50", "",
                      "certificate_has_expired"),
               detail(R::CertificateNotTrusted, C, "mx2.backup.multi.example", "", "198.51.100.51", "",
                      "self-signed_certificate")},
              2, true)});
  m["libtlsrpt-two-policies.dgram"] = datagram(
      "twopol.example",
      {policy(PolicyType::Tlsa, "twopol.example", {TlsaRecord}, {}, {}, 0, false),
       policy(PolicyType::Sts, "twopol.example", libStrings("twopol.example"), libMx("twopol.example"), {},
              0, false)});

  m["pf311-bad-202-certificate-host-mismatch.dgram"] =
      datagram("bad.test", {pfFailure("bad.test", "mx.bad.test", R::CertificateHostMismatch, "127.0.50.11")});
  m["pf311-expired-204-certificate-expired.dgram"] = datagram(
      "expired.test", {pfFailure("expired.test", "mx.expired.test", R::CertificateExpired, "127.0.50.14")});
  m["pf311-good-success.dgram"] = datagram("good.test", {pfSuccess("good.test", "mx.good.test")});
  m["pf311-noenforce-twomx-success.dgram"] = datagram("twomx.test", {pfSuccess("twomx.test", "mx.twomx.test")});
  m["pf311-twomx-success.dgram"] = m["pf311-noenforce-twomx-success.dgram"];
  m["pf311-noenforce-wild-success.dgram"] = datagram("wild.test", {pfSuccess("wild.test", "*.wild.test")});
  m["pf311-wildok-success.dgram"] = datagram("wildok.test", {pfSuccess("wildok.test", "*.wildok.test")});
  m["pf311-nostarttls-201-starttls-not-supported.dgram"] =
      datagram("nostarttls.test", {pfFailure("nostarttls.test", "mx.nostarttls.test", R::StarttlsNotSupported,
                                             "127.0.50.15", "", false)});
  m["pf311-nosts-success-no-policy-found.dgram"] = datagram("nosts.test", {noPolicy("nosts.test")});
  m["pf311-plainmap-good-success-no-policy-found.dgram"] = datagram("good.test", {noPolicy("good.test")});
  m["pf311-tempfail-success-no-policy-found.dgram"] = datagram("tempfail.test", {noPolicy("tempfail.test")});
  m["pf311-plainmap-bad-202-certificate-host-mismatch.dgram"] = datagram(
      "bad.test", {policy(PolicyType::NoPolicyFound, "bad.test", {}, {},
                          {detail(R::CertificateHostMismatch, "127.0.50.20", "mx.bad.test", ehlo("127.0.50.11"),
                                  "127.0.50.11")},
                          1, true)});
  m["pf311-stub-pfail-303-sts-webpki-invalid.dgram"] =
      datagram("pfail.test", {pfFailure("pfail.test", "mx.good.test", R::StsWebpkiInvalid, "127.0.50.10")});
  m["pf311-stub-tempfail-301-sts-policy-fetch-error.dgram"] = datagram(
      "tempfail.test", {policy(PolicyType::Sts, "tempfail.test", {}, {},
                               {detail(R::StsPolicyFetchError, "127.0.50.20", "mx.tempfail.test",
                                       ehlo("127.0.50.10"), "127.0.50.10")},
                               1, true)});
  m["pf311-unknownca-205-validation-failure.dgram"] =
      datagram("unknownca.test", {pfFailure("unknownca.test", "mx.unknownca.test", R::ValidationFailure,
                                            "127.0.50.16", "unable_to_get_local_issuer_certificate")});
  m["pf311-untrusted-205-validation-failure.dgram"] =
      datagram("untrusted.test", {pfFailure("untrusted.test", "mx.untrusted.test", R::ValidationFailure,
                                            "127.0.50.13", "self-signed_certificate")});
  return m;
}

// A readable form for failure messages: the libtlsrpt JSON plus the warnings.
std::string describe(const Datagram& d) {
  return testing::writeLibtlsrptDatagram(d) + " warnings=" +
         std::to_string(d.warnings.failure_count_mismatch) + std::to_string(d.warnings.details_on_success) +
         std::to_string(d.warnings.invalid_utf8_replaced) + std::to_string(d.warnings.unknown_members_skipped);
}

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(MTASTS_TLSRPT_FIXTURES)) {
    if (e.path().extension() == ".dgram") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("every fixture datagram parses to its expected value") {
  const auto expected = expectedFixtures();
  const auto names = fixtureNames();
  CHECK(names.size() == 36);
  CHECK(expected.size() == names.size());
  for (const auto& name : names) {
    CAPTURE(name);
    const auto it = expected.find(name);
    REQUIRE_MESSAGE(it != expected.end(), "no expected value written for " << name);
    const auto got = parseDatagram(readFixture(name));
    REQUIRE_MESSAGE(got.has_value(), got.error().detail);
    INFO("got  " << describe(*got));
    INFO("want " << describe(it->second));
    CHECK(*got == it->second);
  }
}

TEST_CASE("writing a parsed fixture in libtlsrpt's format gives back its exact bytes") {
  // The invalid-UTF-8 fixture is the one exception: its 0xE4 byte was replaced.
  for (const auto& name : fixtureNames()) {
    CAPTURE(name);
    const std::string bytes = readFixture(name);
    const auto got = parseDatagram(bytes);
    REQUIRE(got.has_value());
    const std::string written = testing::writeLibtlsrptDatagram(*got);
    if (name == "libtlsrpt-invalid-utf8.dgram") {
      std::string want = bytes;
      want.replace(want.find('\xe4'), 1, "\xEF\xBF\xBD");
      CHECK(written == want);
    } else {
      CHECK(written == bytes);
    }
  }
}
