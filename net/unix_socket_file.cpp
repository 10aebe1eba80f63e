#include "net/unix_socket_file.hpp"

#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mtasts::net {
namespace {

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

Result<void> removeStaleSocketFile(const std::string& path, int socket_type) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(ErrorCode::Io, fmt::format("unix:{}: {}", path, errnoText(errno)));
  }
  if (!S_ISSOCK(st.st_mode))
    return fail(ErrorCode::Io, fmt::format("unix:{}: exists and is not a socket", path));
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    return fail(ErrorCode::InvalidInput, fmt::format("unix:{}: path too long for a unix socket", path));
  int fd = ::socket(AF_UNIX, socket_type | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorCode::Io, fmt::format("socket: {}", errnoText(errno)));
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  // A datagram socket "connects" only to a bound, live peer; a stale file gives ECONNREFUSED
  // for both types. A socket of the other type gives EPROTOTYPE: someone else's, keep it.
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0;
  const int err = errno;
  ::close(fd);
  if (live) return fail(ErrorCode::Io, fmt::format("unix:{}: another process listens on it", path));
  if (err == EPROTOTYPE)
    return fail(ErrorCode::Io, fmt::format("unix:{}: a socket of another type is bound there", path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(ErrorCode::Io, fmt::format("unix:{}: cannot remove stale socket: {}", path, errnoText(errno)));
  return {};
}

Result<void> applySocketFilePermissions(const std::string& path, const SocketFilePermissions& permissions,
                                        std::string_view key) {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!permissions.owner.empty()) {
    const passwd* pw = ::getpwnam(permissions.owner.c_str());
    if (!pw)
      return fail(ErrorCode::InvalidInput,
                  fmt::format("{}_owner: no user \"{}\"", key, escapeForLog(permissions.owner)));
    uid = pw->pw_uid;
  }
  if (!permissions.group.empty()) {
    const group* gr = ::getgrnam(permissions.group.c_str());
    if (!gr)
      return fail(ErrorCode::InvalidInput,
                  fmt::format("{}_group: no group \"{}\"", key, escapeForLog(permissions.group)));
    gid = gr->gr_gid;
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) && ::chown(path.c_str(), uid, gid) != 0)
    return fail(ErrorCode::Io, fmt::format("unix:{}: chown: {}", path, errnoText(errno)));
  if (::chmod(path.c_str(), static_cast<mode_t>(permissions.mode)) != 0)
    return fail(ErrorCode::Io, fmt::format("unix:{}: chmod: {}", path, errnoText(errno)));
  return {};
}

}  // namespace mtasts::net
