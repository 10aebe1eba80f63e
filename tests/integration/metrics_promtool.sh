#!/bin/sh
# Prometheus' own checker on a live scrape of the daemon (test_metrics.py's promtool test):
#   metrics_promtool.sh MTASTSD GET_PROMTOOL_SH CACHE_DIR
# promtool is fetched here, outside the test's network namespace (get_promtool.sh may need the
# archive); the test then runs inside it with MTASTS_PROMTOOL set. Exit 77 (SKIP) when
# promtool cannot be had.
set -eu
[ "$#" -eq 3 ] || { echo "usage: $0 MTASTSD GET_PROMTOOL_SH CACHE_DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
status=0
promtool=$(/bin/sh "$2" "$3") || status=$?
if [ "$status" -eq 77 ]; then
  echo "SKIP: promtool is not available here"
  exit 77
elif [ "$status" -ne 0 ]; then
  echo "FAIL: get_promtool.sh exited $status"
  exit 1
fi
MTASTS_PROMTOOL=$promtool exec "$here/../world/run_in_netns.sh" /usr/bin/python3 "$here/run_tests.py" \
  "$here/test_metrics.py" --mtastsd "$1" MetricsPromtoolTest
