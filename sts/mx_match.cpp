#include "sts/mx_match.hpp"

#include "common/domain.hpp"

namespace mtasts::sts {
namespace {

constexpr std::string_view WildcardPrefix = "*.";

}  // namespace

bool mxMatches(std::string_view pattern, std::string_view host) noexcept {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || pattern.empty()) return false;
  if (pattern.substr(0, WildcardPrefix.size()) != WildcardPrefix) {
    return equalsIgnoreCaseAscii(pattern, host);
  }
  // "*.example.com": the wildcard stands for exactly one non-empty left-most label.
  const std::string_view suffix = pattern.substr(WildcardPrefix.size());
  const std::size_t dot = host.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  return equalsIgnoreCaseAscii(host.substr(dot + 1), suffix);
}

bool anyMxMatches(const std::vector<std::string>& patterns, std::string_view host) noexcept {
  for (const auto& pattern : patterns) {
    if (mxMatches(pattern, host)) return true;
  }
  return false;
}

bool isValidMxPattern(std::string_view pattern) noexcept {
  if (pattern.substr(0, WildcardPrefix.size()) == WildcardPrefix) {
    pattern.remove_prefix(WildcardPrefix.size());
  }
  // RFC 5321's Domain grammar would let "192.0.2.1" through as four numeric labels; an
  // address can never be a certificate DNS-ID, so such a pattern is a publisher error.
  return isValidHostname(pattern) && !isIpAddressLiteral(pattern);
}

}  // namespace mtasts::sts
