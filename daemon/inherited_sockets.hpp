// Socket activation: the sockets systemd passed to the daemon (sd_listen_fds_with_names(3):
// LISTEN_PID must be our pid, descriptors from 3 on, named by FileDescriptorName=), each
// described once (kind, local address) and later matched to the configuration key that names
// its address: a listening stream socket to a `listen` (or `metrics_listen`) entry, a unix
// datagram socket to `tlsrpt_socket`. Startup only (getsockname, getaddrinfo for a host name
// in a key); the Runtime owns the list (runtime.hpp). Errors: Result (Io) from the environment.
#pragma once

#include "common/result.hpp"
#include "net/c_handles.hpp"

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mtasts::daemon {

enum class SocketKind { Stream, Datagram };

struct InheritedSocket {
  net::UniqueFd fd;
  int number = -1;                 // the descriptor number, for logs
  std::string name;                // FileDescriptorName= ("unknown" when the unit sets none)
  std::optional<SocketKind> kind;  // none: not a listening stream socket nor a datagram one
  std::string address;             // "inet:127.0.0.1:8461", "inet:[::1]:8461", "unix:/path"
  sockaddr_storage local{};        // getsockname()
  socklen_t local_len = 0;
};

// "stream", "datagram" (logs).
std::string_view socketKindName(SocketKind kind) noexcept;

// Takes the sockets passed by systemd (none when LISTEN_PID is not this process) and unsets
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, so that no child process (sendmail) believes
// they are its own. The descriptors stay close-on-exec. Io when the variables are malformed.
Result<std::vector<InheritedSocket>> takeSystemdSockets();

// What `fd` is: its kind (a listening SOCK_STREAM socket, or a SOCK_DGRAM socket) and its
// local address. Owns `fd` from here on.
InheritedSocket describeSocket(net::UniqueFd fd, int number, std::string name);

// Whether `socket` is the one the key value `address` asks for:
//   Stream:   a `listen` entry, "inet:HOST:PORT" (HOST numeric, or a name whose addresses
//             are looked up; same address and port, port not 0) or "unix:/path";
//   Datagram: a unix socket path, "/path" or "unix:/path".
bool socketMatches(const InheritedSocket& socket, SocketKind kind, std::string_view address);

}  // namespace mtasts::daemon
