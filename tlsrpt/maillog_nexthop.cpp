#include "tlsrpt/maillog_nexthop.hpp"

#include "common/domain.hpp"

namespace mtasts::tlsrpt {
namespace {

bool isSeparator(char c) noexcept { return c == ',' || c == ' ' || c == '\t'; }

// The host of a destination: "[h]:p" -> h, "h:p" -> h (host_port.c; an unbracketed IPv6
// address is not valid Postfix next-hop syntax, but is kept whole so it stays unreportable).
std::string_view hostOf(std::string_view destination) noexcept {
  if (!destination.empty() && destination.front() == '[') {
    const auto close = destination.find(']');
    if (close == std::string_view::npos) return {};
    std::string_view host = destination.substr(1, close - 1);
    if (host.size() >= 5 && equalsIgnoreCaseAscii(host.substr(0, 5), "ipv6:")) host.remove_prefix(5);
    return host;
  }
  const auto colon = destination.find(':');
  if (colon != std::string_view::npos && destination.find(':', colon + 1) == std::string_view::npos) {
    return destination.substr(0, colon);
  }
  return destination;
}

}  // namespace

NextHop nextHopOf(std::string_view destination) {
  while (!destination.empty() && isSeparator(destination.front())) destination.remove_prefix(1);
  while (!destination.empty() && isSeparator(destination.back())) destination.remove_suffix(1);
  std::string_view host = hostOf(destination);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  NextHop hop;
  hop.domain = toLowerAscii(host);
  hop.reportable = !hop.domain.empty() && !isIpAddressLiteral(hop.domain);
  return hop;
}

NextHop relayNextHop(std::string_view relayhost_list, std::string_view relay_host) {
  std::string_view first;
  std::string_view rest = relayhost_list;
  while (!rest.empty()) {
    while (!rest.empty() && isSeparator(rest.front())) rest.remove_prefix(1);
    std::size_t end = 0;
    while (end < rest.size() && !isSeparator(rest[end])) ++end;
    const std::string_view entry = rest.substr(0, end);
    rest.remove_prefix(end);
    if (entry.empty()) continue;
    if (first.empty()) first = entry;
    if (entry.front() == '[' && !relay_host.empty() &&
        equalsIgnoreCaseAscii(hostOf(entry), relay_host)) {
      return nextHopOf(entry);
    }
  }
  return nextHopOf(first);
}

}  // namespace mtasts::tlsrpt
