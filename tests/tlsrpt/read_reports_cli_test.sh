#!/bin/sh
# Golden test of --read-reports through its entry point with argv (read_reports_tool): runs the
# tool on the fixed inputs in tests/tlsrpt/read_reports/inputs (made by make_inputs.py) and on
# sys4's reports in tests/fixtures/tlsrpt, and compares stdout, stderr and the exit status with
# tests/tlsrpt/golden/read-reports-*. MTASTS_UPDATE_GOLDEN=1 rewrites the golden files.
#   read_reports_cli_test.sh TOOL SOURCE_DIR   (SOURCE_DIR: tests/tlsrpt)
set -eu
[ "$#" -eq 2 ] || { echo "usage: $0 TOOL SOURCE_DIR" >&2; exit 2; }
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") src=$(cd "$2" && pwd)
golden=$src/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
now=1796083200  # 2026-12-01T00:00:00Z

# check NAME WANT_STATUS ARGS...: runs the tool (in the inputs directory, so that the paths
# it prints are the same on every machine).
check() {
  name=$1 want=$2
  shift 2
  status=0 bad=0
  "$tool" --now "$now" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  if [ "${MTASTS_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$work/$name.out" "$golden/read-reports-$name.out"
    cp "$work/$name.err" "$golden/read-reports-$name.err"
    echo "rewrote golden files of $name"
  fi
  if [ "$status" -ne "$want" ]; then
    echo "FAIL $name: exit status $status, want $want"
    bad=1
  fi
  for stream in out err; do
    if ! diff -u "$golden/read-reports-$name.$stream" "$work/$name.$stream"; then
      echo "FAIL $name: std$stream differs from golden/read-reports-$name.$stream"
      bad=1
    fi
  done
  if [ "$bad" -eq 0 ]; then echo "ok $name"; else failed=1; fi
}

cd "$src/read_reports/inputs"
sys4=../../../fixtures/tlsrpt
check all 1 reports.mbox Maildir files
check all-json 1 --json reports.mbox Maildir files
check maildir 0 Maildir
check since 0 --since 2 Maildir
check damaged 2 files/damaged
check sys4 0 "$sys4"/reportd-*.json "$sys4"/reportd-*.eml "$sys4"/reportd-*.json.gz
check usage 64 --since 2

exit "$failed"
