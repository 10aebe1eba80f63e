// gzip (RFC 1952) of report bodies with zlib, made deterministic: the same JSON always gives
// the same bytes for a given zlib (MTIME 0, no file name, OS byte fixed to 3 = Unix, level 9),
// so a stored report and a rebuilt one compare equal. Pure, bounded, errors as Result.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace mtasts::tlsrpt {

// Bound on what is compressed (a day's report of one domain is kilobytes; this is a guard).
constexpr std::size_t MaxGzipInput = 64 * 1024 * 1024;

// TooLarge past MaxGzipInput, Internal when zlib fails.
Result<std::string> gzipCompress(std::string_view data);

// One gzip member, nothing after it. InvalidInput for a damaged stream or trailing bytes,
// TooLarge when the output would exceed max_output (a gzip bomb).
Result<std::string> gzipDecompress(std::string_view gz, std::size_t max_output);

// The first gzip member only, for received files that carry bytes after it (a mailer's line
// break): *consumed is set to the bytes the member took, the caller judges the rest.
// Errors as gzipDecompress, except that trailing bytes are not one.
Result<std::string> gzipDecompressFirstMember(std::string_view gz, std::size_t max_output,
                                              std::size_t* consumed);

}  // namespace mtasts::tlsrpt
