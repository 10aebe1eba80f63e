// Parser for the mail-log lines of Postfix smtp(8) and tlsproxy(8) (3.4 to 3.11) that a
// TLS-RPT collector needs: TLS summaries, certificate verification failures, handshake
// failures, per-recipient status lines, skipped-server notes, connect failures and the
// "TLSRPT:" lines of 3.10+. Pure and allocation-free: every view points into the caller's
// line; lines of other programs cost the syslog-header split and a process-name compare.
// Malformed input is reported as MaillogKind::Malformed, never thrown.
#pragma once

#include "postfix/maillog_syslog.hpp"

#include <cstdint>
#include <string_view>

namespace mtasts::postfix {

enum class MaillogKind : std::uint8_t {
  NotPostfix,        // no syslog header, or a program other than smtp(8)/tlsproxy(8)
  Unrecognised,      // an smtp/tlsproxy text this parser does not use
  TlsEstablished,    // "<trust> TLS connection established to H[A]:P: <protocol> ..."
  TlsReused,         // "<trust> TLS connection reused to H[A]:P: ..." (cached connection)
  VerifyFailed,      // "[server |CA ]certificate verification failed for H[A]:P: <reason>"
  ResumedUntrusted,  // "H[A]:P: re-using session with untrusted certificate|peer credential, ..."
  HandshakeFailed,   // "SSL_connect error to H[A]:P: <reason>"
  ServerSkipped,     // "QUEUEID: <reason>": a non-final server was skipped (smtp_trouble.c)
  DeliveryStatus,    // "QUEUEID: to=<...>, relay=..., ..., dsn=..., status=... (...)"
  TlsRptStatus,      // "TLSRPT: status=..., domain=..., receiving_mx=H[A]..." (3.10+)
  ConnectFailed,     // "connect to H[A]:P: <reason>"
  Malformed,         // starts like one of the forms above, but its fields do not parse
};

enum class MaillogProcess : std::uint8_t { Other, Smtp, TlsProxy };

// tls_misc.c tls_log_summary(): the peer's trust as the summary line states it.
enum class TlsTrust : std::uint8_t { None, Anonymous, Untrusted, Trusted, Verified };

// tls_verify.c tls_log_verify_error(): the cause named by a verification failure line.
enum class VerifyFailure : std::uint8_t {
  None,
  HostnameMismatch,  // "num=62:hostname mismatch" (X509_V_ERR_HOSTNAME_MISMATCH)
  Expired,           // "certificate has expired"
  NotYetValid,       // "certificate not yet valid"
  SelfSigned,        // "self-signed certificate" (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
  UntrustedIssuer,   // "untrusted issuer <DN>" (UNABLE_TO_GET_ISSUER_CERT_LOCALLY or
                     //  SELF_SIGNED_CERT_IN_CHAIN: the log does not say which)
  NotTrusted,        // "not trusted by local or TLSA policy" (X509_V_ERR_CERT_UNTRUSTED)
  InvalidPurpose,    // "not designated for use as a <purpose> certificate"
  ChainTooLong,      // "certificate chain longer than limit(N)"
  Other,             // "num=N:<OpenSSL text>" for any other error
};

// What a status line's reason or a skipped-server note says about TLS (smtp_proto.c).
enum class TlsCondition : std::uint8_t {
  None,
  StarttlsNotOffered,  // "TLS is required, but was not offered by host H[A]"
  StarttlsRefused,     // "TLS is required, but host H[A] refused to start TLS: ..."
  HandshakeFailed,     // "Cannot start TLS: handshake failure"
  CertNotVerified,     // "Server certificate not verified"
  CertNotTrusted,      // "Server certificate not trusted"
  LocalTlsProblem,     // "TLS is required, but our TLS engine is unavailable" / "...unavailable"
  PolicyLookupFailed,  // "client TLS configuration problem" (policy map failed; no connection)
};

enum class DeliveryState : std::uint8_t { Other, Sent, Deferred, Bounced, Expired };

// "host[address]:port" as Postfix writes namaddr; port 0 when the form has none.
struct Endpoint {
  std::string_view host;
  std::string_view address;
  std::uint16_t port = 0;
  bool empty() const noexcept { return host.empty(); }
};

struct MaillogEvent {
  MaillogKind kind = MaillogKind::NotPostfix;
  MaillogProcess process = MaillogProcess::Other;
  SyslogHeader header;           // valid unless kind is NotPostfix
  std::string_view instance;     // first ident component ("postfix", "postfix-out")

  Endpoint peer;                 // TLS lines, verify/handshake/connect failures, relay=, TLSRPT mx
  TlsTrust trust = TlsTrust::None;
  VerifyFailure verify = VerifyFailure::None;
  bool verify_ca = false;        // "CA certificate verification failed" (depth > 0)
  int verify_num = 0;            // the X509 error number when the line gives one (num=N)
  std::string_view reason;       // verify cause text, handshake/connect error, skipped-server text

  std::string_view queue_id;     // status and skipped-server lines
  std::string_view recipient;    // to=<...> without the brackets
  std::string_view recipient_domain;  // after the last '@'; empty without one
  unsigned conn_use = 0;         // conn_use=N (0 when absent: a new connection)
  std::string_view dsn;
  DeliveryState state = DeliveryState::Other;
  std::string_view status_word;  // "sent", "deferred", ...
  TlsCondition condition = TlsCondition::None;  // of the status reason / skipped-server text
  Endpoint condition_peer;       // the H[A] a StarttlsNotOffered/Refused text names

  // 3.11 status lines: "tls=" field (log_adhoc.c): first feature's level name and flags.
  std::string_view tls_field;    // raw value, empty when absent
  std::string_view tls_level;    // "secure", "may", ... with "!", "(", ")", "?" removed
  bool tls_violation = false;    // "!level"
  bool tls_relaxed = false;      // "(level)"
  bool tls_undecided = false;    // "level?"

  // "TLSRPT:" lines (tlsrpt_wrapper.c, 3.10+).
  bool tlsrpt_success = false;
  std::string_view tlsrpt_domain;
  std::string_view tlsrpt_failure_type;    // "starttls_not_supported", "validation_failure", ...
  std::string_view tlsrpt_failure_reason;  // "self-signed_certificate", ... (may be empty)
};

// One line as read from a log file (no trailing newline; a trailing '\r' is ignored).
MaillogEvent parseMaillogLine(std::string_view line) noexcept;

// One message whose header came separately (the journal: SYSLOG_IDENTIFIER, _PID, MESSAGE).
MaillogEvent parseMaillogMessage(std::string_view ident, std::uint32_t pid,
                                 std::string_view message) noexcept;

// Parses "host[address]" with an optional ":port"; false when the text is not of that form.
bool parseEndpoint(std::string_view text, bool with_port, Endpoint& out) noexcept;

// Classifies a status reason or skipped-server text (smtp_proto.c wording, 3.4 to 3.11).
TlsCondition classifyTlsCondition(std::string_view text, Endpoint& peer) noexcept;

std::string_view maillogKindName(MaillogKind kind) noexcept;
std::string_view tlsTrustName(TlsTrust trust) noexcept;

}  // namespace mtasts::postfix
