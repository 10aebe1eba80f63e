// Netstring codec ("<len>:<data>,", D. J. Bernstein) used by Postfix socketmap_table(5).
// Pure functions, no I/O, no allocation in the decoder: the returned payload is a view into
// the caller's buffer and lives as long as that buffer. Errors are a closed status set; the
// size limit is passed in by the caller (Postfix caps queries at 10000 bytes and replies
// at 100000), like Postfix's netstring_get(stream, buf, limit).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mtasts::postfix {

enum class NetstringStatus { Complete, Incomplete, Malformed, TooLong };

struct NetstringView {
  NetstringStatus status;
  std::string_view payload;  // only meaningful when Complete
  std::size_t consumed;      // bytes of buffer used when Complete, 0 otherwise
};

// Decodes the first netstring "<len>:<data>," at the start of buffer. Incomplete = need
// more bytes (also when only a prefix of the length is there); TooLong = declared length
// > max_payload (decided as soon as the length digits exceed it, before the data arrives);
// Malformed = non-digit, missing ':' or ',', leading zeros beyond "0", length overflow.
NetstringView decodeNetstring(std::string_view buffer, std::size_t max_payload) noexcept;

// Appends "<len>:<payload>," to out.
void appendNetstring(std::string& out, std::string_view payload);

}  // namespace mtasts::postfix
