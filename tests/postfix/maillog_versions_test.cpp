// One table per Postfix version, with the wording of that version. Lines that the 3.7 runs
// in tests/fixtures/maillog did not produce are built from the format strings of the source
// named in each row (repository vdukhovni/postfix; "3.11 tree" is the src/ release tree at
// commit 1960cb75 / b4b0304b, mail_version.h 3.11 20250730; "3.10 dev" is postfix/ at
// 18f96cd6, the TLSRPT integration before smtp_tlsrpt_skip_reused_handshakes; "3.7.11" is
// the Debian 12 binary, strings of libpostfix-tls.so and smtp).
#include "postfix/maillog_line.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace mtasts::postfix;

namespace {

struct Row {
  const char* versions;
  const char* source;
  std::string message;
  MaillogKind kind;
  TlsTrust trust;
  VerifyFailure verify;
  TlsCondition condition;
};

void run(const Row* rows, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const Row& r = rows[i];
    CAPTURE(r.versions);
    CAPTURE(r.source);
    CAPTURE(r.message);
    const std::string line = "May  4 12:00:00 mx postfix/smtp[4242]: " + r.message;
    const MaillogEvent ev = parseMaillogLine(line);  // views into `line`
    CHECK(maillogKindName(ev.kind) == maillogKindName(r.kind));
    CHECK(tlsTrustName(ev.trust) == tlsTrustName(r.trust));
    CHECK(static_cast<int>(ev.verify) == static_cast<int>(r.verify));
    CHECK(static_cast<int>(ev.condition) == static_cast<int>(r.condition));
  }
}

constexpr auto E = MaillogKind::TlsEstablished;
constexpr auto V = MaillogKind::VerifyFailed;
constexpr auto S = MaillogKind::DeliveryStatus;
constexpr auto N = TlsTrust::None;
constexpr auto NoV = VerifyFailure::None;
constexpr auto NoC = TlsCondition::None;

const std::string kNamaddr = "mail.example.com[192.0.2.10]:25";
const std::string kTls12 = ": TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)";
const std::string kStatus = "4F2A91C3D0: to=<rcpt@example.com>, relay=" + kNamaddr +
                            ", delay=1.2, delays=0.1/0/1/0.1, ";

}  // namespace

TEST_CASE("Postfix 3.4 to 3.9 lines are parsed with the wording of those versions") {
  const Row rows[] = {
      {"3.4-3.9", "tls_misc.c tls_log_summary() (new in 3.4)",
       "Verified TLS connection established to " + kNamaddr + kTls12, E, TlsTrust::Verified, NoV,
       NoC},
      {"3.4-3.9", "tls_misc.c tls_log_summary(), TLS_USAGE_USED via smtp_reuse.c",
       "Untrusted TLS connection reused to " + kNamaddr + kTls12, MaillogKind::TlsReused,
       TlsTrust::Untrusted, NoV, NoC},
      {"3.4-3.9", "tls_misc.c, anonymous cipher (no certificate)",
       "Anonymous TLS connection established to " + kNamaddr + kTls12, E, TlsTrust::Anonymous, NoV,
       NoC},
      {"3.4-3.10 dev", "tls_client.c verify_x509(): a hostname mismatch is not trusted",
       "Untrusted TLS connection established to " + kNamaddr + kTls12, E, TlsTrust::Untrusted, NoV,
       NoC},
      {"3.4-3.11", "tls_verify.c default case, PURPOSE=server",
       "server certificate verification failed for " + kNamaddr + ": num=62:hostname mismatch", V,
       N, VerifyFailure::HostnameMismatch, NoC},
      {"3.4-3.11", "tls_verify.c", "CA certificate verification failed for " + kNamaddr +
       ": certificate has expired", V, N, VerifyFailure::Expired, NoC},
      {"3.4-3.11", "tls_verify.c", "server certificate verification failed for " + kNamaddr +
       ": certificate not yet valid", V, N, VerifyFailure::NotYetValid, NoC},
      {"3.4-3.11", "tls_verify.c", "certificate verification failed for " + kNamaddr +
       ": not designated for use as a server certificate", V, N, VerifyFailure::InvalidPurpose, NoC},
      {"3.4-3.11", "tls_verify.c", "certificate verification failed for " + kNamaddr +
       ": certificate chain longer than limit(9)", V, N, VerifyFailure::ChainTooLong, NoC},
      {"3.4-3.11", "tls_verify.c (X509_V_ERR_CERT_UNTRUSTED)", "certificate verification failed for "
       + kNamaddr + ": not trusted by local or TLSA policy", V, N, VerifyFailure::NotTrusted, NoC},
      {"3.4-3.11", "tls_verify.c default case with OpenSSL's text",
       "server certificate verification failed for " + kNamaddr + ": num=23:certificate revoked", V,
       N, VerifyFailure::Other, NoC},
      {"3.4-3.8", "tls_client.c verify_x509(); 3.7.11 binary",
       kNamaddr + ": re-using session with untrusted certificate, look for details earlier in the log",
       MaillogKind::ResumedUntrusted, N, NoV, NoC},
      {"3.4-3.11", "smtp_proto.c smtp_helo()",
       kStatus + "dsn=4.7.4, status=deferred (TLS is required, but host mail.example.com[192.0.2.10]"
       " refused to start TLS: 454 4.7.0 TLS not available due to local problem)",
       S, N, NoV, TlsCondition::StarttlsRefused},
      {"3.4-3.11", "smtp_proto.c smtp_start_tls()",
       kStatus + "dsn=4.7.5, status=deferred (Server certificate not trusted)", S, N, NoV,
       TlsCondition::CertNotTrusted},
      {"3.4-3.11", "smtp_proto.c smtp_helo()",
       kStatus + "dsn=4.7.5, status=deferred (TLS is required, but our TLS engine is unavailable)",
       S, N, NoV, TlsCondition::LocalTlsProblem},
      {"3.4-3.11", "log_adhoc.c with orig_to=",
       "4F2A91C3D0: to=<rcpt@example.com>, orig_to=<alias@example.net>, relay=" + kNamaddr +
       ", delay=1, delays=0/0/1/0, dsn=2.0.0, status=sent (250 ok)", S, N, NoV, NoC},
      {"3.4-3.11", "tls_client.c, IPv6 namaddr",
       "Verified TLS connection established to mx6.example.com[2001:db8::25]:25" + kTls12, E,
       TlsTrust::Verified, NoV, NoC},
  };
  run(rows, std::size(rows));
}

TEST_CASE("Postfix 3.10 lines are parsed with the wording of 3.10") {
  const Row rows[] = {
      {"3.9-3.11", "tls_client.c verify_x509() (3.10 dev 18f96cd6, 3.11 tree)",
       kNamaddr + ": re-using session with untrusted peer credential, look for details earlier in "
       "the log", MaillogKind::ResumedUntrusted, N, NoV, NoC},
      {"3.10-3.11", "tlsrpt_wrapper.c trw_report_success()",
       "TLSRPT: status=success, domain=example.com, receiving_mx=mail.example.com[192.0.2.10]",
       MaillogKind::TlsRptStatus, N, NoV, NoC},
      {"3.10-3.11", "tlsrpt_wrapper.c trw_report_failure()",
       "TLSRPT: status=failure, domain=example.org, receiving_mx=mail.example.org[192.0.2.11], "
       "failure_type=validation_failure, failure_reason=self-signed_certificate",
       MaillogKind::TlsRptStatus, N, NoV, NoC},
      {"3.10-3.11", "tlsrpt_wrapper.c trw_report_failure() without a reason",
       "TLSRPT: status=failure, domain=example.org, receiving_mx=mail.example.org[192.0.2.11], "
       "failure_type=starttls_not_supported", MaillogKind::TlsRptStatus, N, NoV, NoC},
  };
  run(rows, std::size(rows));
  const MaillogEvent ev = parseMaillogLine(
      "May  4 12:00:00 mx postfix/smtp[1]: TLSRPT: status=failure, domain=example.org, "
      "receiving_mx=mail.example.org[192.0.2.11], failure_type=validation_failure, "
      "failure_reason=self-signed_certificate");
  CHECK_FALSE(ev.tlsrpt_success);
  CHECK(ev.tlsrpt_domain == "example.org");
  CHECK(ev.peer.host == "mail.example.org");
  CHECK(ev.peer.address == "192.0.2.11");
  CHECK(ev.tlsrpt_failure_type == "validation_failure");
  CHECK(ev.tlsrpt_failure_reason == "self-signed_certificate");
}

TEST_CASE("Postfix 3.11 lines are parsed with the wording of 3.11") {
  const Row rows[] = {
      {"3.11", "tls_client.c verify_x509() (3.11 tree): only a name mismatch left => trusted",
       "Trusted TLS connection established to mx.bad.test[127.0.50.11]:25" + kTls12, E,
       TlsTrust::Trusted, NoV, NoC},
      {"3.11", "log_adhoc.c tls= field (violation)",
       kStatus + "tls=!secure, dsn=4.7.5, status=deferred (Server certificate not verified)", S, N,
       NoV, TlsCondition::CertNotVerified},
  };
  run(rows, std::size(rows));
  struct TlsCase {
    std::string field;
    std::string_view level;
    bool violation, relaxed, undecided;
  };
  const TlsCase tls_cases[] = {
      {"secure", "secure", false, false, false},   {"!secure", "secure", true, false, false},
      {"may", "may", false, false, false},         {"secure?", "secure", false, false, true},
      {"(secure)", "secure", false, true, false},  {"!(encrypt)/requiretls", "encrypt", true, true, false},
      {"disabled:secure", "secure", false, false, false},
  };
  for (const TlsCase& c : tls_cases) {
    CAPTURE(c.field);
    const std::string line = "May  4 12:00:00 mx postfix/smtp[1]: " + kStatus +
                             "conn_use=3, tls=" + c.field + ", dsn=2.0.0, status=sent (250 ok)";
    const MaillogEvent ev = parseMaillogLine(line);
    REQUIRE(ev.kind == MaillogKind::DeliveryStatus);
    CHECK(ev.tls_field == c.field);
    CHECK(ev.tls_level == c.level);
    CHECK(ev.tls_violation == c.violation);
    CHECK(ev.tls_relaxed == c.relaxed);
    CHECK(ev.tls_undecided == c.undecided);
    CHECK(ev.conn_use == 3);
  }
}

TEST_CASE("parser reports forms whose fields do not parse as malformed") {
  const char* bad[] = {
      "Verified TLS connection established to mx.good.test[127.0.0.1]",  // no port
      "Verified TLS connection established to mx.good.test[127.0.0.1]:0: x",
      "Verified TLS connection established to mx.good.test[127.0.0.1]:65536: x",
      "Verified TLS connection established to [127.0.0.1]:25: x",
      "Verified TLS connection established to mx.good.test[not-an-ip]:25: x",
      "Verified TLS connection established to mx.good.test[]:25: x",
      "Verified TLS connection established to mx.good.test[127.0.0.1:25: x",
      "server certificate verification failed for mx[127.0.0.1]:25",
      "SSL_connect error to mx[127.0.0.1]",
      "connect to nowhere: Connection refused",
      "D791CA7299F: to=<a@b>, relay=mx[127.0.0.1]:25, delay=1",
      "D791CA7299F: to=<a@b>, relay=mx[127.0.0.1]:25, status=sent (no dsn)",
      "D791CA7299F: to=<a@b>, relay=mx[127.0.0.1]:25, dsn=2.0.0, status=sent (unclosed",
      "D791CA7299F: to=<a@b>, relay=mx[127.0.0.1]:25, conn_use=x, dsn=2.0.0, status=sent (ok)",
      "D791CA7299F: to=<a@b> relay=mx",
      "TLSRPT: status=maybe, domain=x",
      "TLSRPT: status=failure, domain=x, receiving_mx=a[1.2.3.4]",
      "TLSRPT: status=success, domain=, receiving_mx=a[1.2.3.4]",
      "mx[127.0.0.1]: re-using session with untrusted certificate, look",
  };
  for (const char* text : bad) {
    const std::string line = std::string("May  4 12:00:00 mx postfix/smtp[1]: ") + text;
    CAPTURE(line);
    const MaillogEvent ev = parseMaillogLine(line);
    CHECK(maillogKindName(ev.kind) == maillogKindName(MaillogKind::Malformed));
    CHECK(ev.peer.empty());
    CHECK(ev.queue_id.empty());
  }
}
