#include "sts/policy_parser.hpp"

#include <spdlog/fmt/fmt.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "sts/mx_match.hpp"

// The grammar implemented here (RFC 8461 3.2, RFC 7405 %s = case-sensitive):
//   sts-policy-record    = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP)
//                          [sts-policy-term]
//   sts-policy-term      = LF / CRLF
//   field-delim          = ":" *WSP
//   sts-policy-ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//   sts-policy-ext-value = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
//   sts-policy-vchar     = %x21-7E / UTF8-2 / UTF8-3 / UTF8-4
// Consequences we enforce: no empty lines (not even a second newline at the end), no
// whitespace before a key or before its colon, no control characters (a lone CR, a tab
// inside a value), no empty values. Every known field ("version: STSv2" included) also
// matches sts-policy-extension, so a repeated known field is only syntax-checked and
// then ignored, as 3.2 says ("all entries except for the first SHALL be ignored").

namespace mtasts::sts {
namespace {

constexpr std::size_t MaxKeyLength = 32;
constexpr std::size_t MaxAgeDigits = 10;  // sts-policy-max-age-value = 1*10DIGIT

bool isAlnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }
bool isWsp(char c) noexcept { return c == ' ' || c == '\t'; }
bool isKeyChar(char c) noexcept { return isAlnum(c) || c == '_' || c == '-' || c == '.'; }
std::uint8_t byteAt(std::string_view s, std::size_t i) noexcept {
  return static_cast<std::uint8_t>(s[i]);
}

std::string quoted(std::string_view text) { return "\"" + escapeForLog(text, 60) + "\""; }

// Length of the RFC 3629 UTF-8 sequence (2 to 4 bytes) starting at s[i], 0 if invalid.
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) noexcept {
  const std::uint8_t b0 = byteAt(s, i);
  std::size_t len = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xbf;  // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;  // no overlong forms
    if (b0 == 0xed) hi = 0x9f;  // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byteAt(s, i + 1) < lo || byteAt(s, i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byteAt(s, i + k) < 0x80 || byteAt(s, i + k) > 0xbf) return 0;
  }
  return len;
}

// A problem on the line being parsed (parseLine fills in the line number).
PolicyProblem problemWith(std::string key, std::string reason, std::string value = {}) {
  PolicyProblem p;
  p.key = std::move(key);
  p.reason = std::move(reason);
  p.value = std::move(value);
  return p;
}

// sts-policy-ext-value; the caller has already removed WSP from both ends. Returns why not.
std::optional<std::string> checkValue(std::string_view value) {
  for (std::size_t i = 0; i < value.size();) {
    const std::uint8_t b = byteAt(value, i);
    if (b == 0x20 || (b >= 0x21 && b <= 0x7e)) {
      ++i;
    } else if (b >= 0x80) {
      const std::size_t len = utf8SequenceLength(value, i);
      if (len == 0) return fmt::format("invalid UTF-8 at byte {} of the value", i + 1);
      i += len;
    } else {
      return fmt::format("control character 0x{:02x} in the value", b);
    }
  }
  return std::nullopt;
}

std::optional<std::string> checkKey(std::string_view key) {
  if (key.empty()) return "empty key before ':'";
  if (isWsp(key.back())) return "whitespace before ':'";
  if (isWsp(key.front())) return "whitespace before the key";
  bool chars_ok = isAlnum(key.front());
  for (char c : key) chars_ok = chars_ok && isKeyChar(c);
  if (!chars_ok || key.size() > MaxKeyLength) return fmt::format("invalid key {}", quoted(key));
  return std::nullopt;
}

std::optional<Mode> parseMode(std::string_view value) {
  // %s"testing" / %s"enforce" / %s"none": case-sensitive.
  if (value == "enforce") return Mode::Enforce;
  if (value == "testing") return Mode::Testing;
  if (value == "none") return Mode::None;
  return std::nullopt;
}

// max_age's value, or why not.
std::variant<std::int64_t, std::string> parseMaxAge(std::string_view value) {
  for (char c : value) {
    if (!isDigit(c)) return fmt::format("max_age: not a decimal number {}", quoted(value));
  }
  if (value.size() > MaxAgeDigits) return fmt::format("max_age: more than {} digits", MaxAgeDigits);
  std::int64_t seconds = 0;  // 10 digits always fit in 64 bits
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc{} || end != value.data() + value.size()) {
    return fmt::format("max_age: not a decimal number {}", quoted(value));
  }
  // "max_age: ... maximum value of 31557600": larger values are capped, not rejected;
  // 0 is allowed by the ABNF and means "do not cache".
  return seconds > MaxAgeCap ? MaxAgeCap : seconds;
}

struct ParseState {
  Policy policy;
  bool have_version = false;
  bool have_mode = false;
  bool have_max_age = false;
};

std::optional<PolicyProblem> parseLine(std::string_view line, ParseState& state) {
  if (line.empty()) return problemWith({}, "empty line");
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return problemWith({}, "missing ':'");
  const std::string_view key = line.substr(0, colon);
  if (auto bad = checkKey(key)) return problemWith({}, std::move(*bad));

  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && isWsp(value.front())) value.remove_prefix(1);  // field-delim
  while (!value.empty() && isWsp(value.back())) value.remove_suffix(1);   // trailing *WSP
  const std::string k(key);
  if (value.empty()) return problemWith(k, fmt::format("{}: empty value", key));
  if (auto bad = checkValue(value)) return problemWith(k, fmt::format("{}: {}", key, *bad));
  state.policy.lines.emplace_back(k, std::string(value));

  if (key == "mx") {  // every mx line counts; each must be a valid pattern
    if (!isValidMxPattern(value)) {
      return problemWith(k, fmt::format("mx: invalid pattern {} (want a hostname in A-label form or "
                                        "\"*.\" + hostname, not an IP address)",
                                        quoted(value)));
    }
    state.policy.mx.push_back(toLowerAscii(value));
  } else if (key == "version") {
    if (state.have_version) return std::nullopt;
    if (value != "STSv1") {
      return problemWith(k, fmt::format("version: unsupported value {} (want STSv1)", quoted(value)));
    }
    state.have_version = true;
  } else if (key == "mode") {
    if (state.have_mode) return std::nullopt;
    auto mode = parseMode(value);
    if (!mode) return problemWith(k, "mode must be enforce, testing or none", quoted(value));
    state.policy.mode = *mode;
    state.have_mode = true;
  } else if (key == "max_age") {
    if (state.have_max_age) return std::nullopt;
    auto max_age = parseMaxAge(value);
    if (auto* why = std::get_if<std::string>(&max_age)) return problemWith(k, std::move(*why));
    state.policy.max_age = std::get<std::int64_t>(max_age);
    state.have_max_age = true;
  }
  return std::nullopt;  // unknown keys (extensions) are ignored
}

PolicyProblem wholeBody(ErrorCode code, std::string key, std::string reason) {
  PolicyProblem p = problemWith(std::move(key), std::move(reason));
  p.code = code;
  return p;
}

}  // namespace

std::string describePolicyProblem(const PolicyProblem& problem) {
  std::string out = problem.line > 0 ? fmt::format("line {}: {}", problem.line, problem.reason) : problem.reason;
  if (!problem.value.empty()) out += ", not " + problem.value;
  return out;
}

std::variant<Policy, PolicyProblem> parsePolicyDetailed(std::string_view body) {
  if (body.size() > MaxPolicyBodyBytes) {
    return wholeBody(ErrorCode::TooLarge, {},
                     fmt::format("policy body is {} bytes, limit {}", body.size(), MaxPolicyBodyBytes));
  }
  if (const std::size_t nul = body.find('\0'); nul != std::string_view::npos) {
    return wholeBody(ErrorCode::InvalidInput, {}, fmt::format("NUL byte at offset {}", nul));
  }
  if (body.empty()) return wholeBody(ErrorCode::InvalidInput, {}, "empty policy");

  ParseState state;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < body.size();) {
    ++line_no;
    const std::size_t lf = body.find('\n', pos);
    std::string_view line =
        body.substr(pos, lf == std::string_view::npos ? body.size() - pos : lf - pos);
    pos = lf == std::string_view::npos ? body.size() : lf + 1;
    // CRLF ends a line only with its LF; a CR anywhere else is a control character.
    if (lf != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto problem = parseLine(line, state)) {
      problem->line = line_no;
      return std::move(*problem);
    }
  }

  if (!state.have_version) return wholeBody(ErrorCode::InvalidInput, "version", "no version line");
  if (!state.have_mode) return wholeBody(ErrorCode::InvalidInput, "mode", "no mode line");
  if (!state.have_max_age) return wholeBody(ErrorCode::InvalidInput, "max_age", "no max_age line");
  if (state.policy.mx.empty() && state.policy.mode != Mode::None) {
    return wholeBody(ErrorCode::InvalidInput, "mx",
                     fmt::format("no mx line in mode {}", modeName(state.policy.mode)));
  }
  return std::move(state.policy);
}

Result<Policy> parsePolicy(std::string_view body) {
  auto parsed = parsePolicyDetailed(body);
  if (auto* problem = std::get_if<PolicyProblem>(&parsed)) {
    return fail(problem->code, describePolicyProblem(*problem));
  }
  return std::get<Policy>(std::move(parsed));
}

}  // namespace mtasts::sts
