#!/bin/sh
# Golden test of --read-reports through its entry point with argv (read_reports_tool): runs the
# tool on the fixed inputs in tests/tlsrpt/read_reports/inputs (made by make_inputs.py) and on
# sys4's reports in tests/fixtures/tlsrpt, and compares stdout, stderr and the exit status with
# tests/tlsrpt/golden/read-reports-*. MTASTS_UPDATE_GOLDEN=1 rewrites the golden files.
# With MTASTSD, the real binary's `mtastsd --read-reports` runs every case that does not
# depend on the day (all but --since N) against the same golden files, and --since 36500.
#   read_reports_cli_test.sh TOOL SOURCE_DIR [MTASTSD]   (SOURCE_DIR: tests/tlsrpt)
set -eu
[ "$#" -eq 2 ] || [ "$#" -eq 3 ] || { echo "usage: $0 TOOL SOURCE_DIR [MTASTSD]" >&2; exit 2; }
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") src=$(cd "$2" && pwd)
mtastsd=
[ "$#" -eq 3 ] && mtastsd=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
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

# bincheck NAME WANT_STATUS ARGS...: the same case through `mtastsd --read-reports`.
bincheck() {
  name=$1 want=$2
  shift 2
  status=0 bad=0
  "$mtastsd" --read-reports "$@" >"$work/bin-$name.out" 2>"$work/bin-$name.err" || status=$?
  if [ "$status" -ne "$want" ]; then
    echo "FAIL mtastsd $name: exit status $status, want $want"
    bad=1
  fi
  for stream in out err; do
    if ! diff -u "$golden/read-reports-$name.$stream" "$work/bin-$name.$stream"; then
      echo "FAIL mtastsd $name: std$stream differs from golden/read-reports-$name.$stream"
      bad=1
    fi
  done
  if [ "$bad" -eq 0 ]; then echo "ok mtastsd $name"; else failed=1; fi
}

if [ -n "$mtastsd" ]; then
  bincheck all 1 reports.mbox Maildir files
  bincheck all-json 1 --json reports.mbox Maildir files
  bincheck maildir 0 Maildir
  bincheck damaged 2 files/damaged
  bincheck sys4 0 "$sys4"/reportd-*.json "$sys4"/reportd-*.eml "$sys4"/reportd-*.json.gz
  # --json before --read-reports is its --json too.
  status=0
  "$mtastsd" --json --read-reports reports.mbox Maildir files >"$work/bin-json-first.out" 2>/dev/null || status=$?
  if [ "$status" -eq 1 ] && cmp -s "$golden/read-reports-all-json.out" "$work/bin-json-first.out"; then
    echo "ok mtastsd --json --read-reports"
  else
    echo "FAIL mtastsd --json --read-reports: exit status $status or output differs"; failed=1
  fi
  # --since 36500 keeps every report: the Maildir digest under one line naming the cut.
  status=0
  "$mtastsd" --read-reports --since 36500 Maildir >"$work/bin-since.out" 2>/dev/null || status=$?
  if [ "$status" -eq 0 ] && head -n 1 "$work/bin-since.out" | grep -Eq '^Reports whose date range ends on or after 19[0-9]{2}-[0-9]{2}-[0-9]{2}T00:00:00Z\.$' &&
     tail -n +3 "$work/bin-since.out" | cmp -s - "$golden/read-reports-maildir.out"; then
    echo "ok mtastsd --since 36500"
  else
    echo "FAIL mtastsd --since 36500: exit status $status or output differs"; failed=1
  fi
  # Usage errors: 64 and the reason, prefixed with the program name.
  for args in "--since 2" "--since x Maildir" "--bogus Maildir"; do
    status=0
    # shellcheck disable=SC2086
    "$mtastsd" --read-reports $args >/dev/null 2>"$work/bin-usage.err" || status=$?
    if [ "$status" -eq 64 ] && grep -q '^mtastsd: ' "$work/bin-usage.err"; then
      echo "ok mtastsd usage: $args"
    else
      echo "FAIL mtastsd usage \"$args\": exit status $status, want 64"; failed=1
    fi
  done
fi

exit "$failed"
