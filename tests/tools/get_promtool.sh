#!/bin/sh
# Prints the path of a promtool binary: get_promtool.sh CACHE_DIR. Takes promtool from PATH
# if there is one, else CACHE_DIR/usr/bin/promtool from an earlier run, else fetches Debian's
# prometheus package with `apt-get download` (the archive only: no maintainer script runs, no
# server starts) and unpacks its promtool there with dpkg-deb -x. Exits 77 (what ctest counts
# as SKIP) when promtool cannot be had here (no apt, archive unreachable); messages on stderr.
set -eu
[ "$#" -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
cache=$1
bin=$cache/usr/bin/promtool

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || { echo "get_promtool: no $tool here" >&2; exit 77; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# As root apt downloads as user _apt, which cannot write to a private temp dir: download as
# root instead of printing a warning about it (nothing from the package is executed).
sandbox=""
[ "$(id -u)" -ne 0 ] || sandbox="-o APT::Sandbox::User=root"
# shellcheck disable=SC2086
if ! (cd "$tmp" && apt-get -q $sandbox download prometheus) >&2; then
  echo "get_promtool: apt-get download prometheus failed (no archive or no network)" >&2
  exit 77
fi
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
[ -x "$tmp/root/usr/bin/promtool" ] || { echo "get_promtool: no usr/bin/promtool in the package" >&2; exit 1; }
mkdir -p "$cache/usr/bin"
# Renamed into place, so a concurrent run never sees half a binary.
cp "$tmp/root/usr/bin/promtool" "$bin.$$"
mv -f "$bin.$$" "$bin"
echo "$bin"
