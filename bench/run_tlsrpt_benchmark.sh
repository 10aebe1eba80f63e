#!/bin/sh
# The TLSRPT collection benchmark (issue 12), as root: builds nothing itself; give it a Release
# build's bench directory. Runs bench/tlsrpt_benchmark.py in a private network namespace so that
# net.unix.max_dgram_qlen is set there (as dist/sysctl.d/60-mtastsd.conf does) and not on the host.
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMTASTS_TESTS=OFF
#   cmake --build build-bench --target tlsrpt_load tlsrpt_receiver
#   bench/run_tlsrpt_benchmark.sh --bin-dir build-bench/bench [--rounds 3] [--out bench/results/tlsrpt]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec unshare --net /usr/bin/python3 "$here/tlsrpt_benchmark.py" "$@"
