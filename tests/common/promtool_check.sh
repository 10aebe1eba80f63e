#!/bin/sh
# Runs Prometheus' own checker on the sample exposition (metrics_sample.hpp):
#   promtool_check.sh SAMPLE_BINARY GET_PROMTOOL_SH CACHE_DIR
# First a control: promtool must reject an exposition with a lint problem, so a pass below
# means it checked. Exits 77 (SKIP) when get_promtool.sh cannot provide promtool.
set -eu
[ "$#" -eq 3 ] || { echo "usage: $0 SAMPLE_BINARY GET_PROMTOOL_SH CACHE_DIR" >&2; exit 2; }
sample=$1 get=$2 cache=$3

status=0
promtool=$(/bin/sh "$get" "$cache") || status=$?
if [ "$status" -eq 77 ]; then
  echo "SKIP: promtool is not available here"
  exit 77
elif [ "$status" -ne 0 ]; then
  echo "FAIL: get_promtool.sh exited $status"
  exit 1
fi
"$promtool" --version 2>&1 | head -n 1

# A counter without _total and without HELP: promtool must complain.
if printf '# TYPE requests counter\nrequests 1\n' | "$promtool" check metrics >/dev/null 2>&1; then
  echo "FAIL: promtool accepted a counter without _total and HELP: it is not checking"
  exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$sample" >"$out"
[ -s "$out" ] || { echo "FAIL: $sample wrote nothing"; exit 1; }
if ! "$promtool" check metrics <"$out"; then
  echo "FAIL: promtool check metrics rejected the exposition:"
  cat "$out"
  exit 1
fi
echo "promtool check metrics: OK ($(grep -c -v '^#' "$out") samples)"
