#!/bin/sh
# Warm lookups with dane = auto against dane = off, in one run (issue 16): builds the load
# generator with g++, then runs bench/dane_warm_benchmark.py inside the test world's private
# network namespace (the signed zone needs ldnsutils). Arguments go to the script, e.g.
#   bench/run_dane_benchmark.sh --mtastsd build/daemon/mtastsd [--seconds 10 --rounds 3]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
run_tmp=$(mktemp -d /tmp/mtasts-dane-bench.XXXXXX)
trap 'rm -rf "$run_tmp"' EXIT
g++ -std=c++20 -O2 -Wall -Wextra -pthread -o "$run_tmp/socketmap_load" "$here/socketmap_load.cpp"
args=""
for a in "$@"; do
  if [ -n "${prev_mtastsd:-}" ]; then a=$(readlink -f "$a"); prev_mtastsd=""; fi
  [ "$a" = "--mtastsd" ] && prev_mtastsd=1
  args="$args '$(printf %s "$a" | sed "s/'/'\\\\''/g")'"
done
eval "set -- $args"
TMPDIR=$run_tmp MTASTS_NETNS_TIMEOUT=${MTASTS_NETNS_TIMEOUT:-600} \
  "$here/../tests/world/run_in_netns.sh" /usr/bin/python3 "$here/dane_warm_benchmark.py" --bin-dir "$run_tmp" "$@"
