#include "daemon/inherited_sockets.hpp"

#include "net/listener.hpp"

#include <spdlog/fmt/fmt.h>
#include <systemd/sd-daemon.h>

#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <cstring>

namespace mtasts::daemon {
namespace {

bool sameInetAddress(const sockaddr* a, const sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(a);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(b);
    return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

// A `listen` entry against an inet socket: the entry's host may be a name ("localhost"), so
// every address it stands for is compared.
bool inetEntryMatches(const InheritedSocket& socket, const net::ListenAddress& entry) {
  if (entry.port == 0) return false;  // "any port" names no particular socket
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(entry.port);
  if (::getaddrinfo(entry.host.c_str(), port.c_str(), &hints, &found) != 0) return false;
  bool match = false;
  for (const addrinfo* ai = found; ai != nullptr && !match; ai = ai->ai_next) {
    match = sameInetAddress(ai->ai_addr, reinterpret_cast<const sockaddr*>(&socket.local));
  }
  ::freeaddrinfo(found);
  return match;
}

}  // namespace

std::string_view socketKindName(SocketKind kind) noexcept {
  return kind == SocketKind::Stream ? "stream" : "datagram";
}

InheritedSocket describeSocket(net::UniqueFd fd, int number, std::string name) {
  InheritedSocket out;
  out.number = number;
  out.name = std::move(name);
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
    int listening = 0;
    len = sizeof listening;
    const bool accepts = ::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
    // A connected stream socket (Accept=yes in the unit) is not a listener: no kind.
    if (type == SOCK_STREAM && accepts) out.kind = SocketKind::Stream;
    if (type == SOCK_DGRAM) out.kind = SocketKind::Datagram;
  }
  out.local_len = sizeof out.local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&out.local), &out.local_len) != 0) out.local_len = 0;
  out.address = net::localListenAddress(fd.get());
  if (out.address.empty()) out.address = "?";
  out.fd = std::move(fd);
  return out;
}

Result<std::vector<InheritedSocket>> takeSystemdSockets() {
  char** names = nullptr;
  // unset_environment = 1: the variables describe this process only.
  const int n = ::sd_listen_fds_with_names(1, &names);
  if (n < 0) {
    return fail(ErrorCode::Io,
                fmt::format("cannot take the sockets passed by systemd (LISTEN_FDS): {}", std::strerror(-n)));
  }
  std::vector<InheritedSocket> out;
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    std::string name = names != nullptr && names[i] != nullptr ? names[i] : "unknown";
    out.push_back(describeSocket(net::UniqueFd(fd), fd, std::move(name)));
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) ::free(names[i]);
    ::free(names);
  }
  return out;
}

bool socketMatches(const InheritedSocket& socket, SocketKind kind, std::string_view address) {
  if (socket.kind != kind) return false;
  const auto family = socket.local.ss_family;
  if (kind == SocketKind::Datagram) {
    if (family != AF_UNIX || address.empty()) return false;
    const std::string wanted = address.starts_with("unix:") ? std::string(address) : "unix:" + std::string(address);
    return wanted != "unix:" && wanted == socket.address;
  }
  auto entry = net::parseListenAddress(address);
  if (!entry) return false;
  if (entry->kind == net::ListenAddress::Kind::Unix) return family == AF_UNIX && socket.address == "unix:" + entry->path;
  if (family != AF_INET && family != AF_INET6) return false;
  return inetEntryMatches(socket, *entry);
}

}  // namespace mtasts::daemon
