#include "tlsrpt/addr_spec.hpp"

#include <spdlog/fmt/fmt.h>

#include "common/domain.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxLocalPart = 64;  // RFC 5321 4.5.3.1.1
constexpr std::size_t MaxAddress = 254;   // RFC 5321 path limit minus the brackets

std::string describeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u <= 0x7e) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

}  // namespace

bool isAtext(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view Others = "!#$%&'*+-/=?^_`{|}~";
  return Others.find(c) != std::string_view::npos;
}

std::string addrSpecProblem(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "no '@'";
  if (address.size() > MaxAddress) return "address longer than 254 bytes";
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty()) return "empty local part";
  if (local.size() > MaxLocalPart) return "local part longer than 64 bytes";
  if (local.front() == '.' || local.back() == '.') return "local part starts or ends with '.'";
  for (std::size_t i = 0; i < local.size(); ++i) {
    const char c = local[i];
    if (c == '.' && local[i + 1] == '.') return "'..' in the local part";
    if (c != '.' && !isAtext(c)) {
      return c == '"' ? "quoted local part not supported"
                      : fmt::format("invalid character {} in the local part", describeByte(c));
    }
  }
  if (domain.empty()) return "empty domain";
  if (domain.front() == '[') return "address literal not supported";
  if (!isValidHostname(domain)) return "domain is not a hostname (A-labels only)";
  return {};
}

}  // namespace mtasts::tlsrpt
