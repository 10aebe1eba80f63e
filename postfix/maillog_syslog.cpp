#include "postfix/maillog_syslog.hpp"

namespace mtasts::postfix {
namespace {

constexpr bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool isAlpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Consumes a token up to (not including) the next space; empty when at a space or the end.
std::string_view takeToken(std::string_view& rest) noexcept {
  const auto end = rest.find(' ');
  const auto token = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return token;
}

bool takeSpace(std::string_view& rest) noexcept {
  if (rest.empty() || rest.front() != ' ') return false;
  rest.remove_prefix(1);
  return true;
}

// Decimal, at most 10 digits, no overflow of uint32; false for anything else.
bool parsePid(std::string_view digits, std::uint32_t& out) noexcept {
  if (digits.empty() || digits.size() > 10) return false;
  std::uint64_t value = 0;
  for (const char c : digits) {
    if (!isDigit(c)) return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > 0xffffffffULL) return false;
  out = static_cast<std::uint32_t>(value);
  return true;
}

// "Dec  1 00:39:32", "Dec 01 00:39:32", "Dec 1 00:39:32": the BSD stamp (RFC 3164 4.1.2).
bool takeBsdStamp(std::string_view& rest, std::string_view& stamp) noexcept {
  const std::string_view start = rest;
  if (rest.size() < 14 || !isAlpha(rest[0]) || !isAlpha(rest[1]) || !isAlpha(rest[2]) ||
      rest[3] != ' ') {
    return false;
  }
  rest.remove_prefix(4);
  if (rest.front() == ' ') rest.remove_prefix(1);
  std::size_t day_digits = 0;
  while (day_digits < rest.size() && day_digits < 2 && isDigit(rest[day_digits])) ++day_digits;
  if (day_digits == 0) return false;
  rest.remove_prefix(day_digits);
  if (!takeSpace(rest) || rest.size() < 8) return false;
  const std::string_view t = rest.substr(0, 8);
  if (!isDigit(t[0]) || !isDigit(t[1]) || t[2] != ':' || !isDigit(t[3]) || !isDigit(t[4]) ||
      t[5] != ':' || !isDigit(t[6]) || !isDigit(t[7])) {
    return false;
  }
  rest.remove_prefix(8);
  stamp = start.substr(0, start.size() - rest.size());
  return true;
}

// "2024-05-01T10:00:00.123456+02:00" (rsyslog), "2024-05-01T10:00:00+0200" (journalctl).
bool takeIsoStamp(std::string_view& rest, std::string_view& stamp) noexcept {
  if (rest.size() < 19 || !isDigit(rest[0]) || !isDigit(rest[3]) || rest[4] != '-' ||
      rest[7] != '-' || rest[10] != 'T') {
    return false;
  }
  stamp = takeToken(rest);
  return true;
}

// "ident[pid]: message" or "ident: message".
bool takeTag(std::string_view rest, SyslogHeader& out) noexcept {
  const auto colon = rest.find(": ");
  const auto bracket = rest.find('[');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (bracket != std::string_view::npos && bracket < colon) {
    if (bracket == 0 || rest[colon - 1] != ']') return false;
    out.ident = rest.substr(0, bracket);
    if (!parsePid(rest.substr(bracket + 1, colon - 1 - bracket - 1), out.pid)) return false;
  } else {
    out.ident = rest.substr(0, colon);
    out.pid = 0;
  }
  if (out.ident.find(' ') != std::string_view::npos) return false;
  out.message = rest.substr(colon + 2);
  return true;
}

// BSD and ISO share what follows the stamp: "host tag" or, without a host, just the tag.
bool takeHostAndTag(std::string_view rest, SyslogHeader& out) noexcept {
  if (!takeSpace(rest)) return false;
  const std::string_view first = rest.substr(0, rest.find(' '));
  if (!first.empty() && first.back() == ':') {  // no hostname: the first token is the tag
    out.hostname = {};
    return takeTag(rest, out);
  }
  out.hostname = takeToken(rest);
  if (out.hostname.empty() || !takeSpace(rest)) return false;
  return takeTag(rest, out);
}

// RFC 5424 6.3: "-" or one or more "[id param="value" ...]" with \" \] \\ escapes.
bool takeStructuredData(std::string_view& rest) noexcept {
  if (!rest.empty() && rest.front() == '-') {
    rest.remove_prefix(1);
    return true;
  }
  if (rest.empty() || rest.front() != '[') return false;
  while (!rest.empty() && rest.front() == '[') {
    bool quoted = false;
    std::size_t i = 1;
    for (; i < rest.size(); ++i) {
      const char c = rest[i];
      if (quoted && c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ']' && !quoted) {
        break;
      }
    }
    if (i >= rest.size()) return false;
    rest.remove_prefix(i + 1);
  }
  return true;
}

bool splitRfc5424(std::string_view rest, SyslogHeader& out) noexcept {
  out.format = SyslogFormat::Rfc5424;
  out.timestamp = takeToken(rest);
  if (!takeSpace(rest)) return false;
  out.hostname = takeToken(rest);
  if (!takeSpace(rest)) return false;
  const std::string_view app = takeToken(rest);
  if (!takeSpace(rest)) return false;
  const std::string_view procid = takeToken(rest);
  if (!takeSpace(rest)) return false;
  const std::string_view msgid = takeToken(rest);
  if (!takeSpace(rest) || out.timestamp.empty() || out.hostname.empty() || app.empty() ||
      procid.empty() || msgid.empty() || !takeStructuredData(rest)) {
    return false;
  }
  if (out.hostname == "-") out.hostname = {};
  out.ident = app == "-" ? std::string_view{} : app;
  out.pid = 0;
  if (procid != "-" && !parsePid(procid, out.pid)) out.pid = 0;
  if (!rest.empty() && !takeSpace(rest)) return false;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
  out.message = rest;
  return true;
}

}  // namespace

bool splitSyslogLine(std::string_view line, SyslogHeader& out) noexcept {
  std::string_view rest = line;
  if (!rest.empty() && rest.front() == '<') {  // <PRI>: 1 to 3 digits
    std::size_t i = 1;
    while (i < rest.size() && i <= 3 && isDigit(rest[i])) ++i;
    if (i == 1 || i >= rest.size() || rest[i] != '>') return false;
    rest.remove_prefix(i + 1);
    if (rest.starts_with("1 ")) return splitRfc5424(rest.substr(2), out);
  }
  std::string_view stamp;
  if (takeBsdStamp(rest, stamp)) {
    out.format = SyslogFormat::Bsd;
  } else if (takeIsoStamp(rest, stamp)) {
    out.format = SyslogFormat::Iso;
  } else {
    return false;
  }
  out.timestamp = stamp;
  return takeHostAndTag(rest, out);
}

std::string_view postfixProcess(std::string_view ident) noexcept {
  const auto slash = ident.rfind('/');
  if (slash == std::string_view::npos) return {};
  return ident.substr(slash + 1);
}

std::string_view postfixInstance(std::string_view ident) noexcept {
  return ident.substr(0, ident.find('/'));
}

}  // namespace mtasts::postfix
