#!/bin/sh
# Runs its arguments inside a private network + mount namespace with only lo (up), so the
# test world can bind 127.x.y.z:53/443 and bind-mount /etc/resolv.conf without touching the
# host. Root: plain unshare; otherwise a user namespace maps the caller to root. Everything
# is killed after MTASTS_NETNS_TIMEOUT seconds (default 600).
set -eu
[ "$#" -ge 1 ] || { echo "usage: $0 command [args...]" >&2; exit 2; }
limit=${MTASTS_NETNS_TIMEOUT:-600}
userns=""
[ "$(id -u)" -eq 0 ] || userns="--user --map-root-user"
# shellcheck disable=SC2086
exec timeout -k 10 "$limit" unshare $userns --net --mount --propagation private \
  sh -c 'ip link set lo up && MTASTS_NETNS=1 exec "$@"' run_in_netns "$@"
