#!/bin/sh
# Fuzzes one libFuzzer binary for a bounded time: run_fuzz.sh BINARY SEED_DIR WORK_DIR [SECONDS]
# (SECONDS: $MTASTS_FUZZ_SECONDS if set, else the argument, else 20). New inputs go to
# WORK_DIR/corpus (kept between runs, so coverage accumulates); the seed dir is only read.
# A crash, leak, timeout or OOM exits non-zero, with the input in WORK_DIR/artifacts and the
# command that reproduces it; the last line is "fuzz NAME: N executions in S s".
set -eu
[ "$#" -ge 3 ] || { echo "usage: $0 BINARY SEED_DIR WORK_DIR [SECONDS]" >&2; exit 2; }
binary=$1 seeds=$2 work=$3
seconds=${MTASTS_FUZZ_SECONDS:-${4:-20}}
name=$(basename "$binary")
mkdir -p "$work/corpus" "$work/artifacts"

# Sanitizer reports go to this test's output, not to a log_path set for the whole suite.
strip_log_path() { printf '%s' "$1" | tr ':' '\n' | grep -v '^log_path=' | paste -sd: -; }
ASAN_OPTIONS=$(strip_log_path "${ASAN_OPTIONS:-}")
UBSAN_OPTIONS=$(strip_log_path "${UBSAN_OPTIONS:-}")
export ASAN_OPTIONS UBSAN_OPTIONS

log="$work/last_run.log"
status=0
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1 || status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ "$status" -ne 0 ]; then
  tail -n 80 "$log"
  echo "fuzz $name: FAILED (exit $status); reproduce with:"
  for a in "$work"/artifacts/*; do
    [ -e "$a" ] && echo "  $binary $a"
  done
  exit 1
fi
echo "fuzz $name: ${execs:-?} executions in ${seconds} s, corpus $(ls "$work/corpus" | wc -l) files"
