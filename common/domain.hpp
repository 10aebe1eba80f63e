// Domain-name checks shared by the socketmap key normaliser and the RFC 8461 parsers.
// Pure functions over bytes; no I/O, no allocation beyond the returned string.
#pragma once

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

}  // namespace mtasts
