#include "common/domain.hpp"

#include <arpa/inet.h>

#include <array>

namespace mtasts {
namespace {

bool isLdh(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

char lowerAscii(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string toLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

bool equalsIgnoreCaseAscii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool isValidHostname(std::string_view name) noexcept {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      const std::size_t len = i - label_start;
      if (len == 0 || len > 63) return false;
      if (name[label_start] == '-' || name[i - 1] == '-') return false;
      label_start = i + 1;
    } else if (!isLdh(name[i])) {
      return false;
    }
  }
  return true;
}

bool isIpAddressLiteral(std::string_view text) noexcept {
  if (text.empty() || text.size() > 64) return false;
  std::array<char, 65> buf{};
  text.copy(buf.data(), text.size());
  std::array<unsigned char, 16> addr{};
  if (text.find(':') != std::string_view::npos) return inet_pton(AF_INET6, buf.data(), addr.data()) == 1;
  return inet_pton(AF_INET, buf.data(), addr.data()) == 1;
}

}  // namespace mtasts
