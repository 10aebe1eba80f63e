// The MIME tree of one received mail (RFC 2045, RFC 2046 section 5): its top-level header and
// the leaf parts with their media type, file name, transfer encoding and still-encoded body.
// Multiparts are split by their boundary (delimiter lines at a line start, transport padding
// allowed, preamble and epilogue dropped), nested multiparts and message/rfc822 parts are
// descended into, within bounds on depth and part count. Pure: the leaves' bodies are views
// into the mail the caller keeps alive. Damage is collected as problems, never thrown.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tlsrpt/mime_header.hpp"

namespace mtasts::tlsrpt {

struct MimeLimits {
  std::size_t max_depth = 8;          // multipart / message nesting levels below the top
  std::size_t max_parts = 256;        // parts of every level together
  std::size_t max_header_fields = 1000;
};

struct MimeLeaf {
  std::string number;             // IMAP-style part number: "1", "2", "2.1"
  std::string content_type;       // "type/subtype", lower case; "text/plain" when absent
  std::string file_name;          // Content-Disposition filename, else Content-Type name
  std::string transfer_encoding;  // the Content-Transfer-Encoding value as written
  std::string_view body;          // the encoded body, a view into the mail
};

struct MimeTree {
  HeaderSection header;             // the mail's own header (names are views into the mail)
  ParameterizedValue content_type;  // its Content-Type; token "text/plain" when absent
  std::vector<MimeLeaf> leaves;     // in the order they occur
  std::vector<std::string> problems;  // "part 2: multipart without a boundary parameter", ...
};

MimeTree walkMime(std::string_view mail, const MimeLimits& limits = {});
// A temporary std::string would leave the leaves' views dangling: refused at compile time.
template <typename S, std::enable_if_t<std::is_same_v<S, std::string>, int> = 0>
MimeTree walkMime(S&& mail, const MimeLimits& limits = {}) = delete;

}  // namespace mtasts::tlsrpt
