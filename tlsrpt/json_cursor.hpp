// A strict, bounded JSON scanner (RFC 8259) for the libtlsrpt datagram parser: reads one
// value at a time from a byte span it does not own, builds no tree, allocates only into the
// strings the caller hands it. Pure and single-threaded; one cursor per datagram.
// Errors: every read returns false on the first error, which error() then describes with
// its byte offset; the caller stops there. Stricter than RFC 8259 where libtlsrpt can never
// produce the input (see readString and readInteger).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace mtasts::tlsrpt {

class JsonCursor {
 public:
  // Nesting allowed inside a value the caller skips; the datagram itself nests 5 deep.
  static constexpr int MaxNestingDepth = 16;
  // Member names longer than this are refused: libtlsrpt's longest is 15 bytes.
  static constexpr std::size_t MaxNameBytes = 64;

  explicit JsonCursor(std::string_view bytes) noexcept : bytes_(bytes) {}

  // Inline: called for every token, and a call costs more than the work.
  void skipWhitespace() noexcept {
    while (pos_ < bytes_.size() && isWhitespace(byteAt(pos_))) ++pos_;
  }
  // The next byte after whitespace, '\0' at the end (never consumed by mistake: the end
  // and a raw NUL are both refused by every read).
  char peek() noexcept {
    skipWhitespace();
    return pos_ < bytes_.size() ? bytes_[pos_] : '\0';
  }
  bool atEnd() noexcept {
    skipWhitespace();
    return pos_ >= bytes_.size();
  }
  // Consumes c if it is the next byte after whitespace; records no error.
  bool consume(char c) noexcept {
    skipWhitespace();
    if (pos_ < bytes_.size() && bytes_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // Object and array walking. Call with first = true before the first member/element;
  // each call consumes the separator (',') or the closing bracket. end is set when the
  // container closed. nextMember leaves the decoded name in name and the cursor at the
  // value. Opening brackets are consumed by openObject / openArray.
  bool openObject(std::string_view what);
  bool openArray(std::string_view what);
  bool nextMember(bool& first, std::string& name, bool& end);
  bool nextElement(bool& first, bool& end);

  // A string value into out (replaced, not appended), at most max_bytes once decoded.
  // Refused: raw control bytes, unknown escapes, \u0000, unpaired surrogate escapes.
  // Bytes that are not UTF-8 become U+FFFD (one per maximal ill-formed subpart, as
  // Unicode 15 section 3.9 recommends) and set replacedInvalidUtf8(): libtlsrpt copies
  // bytes >= 0x80 unchecked, so a datagram may carry any byte string.
  bool readString(std::string& out, std::size_t max_bytes);
  // An integer of at most 9 digits with an optional '-': libtlsrpt writes "%d".
  // Refused with their own reasons: leading zeros, fractions, exponents, more digits.
  bool readInteger(std::int64_t& out);
  // Any JSON value, syntax-checked and dropped; depth is the nesting of the value itself.
  bool skipValue(int depth);

  // Records the first error (later ones are ignored) and returns false.
  bool fail(ErrorCode code, std::string_view reason);
  bool fail(std::string_view reason) { return fail(ErrorCode::InvalidInput, reason); }

  bool replacedInvalidUtf8() const noexcept { return replaced_; }
  std::size_t offset() const noexcept { return pos_; }
  bool failed() const noexcept { return failed_; }
  Error error() const;

 private:
  std::uint8_t byteAt(std::size_t i) const noexcept {
    return static_cast<std::uint8_t>(bytes_[i]);
  }
  static bool isWhitespace(std::uint8_t b) noexcept {
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
  }
  std::size_t plainRunEnd(std::size_t from) const noexcept;
  bool readEscape(std::string& out);
  bool readHex4(std::uint32_t& out);
  bool skipNumber();
  bool skipLiteral(std::string_view word);

  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool replaced_ = false;
  bool failed_ = false;
  ErrorCode error_code_ = ErrorCode::InvalidInput;
  std::size_t error_offset_ = 0;
  std::string error_reason_;
  std::string scratch_;  // skipped strings and names
};

}  // namespace mtasts::tlsrpt
