#!/bin/sh
# Warm socketmap lookups with and without 20,000 TLSRPT datagrams/s arriving (issue 12), as
# root: builds socketmap_load and tlsrpt_load with g++, takes tlsrpt_receiver (the floor
# reader, linked with the project) from the CMake build that holds --mtastsd
# (cmake --build BUILD --target mtastsd tlsrpt_receiver), then runs
# bench/tlsrpt_socketmap_benchmark.py in the test world's private network namespace (where
# net.unix.max_dgram_qlen is raised to 1024 without touching the host). Arguments go to the
# driver, e.g.
#   bench/run_tlsrpt_socketmap_benchmark.sh --mtastsd build/daemon/mtastsd [--rounds 5] \
#       [--seconds 5] [--rate 20000] [--maillog-rate 2000] [--out bench/results/tlsrpt-socketmap]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
run_tmp=$(mktemp -d /tmp/mtasts-tlsrpt-sm-bench.XXXXXX)
trap 'rm -rf "$run_tmp"' EXIT
mkdir -p "$run_tmp/bin"
g++ -std=c++20 -O2 -Wall -Wextra -pthread -o "$run_tmp/bin/socketmap_load" "$here/socketmap_load.cpp"
g++ -std=c++20 -O2 -Wall -Wextra -o "$run_tmp/bin/tlsrpt_load" "$here/tlsrpt_load.cpp"
args=""
for a in "$@"; do
  if [ -n "${prev_mtastsd:-}" ]; then a=$(readlink -f "$a"); prev_mtastsd=""; fi
  [ "$a" = "--mtastsd" ] && prev_mtastsd=1
  args="$args '$(printf %s "$a" | sed "s/'/'\\\\''/g")'"
done
eval "set -- $args"
mtastsd=""
prev=""
for a in "$@"; do
  [ "$prev" = "--mtastsd" ] && mtastsd=$a
  prev=$a
done
receiver=${MTASTS_BENCH_RECEIVER:-$(dirname "$mtastsd")/../bench/tlsrpt_receiver}
[ -x "$receiver" ] || { echo "no tlsrpt_receiver at $receiver (cmake --build BUILD --target tlsrpt_receiver)" >&2; exit 2; }
ln -s "$(readlink -f "$receiver")" "$run_tmp/bin/tlsrpt_receiver"
TMPDIR=$run_tmp MTASTS_NETNS_TIMEOUT=${MTASTS_NETNS_TIMEOUT:-1500} \
  "$here/../tests/world/run_in_netns.sh" /usr/bin/python3 "$here/tlsrpt_socketmap_benchmark.py" \
  --bin-dir "$run_tmp/bin" "$@"
