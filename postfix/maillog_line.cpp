#include "postfix/maillog_line.hpp"

#include "postfix/maillog_fields.hpp"

namespace mtasts::postfix {
namespace {

using maillog_detail::consume;
using maillog_detail::takeEndpoint;

bool takeTrust(std::string_view& rest, TlsTrust& trust) noexcept {
  if (consume(rest, "Verified ")) {
    trust = TlsTrust::Verified;
  } else if (consume(rest, "Trusted ")) {
    trust = TlsTrust::Trusted;
  } else if (consume(rest, "Untrusted ")) {
    trust = TlsTrust::Untrusted;
  } else if (consume(rest, "Anonymous ")) {
    trust = TlsTrust::Anonymous;
  } else {
    return false;
  }
  return true;
}

// "<namaddr>: <text>" or just "<namaddr>" at the end; reason gets <text>.
bool takeEndpointAndReason(std::string_view rest, MaillogEvent& ev, bool reason_required) {
  if (!takeEndpoint(rest, /*with_port=*/true, ev.peer)) return false;
  if (rest.empty()) return !reason_required;
  if (!consume(rest, ": ")) return false;
  ev.reason = rest;
  return true;
}

// tls_misc.c tls_log_summary(): "%s TLS connection %s %s %s%s%s: %s with cipher %s ...".
MaillogKind parseSummary(std::string_view rest, MaillogEvent& ev) {
  if (!takeTrust(rest, ev.trust)) return MaillogKind::Unrecognised;
  MaillogKind kind;
  if (consume(rest, "TLS connection established to ")) {
    kind = MaillogKind::TlsEstablished;
  } else if (consume(rest, "TLS connection reused to ")) {
    kind = MaillogKind::TlsReused;
  } else {
    ev.trust = TlsTrust::None;  // "... from ..." is the server role (tlsproxy for smtpd)
    return MaillogKind::Unrecognised;
  }
  if (!takeEndpoint(rest, true, ev.peer) || !(rest.empty() || rest.starts_with(": "))) {
    return MaillogKind::Malformed;
  }
  return kind;
}

MaillogKind parseVerifyFailure(std::string_view rest, MaillogEvent& ev) {
  if (consume(rest, "CA ")) {
    ev.verify_ca = true;
  } else {
    consume(rest, "server ");
  }
  if (!consume(rest, "certificate verification failed for ")) return MaillogKind::Unrecognised;
  if (!takeEndpointAndReason(rest, ev, true)) return MaillogKind::Malformed;
  maillog_detail::classifyVerifyReason(ev);
  return MaillogKind::VerifyFailed;
}

MaillogKind parseQueueLine(std::string_view rest, MaillogEvent& ev) {
  const auto colon = rest.find(": ");
  if (colon == std::string_view::npos || !maillog_detail::isQueueId(rest.substr(0, colon))) {
    return MaillogKind::Unrecognised;
  }
  ev.queue_id = rest.substr(0, colon);
  rest.remove_prefix(colon + 2);
  if (consume(rest, "to=<")) {
    return maillog_detail::parseStatusFields(rest, ev) ? MaillogKind::DeliveryStatus
                                                       : MaillogKind::Malformed;
  }
  ev.reason = rest;
  ev.condition = classifyTlsCondition(rest, ev.condition_peer);
  return MaillogKind::ServerSkipped;
}

// "H[A]:P: re-using session with untrusted certificate|peer credential, look for ..."
MaillogKind parseResumedUntrusted(std::string_view rest, MaillogEvent& ev) {
  constexpr std::string_view kMarker = ": re-using session with untrusted ";
  const auto at = rest.find(kMarker);
  if (at == std::string_view::npos) return MaillogKind::Unrecognised;
  std::string_view namaddr = rest.substr(0, at);
  if (!takeEndpoint(namaddr, true, ev.peer) || !namaddr.empty()) return MaillogKind::Malformed;
  ev.reason = rest.substr(at + 2);
  return MaillogKind::ResumedUntrusted;
}

MaillogKind parseText(std::string_view text, MaillogEvent& ev) {
  if (text.empty()) return MaillogKind::Unrecognised;
  switch (text.front()) {
    case 'V':
    case 'T':
    case 'U':
    case 'A': {
      if (text.starts_with("TLSRPT: ")) return maillog_detail::parseTlsRpt(text.substr(8), ev);
      const MaillogKind kind = parseSummary(text, ev);
      if (kind != MaillogKind::Unrecognised) return kind;
      break;  // a queue id may start with these letters too
    }
    case 's':
    case 'c':
    case 'C':
      if (text.starts_with("connect to ")) {
        return takeEndpointAndReason(text.substr(11), ev, true) ? MaillogKind::ConnectFailed
                                                                 : MaillogKind::Malformed;
      }
      if (text.find("certificate verification failed for ") < 40) {
        const MaillogKind kind = parseVerifyFailure(text, ev);
        if (kind != MaillogKind::Unrecognised) return kind;
      }
      break;
    case 'S':
      if (text.starts_with("SSL_connect error to ")) {
        return takeEndpointAndReason(text.substr(21), ev, true) ? MaillogKind::HandshakeFailed
                                                                 : MaillogKind::Malformed;
      }
      break;
    default:
      break;
  }
  const MaillogKind queued = parseQueueLine(text, ev);
  if (queued != MaillogKind::Unrecognised) return queued;
  return parseResumedUntrusted(text, ev);
}

MaillogEvent parseWithHeader(const SyslogHeader& header) noexcept {
  MaillogEvent ev;
  const std::string_view process = postfixProcess(header.ident);
  if (process == "smtp") {
    ev.process = MaillogProcess::Smtp;
  } else if (process == "tlsproxy") {
    ev.process = MaillogProcess::TlsProxy;
  } else {
    return ev;  // NotPostfix: the cheap path for every other program and daemon
  }
  ev.header = header;
  ev.instance = postfixInstance(header.ident);
  std::string_view text = header.message;
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
  ev.header.message = text;
  ev.kind = parseText(text, ev);
  if (ev.kind == MaillogKind::Unrecognised || ev.kind == MaillogKind::Malformed) {
    // Keep the event small and honest: fields half-filled by a failed parse are cleared.
    const MaillogKind kind = ev.kind;
    const SyslogHeader kept = ev.header;
    ev = MaillogEvent{};
    ev.kind = kind;
    ev.process = process == "smtp" ? MaillogProcess::Smtp : MaillogProcess::TlsProxy;
    ev.header = kept;
    ev.instance = postfixInstance(kept.ident);
  }
  return ev;
}

}  // namespace

MaillogEvent parseMaillogLine(std::string_view line) noexcept {
  SyslogHeader header;
  if (!splitSyslogLine(line, header)) return MaillogEvent{};
  return parseWithHeader(header);
}

MaillogEvent parseMaillogMessage(std::string_view ident, std::uint32_t pid,
                                 std::string_view message) noexcept {
  SyslogHeader header;
  header.ident = ident;
  header.pid = pid;
  header.message = message;
  return parseWithHeader(header);
}

bool parseEndpoint(std::string_view text, bool with_port, Endpoint& out) noexcept {
  Endpoint parsed;
  if (!takeEndpoint(text, with_port, parsed) || !text.empty()) return false;
  out = parsed;
  return true;
}

TlsCondition classifyTlsCondition(std::string_view text, Endpoint& peer) noexcept {
  peer = Endpoint{};
  if (consume(text, "TLS is required, but ")) {
    if (consume(text, "was not offered by host ")) {
      return parseEndpoint(text, false, peer) ? TlsCondition::StarttlsNotOffered
                                              : TlsCondition::None;
    }
    if (consume(text, "host ")) {
      const auto refused = text.find(" refused to start TLS: ");
      if (refused != std::string_view::npos && parseEndpoint(text.substr(0, refused), false, peer)) {
        return TlsCondition::StarttlsRefused;
      }
      return TlsCondition::None;
    }
    if (text.starts_with("our TLS engine is unavailable") || text == "unavailable") {
      return TlsCondition::LocalTlsProblem;
    }
    return TlsCondition::None;
  }
  if (text == "Cannot start TLS: handshake failure") return TlsCondition::HandshakeFailed;
  if (text == "Server certificate not verified") return TlsCondition::CertNotVerified;
  if (text == "Server certificate not trusted") return TlsCondition::CertNotTrusted;
  if (text == "client TLS configuration problem") return TlsCondition::PolicyLookupFailed;
  return TlsCondition::None;
}

std::string_view maillogKindName(MaillogKind kind) noexcept {
  switch (kind) {
    case MaillogKind::NotPostfix: return "not-postfix";
    case MaillogKind::Unrecognised: return "unrecognised";
    case MaillogKind::TlsEstablished: return "tls-established";
    case MaillogKind::TlsReused: return "tls-reused";
    case MaillogKind::VerifyFailed: return "verify-failed";
    case MaillogKind::ResumedUntrusted: return "resumed-untrusted";
    case MaillogKind::HandshakeFailed: return "handshake-failed";
    case MaillogKind::ServerSkipped: return "server-skipped";
    case MaillogKind::DeliveryStatus: return "delivery-status";
    case MaillogKind::TlsRptStatus: return "tlsrpt-status";
    case MaillogKind::ConnectFailed: return "connect-failed";
    case MaillogKind::Malformed: return "malformed";
  }
  return "?";
}

std::string_view tlsTrustName(TlsTrust trust) noexcept {
  switch (trust) {
    case TlsTrust::None: return "none";
    case TlsTrust::Anonymous: return "Anonymous";
    case TlsTrust::Untrusted: return "Untrusted";
    case TlsTrust::Trusted: return "Trusted";
    case TlsTrust::Verified: return "Verified";
  }
  return "?";
}

}  // namespace mtasts::postfix
