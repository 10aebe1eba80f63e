#include "tlsrpt/ehlo_name.hpp"

#include <arpa/inet.h>

#include <array>

#include "common/domain.hpp"

namespace mtasts::tlsrpt {
namespace {

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

// RFC 5321 4.1.3: "[" IPv4 "]" or "[IPv6:" IPv6 "]" (the tag is case-insensitive).
bool isAddressLiteral(std::string_view text) {
  if (text.size() < 3 || text.front() != '[' || text.back() != ']') return false;
  std::string_view inner = text.substr(1, text.size() - 2);
  int family = AF_INET;
  if (inner.size() > 5 && equalsIgnoreCaseAscii(inner.substr(0, 5), "IPv6:")) {
    inner.remove_prefix(5);
    family = AF_INET6;
  }
  if (inner.empty() || inner.size() > 45) return false;
  std::array<char, 46> buf{};
  inner.copy(buf.data(), inner.size());
  std::array<unsigned char, 16> addr{};
  return inet_pton(family, buf.data(), addr.data()) == 1;
}

std::string nameOrEmpty(std::string_view candidate) {
  if (isAddressLiteral(candidate)) return std::string(candidate);
  std::string name = toLowerAscii(candidate);
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return isValidHostname(name) ? name : std::string();
}

}  // namespace

std::string heloNameFromEhlo(std::string_view ehlo_response) {
  const std::string_view line = ehlo_response.substr(0, ehlo_response.find_first_of("\r\n"));
  // Three leading digits make it a reply, whatever follows: "250mx.example" is garbage,
  // not a bare name.
  if (line.size() >= 3 && isDigit(line[0]) && isDigit(line[1]) && isDigit(line[2])) {
    if (line.substr(0, 3) != "250" || line.size() < 5 || (line[3] != ' ' && line[3] != '-')) return {};
    const std::string_view rest = line.substr(4);
    return nameOrEmpty(rest.substr(0, rest.find(' ')));
  }
  return nameOrEmpty(line);
}

}  // namespace mtasts::tlsrpt
