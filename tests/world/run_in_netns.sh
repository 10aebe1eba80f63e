#!/bin/sh
# Runs its arguments inside a private network + mount namespace with only lo (up), so the
# test world can bind 127.x.y.z:53/443 and bind-mount /etc/resolv.conf without touching the
# host. Root: plain unshare; otherwise a user namespace maps the caller to root. Everything
# is killed after MTASTS_NETNS_TIMEOUT seconds (default 600). Exit 77 (SKIP) when no
# namespace can be made here.
set -eu
[ "$#" -ge 1 ] || { echo "usage: $0 command [args...]" >&2; exit 2; }
limit=${MTASTS_NETNS_TIMEOUT:-600}
userns=""
[ "$(id -u)" -eq 0 ] || userns="--user --map-root-user"
# No namespace here (no unshare, user namespaces off, no CAP_SYS_ADMIN): the test cannot run;
# 77 is the SKIP_RETURN_CODE of the tests that run through this script.
# shellcheck disable=SC2086
unshare $userns --net --mount true 2>/dev/null || {
  echo "SKIP: cannot create a private network+mount namespace here (unshare${userns:+ $userns} --net --mount)"
  exit 77
}
# shellcheck disable=SC2086
exec timeout -k 10 "$limit" unshare $userns --net --mount --propagation private \
  sh -c 'ip link set lo up && MTASTS_NETNS=1 exec "$@"' run_in_netns "$@"
