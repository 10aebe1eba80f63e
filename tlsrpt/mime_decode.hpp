// Content-Transfer-Encoding decoders for received mail (RFC 2045 section 6): base64 and
// quoted-printable, plus the identity encodings. Pure functions over bytes; the output is never
// longer than the input, so the caller's bound on the mail also bounds what these allocate.
// A damaged body is an InvalidInput error whose detail says where and what.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace mtasts::tlsrpt {

// RFC 2045 6.8 base64. Line breaks, spaces and tabs anywhere are skipped. Any other byte
// outside the alphabet is an error (RFC 2045 lets decoders ignore them, but in a report
// attachment they mean the part was damaged: better a clear reason than a gzip error later).
// '=' padding ends the data: only more '=' and whitespace may follow. A final group of 2 or 3
// characters without its padding is decoded (some encoders drop it); a single one is an error.
Result<std::string> decodeBase64(std::string_view text);

// RFC 2045 6.7 quoted-printable: "=XX" (either case) is a byte, "=" at a line end a soft line
// break, whitespace before a line end is dropped (6.7 rule 3). A '=' not followed by two hex
// digits is kept as it is (the robustness rule of 6.7 note 1). With underscore_is_space the
// RFC 2047 "Q" variant: '_' is a space.
std::string decodeQuotedPrintable(std::string_view text, bool underscore_is_space = false);

// Decodes a body by its Content-Transfer-Encoding value (case-insensitive, surrounding
// whitespace ignored): base64, quoted-printable, or 7bit / 8bit / binary / none as they are.
// InvalidInput for a damaged base64 body or an encoding RFC 2045 does not define.
Result<std::string> decodeTransferEncoding(std::string_view body, std::string_view encoding);

}  // namespace mtasts::tlsrpt
