#!/bin/bash
# The Debian package, end to end, on this machine (root):
#   1. build it out of tree: the source (tracked and untracked, not ignored files) is copied
#      to a temp dir, `dpkg-buildpackage -us -uc -b` runs there; the source tree's
#      `git status` must be the same afterwards;
#   2. check the .deb (files, conffile, version = CMake's project VERSION) and lintian
#      (no errors; warnings printed);
#   3. in a private network + mount namespace (tests/world/run_in_netns.sh: the sysctl the
#      package applies stays there): `apt-get install ./mtastsd_*.deb` offline, check user,
#      state dir, conffile, units (enabled: mtastsd.socket, mtastsd.service; not
#      mtastsd-tlsrpt.socket), run the installed `mtastsd --check-config`, `--query` and the
#      daemon itself against the test world (installed_check.py), `apt-get remove` (state and
#      config kept), `apt-get purge` (nothing left: the file list of /etc /usr /var/lib
#      /var/spool is the same as before the install).
# Exit 77 (SKIP) when not root, when a tool is missing, or when an mtastsd package or state
# is already on the machine (the test would purge it).
#   usage: package_test.sh SRC_DIR              (all of it)
#          package_test.sh --installed WORK SRC (phase 3; run by phase 1 inside the netns)
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "== $*"; }

# ---------------------------------------------------------------------------------------
# Phase 3, inside the namespace: install, check, remove, purge.
installed_phase() {
  local work=$1 src=$2 deb
  deb=$(ls "$work"/mtastsd_*_*.deb)
  local before=$work/files.before after=$work/files.after pkgfiles=$work/package.files
  export DEBIAN_FRONTEND=noninteractive

  # Whatever happens below, the package goes again and no installed daemon keeps running.
  cleanup_installed() {
    local pid
    for pid in $(installed_daemon_pids); do kill -KILL "$pid" 2>/dev/null || true; done
    if dpkg-query -W -f='${Status}' mtastsd 2>/dev/null | grep -qv "not-installed"; then
      apt-get purge -y -q mtastsd >/dev/null 2>&1 || dpkg --purge mtastsd >/dev/null 2>&1 || true
    fi
  }
  trap cleanup_installed EXIT

  snapshot "$before"
  note "apt-get install $(basename "$deb") (offline)"
  apt-get install -y -q "$deb" > "$work/install.log" 2>&1 \
    || { cat "$work/install.log"; fail "apt-get install failed"; }
  dpkg-query -W -f='${Status} ${Version}\n' mtastsd | grep -q "^install ok installed " \
    || fail "mtastsd is not installed after apt-get install"
  dpkg -L mtastsd | sort > "$pkgfiles"

  note "installed files"
  local f
  for f in /usr/sbin/mtastsd /usr/share/man/man8/mtastsd.8.gz /usr/share/man/man5/mtastsd.conf.5.gz \
           /usr/lib/sysusers.d/mtastsd.conf /usr/lib/tmpfiles.d/mtastsd.conf \
           /usr/lib/sysctl.d/60-mtastsd.conf /etc/mtastsd/mtastsd.conf; do
    [ -e "$f" ] || fail "$f is missing"
  done
  local unit_dir
  unit_dir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
  for f in mtastsd.service mtastsd.socket mtastsd-tlsrpt.socket; do
    [ -f "$unit_dir/$f" ] || fail "unit $unit_dir/$f is missing"
  done
  dpkg-query -W -f='${Conffiles}\n' mtastsd | grep -q "^ /etc/mtastsd/mtastsd.conf " \
    || fail "/etc/mtastsd/mtastsd.conf is not a conffile"

  note "user, state directory, units enabled, sysctl"
  getent passwd mtastsd | grep -q ':/usr/sbin/nologin$' || fail "no system user mtastsd with nologin shell"
  [ "$(stat -c '%U:%G %a' /var/lib/mtastsd)" = "mtastsd:mtastsd 700" ] \
    || fail "/var/lib/mtastsd is $(stat -c '%U:%G %a' /var/lib/mtastsd 2>&1), want mtastsd:mtastsd 700"
  [ -L /etc/systemd/system/sockets.target.wants/mtastsd.socket ] || fail "mtastsd.socket not enabled"
  [ -L /etc/systemd/system/multi-user.target.wants/mtastsd.service ] || fail "mtastsd.service not enabled"
  [ ! -e /etc/systemd/system/sockets.target.wants/mtastsd-tlsrpt.socket ] \
    || fail "mtastsd-tlsrpt.socket must not be enabled on install"
  [ "$(cat /proc/sys/net/unix/max_dgram_qlen)" = 1024 ] \
    || fail "net.unix.max_dgram_qlen is $(cat /proc/sys/net/unix/max_dgram_qlen) after install, want 1024"
  if getent group postdrop >/dev/null; then
    id -nG mtastsd | tr ' ' '\n' | grep -qx postdrop || fail "mtastsd is not in the group postdrop"
  fi

  note "systemd-analyze on the installed units"
  local verify
  verify=$(systemd-analyze verify mtastsd.service mtastsd.socket mtastsd-tlsrpt.socket 2>&1) \
    || fail "systemd-analyze verify of the installed units: $verify"
  [ -z "$verify" ] || fail "systemd-analyze verify of the installed units says: $verify"
  systemd-analyze security --offline=true --threshold=20 mtastsd.service > "$work/security.out" 2>&1 \
    || { tail -n 20 "$work/security.out"; fail "installed mtastsd.service rates above 2.0"; }
  grep 'Overall exposure level' "$work/security.out"

  note "installed mtastsd --check-config"
  /usr/sbin/mtastsd --check-config > "$work/check-config.out" 2>&1 \
    || { cat "$work/check-config.out"; fail "mtastsd --check-config exited $?"; }
  grep -q '^state_dir = /var/lib/mtastsd$' "$work/check-config.out" \
    || { cat "$work/check-config.out"; fail "--check-config does not show the packaged defaults"; }

  note "installed mtastsd against the test world"
  /usr/bin/python3 "$src/tests/packaging/installed_check.py" --mtastsd /usr/sbin/mtastsd \
    || fail "installed_check.py failed"
  [ -z "$(installed_daemon_pids)" ] || fail "an installed mtastsd is still running"

  note "apt-get remove: configuration and state stay"
  apt-get remove -y -q mtastsd > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove failed"; }
  [ ! -e /usr/sbin/mtastsd ] || fail "/usr/sbin/mtastsd still there after remove"
  [ -f /etc/mtastsd/mtastsd.conf ] || fail "the conffile went with remove"
  [ -f /var/lib/mtastsd/data.mdb ] || fail "the state (/var/lib/mtastsd/data.mdb) went with remove"

  note "apt-get purge: nothing left"
  apt-get purge -y -q mtastsd > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "apt-get purge failed"; }
  dpkg-query -W -f='${Status}\n' mtastsd 2>/dev/null | grep -q "^install ok\|config-files" \
    && fail "dpkg still knows mtastsd after purge"
  local left=""
  while read -r f; do
    [ -d "$f" ] && continue   # shared directories (/usr/sbin, ...) stay
    [ -e "$f" ] || [ -L "$f" ] && left+=" $f"
  done < "$pkgfiles"
  [ -z "$left" ] || fail "files of the package left after purge:$left"
  for f in /etc/mtastsd /var/lib/mtastsd /var/spool/postfix/run/mtastsd; do
    [ ! -e "$f" ] || fail "$f left after purge"
  done
  if getent group postdrop >/dev/null; then
    id -nG mtastsd | tr ' ' '\n' | grep -qx postdrop && fail "mtastsd still in the group postdrop after purge"
  fi
  snapshot "$after"
  if ! diff -u "$before" "$after" > "$work/files.diff"; then
    cat "$work/files.diff"
    fail "the file list changed between before install and after purge"
  fi
  echo "file lists before install and after purge are identical ($(wc -l < "$after") paths)"
  trap - EXIT
}

# Processes running the installed binary (also once it is deleted).
installed_daemon_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case "$exe" in /usr/sbin/mtastsd | "/usr/sbin/mtastsd (deleted)") echo "${p#/proc/}" ;; esac
  done
}

# Every path under the trees a package install touches, minus dpkg's and apt's own
# bookkeeping and caches, and the backups passwd tools keep (/etc/group- ...).
snapshot() {
  find /etc /usr /var/lib /var/spool /opt -xdev 2>/dev/null \
    | grep -v -E '^/var/lib/(dpkg|apt|ucf|man-db|systemd/timers)(/|$)|^/etc/(group|gshadow|passwd|shadow)-$|^/etc/ld\.so\.cache$' \
    | sort > "$1"
}

if [ "${1:-}" = "--installed" ]; then
  installed_phase "$2" "$3"
  echo "PASS: install, check, remove, purge"
  exit 0
fi

# ---------------------------------------------------------------------------------------
# Phases 1 and 2: build and check the package.
src=$(cd "${1:?usage: package_test.sh SRC_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || skip "needs root: it installs and purges the package"
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh lintian apt-get unshare; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/dev test installs debhelper and lintian)"
done
if dpkg-query -W -f='${Status}' mtastsd 2>/dev/null | grep -q -E "installed|config-files"; then
  skip "an mtastsd package is on this machine; the test would purge it"
fi
for f in /etc/mtastsd /var/lib/mtastsd; do
  [ ! -e "$f" ] || skip "$f exists; the test's purge would delete it (move it away to run the test)"
done
(cd "$src" && dpkg-checkbuilddeps) || fail "build dependencies missing (scripts/dev test installs them)"

work=$(mktemp -d /tmp/mtastsd-pkg.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

git_status() { git -C "$src" status --porcelain --ignored 2>/dev/null || true; }
status_before=$(git_status)

note "copy the source tree to $work/src"
mkdir "$work/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard \
     | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
     | tar --null -T - -cf -) | tar -C "$work/src" -xf -
else
  tar -C "$src" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$work/src" -xf -
fi

cmake_version=$(sed -n -E 's/^project\(mtastsd VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
deb_version=$(cd "$work/src" && dpkg-parsechangelog -S Version)
[ -n "$cmake_version" ] && [ "$cmake_version" = "$deb_version" ] \
  || fail "debian/changelog version '$deb_version' differs from CMake's project VERSION '$cmake_version'"

note "dpkg-buildpackage -us -uc -b"
start=$SECONDS
if ! (cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
        dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log"
  fail "dpkg-buildpackage failed (log above)"
fi
echo "package built in $((SECONDS - start)) s"
arch=$(dpkg --print-architecture)
deb=$work/mtastsd_${deb_version}_${arch}.deb
[ -f "$deb" ] || { ls "$work"; fail "no $(basename "$deb")"; }
[ "$(git_status)" = "$status_before" ] || {
  diff <(echo "$status_before") <(git_status) || true
  fail "the package build changed the source tree's git status"
}

note "package contents"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/contents"
for f in /usr/sbin/mtastsd /usr/share/man/man8/mtastsd.8.gz /usr/share/man/man5/mtastsd.conf.5.gz \
         /usr/lib/sysusers.d/mtastsd.conf /usr/lib/tmpfiles.d/mtastsd.conf \
         /usr/lib/sysctl.d/60-mtastsd.conf /etc/mtastsd/mtastsd.conf; do
  grep -qx "$f" "$work/contents" || { cat "$work/contents"; fail "$f is not in the package"; }
done
for f in mtastsd.service mtastsd.socket mtastsd-tlsrpt.socket; do
  grep -q "/systemd/system/$f\$" "$work/contents" || { cat "$work/contents"; fail "$f is not in the package"; }
done
dpkg-deb -f "$deb" Depends
dpkg-deb -I "$deb" conffiles | grep -qx /etc/mtastsd/mtastsd.conf || fail "/etc/mtastsd/mtastsd.conf is not a conffile"

note "lintian"
# Tags (with their explanation) go to stdout; "running with root privileges is not
# recommended" to stderr. Errors fail the test; warnings and infos are printed.
changes=$work/mtastsd_${deb_version}_${arch}.changes
lintian_out=$(cd "$work" && HOME=$work lintian --fail-on error --display-info --pedantic \
                "$(basename "$changes")" 2>/dev/null) && lintian_rc=0 || lintian_rc=$?
printf '%s\n' "$lintian_out"
[ "$lintian_rc" -eq 0 ] || fail "lintian reports errors (exit $lintian_rc)"

note "install, check, remove, purge in a private network namespace"
host_qlen=$(cat /proc/sys/net/unix/max_dgram_qlen)
MTASTS_NETNS_TIMEOUT=${MTASTS_NETNS_TIMEOUT:-600} \
  "$src/tests/world/run_in_netns.sh" /bin/bash "$src/tests/packaging/package_test.sh" --installed "$work" "$src"
# The package's sysctl went to the test's network namespace only.
[ "$(cat /proc/sys/net/unix/max_dgram_qlen)" = "$host_qlen" ] \
  || fail "the host's net.unix.max_dgram_qlen changed from $host_qlen"
echo "PASS: package mtastsd_${deb_version}_${arch}.deb built, linted, installed, used, purged"
