#include "postfix/maillog_fields.hpp"

namespace mtasts::postfix::maillog_detail {
namespace {

constexpr bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool isAlnum(char c) noexcept {
  return isDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
constexpr bool isHexOrSeparator(char c) noexcept {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

constexpr std::size_t kMaxHost = 255;
constexpr std::size_t kMaxAddress = 64;

// Up to `max_digits` decimal digits; false on none, overflow of `limit` or a leading non-digit.
bool takeNumber(std::string_view& rest, unsigned limit, std::size_t max_digits, unsigned& out) {
  std::size_t n = 0;
  unsigned long value = 0;
  while (n < rest.size() && n < max_digits && isDigit(rest[n])) {
    value = value * 10 + static_cast<unsigned long>(rest[n] - '0');
    ++n;
  }
  if (n == 0 || value > limit) return false;
  rest.remove_prefix(n);
  out = static_cast<unsigned>(value);
  return true;
}

// Value of a ", "-separated "key=value" list: up to the next ", " or the end.
std::string_view takeValue(std::string_view& rest) noexcept {
  const auto end = rest.find(", ");
  const auto value = rest.substr(0, end);
  rest.remove_prefix(value.size());
  return value;
}

// log_adhoc.c writes ", tls=" then "/"-joined features: [!][(][disabled:]name[)][?].
void parseTlsField(std::string_view value, MaillogEvent& ev) noexcept {
  ev.tls_field = value;
  std::string_view first = value.substr(0, value.find('/'));
  if (consume(first, "!")) ev.tls_violation = true;
  if (!first.empty() && first.back() == '?') {
    ev.tls_undecided = true;
    first.remove_suffix(1);
  }
  if (first.size() >= 2 && first.front() == '(' && first.back() == ')') {
    ev.tls_relaxed = true;
    first = first.substr(1, first.size() - 2);
  }
  consume(first, "disabled:");
  ev.tls_level = first;
}

DeliveryState stateOf(std::string_view word) noexcept {
  if (word == "sent") return DeliveryState::Sent;
  if (word == "deferred") return DeliveryState::Deferred;
  if (word == "bounced") return DeliveryState::Bounced;
  if (word == "expired") return DeliveryState::Expired;
  return DeliveryState::Other;
}

// "status=WORD (REASON)" up to the end of the line.
bool takeStatus(std::string_view rest, MaillogEvent& ev) noexcept {
  const auto space = rest.find(' ');
  ev.status_word = rest.substr(0, space);
  if (ev.status_word.empty()) return false;
  ev.state = stateOf(ev.status_word);
  if (space == std::string_view::npos) return true;  // log_adhoc.c always adds " (...)"
  rest.remove_prefix(space + 1);
  if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') return false;
  ev.reason = rest.substr(1, rest.size() - 2);
  ev.condition = classifyTlsCondition(ev.reason, ev.condition_peer);
  return true;
}

}  // namespace

bool consume(std::string_view& text, std::string_view prefix) noexcept {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

bool takeEndpoint(std::string_view& rest, bool with_port, Endpoint& out) noexcept {
  const auto open = rest.find('[');
  if (open == 0 || open == std::string_view::npos || open > kMaxHost) return false;
  const std::string_view host = rest.substr(0, open);
  for (const char c : host) {
    if (c == ' ' || c == ']' || static_cast<unsigned char>(c) < 0x21) return false;
  }
  const auto close = rest.find(']', open + 1);
  if (close == std::string_view::npos || close == open + 1 || close - open - 1 > kMaxAddress) {
    return false;
  }
  const std::string_view address = rest.substr(open + 1, close - open - 1);
  for (const char c : address) {
    if (!isHexOrSeparator(c)) return false;
  }
  std::string_view after = rest.substr(close + 1);
  unsigned port = 0;
  if (with_port && (!consume(after, ":") || !takeNumber(after, 65535, 5, port) || port == 0)) {
    return false;
  }
  out.host = host;
  out.address = address;
  out.port = static_cast<std::uint16_t>(port);
  rest = after;
  return true;
}

// Short ids are upper-case hex, long ids (enable_long_queue_ids) mix digits and both cases;
// an all-lower-case word ("warning", "fatal") is a severity, never a queue id.
bool isQueueId(std::string_view text) noexcept {
  if (text.size() < 5 || text.size() > 20) return false;
  bool digit_or_upper = false;
  for (const char c : text) {
    if (!isAlnum(c)) return false;
    if (isDigit(c) || (c >= 'A' && c <= 'Z')) digit_or_upper = true;
  }
  return digit_or_upper;
}

// tls_verify.c tls_log_verify_error() texts, unchanged from 3.4 to 3.11; the X509 error
// number is recorded when the text identifies it, so a caller can name the OpenSSL reason.
void classifyVerifyReason(MaillogEvent& ev) noexcept {
  std::string_view text = ev.reason;
  struct Known {
    std::string_view prefix;
    VerifyFailure cause;
    int num;
  };
  static constexpr Known kKnown[] = {
      {"self-signed certificate", VerifyFailure::SelfSigned, 18},
      {"untrusted issuer ", VerifyFailure::UntrustedIssuer, 20},
      {"certificate not yet valid", VerifyFailure::NotYetValid, 9},
      {"certificate has expired", VerifyFailure::Expired, 10},
      {"not designated for use as a ", VerifyFailure::InvalidPurpose, 26},
      {"certificate chain longer than limit(", VerifyFailure::ChainTooLong, 22},
      {"not trusted by local or TLSA policy", VerifyFailure::NotTrusted, 27},
  };
  for (const Known& known : kKnown) {
    if (text.starts_with(known.prefix)) {
      ev.verify = known.cause;
      ev.verify_num = known.num;
      if (known.cause == VerifyFailure::UntrustedIssuer) ev.reason = text.substr(known.prefix.size());
      return;
    }
  }
  unsigned num = 0;
  if (consume(text, "num=") && takeNumber(text, 100000, 6, num) && consume(text, ":")) {
    ev.verify_num = static_cast<int>(num);
    ev.reason = text;
    switch (num) {
      case 62: ev.verify = VerifyFailure::HostnameMismatch; break;
      case 9: case 13: ev.verify = VerifyFailure::NotYetValid; break;
      case 10: case 14: ev.verify = VerifyFailure::Expired; break;
      case 18: ev.verify = VerifyFailure::SelfSigned; break;
      case 19: case 20: ev.verify = VerifyFailure::UntrustedIssuer; break;
      case 22: ev.verify = VerifyFailure::ChainTooLong; break;
      case 26: ev.verify = VerifyFailure::InvalidPurpose; break;
      case 27: ev.verify = VerifyFailure::NotTrusted; break;
      default: ev.verify = VerifyFailure::Other; break;
    }
    return;
  }
  ev.verify = VerifyFailure::Other;
}

bool parseStatusFields(std::string_view rest, MaillogEvent& ev) noexcept {
  auto end = rest.find(">, relay=");
  const auto orig = rest.find(">, orig_to=<");
  if (orig != std::string_view::npos && orig < end) end = orig;
  if (end == std::string_view::npos) return false;
  ev.recipient = rest.substr(0, end);
  const auto at = ev.recipient.rfind('@');
  if (at != std::string_view::npos) ev.recipient_domain = ev.recipient.substr(at + 1);
  rest.remove_prefix(end + 1);
  if (end == orig) {
    const auto relay = rest.find(">, relay=");
    if (relay == std::string_view::npos) return false;
    rest.remove_prefix(relay + 1);
  }
  if (!consume(rest, ", relay=")) return false;
  const std::string_view relay = takeValue(rest);
  if (relay != "none" && !parseEndpoint(relay, true, ev.peer) &&
      !parseEndpoint(relay, false, ev.peer)) {
    ev.peer = Endpoint{};  // "local", a unix-domain path: not a TLS endpoint
  }
  while (consume(rest, ", ")) {
    if (consume(rest, "status=")) {
      return !ev.dsn.empty() && takeStatus(rest, ev);
    }
    if (consume(rest, "dsn=")) {
      ev.dsn = takeValue(rest);
    } else if (consume(rest, "tls=")) {
      parseTlsField(takeValue(rest), ev);
    } else if (consume(rest, "conn_use=")) {
      std::string_view value = takeValue(rest);
      unsigned uses = 0;
      if (!takeNumber(value, 1000000, 7, uses) || !value.empty()) return false;
      ev.conn_use = uses;
    } else {
      takeValue(rest);  // delay=, delays=, and fields of later versions
    }
  }
  return false;
}

// tlsrpt_wrapper.c: "TLSRPT: status=success, domain=%s, receiving_mx=%s[%s]" and
// "TLSRPT: status=failure, domain=%s, receiving_mx=%s[%s], failure_type=%s[, failure_reason=%s]".
MaillogKind parseTlsRpt(std::string_view rest, MaillogEvent& ev) noexcept {
  if (consume(rest, "status=success")) {
    ev.tlsrpt_success = true;
  } else if (!consume(rest, "status=failure")) {
    return MaillogKind::Malformed;
  }
  if (!consume(rest, ", domain=")) return MaillogKind::Malformed;
  ev.tlsrpt_domain = takeValue(rest);
  if (!consume(rest, ", receiving_mx=")) return MaillogKind::Malformed;
  const std::string_view mx = takeValue(rest);
  if (!parseEndpoint(mx, false, ev.peer)) ev.peer = Endpoint{};  // "(null)[(null)]" and the like
  while (consume(rest, ", ")) {
    if (consume(rest, "failure_type=")) {
      ev.tlsrpt_failure_type = takeValue(rest);
    } else if (consume(rest, "failure_reason=")) {
      ev.tlsrpt_failure_reason = takeValue(rest);
    } else {
      takeValue(rest);
    }
  }
  if (!rest.empty() || ev.tlsrpt_domain.empty()) return MaillogKind::Malformed;
  if (!ev.tlsrpt_success && ev.tlsrpt_failure_type.empty()) return MaillogKind::Malformed;
  return MaillogKind::TlsRptStatus;
}

}  // namespace mtasts::postfix::maillog_detail
