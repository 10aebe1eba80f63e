// Helpers for unix-domain sockets bound to a path (the socketmap listener today, the TLS-RPT
// datagram socket next): removing a stale socket file left by a crash, and giving a bound
// socket file its mode, owner and group. Synchronous, startup only (they may run as root,
// before the privilege drop). Errors: Result naming the path (Io) or the user/group
// (InvalidInput).
#pragma once

#include "common/result.hpp"

#include <string>

namespace mtasts::net {

struct UnixSocketOptions {
  unsigned mode = 0666;
  std::string owner;  // empty = unchanged
  std::string group;
};

// A socket file nobody is bound to is left over from a crash: removes it. A missing file is
// fine; a file that is not a socket, or a socket someone still uses, is an error. `type` is
// the socket type the file is for (SOCK_STREAM, SOCK_DGRAM): the probe connects with it.
Result<void> removeStaleSocket(const std::string& path, int type);

// chown (when owner or group is set), then chmod, of the socket file at `path`.
Result<void> applyUnixSocketOptions(const std::string& path, const UnixSocketOptions& options);

}  // namespace mtasts::net
