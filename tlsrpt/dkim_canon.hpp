// DKIM "relaxed" canonicalization (RFC 6376 3.4.2 and 3.4.4) and the header/body split the
// signer needs. Pure functions over a message with CRLF line ends (what report_mail.hpp
// builds); a bare CR or LF is refused (InvalidInput), since signer and verifier would then
// disagree about the lines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace mtasts::tlsrpt {

// Not mime_header.hpp's HeaderField (an unfolded value): the field as written, for signing.
// Distinct names, or the two would break the one-definition rule in one binary.
struct RawHeaderField {
  std::string_view name;   // as written
  std::string_view field;  // the whole field, folded lines included, without its final CRLF
};

struct SplitMessage {
  std::vector<RawHeaderField> headers;  // in message order
  std::string_view body;             // everything after the empty line (may be empty)
};

// InvalidInput for bare CR/LF, a header line without ':' or starting with whitespace first,
// or no empty line after the header.
Result<SplitMessage> splitMessage(std::string_view message);

// "name:value": name lower-cased, folding removed, every run of WSP one space, WSP at the end
// of the value and around the colon removed. No CRLF appended.
std::string canonicalHeaderRelaxed(std::string_view field);

// Every run of WSP in a line one space, WSP at line ends removed, empty lines at the end
// removed; a non-empty result ends in CRLF.
std::string canonicalBodyRelaxed(std::string_view body);

}  // namespace mtasts::tlsrpt
