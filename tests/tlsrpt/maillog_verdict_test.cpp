#include "postfix/maillog_line.hpp"
#include "tlsrpt/maillog_nexthop.hpp"
#include "tlsrpt/maillog_verdict.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace mtasts;
using namespace mtasts::tlsrpt;
using postfix::VerifyFailure;

namespace {

std::string datagram(const char* name) {
  std::ifstream in(std::string(MTASTS_TLSRPT_FIXTURES) + "/" + name);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The failure detail's "c" and "f" members as libtlsrpt writes them ("f": "x" in a detail).
struct Detail {
  int code = 0;
  std::string reason;
};

Detail detailOf(const std::string& json) {
  Detail d;
  const auto details = json.find("\"failure-details\":[{");
  REQUIRE(details != std::string::npos);
  const auto c = json.find("\"c\":", details);
  d.code = std::stoi(json.substr(c + 4, 3));
  const auto f = json.find("\"f\": \"", details);
  const auto end_of_detail = json.find('}', details);
  if (f != std::string::npos && f < end_of_detail) {
    d.reason = json.substr(f + 6, json.find('"', f + 6) - f - 6);
  }
  return d;
}

int wireCode(TlsRptResultType t) {
  switch (t) {
    case TlsRptResultType::StarttlsNotSupported: return 201;
    case TlsRptResultType::CertificateHostMismatch: return 202;
    case TlsRptResultType::CertificateNotTrusted: return 203;
    case TlsRptResultType::CertificateExpired: return 204;
    case TlsRptResultType::ValidationFailure: return 205;
    default: return 0;
  }
}

}  // namespace

// The same receivers met a real Postfix 3.7 (tests/fixtures/maillog: the verification lines)
// and a real Postfix 3.11.6 with TLSRPT (tests/fixtures/tlsrpt: its datagrams).
TEST_CASE("verdicts for the 3.7 log lines equal what Postfix 3.11 sent for the same receivers") {
  struct Case {
    const char* line;  // verification text of the 3.7 log
    const char* dgram;
  };
  const Case cases[] = {
      {"server certificate verification failed for mx.badname.test[127.0.60.2]:25: "
       "num=62:hostname mismatch", "pf311-bad-202-certificate-host-mismatch.dgram"},
      {"server certificate verification failed for mx.expiredcert.test[127.0.60.4]:25: "
       "certificate has expired", "pf311-expired-204-certificate-expired.dgram"},
      {"certificate verification failed for mx.selfsigned.test[127.0.60.3]:25: self-signed "
       "certificate", "pf311-untrusted-205-validation-failure.dgram"},
      {"certificate verification failed for mx.unknownca.test[127.0.60.6]:25: untrusted issuer "
       "/CN=mtastsd untrusted CA", "pf311-unknownca-205-validation-failure.dgram"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    const std::string line = std::string("Dec 01 00:39:33 sender postfix/smtp[1]: ") + c.line;
    const auto ev = postfix::parseMaillogLine(line);  // views into `line`
    REQUIRE(ev.kind == postfix::MaillogKind::VerifyFailed);
    const MaillogVerdict v = verdictForVerifyFailure(ev.verify, ev.verify_num, ev.reason);
    const Detail want = detailOf(datagram(c.dgram));
    CHECK(wireCode(v.result) == want.code);
    CHECK(v.reason_code == want.reason);
  }
  const Detail nostarttls = detailOf(datagram("pf311-nostarttls-201-starttls-not-supported.dgram"));
  CHECK(wireCode(verdictForStarttlsMissing().result) == nostarttls.code);
  CHECK(verdictForStarttlsMissing().reason_code == nostarttls.reason);
}

TEST_CASE("every verification cause maps to a result type and OpenSSL's reason code") {
  struct Case {
    VerifyFailure cause;
    int num;
    const char* text;
    TlsRptResultType result;
    const char* reason;
  };
  const Case cases[] = {
      {VerifyFailure::NotYetValid, 9, "", TlsRptResultType::ValidationFailure,
       "certificate_is_not_yet_valid"},
      {VerifyFailure::InvalidPurpose, 26, "", TlsRptResultType::ValidationFailure,
       "unsupported_certificate_purpose"},
      {VerifyFailure::ChainTooLong, 22, "", TlsRptResultType::ValidationFailure,
       "certificate_chain_too_long"},
      {VerifyFailure::NotTrusted, 27, "", TlsRptResultType::ValidationFailure,
       "certificate_not_trusted"},
      {VerifyFailure::Other, 23, "certificate revoked", TlsRptResultType::ValidationFailure,
       "certificate_revoked"},
      {VerifyFailure::Other, 0, "some text of Postfix", TlsRptResultType::ValidationFailure, ""},
      {VerifyFailure::None, 0, "", TlsRptResultType::ValidationFailure, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.reason);
    const MaillogVerdict v = verdictForVerifyFailure(c.cause, c.num, c.text);
    CHECK(v.result == c.result);
    CHECK(v.reason_code == c.reason);
  }
  CHECK(verdictForUnexplainedFailure(true).result == TlsRptResultType::CertificateNotTrusted);
  CHECK(reasonCodeFromOpenSslText(std::string(300, 'x')).size() == 128);
  CHECK(reasonCodeFromOpenSslText("a\x01 b") == "a?_b");
}

TEST_CASE("the next hop is the host of a destination, IP literals are not reportable") {
  struct Case {
    const char* destination;
    const char* domain;
    bool reportable;
  };
  const Case cases[] = {
      {"example.com", "example.com", true},
      {"Example.COM.", "example.com", true},
      {"[smtp.example.net]:587", "smtp.example.net", true},
      {"[smtp.example.net]", "smtp.example.net", true},
      {"smtp.example.net:25", "smtp.example.net", true},
      {"[192.0.2.1]:25", "192.0.2.1", false},
      {"[ipv6:2001:db8::1]:25", "2001:db8::1", false},
      {"", "", false},
      {" [relay.example] ", "relay.example", true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.destination);
    const NextHop hop = nextHopOf(c.destination);
    CHECK(hop.domain == c.domain);
    CHECK(hop.reportable == c.reportable);
  }
  CHECK(relayNextHop("[a.example]:25, [b.example]:25", "B.example").domain == "b.example");
  CHECK(relayNextHop("[a.example]:25 [b.example]:25", "c.example").domain == "a.example");
  CHECK(relayNextHop("mx-domain.example, [b.example]", "mx1.mx-domain.example").domain ==
        "mx-domain.example");
}
