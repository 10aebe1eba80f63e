// Privileges: whether mtastsd started as root may run, must switch to the configured `user`
// (after binding its listeners, before opening the LMDB store), or need do nothing. The
// decision is a pure function of the ids and the settings (unit-tested); the rest are thin
// wrappers over getpwnam_r / chown / initgroups / setresgid / setresuid, called once at
// startup on the main thread. Errors: Result with a message naming the user or the path.
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace mtasts::daemon {

struct UserIds {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

enum class PrivilegeAction {
  Stay,    // keep the current ids (not root, or root with allow_root and no user)
  Switch,  // root with `user` set: chown state_dir, then switch to `user`
  Refuse,  // cannot run like this; message says why (exit 78, EX_CONFIG)
};

struct PrivilegePlan {
  PrivilegeAction action = PrivilegeAction::Stay;
  std::string message;  // Refuse: the reason; Stay as root: a warning worth logging
};

// euid: the process's effective uid. user: the configured `user` ("" = none) and target:
// its looked-up ids (nullopt when `user` is empty or unknown).
PrivilegePlan planPrivileges(uid_t euid, std::string_view user, const std::optional<UserIds>& target,
                             bool allow_root);

// getpwnam_r; NotFound when there is no such user.
Result<UserIds> lookupUser(const std::string& name);
// getpwuid_r for uid; a uid without a passwd entry gets its own uid and `fallback_gid`.
UserIds lookupUid(uid_t uid, gid_t fallback_gid);

// Gives `dir` and the LMDB files directly in it (data.mdb, lock.mdb) to ids; never follows
// symlinks, never recurses.
Result<void> chownStateDir(const std::string& dir, const UserIds& ids);

// initgroups (the user's groups), setresgid, setresuid: real, effective and saved ids all
// change; then checks the ids really changed and that setuid(0) fails.
Result<void> switchToUser(const UserIds& ids);

// For the CLI tools run as root (--dump, --purge): switch to the owner of an existing,
// non-root-owned `dir`, so files LMDB creates or rewrites stay the daemon user's.
// Does nothing when not root, when dir does not exist or when root owns it.
Result<void> switchToOwnerOf(const std::string& dir);

}  // namespace mtasts::daemon
