#include "tlsrpt/mime_decode.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <cstdint>

#include "common/domain.hpp"
#include "common/log.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::uint8_t NotBase64 = 0xff;

constexpr std::array<std::uint8_t, 256> makeBase64Table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = NotBase64;
  constexpr std::string_view Alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < Alphabet.size(); ++i) {
    table[static_cast<unsigned char>(Alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr auto Base64Table = makeBase64Table();

bool isBase64Space(char c) noexcept { return c == '\r' || c == '\n' || c == ' ' || c == '\t'; }

int hexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string_view trimmed(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> decodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t group = 0;
  int have = 0;
  bool padded = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (isBase64Space(c)) continue;
    if (c == '=') {
      padded = true;
      continue;
    }
    const std::uint8_t v = Base64Table[static_cast<unsigned char>(c)];
    if (v == NotBase64 || padded) {
      return fail(ErrorCode::InvalidInput,
                  fmt::format("invalid base64: {} at byte {}",
                              padded && v != NotBase64 ? "data after the '=' padding"
                                                       : "byte \"" + escapeForLog({&c, 1}) + "\"",
                              i));
    }
    group = (group << 6) | v;
    if (++have == 4) {
      out += static_cast<char>((group >> 16) & 0xff);
      out += static_cast<char>((group >> 8) & 0xff);
      out += static_cast<char>(group & 0xff);
      group = 0;
      have = 0;
    }
  }
  if (have == 1) return fail(ErrorCode::InvalidInput, "invalid base64: truncated (a lone final character)");
  if (have == 2) {
    out += static_cast<char>((group >> 4) & 0xff);
  } else if (have == 3) {
    out += static_cast<char>((group >> 10) & 0xff);
    out += static_cast<char>((group >> 2) & 0xff);
  }
  return out;
}

std::string decodeQuotedPrintable(std::string_view text, bool underscore_is_space) {
  std::string out;
  out.reserve(text.size());
  std::size_t line_start = 0;
  while (line_start <= text.size()) {
    std::size_t nl = text.find('\n', line_start);
    const bool last = nl == std::string_view::npos;
    if (last) nl = text.size();
    std::string_view line = text.substr(line_start, nl - line_start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    bool soft_break = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '=') {
        if (i + 1 == line.size()) {
          soft_break = true;
          break;
        }
        const int hi = i + 1 < line.size() ? hexValue(line[i + 1]) : -1;
        const int lo = i + 2 < line.size() ? hexValue(line[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
          out += static_cast<char>(hi * 16 + lo);
          i += 2;
          continue;
        }
        out += '=';
      } else if (c == '_' && underscore_is_space) {
        out += ' ';
      } else {
        out += c;
      }
    }
    if (last) break;
    if (!soft_break) out += "\r\n";
    line_start = nl + 1;
  }
  return out;
}

Result<std::string> decodeTransferEncoding(std::string_view body, std::string_view encoding) {
  const std::string name = toLowerAscii(trimmed(encoding));
  if (name == "base64") return decodeBase64(body);
  if (name == "quoted-printable") return decodeQuotedPrintable(body);
  if (name.empty() || name == "7bit" || name == "8bit" || name == "binary") {
    return std::string(body);
  }
  return fail(ErrorCode::InvalidInput,
              fmt::format("unknown Content-Transfer-Encoding \"{}\"", escapeForLog(name, 40)));
}

}  // namespace mtasts::tlsrpt
