#include "net/unix_socket.hpp"

#include "common/log.hpp"
#include "net/c_handles.hpp"

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

Result<void> removeStaleSocket(const std::string& path, int type) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(ErrorCode::Io, fmt::format("unix:{}: {}", path, errnoText(errno)));
  }
  if (!S_ISSOCK(st.st_mode))
    return fail(ErrorCode::Io, fmt::format("unix:{}: exists and is not a socket", path));
  // A probe of the same type: connect() succeeds only while someone is bound there (for a
  // datagram socket it just sets the peer), and fails with ECONNREFUSED on a dead file.
  UniqueFd probe(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!probe) return fail(ErrorCode::Io, fmt::format("socket: {}", errnoText(errno)));
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path)
    return fail(ErrorCode::InvalidInput, fmt::format("unix:{}: path too long for a unix socket", path));
  std::memcpy(sun.sun_path, path.data(), path.size());
  const bool live = ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0;
  probe.reset();
  if (live) return fail(ErrorCode::Io, fmt::format("unix:{}: another process listens on it", path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(ErrorCode::Io, fmt::format("unix:{}: cannot remove stale socket: {}", path, errnoText(errno)));
  return {};
}

Result<void> applyUnixSocketOptions(const std::string& path, const UnixSocketOptions& options) {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!options.owner.empty()) {
    const passwd* pw = ::getpwnam(options.owner.c_str());
    if (!pw) return fail(ErrorCode::InvalidInput, fmt::format("unix_socket_owner: no user \"{}\"", escapeForLog(options.owner)));
    uid = pw->pw_uid;
  }
  if (!options.group.empty()) {
    const group* gr = ::getgrnam(options.group.c_str());
    if (!gr) return fail(ErrorCode::InvalidInput, fmt::format("unix_socket_group: no group \"{}\"", escapeForLog(options.group)));
    gid = gr->gr_gid;
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) && ::chown(path.c_str(), uid, gid) != 0)
    return fail(ErrorCode::Io, fmt::format("unix:{}: chown: {}", path, errnoText(errno)));
  if (::chmod(path.c_str(), static_cast<mode_t>(options.mode)) != 0)
    return fail(ErrorCode::Io, fmt::format("unix:{}: chmod: {}", path, errnoText(errno)));
  return {};
}

}  // namespace mtasts::net
