#include "tlsrpt/json_cursor.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <cstring>

#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

// Bytes copied as they are inside a string: printable ASCII and DEL, not '"' or '\'.
constexpr std::array<bool, 256> PlainTable = [] {
  std::array<bool, 256> t{};
  for (int b = 0x20; b < 0x80; ++b) t[static_cast<std::size_t>(b)] = b != '"' && b != '\\';
  return t;
}();

constexpr std::string_view ReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

bool isDigit(std::uint8_t b) noexcept { return b >= '0' && b <= '9'; }

int hexValue(std::uint8_t b) noexcept {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

// The well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
// starting at s[i] whose first byte is >= 0x80: returns its length (2 to 4), or 0 and the
// length of the maximal ill-formed subpart (1 to 3) in bad.
std::size_t utf8Sequence(std::string_view s, std::size_t i, std::size_t& bad) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = at(i);
  std::size_t len = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xbf;  // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    bad = 1;
    return 0;
  }
  std::size_t k = 1;
  for (; k < len && i + k < s.size(); ++k) {
    const std::uint8_t b = at(i + k);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xbf);
    if (!ok) break;
  }
  if (k == len) return len;
  bad = k;
  return 0;
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string describeByte(std::uint8_t b) {
  if (b >= 0x21 && b < 0x7f) return fmt::format("'{}'", static_cast<char>(b));
  return fmt::format("byte 0x{:02x}", b);
}

}  // namespace

// The end of the run of plain bytes (PlainTable) starting at from. Strings are most of a
// datagram, so this scans 8 bytes at a time: a word without '"', '\', a byte below 0x20
// or a byte >= 0x80 is all plain (the classic "has zero byte" bit tricks).
std::size_t JsonCursor::plainRunEnd(std::size_t from) const noexcept {
  constexpr std::uint64_t Ones = 0x0101010101010101ull;
  constexpr std::uint64_t Highs = 0x8080808080808080ull;
  std::size_t i = from;
  while (i + 8 <= bytes_.size()) {
    std::uint64_t w = 0;
    std::memcpy(&w, bytes_.data() + i, 8);
    const std::uint64_t quote = w ^ (Ones * '"');
    const std::uint64_t backslash = w ^ (Ones * '\\');
    const std::uint64_t special = ((quote - Ones) & ~quote) | ((backslash - Ones) & ~backslash) |
                                  (w - Ones * 0x20) | w;
    if ((special & Highs) != 0) break;
    i += 8;
  }
  while (i < bytes_.size() && PlainTable[byteAt(i)]) ++i;
  return i;
}

bool JsonCursor::fail(ErrorCode code, std::string_view reason) {
  if (!failed_) {
    failed_ = true;
    error_code_ = code;
    error_offset_ = pos_;
    error_reason_ = reason;
  }
  return false;
}

Error JsonCursor::error() const {
  return Error{error_code_, fmt::format("offset {}: {}", error_offset_, error_reason_)};
}

bool JsonCursor::openObject(std::string_view what) {
  if (consume('{')) return true;
  if (atEnd()) return fail(fmt::format("{}: truncated, expected an object", what));
  return fail(fmt::format("{}: expected an object, found {}", what, describeByte(byteAt(pos_))));
}

bool JsonCursor::openArray(std::string_view what) {
  if (consume('[')) return true;
  if (atEnd()) return fail(fmt::format("{}: truncated, expected an array", what));
  return fail(fmt::format("{}: expected an array, found {}", what, describeByte(byteAt(pos_))));
}

bool JsonCursor::nextMember(bool& first, std::string& name, bool& end) {
  end = false;
  if (consume('}')) {
    // "{}" or "{...}", but never "{...,}": a ',' is always followed by a member below.
    end = true;
    return true;
  }
  if (!first && !consume(',')) {
    if (atEnd()) return fail("truncated inside an object");
    return fail(fmt::format("expected ',' or '}}' after a member, found {}", describeByte(byteAt(pos_))));
  }
  first = false;
  if (peek() != '"') {
    if (atEnd()) return fail("truncated inside an object");
    return fail(fmt::format("expected a member name, found {}", describeByte(byteAt(pos_))));
  }
  if (!readString(name, MaxNameBytes)) return false;
  if (!consume(':')) {
    if (atEnd()) return fail("truncated after a member name");
    return fail(fmt::format("expected ':' after a member name, found {}", describeByte(byteAt(pos_))));
  }
  skipWhitespace();
  if (pos_ >= bytes_.size()) return fail("truncated, a member has no value");
  return true;
}

bool JsonCursor::nextElement(bool& first, bool& end) {
  end = false;
  if (first) {
    first = false;
    if (consume(']')) end = true;
  } else if (consume(']')) {
    end = true;
  } else if (!consume(',')) {
    if (atEnd()) return fail("truncated inside an array");
    return fail(fmt::format("expected ',' or ']' after an element, found {}", describeByte(byteAt(pos_))));
  } else if (peek() == ']') {
    return fail("trailing ',' before ']'");
  }
  if (!end && atEnd()) return fail("truncated inside an array");
  return true;
}

bool JsonCursor::readString(std::string& out, std::size_t max_bytes) {
  out.clear();
  if (!consume('"')) return fail("expected a string");
  const std::size_t size = bytes_.size();
  for (;;) {
    const std::size_t start = pos_;
    pos_ = plainRunEnd(pos_);
    out.append(bytes_.data() + start, pos_ - start);
    if (out.size() > max_bytes) {
      return fail(ErrorCode::TooLarge, fmt::format("string longer than {} bytes", max_bytes));
    }
    if (pos_ >= size) return fail("truncated inside a string");
    const std::uint8_t b = byteAt(pos_);
    if (b == '"') {
      ++pos_;
      return true;
    }
    if (b == '\\') {
      if (!readEscape(out)) return false;
    } else if (b < 0x20) {
      return fail(fmt::format("raw control byte 0x{:02x} inside a string", b));
    } else {
      std::size_t bad = 0;
      const std::size_t len = utf8Sequence(bytes_, pos_, bad);
      if (len > 0) {
        out.append(bytes_.data() + pos_, len);
        pos_ += len;
      } else {
        out.append(ReplacementCharacter);
        pos_ += bad;
        replaced_ = true;
      }
    }
  }
}

bool JsonCursor::readEscape(std::string& out) {
  ++pos_;  // the backslash
  if (pos_ >= bytes_.size()) return fail("truncated inside an escape");
  const std::uint8_t e = byteAt(pos_++);
  switch (e) {
    case '"': out += '"'; return true;
    case '\\': out += '\\'; return true;
    case '/': out += '/'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'u': break;
    default:
      --pos_;
      return fail(fmt::format("invalid escape '\\{}'", escapeForLog(std::string_view(
                                                           bytes_.data() + pos_, 1))));
  }
  std::uint32_t cp = 0;
  if (!readHex4(cp)) return false;
  // libtlsrpt escapes only bytes below 0x20 and 0x7f; NUL cannot occur (it writes C
  // strings). A decoded NUL would cut the string short in any C consumer, so refuse it.
  if (cp == 0) return fail("\\u0000 (NUL) inside a string");
  if (cp >= 0xdc00 && cp <= 0xdfff) return fail(fmt::format("unpaired low surrogate \\u{:04x}", cp));
  if (cp >= 0xd800 && cp <= 0xdbff) {
    std::uint32_t low = 0;
    if (pos_ + 1 >= bytes_.size() || bytes_[pos_] != '\\' || bytes_[pos_ + 1] != 'u') {
      return fail(fmt::format("unpaired high surrogate \\u{:04x}", cp));
    }
    pos_ += 2;
    if (!readHex4(low)) return false;
    if (low < 0xdc00 || low > 0xdfff) {
      return fail(fmt::format("high surrogate \\u{:04x} followed by \\u{:04x}", cp, low));
    }
    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
  }
  appendUtf8(out, cp);
  return true;
}

bool JsonCursor::readHex4(std::uint32_t& out) {
  out = 0;
  for (int i = 0; i < 4; ++i) {
    if (pos_ >= bytes_.size()) return fail("truncated inside a \\u escape");
    const int v = hexValue(byteAt(pos_));
    if (v < 0) return fail("\\u escape without 4 hex digits");
    out = (out << 4) | static_cast<std::uint32_t>(v);
    ++pos_;
  }
  return true;
}

bool JsonCursor::readInteger(std::int64_t& out) {
  skipWhitespace();
  const bool negative = pos_ < bytes_.size() && bytes_[pos_] == '-';
  if (negative) ++pos_;
  if (pos_ >= bytes_.size() || !isDigit(byteAt(pos_))) {
    if (pos_ >= bytes_.size()) return fail("truncated, expected a number");
    return fail(fmt::format("expected a number, found {}", describeByte(byteAt(pos_))));
  }
  if (byteAt(pos_) == '0' && pos_ + 1 < bytes_.size() && isDigit(byteAt(pos_ + 1))) {
    return fail("number with a leading zero");
  }
  std::int64_t value = 0;
  int digits = 0;
  while (pos_ < bytes_.size() && isDigit(byteAt(pos_))) {
    if (++digits > 9) return fail(ErrorCode::TooLarge, "number with more than 9 digits");
    value = value * 10 + (byteAt(pos_) - '0');
    ++pos_;
  }
  if (pos_ < bytes_.size() && bytes_[pos_] == '.') return fail("number with a fraction (integers only)");
  if (pos_ < bytes_.size() && (bytes_[pos_] == 'e' || bytes_[pos_] == 'E')) {
    return fail("number with an exponent (integers only)");
  }
  out = negative ? -value : value;
  return true;
}

bool JsonCursor::skipNumber() {
  // RFC 8259 number = [ minus ] int [ frac ] [ exp ], syntax only.
  if (pos_ < bytes_.size() && bytes_[pos_] == '-') ++pos_;
  if (pos_ >= bytes_.size() || !isDigit(byteAt(pos_))) return fail("malformed number");
  if (byteAt(pos_) == '0') {
    ++pos_;
    if (pos_ < bytes_.size() && isDigit(byteAt(pos_))) return fail("number with a leading zero");
  } else {
    while (pos_ < bytes_.size() && isDigit(byteAt(pos_))) ++pos_;
  }
  if (pos_ < bytes_.size() && bytes_[pos_] == '.') {
    ++pos_;
    if (pos_ >= bytes_.size() || !isDigit(byteAt(pos_))) return fail("malformed number fraction");
    while (pos_ < bytes_.size() && isDigit(byteAt(pos_))) ++pos_;
  }
  if (pos_ < bytes_.size() && (bytes_[pos_] == 'e' || bytes_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < bytes_.size() && (bytes_[pos_] == '+' || bytes_[pos_] == '-')) ++pos_;
    if (pos_ >= bytes_.size() || !isDigit(byteAt(pos_))) return fail("malformed number exponent");
    while (pos_ < bytes_.size() && isDigit(byteAt(pos_))) ++pos_;
  }
  return true;
}

bool JsonCursor::skipLiteral(std::string_view word) {
  if (bytes_.substr(pos_, word.size()) != word) return fail("malformed literal (true, false or null)");
  pos_ += word.size();
  return true;
}

bool JsonCursor::skipValue(int depth) {
  if (depth > MaxNestingDepth) {
    return fail(ErrorCode::TooLarge, fmt::format("values nested more than {} deep", MaxNestingDepth));
  }
  const char c = peek();
  if (pos_ >= bytes_.size()) return fail("truncated, expected a value");
  switch (c) {
    case '"': {
      // A dropped string cannot make a report invalid: do not count its replacements.
      const bool replaced = replaced_;
      const bool ok = readString(scratch_, bytes_.size());
      replaced_ = replaced;
      return ok;
    }
    case '{': {
      ++pos_;
      bool first = true;
      bool end = false;
      while (nextMember(first, scratch_, end) && !end) {
        if (!skipValue(depth + 1)) return false;
      }
      return !failed_;
    }
    case '[': {
      ++pos_;
      bool first = true;
      bool end = false;
      while (nextElement(first, end) && !end) {
        if (!skipValue(depth + 1)) return false;
      }
      return !failed_;
    }
    case 't': return skipLiteral("true");
    case 'f': return skipLiteral("false");
    case 'n': return skipLiteral("null");
    default:
      if (c == '-' || isDigit(static_cast<std::uint8_t>(c))) return skipNumber();
      return fail(fmt::format("expected a value, found {}", describeByte(byteAt(pos_))));
  }
}

}  // namespace mtasts::tlsrpt
