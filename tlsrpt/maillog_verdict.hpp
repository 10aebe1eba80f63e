// What Postfix 3.10+ reports through TLSRPT for one TLS handshake that the mail log of an
// older Postfix describes: the RFC 8460 result type and failure-reason-code of a verification
// failure, a handshake failure or a missing STARTTLS. Pure functions; the sources each rule
// comes from are named at the rule (tlsrpt/maillog_verdict.cpp).
#pragma once

#include "common/tlsrpt_result_type.hpp"
#include "postfix/maillog_line.hpp"

#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

struct MaillogVerdict {
  TlsRptResultType result = TlsRptResultType::ValidationFailure;
  std::string reason_code;  // failure-reason-code as Postfix's datagrams carry it; may be empty
};

// A certificate that failed verification under a policy that required it to verify.
// `num` and `text` are MaillogEvent::verify_num and ::reason of the verification line.
MaillogVerdict verdictForVerifyFailure(postfix::VerifyFailure cause, int num,
                                       std::string_view text);

// "SSL_connect error to ..." / "Cannot start TLS: handshake failure".
MaillogVerdict verdictForHandshakeFailure();

// "TLS is required, but was not offered by host ..." (and "... refused to start TLS").
MaillogVerdict verdictForStarttlsMissing();

// An enforced session that failed without a verification line saying why: resumed TLS
// sessions ("re-using session with untrusted ...") and logs without smtp_tls_loglevel >= 1.
MaillogVerdict verdictForUnexplainedFailure(bool resumed_session);

// OpenSSL's X509_verify_cert_error_string() text as a reason code: spaces become '_'
// ("self-signed certificate" -> "self-signed_certificate"), bounded to 128 bytes.
std::string reasonCodeFromOpenSslText(std::string_view text);

}  // namespace mtasts::tlsrpt
