// Domain-name checks shared by the socketmap key normaliser and the RFC 8461 parsers, and
// the IDNA conversion of internationalised names (U-labels) to their A-label form.
// Pure functions over bytes; no I/O. The ASCII checks allocate nothing beyond a returned
// string; the IDNA conversion (libidn2) allocates and is meant for names with non-ASCII
// bytes only. Errors are a Result (InvalidInput) or an IdnaError with a static text.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mtasts {

// ASCII-only lower-casing (DNS names are case-insensitive in ASCII only).
std::string toLowerAscii(std::string_view text);
bool equalsIgnoreCaseAscii(std::string_view a, std::string_view b) noexcept;

// A hostname in presentation form without a trailing dot: 1 to 253 bytes, labels of 1 to
// 63 letters, digits and hyphens, no hyphen at a label's start or end (A-labels such as
// xn--... pass; U-labels and underscores do not). Case is not checked.
bool isValidHostname(std::string_view name) noexcept;

// An IPv4 dotted quad or anything containing ':' that parses as IPv6 (inet_pton).
bool isIpAddressLiteral(std::string_view text) noexcept;

// True when some byte is >= 0x80 (the name needs IDNA processing, or is not UTF-8 at all).
bool hasNonAsciiByte(std::string_view text) noexcept;

// Why a name has no A-label form. idnaErrorText() is a static, printable, one-line text.
enum class IdnaError : std::uint8_t {
  None,
  InvalidUtf8,       // not UTF-8 (overlong, surrogate, truncated, > U+10FFFF) or a NUL byte
  NameTooLong,       // over MaxIdnaInputBytes before, or over 253 bytes after conversion
  LabelTooLong,      // a label over 63 bytes after conversion
  Disallowed,        // a code point IDNA2008 / UTS #46 does not allow (emoji, symbols, ...)
  Bidi,              // RFC 5893 bidi rule
  ContextRule,       // CONTEXTJ / CONTEXTO rule (ZWJ, ZWNJ, middle dot, ...)
  HyphenRule,        // hyphen at a label's start or end, or "--" at positions 3-4
  LeadingCombining,  // a label starts with a combining mark
  BadALabel,         // an xn-- label in the name that is not a valid A-label
  NotHostname,       // converted, but not an LDH hostname (empty label, '_', ' ', ...)
  IpLiteral,         // converted to an IP address (full-width digits U+FF11.. map to "1"..)
  Other,             // any other libidn2 failure
};
std::string_view idnaErrorText(IdnaError error) noexcept;

// Longest input the IDNA conversion looks at. A valid name is at most 253 bytes in A-label
// form, and every code point that is not mapped away yields at least one of those bytes
// (4 bytes of UTF-8 at most), so nothing valid is longer.
inline constexpr std::size_t MaxIdnaInputBytes = 4 * 253;

// The A-label form of a domain name, lower case, without a trailing dot (one is dropped).
// - A pure-ASCII name is only lower-cased and checked with isValidHostname(): an xn--
//   label given in ASCII is taken as it is, the way Postfix sends ASCII names to DNS.
// - A name with a byte >= 0x80 must be UTF-8 and goes through UTS #46 non-transitional
//   processing with IDNA2008 validity checks (libidn2 idn2_lookup_u8, IDN2_NONTRANSITIONAL,
//   NFC input), the conversion Postfix >= 3.2 uses for DNS lookups (midna_domain.c,
//   enable_idna2003_compatibility = no): upper-case U-labels are case-folded ("B\u00dcCHER"
//   is "b\u00fccher"), sharp s and final sigma are kept (not mapped to "ss" and sigma),
//   U+3002 and other full stops separate labels, and every xn-- label of such a name must
//   be a valid A-label. The result must be an LDH hostname and not an IP address.
//   Stricter than Postfix's ICU options (no CHECK_BIDI/CONTEXTJ there, emoji allowed as
//   NV8): such names have no policy domain here, so they get no MTA-STS policy.
// Failure: Error{InvalidInput, idnaErrorText()}.
Result<std::string> toALabels(std::string_view name);

// toALabels() for callers that keep the reason as a static string: IdnaError::None with the
// A-label form in `out`, or the reason (out is then unspecified).
IdnaError convertToALabels(std::string_view name, std::string& out);

}  // namespace mtasts
