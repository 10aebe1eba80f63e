#!/bin/sh
# usage: check_man_pages.sh MTASTSD_BINARY MAN_DIR EXAMPLE_CONFIG
# Fails when groff warns about either page, a config key is missing from mtastsd.conf.5 or
# from the example configuration, or the example with every key uncommented is refused.
set -u
bin=$1
dir=$2
example=$3
status=0
for page in "$dir/mtastsd.8" "$dir/mtastsd.conf.5"; do
  out=$(groff -man -ww -z "$page" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: groff -man -ww -z $page (exit $rc):"
    echo "$out"
    status=1
  fi
done
keys=$("$bin" --check-config -c /dev/null | sed -n 's/^\([a-z_0-9]*\) =.*/\1/p')
if [ -z "$keys" ]; then
  echo "FAIL: no keys from $bin --check-config -c /dev/null"
  exit 1
fi
count=0
for key in $keys; do
  count=$((count + 1))
  if ! grep -qx "\.B $key" "$dir/mtastsd.conf.5"; then
    echo "FAIL: key $key is not documented in mtastsd.conf.5 (expected a line '.B $key')"
    status=1
  fi
  if ! grep -qE "^#?$key =" "$example"; then
    echo "FAIL: key $key is not in $example (expected a line '#$key = ...')"
    status=1
  fi
done
uncommented=$(mktemp)
sed -E 's/^#([a-z_0-9]+ =)/\1/' "$example" > "$uncommented"
if ! out=$("$bin" --check-config -c "$uncommented" 2>&1 >/dev/null); then
  echo "FAIL: $example with every key uncommented is refused: $out"
  status=1
fi
rm -f "$uncommented"
[ $status -eq 0 ] && echo "ok: both pages lint clean, $count keys documented and in the example configuration"
exit $status
