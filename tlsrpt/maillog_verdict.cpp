#include "tlsrpt/maillog_verdict.hpp"

#include <algorithm>

namespace mtasts::tlsrpt {
namespace {

using postfix::VerifyFailure;

constexpr std::size_t kMaxReason = 128;

// OpenSSL 3.0 X509_verify_cert_error_string() for the causes that tls_verify.c logs in its
// own words (Debian 12 ships OpenSSL 3.0; 1.1.1 wrote "self signed" without the hyphen).
std::string_view openSslText(VerifyFailure cause) noexcept {
  switch (cause) {
    case VerifyFailure::SelfSigned: return "self-signed certificate";
    case VerifyFailure::UntrustedIssuer: return "unable to get local issuer certificate";
    case VerifyFailure::NotYetValid: return "certificate is not yet valid";
    case VerifyFailure::InvalidPurpose: return "unsupported certificate purpose";
    case VerifyFailure::ChainTooLong: return "certificate chain too long";
    case VerifyFailure::NotTrusted: return "certificate not trusted";
    default: return {};
  }
}

}  // namespace

std::string reasonCodeFromOpenSslText(std::string_view text) {
  std::string code;
  code.reserve(std::min(text.size(), kMaxReason));
  for (const char c : text.substr(0, kMaxReason)) {
    const auto u = static_cast<unsigned char>(c);
    code.push_back(c == ' ' ? '_' : (u < 0x20 || u == 0x7f) ? '?' : c);
  }
  return code;
}

// The rules, checked against the datagrams of a real Postfix 3.11.6
// (tests/fixtures/tlsrpt/pf311-*.dgram):
//   hostname mismatch -> 202, no reason code      (pf311-bad-202-...: no "f")
//   expired           -> 204, no reason code      (pf311-expired-204-...: no "f")
//   self-signed       -> 205 self-signed_certificate
//   unknown CA        -> 205 unable_to_get_local_issuer_certificate
// Every other cause follows the 205 pattern: OpenSSL's text of the X509 error as the reason.
MaillogVerdict verdictForVerifyFailure(VerifyFailure cause, int num, std::string_view text) {
  switch (cause) {
    case VerifyFailure::HostnameMismatch:
      return {TlsRptResultType::CertificateHostMismatch, {}};
    case VerifyFailure::Expired:
      return {TlsRptResultType::CertificateExpired, {}};
    case VerifyFailure::Other:
      // "num=N:<OpenSSL text>" carries the library's own words; without num= the text is
      // Postfix's and no code can be derived from it.
      return {TlsRptResultType::ValidationFailure,
              num > 0 ? reasonCodeFromOpenSslText(text) : std::string{}};
    case VerifyFailure::None:
      return verdictForUnexplainedFailure(false);
    default:
      return {TlsRptResultType::ValidationFailure, reasonCodeFromOpenSslText(openSslText(cause))};
  }
}

// tls_client.c (3.11 tree) tls_client_start(): trw_report_failure(..., VALIDATION_FAILURE,
// 0, "tls-handshake-failure") when SSL_connect fails.
MaillogVerdict verdictForHandshakeFailure() {
  return {TlsRptResultType::ValidationFailure, "tls-handshake-failure"};
}

// pf311-nostarttls-201-starttls-not-supported.dgram: 201 without a reason code.
MaillogVerdict verdictForStarttlsMissing() {
  return {TlsRptResultType::StarttlsNotSupported, {}};
}

// TLSRPT_README (3.10+): a resumed session whose certificate was not trusted is reported as
// certificate_not_trusted without a reason ("a reused TLS session does not have the details").
// Without any TLS line the cause is unknown: validation-failure without a reason.
MaillogVerdict verdictForUnexplainedFailure(bool resumed_session) {
  if (resumed_session) return {TlsRptResultType::CertificateNotTrusted, {}};
  return {TlsRptResultType::ValidationFailure, {}};
}

}  // namespace mtasts::tlsrpt
