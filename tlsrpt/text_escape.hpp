// Making untrusted bytes safe for the report's text formats. Strings in a report come from
// datagrams, log lines and DNS; they may be any bytes. Pure functions, no state.
// Invalid UTF-8 (stray continuation bytes, overlong forms, surrogates, code points past
// U+10FFFF, truncated sequences) is never passed on: each offending byte becomes U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mtasts::tlsrpt {

// Decodes the UTF-8 sequence starting at s[pos] (RFC 3629). Returns its length (1-4) and
// sets code_point, or 0 when the bytes there are not a valid sequence.
std::size_t decodeUtf8(std::string_view s, std::size_t pos, char32_t& code_point) noexcept;

// Appends bytes as a JSON string (RFC 8259), quotes included, in 7-bit ASCII: '"' and '\'
// escaped, control characters and DEL as \b \f \n \r \t or \u00XX, every non-ASCII code
// point as \uXXXX (a surrogate pair above U+FFFF), invalid UTF-8 as \ufffd.
void appendJsonString(std::string& out, std::string_view bytes);

// The bytes with every invalid UTF-8 byte replaced by U+FFFD (EF BF BD).
std::string toValidUtf8(std::string_view bytes);

}  // namespace mtasts::tlsrpt
