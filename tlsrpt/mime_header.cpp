#include "tlsrpt/mime_header.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/domain.hpp"
#include "tlsrpt/mime_decode.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxParameters = 64;
constexpr int MaxContinuationIndex = 999;

bool isWsp(char c) noexcept { return c == ' ' || c == '\t'; }

// RFC 5322 ftext: printable ASCII except ':'.
bool isFieldName(std::string_view name) noexcept {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (isWsp(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (isWsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// A read position over a header value that skips RFC 5322 CFWS (spaces and nested comments).
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool atEnd() const noexcept { return pos_ >= s_.size(); }
  char peek() const noexcept { return s_[pos_]; }
  void advance() noexcept { ++pos_; }

  void skipCfws() noexcept {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (isWsp(c) || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '(') {
        skipComment();
      } else {
        break;
      }
    }
  }

  // Up to (not including) the first byte in stops, whitespace or '('.
  std::string_view until(std::string_view stops) noexcept {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && stops.find(s_[pos_]) == std::string_view::npos &&
           !isWsp(s_[pos_]) && s_[pos_] != '(' && s_[pos_] != '\r' && s_[pos_] != '\n') {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  // Up to the next ';', whitespace at both ends removed (a tolerant unquoted value).
  std::string_view untilSemicolon() noexcept {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ';') ++pos_;
    return trim(s_.substr(start, pos_ - start));
  }

  // A quoted-string starting at '"': backslash escapes undone; unterminated runs to the end.
  std::string quoted() {
    std::string out;
    ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      if (s_[pos_] != '\r' && s_[pos_] != '\n') out += s_[pos_];
      ++pos_;
    }
    if (pos_ < s_.size()) ++pos_;
    return out;
  }

 private:
  void skipComment() noexcept {
    int depth = 0;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '\\') {
        ++pos_;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        return;
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned value = 0;
    if (s[i] == '%' && i + 2 < s.size()) {
      const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
      if (ec == std::errc() && end == s.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// RFC 2231 3: charset'language'value; without both quotes the value is taken as it is.
std::string decodeExtendedInitial(std::string_view s) {
  const std::size_t q1 = s.find('\'');
  const std::size_t q2 = q1 == std::string_view::npos ? q1 : s.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return percentDecode(s);
  return percentDecode(s.substr(q2 + 1));
}

struct Section {
  bool extended = false;
  std::string value;
};

// name*, name*N, name*N*: (base, index or -1, extended); nullopt-like index -2 when plain.
void splitRfc2231Name(std::string_view name, std::string_view& base, int& index, bool& extended) {
  base = name;
  index = -2;
  extended = false;
  if (!base.empty() && base.back() == '*') {
    extended = true;
    base.remove_suffix(1);
    index = -1;
  }
  const std::size_t star = base.rfind('*');
  if (star == std::string_view::npos) return;
  int n = 0;
  const std::string_view digits = base.substr(star + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 0 ||
      n > MaxContinuationIndex || (digits.size() > 1 && digits[0] == '0')) {
    return;  // a '*' that is not a section number: keep the name as written
  }
  base = base.substr(0, star);
  index = n;
}

}  // namespace

const std::string* HeaderSection::find(std::string_view name) const noexcept {
  for (const auto& field : fields) {
    if (equalsIgnoreCaseAscii(field.name, name)) return &field.value;
  }
  return nullptr;
}

HeaderSection parseHeaderSection(std::string_view text, std::size_t max_fields) {
  HeaderSection out;
  bool continuing = false;  // the last field line was kept: continuation lines belong to it
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = next;
    if (line.empty()) {
      out.body_offset = pos;
      return out;
    }
    if (isWsp(line.front())) {
      if (continuing) out.fields.back().value += line;
      continue;
    }
    continuing = false;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);  // obs-optional
    if (!isFieldName(name) || out.fields.size() >= max_fields) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && isWsp(value.front())) value.remove_prefix(1);
    out.fields.push_back(HeaderField{name, std::string(value)});
    continuing = true;
  }
  out.body_offset = text.size();
  return out;
}

const std::string* ParameterizedValue::param(std::string_view name) const noexcept {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

ParameterizedValue parseParameterizedValue(std::string_view value) {
  ParameterizedValue out;
  Cursor in(value);
  in.skipCfws();
  out.token = toLowerAscii(in.until(";"));
  std::map<std::string, std::map<int, Section>> sections;  // RFC 2231 pieces by name
  std::vector<std::string> order;                           // first appearance of each name
  std::size_t count = 0;
  while (!in.atEnd() && count < MaxParameters) {
    in.skipCfws();
    if (in.atEnd()) break;
    if (in.peek() != ';') {  // junk after a value: skip to the next parameter
      (void)in.untilSemicolon();
      continue;
    }
    in.advance();
    in.skipCfws();
    if (in.atEnd()) break;  // a trailing ';', as Google writes
    const std::string name = toLowerAscii(in.until(";="));
    in.skipCfws();
    if (in.atEnd() || in.peek() != '=' || name.empty()) continue;
    in.advance();
    in.skipCfws();
    std::string text = !in.atEnd() && in.peek() == '"' ? in.quoted() : std::string(in.untilSemicolon());
    ++count;
    std::string_view base;
    int index = 0;
    bool extended = false;
    splitRfc2231Name(name, base, index, extended);
    const std::string key(base);
    if (std::find(order.begin(), order.end(), key) == order.end()) order.push_back(key);
    auto& pieces = sections[key];
    if (!pieces.contains(index)) pieces.emplace(index, Section{extended, std::move(text)});
  }
  for (const auto& name : order) {
    const auto& pieces = sections[name];
    std::string joined;
    bool have = false;
    if (const auto it = pieces.find(-1); it != pieces.end()) {  // name*=charset'lang'value
      joined = decodeExtendedInitial(it->second.value);
      have = true;
    } else if (pieces.contains(0)) {  // name*0, name*1, ... up to the first gap
      for (int i = 0; pieces.contains(i); ++i) {
        const Section& s = pieces.at(i);
        joined += !s.extended ? s.value : i == 0 ? decodeExtendedInitial(s.value) : percentDecode(s.value);
      }
      have = true;
    } else if (const auto plain = pieces.find(-2); plain != pieces.end()) {
      joined = plain->second.value;
      have = true;
    }
    if (have) out.params.emplace_back(name, std::move(joined));
  }
  return out;
}

std::string decodeEncodedWords(std::string_view value) {
  std::string out;
  std::size_t pos = 0;
  bool last_was_word = false;
  while (pos < value.size()) {
    const std::size_t start = value.find("=?", pos);
    if (start == std::string_view::npos) break;
    const std::size_t q1 = value.find('?', start + 2);
    const std::size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
    const std::size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      out += value.substr(pos, start + 2 - pos);
      pos = start + 2;
      last_was_word = false;
      continue;
    }
    const std::string_view between = value.substr(pos, start - pos);
    const bool only_space = std::all_of(between.begin(), between.end(), isWsp);
    if (!(last_was_word && only_space)) out += between;
    const char encoding = value[q1 + 1];
    const std::string_view text = value.substr(q2 + 1, end - q2 - 1);
    if (encoding == 'B' || encoding == 'b') {
      auto bytes = decodeBase64(text);
      out += bytes ? *bytes : std::string(value.substr(start, end + 2 - start));
    } else if (encoding == 'Q' || encoding == 'q') {
      out += decodeQuotedPrintable(text, true);
    } else {
      out += value.substr(start, end + 2 - start);
    }
    pos = end + 2;
    last_was_word = true;
  }
  out += value.substr(std::min(pos, value.size()));
  return out;
}

}  // namespace mtasts::tlsrpt
