#include "daemon/privileges.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

using namespace mtasts;
using namespace mtasts::daemon;

namespace {

const UserIds Daemon{"mtastsd", 105, 110};
const UserIds RootNamed{"toor", 0, 0};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mtastsd-priv-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void touch(const std::filesystem::path& p) { std::ofstream(p) << "x"; }

uid_t ownerOf(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_uid;
}

}  // namespace

TEST_CASE("the privilege plan refuses, switches or stays as the ids and settings say") {
  struct Case {
    const char* name;
    uid_t euid;
    std::string user;
    std::optional<UserIds> target;
    bool allow_root;
    PrivilegeAction want;
    const char* message_part;
  };
  const Case cases[] = {
      {"root without user is refused", 0, "", std::nullopt, false, PrivilegeAction::Refuse,
       "refusing to run as root: set user = mtastsd (recommended) or allow_root = yes"},
      {"root without user but allow_root stays, with a warning", 0, "", std::nullopt, true,
       PrivilegeAction::Stay, "allow_root = yes"},
      {"root with a user switches", 0, "mtastsd", Daemon, false, PrivilegeAction::Switch, ""},
      {"root with a user switches even when allow_root is set", 0, "mtastsd", Daemon, true,
       PrivilegeAction::Switch, ""},
      {"an unknown user is refused as root", 0, "ghost", std::nullopt, true, PrivilegeAction::Refuse,
       "user = ghost: no such user"},
      {"an unknown user is ignored, with a warning, by a non-root daemon", 1000, "ghost", std::nullopt,
       false, PrivilegeAction::Stay, "not root: user = ghost ignored"},
      {"a user with uid 0 counts as root", 0, "toor", RootNamed, false, PrivilegeAction::Refuse,
       "has uid 0"},
      {"a user with uid 0 and allow_root stays", 0, "toor", RootNamed, true, PrivilegeAction::Stay,
       "allow_root"},
      {"non-root without user stays silently", 1000, "", std::nullopt, false, PrivilegeAction::Stay, ""},
      {"non-root running as the configured user stays", 105, "mtastsd", Daemon, false,
       PrivilegeAction::Stay, ""},
      {"non-root cannot become another user and runs as itself, with a warning", 1000, "mtastsd",
       Daemon, false, PrivilegeAction::Stay, "not root: user = mtastsd ignored, running as uid 1000"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const PrivilegePlan plan = planPrivileges(c.euid, c.user, c.target, c.allow_root);
    CHECK(plan.action == c.want);
    if (*c.message_part == '\0')
      CHECK(plan.message.empty());
    else
      CHECK(plan.message.find(c.message_part) != std::string::npos);
  }
}

TEST_CASE("users are looked up by name and by uid") {
  auto root = lookupUser("root");
  REQUIRE(root.has_value());
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
  CHECK(root->name == "root");
  auto missing = lookupUser("no-such-user-mtastsd-test");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::NotFound);
  CHECK(lookupUid(0, 99).name == "root");
  const UserIds unnamed = lookupUid(2'000'000'123, 777);  // no passwd entry
  CHECK(unnamed.name.empty());
  CHECK(unnamed.uid == 2'000'000'123u);
  CHECK(unnamed.gid == 777u);
}

TEST_CASE("the state dir and its LMDB files change owner, nothing else and no symlink target") {
  // As root: give them to nobody. Otherwise only chown-to-self is allowed, which still
  // checks that the call succeeds on the right files.
  const bool root = ::geteuid() == 0;
  auto nobody = lookupUser("nobody");
  REQUIRE(nobody.has_value());
  const UserIds target = root ? *nobody : UserIds{"self", ::geteuid(), ::getegid()};
  TempDir tmp;
  const auto dir = tmp.path / "state";
  std::filesystem::create_directory(dir);
  touch(dir / "data.mdb");
  touch(dir / "other.file");
  touch(tmp.path / "outside");
  std::filesystem::create_symlink(tmp.path / "outside", dir / "lock.mdb");
  REQUIRE(chownStateDir(dir.string(), target).has_value());
  CHECK(ownerOf(dir) == target.uid);
  CHECK(ownerOf(dir / "data.mdb") == target.uid);
  CHECK(ownerOf(dir / "lock.mdb") == target.uid);  // the link itself (lchown)
  CHECK(ownerOf(tmp.path / "outside") == ::geteuid());
  CHECK(ownerOf(dir / "other.file") == ::geteuid());
  auto missing = chownStateDir((tmp.path / "absent").string(), target);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().detail.find("absent") != std::string::npos);
}

TEST_CASE("switching to a user changes real, effective and saved ids for good") {
  if (::geteuid() != 0) {
    MESSAGE("not root: the switch itself is covered by tests/integration/test_faults.py");
    return;
  }
  auto nobody = lookupUser("nobody");
  REQUIRE(nobody.has_value());
  // In a child: the test process must keep root for the other tests.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!switchToUser(*nobody)) ::_exit(10);
    uid_t r = 0, e = 0, s = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    ::getresuid(&r, &e, &s);
    ::getresgid(&rg, &eg, &sg);
    if (r != nobody->uid || e != nobody->uid || s != nobody->uid) ::_exit(11);
    if (rg != nobody->gid || eg != nobody->gid || sg != nobody->gid) ::_exit(12);
    gid_t groups[64];
    const int n = ::getgroups(64, groups);
    for (int i = 0; i < n; ++i)
      if (groups[i] == 0) ::_exit(13);
    if (::setuid(0) == 0 || ::seteuid(0) == 0) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the CLI tools keep running as themselves when they are not root or root owns the dir") {
  TempDir tmp;
  // Owned by the current user (root in CI): nothing to switch to, so this process stays.
  const uid_t before = ::geteuid();
  CHECK(switchToOwnerOf(tmp.path.string()).has_value());
  CHECK(switchToOwnerOf((tmp.path / "absent").string()).has_value());
  CHECK(::geteuid() == before);
}

TEST_CASE("the CLI tools run as root switch to the owner of a state dir root does not own") {
  if (::geteuid() != 0) {
    MESSAGE("not root: nothing to switch");
    return;
  }
  auto nobody = lookupUser("nobody");
  REQUIRE(nobody.has_value());
  TempDir tmp;
  REQUIRE(::chown(tmp.path.c_str(), nobody->uid, nobody->gid) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!switchToOwnerOf(tmp.path.string())) ::_exit(10);
    uid_t r = 0, e = 0, s = 0;
    ::getresuid(&r, &e, &s);
    ::_exit(r == nobody->uid && e == nobody->uid && s == nobody->uid && ::getegid() == nobody->gid ? 0 : 11);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
