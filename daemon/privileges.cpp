#include "daemon/privileges.hpp"

#include <spdlog/fmt/fmt.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mtasts::daemon {
namespace {

constexpr const char* LmdbFiles[] = {"data.mdb", "lock.mdb"};

std::string errnoText(int err) { return std::strerror(err); }

// Runs a getpw*_r call with a buffer that grows on ERANGE (bounded: 1 MiB); copies the
// entry out while the buffer is alive. Returns the errno-style code; `out` unset = no entry.
template <typename Call>
int passwdLookup(Call call, std::optional<UserIds>& out) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::size_t size = hint > 0 ? static_cast<std::size_t>(hint) : 16384;
  for (;;) {
    std::vector<char> buf(size);
    passwd entry{};
    passwd* found = nullptr;
    int rc = call(&entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && size < (1u << 20)) {
      size *= 2;
      continue;
    }
    if (rc == 0 && found) out = UserIds{found->pw_name ? found->pw_name : "", found->pw_uid, found->pw_gid};
    return rc;
  }
}

}  // namespace

PrivilegePlan planPrivileges(uid_t euid, std::string_view user, const std::optional<UserIds>& target,
                             bool allow_root) {
  PrivilegePlan plan;
  auto refuse = [&](std::string message) {
    plan.action = PrivilegeAction::Refuse;
    plan.message = std::move(message);
    return plan;
  };
  if (euid != 0) {
    // Not root: nothing to switch. The default user = mtastsd must not stop a daemon that
    // an unprivileged user starts by hand, so a different user is only worth a warning.
    if (!user.empty() && (!target || target->uid != euid)) {
      plan.message = fmt::format("not root: user = {} ignored, running as uid {}", user, euid);
    }
    return plan;
  }
  if (user.empty() || (target && target->uid == 0)) {
    if (!allow_root) {
      if (!user.empty())
        return refuse(fmt::format("user = {} has uid 0: refusing to run as root: set user = mtastsd "
                                  "(recommended) or allow_root = yes", user));
      return refuse("refusing to run as root: set user = mtastsd (recommended) or allow_root = yes");
    }
    plan.message = "running as root (allow_root = yes); set user = mtastsd to drop privileges";
    return plan;
  }
  if (!target) {
    return refuse(fmt::format("user = {}: no such user; create it (useradd --system --no-create-home "
                              "--shell /usr/sbin/nologin {}) or set user to an existing one",
                              user, user));
  }
  plan.action = PrivilegeAction::Switch;
  return plan;
}

Result<UserIds> lookupUser(const std::string& name) {
  std::optional<UserIds> ids;
  int rc = passwdLookup(
      [&](passwd* e, char* b, std::size_t n, passwd** f) { return ::getpwnam_r(name.c_str(), e, b, n, f); }, ids);
  // glibc reports "no such user" as 0 with no entry, some NSS modules as ENOENT/ESRCH.
  if (rc != 0 && rc != ENOENT && rc != ESRCH)
    return fail(ErrorCode::Io, fmt::format("user {}: lookup failed: {}", name, errnoText(rc)));
  if (!ids) return fail(ErrorCode::NotFound, fmt::format("user {}: no such user", name));
  return std::move(*ids);
}

UserIds lookupUid(uid_t uid, gid_t fallback_gid) {
  std::optional<UserIds> ids;
  passwdLookup([&](passwd* e, char* b, std::size_t n, passwd** f) { return ::getpwuid_r(uid, e, b, n, f); }, ids);
  if (ids) return std::move(*ids);
  return UserIds{"", uid, fallback_gid};
}

Result<void> chownStateDir(const std::string& dir, const UserIds& ids) {
  // The directory itself may be a symlink the admin made; the files in it are not followed.
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::Io, fmt::format("state_dir {}: cannot open: {}", dir, errnoText(errno)));
  Result<void> result;
  if (::fchown(fd, ids.uid, ids.gid) != 0) {
    result = fail(ErrorCode::Io, fmt::format("state_dir {}: cannot give it to user {}: {}", dir, ids.name,
                                             errnoText(errno)));
  }
  for (const char* file : LmdbFiles) {
    if (!result) break;
    if (::fchownat(fd, file, ids.uid, ids.gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
      result = fail(ErrorCode::Io, fmt::format("state_dir {}: cannot give {} to user {}: {}", dir, file,
                                               ids.name, errnoText(errno)));
    }
  }
  ::close(fd);
  return result;
}

Result<void> switchToUser(const UserIds& ids) {
  const char* who = ids.name.empty() ? "(no name)" : ids.name.c_str();
  // Groups first: after setresuid we could no longer change them.
  int rc = ids.name.empty() ? ::setgroups(1, &ids.gid) : ::initgroups(ids.name.c_str(), ids.gid);
  if (rc != 0) return fail(ErrorCode::Io, fmt::format("user {}: cannot set groups: {}", who, errnoText(errno)));
  if (::setresgid(ids.gid, ids.gid, ids.gid) != 0)
    return fail(ErrorCode::Io, fmt::format("user {}: setresgid({}): {}", who, ids.gid, errnoText(errno)));
  if (::setresuid(ids.uid, ids.uid, ids.uid) != 0)
    return fail(ErrorCode::Io, fmt::format("user {}: setresuid({}): {}", who, ids.uid, errnoText(errno)));
  uid_t ru = 0, eu = 0, su = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0 || ru != ids.uid || eu != ids.uid ||
      su != ids.uid || rg != ids.gid || eg != ids.gid || sg != ids.gid) {
    return fail(ErrorCode::Internal, fmt::format("user {}: ids did not change as asked", who));
  }
  // The proof that root is gone for good: getting it back must fail.
  if (ids.uid != 0 && ::setuid(0) == 0)
    return fail(ErrorCode::Internal, fmt::format("user {}: setuid(0) still succeeds after the switch", who));
  return {};
}

Result<void> switchToOwnerOf(const std::string& dir) {
  if (::geteuid() != 0) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || st.st_uid == 0) return {};  // nothing to keep; open reports errors
  return switchToUser(lookupUid(st.st_uid, st.st_gid));
}

}  // namespace mtasts::daemon
