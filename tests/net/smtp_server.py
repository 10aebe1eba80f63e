#!/usr/bin/python3
"""SMTP test servers for the STARTTLS probe tests (tests/net/tls_probe_test.cpp); stdlib plus
the openssl CLI (certificates made with https_server.py's helpers).

Usage: smtp_server.py --dir <empty temp dir> [--lifetime <seconds>]
One listener per behaviour on 127.0.0.1 ephemeral ports, printed as "<name>_port <n>", then
"ca_file <path>" and "ready". Exits when stdin closes. The certificates name mx.good.test.
Behaviours:
  good, wrongname, expired, untrusted  STARTTLS offered, TLS with that certificate, QUIT 221
  nostarttls      EHLO reply without STARTTLS
  refusetls       STARTTLS answered 454
  inject          220 to STARTTLS with a second reply glued to it (RFC 3207 injection)
  badgreeting     554 greeting
  garbage         an HTTP response instead of a greeting
  longline        5000 bytes without a line end
  silent          accepts and never says anything
  slowquit        good, but never answers QUIT (the probe must not wait for it)
Every session is appended to <dir>/sessions.log as one JSON line (behaviour, EHLO argument,
whether QUIT came), so tests can see what the probe sent.
"""
import json
import os
import socket
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import https_server  # noqa: E402

HOST = "mx.good.test"
EHLO_TLS = b"250-mx.good.test hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-starttls\r\n250 8BITMIME\r\n"
EHLO_PLAIN = b"250-mx.good.test hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
_lock = threading.Lock()


def log(d, **event):
    with _lock, open(os.path.join(d, "sessions.log"), "a") as f:
        f.write(json.dumps(event) + "\n")


def read_line(f):
    line = f.readline(4096)
    return line.decode("latin-1").rstrip("\r\n") if line else None


def session(conn, name, ctx, d):
    event = {"behaviour": name, "ehlo": None, "quit": False, "tls": False}
    try:
        if name == "silent":
            conn.recv(1)
            return
        if name == "garbage":
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            return
        if name == "longline":
            conn.sendall(b"220 " + b"x" * 5000)
            conn.recv(1)
            return
        if name == "badgreeting":
            conn.sendall(b"554 5.7.1 no service for you\r\n")
            return
        conn.sendall(b"220-mx.good.test ESMTP\r\n220 test server\r\n")
        f = conn.makefile("rb")
        while True:
            line = read_line(f)
            if line is None:
                return
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                event["ehlo"] = line[5:]
                conn.sendall(EHLO_PLAIN if name == "nostarttls" else EHLO_TLS)
            elif verb == "STARTTLS":
                if name == "refusetls":
                    conn.sendall(b"454 4.7.0 TLS not available\r\n")
                    continue
                if name == "inject":
                    conn.sendall(b"220 2.0.0 go ahead\r\n250 injected\r\n")
                    conn.recv(1)
                    return
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                conn = ctx.wrap_socket(conn, server_side=True)
                event["tls"] = True
                f = conn.makefile("rb")
            elif verb == "QUIT":
                event["quit"] = True
                if name == "slowquit":
                    conn.recv(1)
                    return
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 not here\r\n")
    except (OSError, ssl.SSLError):
        pass
    finally:
        log(d, **event)
        try:
            conn.close()
        except OSError:
            pass


def serve(name, d, cert=None):
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, f"{cert}.pem"), os.path.join(d, f"{cert}.key"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def accept_loop():
        while True:
            conn, _ = listener.accept()
            conn.settimeout(30)
            threading.Thread(target=session, args=(conn, name, ctx, d), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print(f"{name}_port", listener.getsockname()[1], flush=True)


def main():
    d = sys.argv[sys.argv.index("--dir") + 1]
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 120
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    threading.Timer(lifetime, lambda: os._exit(0)).start()

    https_server.make_ca(d, "ca")
    https_server.make_ca(d, "otherca")
    https_server.make_cert(d, "good", HOST)
    https_server.make_cert(d, "wrongname", "other.test")
    https_server.make_cert(d, "untrusted", HOST, ca="otherca")
    https_server.make_expired_cert(d, "expired", HOST)
    for name in ["good", "wrongname", "expired", "untrusted", "slowquit", "inject", "refusetls"]:
        serve(name, d, "good" if name in ("slowquit", "inject", "refusetls") else name)
    for name in ["nostarttls", "badgreeting", "garbage", "longline", "silent"]:
        serve(name, d)
    print("ca_file", os.path.join(d, "ca.pem"), flush=True)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
