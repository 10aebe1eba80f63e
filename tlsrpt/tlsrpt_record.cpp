#include "tlsrpt/tlsrpt_record.hpp"

#include <spdlog/fmt/fmt.h>

#include <charconv>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/addr_spec.hpp"

namespace mtasts::tlsrpt {
namespace {

// RFC 7405 %s"v=TLSRPTv1" and %s"rua=": case-sensitive.
constexpr std::string_view VersionField = "v=TLSRPTv1";
constexpr std::string_view RuaName = "rua";
constexpr std::size_t MaxExtNameLength = 32;  // (ALPHA / DIGIT) *31(...)

bool isAlpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
bool isAlnum(char c) noexcept { return isAlpha(c) || isDigit(c); }
bool isHex(char c) noexcept {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool isWsp(char c) noexcept { return c == ' ' || c == '\t'; }
bool isExtNameChar(char c) noexcept { return isAlnum(c) || c == '_' || c == '-' || c == '.'; }
// tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible ASCII except ';' and '='.
bool isExtValueChar(char c) noexcept { return c >= 0x21 && c <= 0x7e && c != ';' && c != '='; }
// RFC 3986 unreserved / reserved, without the three RFC 8460 says MUST be percent-encoded
// (',' '!' ';'); '%' is checked separately as the start of pct-encoded.
bool isUriChar(char c) noexcept {
  if (isAlnum(c)) return true;
  constexpr std::string_view Others = "-._~:/?#[]@$&'()*+=";
  return Others.find(c) != std::string_view::npos;
}
std::string_view trimWspLeft(std::string_view s) noexcept {
  while (!s.empty() && isWsp(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trimWspRight(std::string_view s) noexcept {
  while (!s.empty() && isWsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view text) { return "\"" + escapeForLog(text, 60) + "\""; }

std::string describeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u <= 0x7e) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

Unexpected invalid(std::string detail) { return fail(ErrorCode::InvalidInput, std::move(detail)); }

// tlsrpt-uri = URI (RFC 3986). Checked here: a scheme, only URI characters, well-formed
// percent escapes, one fragment at most. Breaking this makes the whole record invalid.
Result<void> checkUriSyntax(std::string_view uri) {
  const std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || !isAlpha(uri.front())) {
    return invalid(fmt::format("rua: {} is not a URI (no scheme)", quoted(uri)));
  }
  for (std::size_t i = 1; i < colon; ++i) {
    const char c = uri[i];
    if (!isAlnum(c) && c != '+' && c != '-' && c != '.') {
      return invalid(fmt::format("rua: {} has an invalid scheme", quoted(uri)));
    }
  }
  bool fragment = false;
  for (std::size_t i = colon + 1; i < uri.size(); ++i) {
    const char c = uri[i];
    if (c == '%') {
      if (i + 2 >= uri.size() || !isHex(uri[i + 1]) || !isHex(uri[i + 2])) {
        return invalid(fmt::format("rua: {} has a broken percent escape", quoted(uri)));
      }
      i += 2;
    } else if (c == '#') {
      if (fragment) return invalid(fmt::format("rua: {} has two '#'", quoted(uri)));
      fragment = true;
    } else if (!isUriChar(c)) {
      return invalid(fmt::format("rua: invalid character {} in {}", describeByte(c), quoted(uri)));
    }
  }
  return {};
}

int hexValue(char c) noexcept {
  if (isDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

// Syntax was checked: every '%' starts two hex digits.
std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void addUri(TlsRptRecord& record, ReportUri uri) {
  for (const auto& have : record.rua) {
    const bool same = have.kind == uri.kind &&
                      (uri.kind == RuaKind::Mailto ? equalsIgnoreCaseAscii(have.address, uri.address)
                                                   : have.uri == uri.uri);
    if (same) return;
  }
  if (record.rua.size() >= MaxReportUris) {
    record.skipped.push_back(fmt::format("{}: more than {} destinations", quoted(uri.uri),
                                         MaxReportUris));
    return;
  }
  record.rua.push_back(std::move(uri));
}

// mailto:[to][?hfields] (RFC 6068): one URI may name several addresses; header fields
// (?subject=, ?body=, ?to=) are ignored, RFC 8460 fixes the message.
void addMailto(TlsRptRecord& record, const std::string& uri, std::string_view rest) {
  const std::string_view to = rest.substr(0, rest.find_first_of("?#"));
  if (to.empty()) {
    record.skipped.push_back(fmt::format("{}: no address", quoted(uri)));
    return;
  }
  const std::string decoded = percentDecode(to);
  std::string_view list = decoded;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view address = list.substr(0, comma);
    if (const std::string problem = addrSpecProblem(address); !problem.empty()) {
      record.skipped.push_back(fmt::format("{}: {}", quoted(uri), problem));
    } else {
      ReportUri out;
      out.kind = RuaKind::Mailto;
      out.uri = uri;
      out.address = std::string(address);
      out.host = toLowerAscii(address.substr(address.rfind('@') + 1));
      addUri(record, std::move(out));
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// https://host[:port][/path][?query][#fragment]; userinfo and IP literals are not used.
void addHttps(TlsRptRecord& record, const std::string& uri, std::string_view rest) {
  const auto skip = [&](std::string_view why) {
    record.skipped.push_back(fmt::format("{}: {}", quoted(uri), why));
  };
  if (rest.substr(0, 2) != "//") return skip("no authority after https:");
  rest.remove_prefix(2);
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return skip("userinfo not supported");
  if (!authority.empty() && authority.front() == '[') return skip("IP literal not supported");
  std::string_view host = authority;
  std::uint16_t port = 443;
  if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view digits = authority.substr(colon + 1);
    if (!digits.empty()) {
      unsigned value = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
          value > 65535) {
        return skip("invalid port");
      }
      port = static_cast<std::uint16_t>(value);
    }
  }
  if (!isValidHostname(host)) return skip("host is not a hostname");
  tail = tail.substr(0, tail.find('#'));  // the fragment never goes on the wire
  ReportUri out;
  out.kind = RuaKind::Https;
  out.uri = uri;
  out.host = toLowerAscii(host);
  out.port = port;
  out.target = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  addUri(record, std::move(out));
}

// tlsrpt-rua value: tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
Result<void> parseRua(std::string_view value, TlsRptRecord& record) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t comma = value.find(',');
    parts.push_back(value.substr(0, comma));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (i > 0) part = trimWspLeft(part);
    if (i + 1 < parts.size()) part = trimWspRight(part);
    if (part.empty()) return invalid(fmt::format("rua: URI {} is empty", i + 1));
    if (auto ok = checkUriSyntax(part); !ok) return Unexpected{std::move(ok).error()};
    const std::size_t colon = part.find(':');
    std::string uri = toLowerAscii(part.substr(0, colon)) + std::string(part.substr(colon));
    const std::string_view scheme = std::string_view(uri).substr(0, colon);
    const std::string_view rest = part.substr(colon + 1);
    if (scheme == "mailto") {
      addMailto(record, uri, rest);
    } else if (scheme == "https") {
      addHttps(record, uri, rest);
    } else {
      record.skipped.push_back(fmt::format("{}: scheme {} not supported", quoted(uri),
                                           quoted(scheme)));
    }
  }
  return {};
}

// One field (already cut at ';' and stripped of the delimiter's whitespace).
Result<void> parseField(std::string_view field, std::size_t field_no, bool& have_rua,
                        TlsRptRecord& record) {
  std::size_t pos = 0;
  while (pos < field.size() && isExtNameChar(field[pos])) ++pos;
  const std::string_view name = field.substr(0, pos);
  if (name.empty()) {
    // An empty field is never the last one (the caller allows one trailing ';'), so a ';'
    // follows it.
    return invalid(fmt::format("field {}: empty or invalid name at {}", field_no,
                               field.empty() ? std::string("';'") : describeByte(field[pos])));
  }
  if (!isAlnum(name.front()) || name.size() > MaxExtNameLength) {
    return invalid(fmt::format("field {}: invalid name {}", field_no, quoted(name)));
  }
  if (pos == field.size() || field[pos] != '=') {
    return invalid(fmt::format("field {} ({}): missing '='", field_no, quoted(name)));
  }
  const std::string_view value = field.substr(pos + 1);
  if (name == RuaName) {
    // A second rua is valid under the ABNF but has no defined meaning: the first wins.
    if (have_rua) return {};
    have_rua = true;
    if (value.empty()) return invalid("rua: empty value");
    return parseRua(value, record);
  }
  if (value.empty()) return invalid(fmt::format("{}: empty value", quoted(name)));
  for (char c : value) {
    if (!isExtValueChar(c)) {
      return invalid(fmt::format("{}: invalid character {} in value", quoted(name),
                                 describeByte(c)));
    }
  }
  return {};  // unknown extension: ignored (section 3)
}

}  // namespace

bool looksLikeTlsRptRecord(std::string_view record) noexcept {
  // Section 3 discards records "that do not begin with "v=TLSRPTv1;"", but its ABNF
  // (field-delim = *WSP ";" *WSP) makes "v=TLSRPTv1 ;rua=..." valid: keep what the grammar
  // calls a version field followed by a delimiter, as the STS record parser does.
  if (record.substr(0, VersionField.size()) != VersionField) return false;
  const std::string_view rest = trimWspLeft(record.substr(VersionField.size()));
  return !rest.empty() && rest.front() == ';';
}

// tlsrpt-record = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
// ';' never occurs inside a field (ext values exclude it, URIs must encode it), so the
// record splits at every ';'.
Result<TlsRptRecord> parseTlsRptRecord(std::string_view record) {
  if (record.size() > MaxRecordBytes) {
    return fail(ErrorCode::TooLarge, fmt::format("record of {} bytes, at most {} allowed",
                                                 record.size(), MaxRecordBytes));
  }
  if (record.substr(0, VersionField.size()) != VersionField) {
    return invalid("record does not begin with v=TLSRPTv1");
  }
  std::vector<std::string_view> pieces;
  std::string_view rest = record;
  while (true) {
    const std::size_t semi = rest.find(';');
    pieces.push_back(rest.substr(0, semi));
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  if (trimWspRight(pieces.front()) != VersionField) {
    const std::string_view after = trimWspLeft(pieces.front().substr(VersionField.size()));
    return invalid(fmt::format("expected ';' after v=TLSRPTv1, got {}", describeByte(after.front())));
  }
  TlsRptRecord out;
  bool have_rua = false;
  std::size_t field_no = 0;
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    std::string_view field = trimWspLeft(pieces[i]);
    if (last && field.empty()) break;  // [field-delim]: one trailing delimiter is allowed
    ++field_no;
    if (!last) {
      field = trimWspRight(field);
    } else if (!field.empty() && isWsp(field.back())) {
      return invalid("whitespace at the end of the record without ';'");
    }
    if (auto ok = parseField(field, field_no, have_rua, out); !ok) {
      return Unexpected{std::move(ok).error()};
    }
  }
  if (field_no == 0) return invalid("no field after v=TLSRPTv1");
  if (!have_rua) return invalid("rua field missing");
  if (out.rua.empty()) {
    std::string why = "no usable rua";
    for (const auto& s : out.skipped) why += "; " + s;
    return invalid(std::move(why));
  }
  return out;
}

Result<TlsRptRecord> parseTlsRptRecords(const std::vector<std::string>& txt_rrs) {
  const std::string* chosen = nullptr;
  std::size_t count = 0;
  for (const auto& rr : txt_rrs) {
    if (!looksLikeTlsRptRecord(rr)) continue;
    if (++count == 1) chosen = &rr;
  }
  if (count == 0) return fail(ErrorCode::NotFound, "no v=TLSRPTv1 record");
  if (count > 1) return fail(ErrorCode::NotFound, fmt::format("{} v=TLSRPTv1 records", count));
  return parseTlsRptRecord(*chosen);
}

}  // namespace mtasts::tlsrpt
