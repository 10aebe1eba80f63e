#!/bin/sh
# One command for the side-by-side benchmark (issue 5): builds the load generator and the
# null responder with g++ (no CMake needed), then runs bench/benchmark.py inside the test
# world's private network namespace. Arguments go to benchmark.py, e.g.
#   bench/run_benchmark.sh --mtastsd build-bench/daemon/mtastsd            (~10 min)
#   bench/run_benchmark.sh --mtastsd build-bench/daemon/mtastsd --quick    (< 1 min, CI smoke)
# Results: markdown on stdout and in bench/results/last-run.md (+ .json); --out to change.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# A private TMPDIR for the run (the world's temp dirs are then safe from other jobs' /tmp
# clean-ups) that also holds the tools unless MTASTS_BENCH_BIN names a directory to keep.
run_tmp=$(mktemp -d /tmp/mtasts-bench-run.XXXXXX)
trap 'rm -rf "$run_tmp"' EXIT
bin=${MTASTS_BENCH_BIN:-$run_tmp/bin}
mkdir -p "$bin"
for tool in socketmap_load null_responder; do
  g++ -std=c++20 -O2 -Wall -Wextra -pthread -o "$bin/$tool" "$here/$tool.cpp"
done
# Absolute path for --mtastsd: the daemon is started from another working directory.
args=""
for a in "$@"; do
  if [ -n "${prev_mtastsd:-}" ]; then a=$(readlink -f "$a"); prev_mtastsd=""; fi
  [ "$a" = "--mtastsd" ] && prev_mtastsd=1
  args="$args '$(printf %s "$a" | sed "s/'/'\\\\''/g")'"
done
case " $* " in *" --quick "*) limit=300 ;; *) limit=1500 ;; esac
eval "set -- $args"
TMPDIR=$run_tmp MTASTS_NETNS_TIMEOUT=${MTASTS_NETNS_TIMEOUT:-$limit} \
  "$here/../tests/world/run_in_netns.sh" /usr/bin/python3 "$here/benchmark.py" --bin-dir "$bin" "$@"
