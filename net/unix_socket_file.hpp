// The file of a unix socket bound at a path: clearing a stale one left by a crash before
// binding, and giving the bound file its mode, owner and group (Postfix's processes run as
// `postfix`). Shared by the socketmap's unix listener and the TLS-RPT datagram socket.
// Blocking system calls (lstat, connect, getpwnam, chown): startup only, any thread.
// Errors: Result; Io for system calls, InvalidInput for an unknown user or group, naming the
// configuration key (`<key>_owner`, `<key>_group`) the value came from.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>

namespace mtasts::net {

struct SocketFilePermissions {
  unsigned mode = 0666;
  std::string owner;  // user name; empty = unchanged
  std::string group;  // group name; empty = unchanged
};

// A socket file nobody receives on is left over from a crash: remove it. A file that is
// not a socket, or a socket some process still serves, is an error (Io). `socket_type` is
// SOCK_STREAM or SOCK_DGRAM: a connect() of that type tells a live socket from a stale one.
// Error texts start with "unix:<path>:".
Result<void> removeStaleSocketFile(const std::string& path, int socket_type);

// chown (when owner or group is set) then chmod of the bound socket file. `key` is the
// configuration key prefix named in errors, e.g. "unix_socket" or "tlsrpt_socket".
Result<void> applySocketFilePermissions(const std::string& path, const SocketFilePermissions& permissions,
                                        std::string_view key);

}  // namespace mtasts::net
