#!/bin/sh
# Checks dist/systemd/ with systemd's own offline tools, without systemd as PID 1:
#   check_units.sh verify   SRC_DIR MTASTSD   `systemd-analyze verify` prints nothing, exits 0
#   check_units.sh security SRC_DIR MTASTSD   `systemd-analyze security` rates mtastsd.service
#                                             at most $MTASTS_MAX_EXPOSURE (default 2.0, "OK")
# verify checks that ExecStart= is executable and that Documentation= man pages exist, on
# the real paths (/usr/sbin/mtastsd). So both run against a throwaway root: the host's units
# (targets the units refer to), ours, the built binary at usr/sbin/mtastsd, and the man pages
# from the source tree (MANPATH). Exit 77 (SKIP) without systemd-analyze.
set -eu
mode=${1:?usage: check_units.sh verify|security SRC_DIR MTASTSD}
src=${2:?source dir}
binary=${3:?mtastsd binary}
max_exposure=${MTASTS_MAX_EXPOSURE:-2.0}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd)"
  exit 77
fi
[ -x "$binary" ] || { echo "FAIL: no mtastsd binary at $binary"; exit 1; }

root=$(mktemp -d /tmp/mtastsd-units.XXXXXX)
trap 'rm -rf "$root"' EXIT INT TERM
units=$root/usr/lib/systemd/system
mkdir -p "$units" "$root/usr/sbin" "$root/bin" "$root/man/man5" "$root/man/man8"
host_units=/usr/lib/systemd/system
[ -d "$host_units" ] || host_units=/lib/systemd/system
# Only unit files (no .wants/ trees): enough for every dependency our units name.
find "$host_units" -maxdepth 1 -type f -exec cp -t "$units" {} +
cp "$src"/dist/systemd/mtastsd.service "$src"/dist/systemd/mtastsd.socket \
   "$src"/dist/systemd/mtastsd-tlsrpt.socket "$units"/
cp "$binary" "$root/usr/sbin/mtastsd"
cp /bin/kill "$root/bin/kill"   # ExecReload=/bin/kill (procps)
cp "$src/man/mtastsd.8" "$root/man/man8/"
cp "$src/man/mtastsd.conf.5" "$root/man/man5/"
cd "$root"

case "$mode" in
  verify)
    out=$(MANPATH="$root/man" systemd-analyze verify --root="$root" \
            mtastsd.service mtastsd.socket mtastsd-tlsrpt.socket 2>&1) && rc=0 || rc=$?
    if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
      printf 'FAIL: systemd-analyze verify exited %s and said:\n%s\n' "$rc" "$out"
      exit 1
    fi
    echo "PASS: systemd-analyze verify: mtastsd.service mtastsd.socket mtastsd-tlsrpt.socket clean"
    ;;
  security)
    out=$(systemd-analyze security --offline=true --root="$root" mtastsd.service 2>&1) && rc=0 || rc=$?
    line=$(printf '%s\n' "$out" | grep -E 'Overall exposure level for mtastsd.service: [0-9.]+' || true)
    if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
      printf 'FAIL: systemd-analyze security exited %s:\n%s\n' "$rc" "$out"
      exit 1
    fi
    printf '%s\n' "$out" | grep -E '^✗' || true
    level=$(printf '%s\n' "$line" | sed -E 's/.*: ([0-9.]+).*/\1/')
    echo "$line"
    if ! awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l + 0 <= m + 0) }'; then
      echo "FAIL: exposure $level is above $max_exposure"
      exit 1
    fi
    echo "PASS: exposure $level <= $max_exposure"
    ;;
  *)
    echo "usage: check_units.sh verify|security SRC_DIR MTASTSD" >&2
    exit 64
    ;;
esac
