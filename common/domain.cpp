#include "common/domain.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <array>
#include <cstdlib>
#include <memory>

namespace mtasts {
namespace {

bool isLdh(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

char lowerAscii(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 3629 well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF),
// checked here rather than left to libidn2 so that hostile bytes meet one small, fuzzed
// function first, as Postfix does before it hands a name to ICU. NUL is refused: libidn2
// takes C strings.
bool isWellFormedUtf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 == 0) return false;
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      len = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      len = 3;
      if (b0 == 0xe0) lo = 0xa0;  // overlong
      if (b0 == 0xed) hi = 0x9f;  // UTF-16 surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      len = 4;
      if (b0 == 0xf0) lo = 0x90;  // overlong
      if (b0 == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 overlong, F5..FF
    }
    if (text.size() - i < len) return false;
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    if (b1 < lo || b1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (b < 0x80 || b > 0xbf) return false;
    }
    i += len;
  }
  return true;
}

IdnaError fromIdn2(int rc) noexcept {
  switch (rc) {
    case IDN2_ENCODING_ERROR:
    case IDN2_ICONV_FAIL:
      return IdnaError::InvalidUtf8;
    case IDN2_TOO_BIG_DOMAIN:
      return IdnaError::NameTooLong;
    case IDN2_TOO_BIG_LABEL:
    case IDN2_PUNYCODE_BIG_OUTPUT:  // what 2.3.3 says for a label over 63 bytes
      return IdnaError::LabelTooLong;
    case IDN2_DISALLOWED:
    case IDN2_UNASSIGNED:
    case IDN2_NOT_NFC:
    case IDN2_INVALID_TRANSITIONAL:
    case IDN2_INVALID_NONTRANSITIONAL:
      return IdnaError::Disallowed;
    case IDN2_BIDI:
      return IdnaError::Bidi;
    case IDN2_CONTEXTJ:
    case IDN2_CONTEXTJ_NO_RULE:
    case IDN2_CONTEXTO:
    case IDN2_CONTEXTO_NO_RULE:
      return IdnaError::ContextRule;
    case IDN2_2HYPHEN:
    case IDN2_HYPHEN_STARTEND:
      return IdnaError::HyphenRule;
    case IDN2_LEADING_COMBINING:
      return IdnaError::LeadingCombining;
    case IDN2_PUNYCODE_BAD_INPUT:
    case IDN2_PUNYCODE_OVERFLOW:
    case IDN2_INVALID_ALABEL:
    case IDN2_UALABEL_MISMATCH:
    case IDN2_ALABEL_ROUNDTRIP_FAILED:
    case IDN2_DOT_IN_LABEL:
      return IdnaError::BadALabel;
    default:
      return IdnaError::Other;
  }
}

struct Idn2Free {
  void operator()(char* p) const noexcept { idn2_free(p); }
};

// The ASCII rule of toALabels(): lower-case, LDH, no IP address.
IdnaError asciiName(std::string_view name, std::string& out) {
  if (!isValidHostname(name)) return IdnaError::NotHostname;
  if (isIpAddressLiteral(name)) return IdnaError::IpLiteral;
  out = toLowerAscii(name);
  return IdnaError::None;
}

}  // namespace

std::string toLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool equalsIgnoreCaseAscii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool isValidHostname(std::string_view name) noexcept {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      const std::size_t len = i - label_start;
      if (len == 0 || len > 63) return false;
      if (name[label_start] == '-' || name[i - 1] == '-') return false;
      label_start = i + 1;
    } else if (!isLdh(name[i])) {
      return false;
    }
  }
  return true;
}

bool isIpAddressLiteral(std::string_view text) noexcept {
  if (text.empty() || text.size() > 64) return false;
  std::array<char, 65> buf{};
  text.copy(buf.data(), text.size());
  std::array<unsigned char, 16> addr{};
  if (text.find(':') != std::string_view::npos) return inet_pton(AF_INET6, buf.data(), addr.data()) == 1;
  return inet_pton(AF_INET, buf.data(), addr.data()) == 1;
}

bool hasNonAsciiByte(std::string_view text) noexcept {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

std::string_view idnaErrorText(IdnaError error) noexcept {
  switch (error) {
    case IdnaError::None: return "no error";
    case IdnaError::InvalidUtf8: return "invalid name: not UTF-8";
    case IdnaError::NameTooLong: return "invalid name: over 253 bytes as A-labels";
    case IdnaError::LabelTooLong: return "invalid name: a label over 63 bytes as A-label";
    case IdnaError::Disallowed: return "invalid name: disallowed code point";
    case IdnaError::Bidi: return "invalid name: bidi rule (RFC 5893)";
    case IdnaError::ContextRule: return "invalid name: contextual rule (CONTEXTJ/CONTEXTO)";
    case IdnaError::HyphenRule: return "invalid name: hyphen at label start or end, or in positions 3-4";
    case IdnaError::LeadingCombining: return "invalid name: label starts with a combining mark";
    case IdnaError::BadALabel: return "invalid name: invalid A-label";
    case IdnaError::NotHostname: return "invalid name: not an LDH hostname";
    case IdnaError::IpLiteral: return "invalid name: an IP address";
    case IdnaError::Other: return "invalid name: IDNA conversion failed";
  }
  return "invalid name";
}

IdnaError convertToALabels(std::string_view name, std::string& out) {
  if (!hasNonAsciiByte(name)) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return asciiName(name, out);
  }
  if (name.size() > MaxIdnaInputBytes) return IdnaError::NameTooLong;
  if (!isWellFormedUtf8(name)) return IdnaError::InvalidUtf8;
  const std::string input(name);  // libidn2 reads a C string
  char* raw = nullptr;
  // Non-transitional UTS #46 mapping (case folding, NFC, full stops) then the IDNA2008
  // checks; the A-label round trip of every xn-- label is libidn2's default.
  const int flags = IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT;
  const int rc = idn2_lookup_u8(reinterpret_cast<const std::uint8_t*>(input.c_str()),
                                reinterpret_cast<std::uint8_t**>(&raw), flags);
  const std::unique_ptr<char, Idn2Free> owned(raw);
  if (rc != IDN2_OK) return fromIdn2(rc);
  if (raw == nullptr) return IdnaError::Other;
  std::string_view converted(raw);
  // A trailing full stop in any spelling (U+3002 too) is the root: drop one, as for ASCII.
  if (!converted.empty() && converted.back() == '.') converted.remove_suffix(1);
  if (converted.size() > 253) return IdnaError::NameTooLong;
  return asciiName(converted, out);
}

Result<std::string> toALabels(std::string_view name) {
  std::string out;
  const IdnaError error = convertToALabels(name, out);
  if (error != IdnaError::None) return fail(ErrorCode::InvalidInput, std::string(idnaErrorText(error)));
  return out;
}

}  // namespace mtasts
