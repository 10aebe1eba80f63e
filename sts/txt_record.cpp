#include "sts/txt_record.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/log.hpp"

namespace mtasts::sts {
namespace {

// RFC 7405 %s"v=STSv1": case-sensitive, so "V=STSv1" and "v=stsv1" are other records.
constexpr std::string_view VersionField = "v=STSv1";
constexpr std::size_t MaxIdLength = 32;
constexpr std::size_t MaxExtNameLength = 32;  // (ALPHA / DIGIT) *31(...)

bool isAlnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isWsp(char c) noexcept { return c == ' ' || c == '\t'; }
bool isExtNameChar(char c) noexcept { return isAlnum(c) || c == '_' || c == '-' || c == '.'; }
// sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible ASCII except ';' and '='.
bool isExtValueChar(char c) noexcept { return c >= 0x21 && c <= 0x7e && c != ';' && c != '='; }

std::size_t skipWsp(std::string_view s, std::size_t pos) noexcept {
  while (pos < s.size() && isWsp(s[pos])) ++pos;
  return pos;
}

std::string quoted(std::string_view text) { return "\"" + escapeForLog(text, 40) + "\""; }

std::string describeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u <= 0x7e) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

// The sts-id value of the first id field (RFC 8461 3.1; first of a repeated field wins).
Result<void> checkId(std::string_view value) {
  if (value.size() > MaxIdLength) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("id: {} characters, at most {} allowed", value.size(), MaxIdLength));
  }
  for (char c : value) {
    if (!isAlnum(c)) {
      return fail(
          ErrorCode::InvalidInput,
          fmt::format("id: invalid character {} (letters and digits only)", describeByte(c)));
    }
  }
  return {};
}

}  // namespace

bool isValidStsId(std::string_view id) noexcept {
  if (id.empty() || id.size() > MaxIdLength) return false;
  for (char c : id) {
    if (!isAlnum(c)) return false;
  }
  return true;
}

bool looksLikeStsRecord(std::string_view joined) noexcept {
  // RFC 8461 3.1 says records "that do not begin with "v=STSv1;"" are discarded, but its
  // own ABNF (sts-field-delim = *WSP ";" *WSP) makes "v=STSv1 ;id=x" a valid record
  // (erratum 6285 reports the conflict). We keep what the grammar calls a version field
  // followed by a delimiter, so a record valid under the ABNF is never discarded, while
  // "v=STSv10;..." and a bare "v=STSv1" still are.
  if (joined.substr(0, VersionField.size()) != VersionField) return false;
  const std::size_t pos = skipWsp(joined, VersionField.size());
  return pos < joined.size() && joined[pos] == ';';
}

// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
// sts-field       = sts-id / sts-extension
Result<StsRecord> parseTxtRecord(std::string_view s) {
  if (s.substr(0, VersionField.size()) != VersionField) {
    return fail(ErrorCode::InvalidInput, "record does not begin with v=STSv1");
  }
  std::size_t pos = VersionField.size();
  std::size_t field_no = 0;
  bool have_id = false;
  StsRecord record;
  while (pos < s.size()) {
    // sts-field-delim, or the end of the record.
    pos = skipWsp(s, pos);
    if (pos == s.size()) {
      return fail(ErrorCode::InvalidInput, "whitespace at the end of the record without ';'");
    }
    if (s[pos] != ';') {
      return fail(ErrorCode::InvalidInput, fmt::format("expected ';' after field {}, got {}",
                                                       field_no, describeByte(s[pos])));
    }
    pos = skipWsp(s, pos + 1);
    if (pos == s.size()) break;  // [sts-field-delim]: one trailing delimiter is allowed
    ++field_no;

    // sts-ext-name "=" sts-ext-value (sts-id is the same shape with a narrower value).
    const std::size_t name_start = pos;
    while (pos < s.size() && isExtNameChar(s[pos])) ++pos;
    const std::string_view name = s.substr(name_start, pos - name_start);
    if (name.empty()) {
      return fail(ErrorCode::InvalidInput, fmt::format("field {}: empty or invalid name at {}",
                                                       field_no, describeByte(s[pos])));
    }
    if (!isAlnum(name.front()) || name.size() > MaxExtNameLength) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("field {}: invalid name {}", field_no, quoted(name)));
    }
    if (pos == s.size() || s[pos] != '=') {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("field {} ({}): missing '='", field_no, quoted(name)));
    }
    ++pos;
    const std::size_t value_start = pos;
    while (pos < s.size() && isExtValueChar(s[pos])) ++pos;
    const std::string_view value = s.substr(value_start, pos - value_start);
    if (pos < s.size() && s[pos] != ';' && !isWsp(s[pos])) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("{}: invalid character {} in value", name, describeByte(s[pos])));
    }
    if (value.empty()) {
      return fail(ErrorCode::InvalidInput, fmt::format("{}: empty value", name));
    }
    // %s"id=": case-sensitive; "ID=..." is an unknown extension and ignored.
    if (name == "id" && !have_id) {
      if (auto ok = checkId(value); !ok) return Unexpected{std::move(ok).error()};
      record.id = std::string(value);
      have_id = true;
    }
  }
  if (!have_id) return fail(ErrorCode::InvalidInput, "id field missing");
  return record;
}

Result<StsRecord> parseTxtRecords(const std::vector<std::vector<std::string>>& rrs) {
  std::string chosen;
  std::size_t count = 0;
  for (const auto& strings : rrs) {
    std::string joined;
    for (const auto& part : strings) joined += part;
    if (!looksLikeStsRecord(joined)) continue;
    if (++count == 1) chosen = std::move(joined);
  }
  if (count == 0) return fail(ErrorCode::NotFound, "no v=STSv1 record");
  if (count > 1) return fail(ErrorCode::NotFound, fmt::format("{} v=STSv1 records", count));
  return parseTxtRecord(chosen);
}

}  // namespace mtasts::sts
