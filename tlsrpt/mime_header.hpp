// Header sections of received mail and of MIME parts (RFC 5322 section 2.2, RFC 2045/2046),
// read the tolerant way a mail reader must: CRLF or bare LF line ends, folded lines joined,
// field names compared without case, parameters with quoted strings, comments, RFC 2231
// continuations and charset-encoded values, RFC 2047 encoded words in file names. Pure
// functions over bytes that views point into; no I/O. Nothing here fails: what does not parse
// is left out, and the caller decides whether what is left is enough.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mtasts::tlsrpt {

struct HeaderField {
  std::string_view name;  // as written (compare with equalsIgnoreCaseAscii)
  std::string value;      // unfolded: the line breaks before continuation lines removed
};

struct HeaderSection {
  std::vector<HeaderField> fields;
  std::size_t body_offset = 0;  // where the body starts: after the empty line, or the end

  // The value of the first field with this name (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const noexcept;
};

// Header fields up to the first empty line; at most max_fields are kept (a mail with more
// is hostile or broken; the rest of its header section is skipped, the body still found).
// Lines that are neither a field nor a continuation are ignored.
HeaderSection parseHeaderSection(std::string_view text, std::size_t max_fields = 1000);
// A temporary std::string would leave the names dangling: refused at compile time.
template <typename S, std::enable_if_t<std::is_same_v<S, std::string>, int> = 0>
HeaderSection parseHeaderSection(S&& text, std::size_t max_fields = 1000) = delete;

// A Content-Type or Content-Disposition value: its leading token and its parameters.
struct ParameterizedValue {
  std::string token;  // lower case: "multipart/report", "attachment"; empty when missing
  std::vector<std::pair<std::string, std::string>> params;  // names lower case, values decoded

  const std::string* param(std::string_view name) const noexcept;
};

// RFC 2045 5.1 grammar with RFC 2231 (name*=charset'lang'%XX, name*0=..., name*1*=...): the
// continuations are joined in order and percent-decoded, and such a value wins over a plain
// one of the same name. Tolerates what real mailers write: a trailing ';', spaces around '=',
// an unquoted value with tspecials in it (taken up to the next ';').
ParameterizedValue parseParameterizedValue(std::string_view value);

// The bytes of RFC 2047 encoded words (=?charset?B?...?= or ?Q?) in a parameter value, the
// charset not converted; text outside encoded words is kept, whitespace between two encoded
// words dropped. Used for file names, which some mailers write that way against RFC 2047 5.
std::string decodeEncodedWords(std::string_view value);

}  // namespace mtasts::tlsrpt
