#!/bin/sh
# Smoke test of the benchmark tools on loopback (no namespace needed): the null responder
# answers 2,000 closed-loop requests over 8 connections and 2 threads with exactly 2,000 OK
# replies and no error; the load generator refuses a non-loopback target; the responder drops
# a connection that sends a malformed netstring. Usage: smoke_test.sh BIN_DIR. Hard timeouts.
set -eu
bin=$1
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT
# -k: a responder that does not stop on SIGTERM is killed, never left behind.
timeout -k 2 30 "$bin/null_responder" --port 0 >"$out/ready" 2>"$out/responder.err" &
pid=$!
i=0
while ! grep -q READY "$out/ready" 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { echo "FAIL: null_responder not ready"; exit 1; }; sleep 0.05
done
port=$(awk '{print $2}' "$out/ready")
timeout 30 "$bin/socketmap_load" --port "$port" --connections 8 --threads 2 --requests 2000 \
  --count 500 --timeout 5 >"$out/load.json"
python3 - "$out/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = {"requests": 2000, "errors": 0, "replies": {"OK": 2000}}
got = {k: r[k] for k in want}
assert got == want, f"got {got} want {want}"
assert r["samples"]["OK"] == "OK secure match=mx.example.com servername=hostname", r["samples"]
assert 0 < r["latency_us"]["p50"] <= r["latency_us"]["p99"] <= r["latency_us"]["max"], r["latency_us"]
PY
if timeout 10 "$bin/socketmap_load" --host 192.0.2.1 --port "$port" --requests 1 --count 1 2>/dev/null; then
  echo "FAIL: load generator accepted a non-loopback host"; exit 1
fi
reply=$(printf '99999999999:x,' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(sys.stdin.buffer.read())
print(repr(s.recv(100)))' "$port")
[ "$reply" = "b''" ] || { echo "FAIL: malformed netstring answered: $reply"; exit 1; }
echo "PASS"
