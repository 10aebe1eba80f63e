"""The test world's servers in ONE process: HTTPS policy hosts (one listener per address, each
with its own certificate and behaviour), plain HTTP and tarpit listeners, and UDP DNS helpers.

Started by world.py with a JSON config path; prints "READY" on stdout once every listener is
bound. Threads: one accept loop per listener, one thread per connection (all daemon threads);
the process ends on SIGTERM/SIGINT. Every connection and request is appended as one JSON line
to the log file (flushed at once) so tests can count fetches per host. Errors in a connection
are logged and end only that connection.
"""
import json
import signal
import socket
import ssl
import struct
import sys
import threading
import time

WELL_KNOWN = "/.well-known/mta-sts.txt"
MAX_HEAD = 16384
BIG_SIZE = 70 * 1024

_log_lock = threading.Lock()
_log_file = None


def log(**event):
    event["t"] = round(time.time(), 3)
    with _log_lock:
        _log_file.write(json.dumps(event) + "\n")
        _log_file.flush()


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_HEAD:
            return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return {"method": parts[0], "path": parts[1] if len(parts) > 1 else "", "headers": headers}


def response(status, reason, body=b"", content_type="text/plain", extra=()):
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}", "Connection: close"] + list(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def policy_bytes(cfg):
    with open(cfg["policy_file"], "rb") as f:  # re-read per request: tests may change it
        return f.read()


def big_body(cfg):
    body = policy_bytes(cfg)
    pad = b"x-padding: " + b"a" * 60 + b"\n"
    while len(body) <= BIG_SIZE:
        body += pad
    return body


def serve_http(conn, cfg, req):
    behaviour = cfg.get("behaviour", "good")
    ctype = cfg.get("content_type", "text/plain")
    if req["path"] != WELL_KNOWN:
        conn.sendall(response(404, "Not Found", b"not found\n"))
        return
    if behaviour in ("good", "slow"):
        if behaviour == "slow":
            time.sleep(cfg.get("delay", 0.3))
        conn.sendall(response(200, "OK", policy_bytes(cfg), ctype))
    elif behaviour == "early-hints":  # an interim response with headers, then the policy
        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </mta-sts.css>; rel=preload\r\n"
                     b"Link: </x.js>; rel=preload\r\n\r\n")
        time.sleep(0.05)
        conn.sendall(response(200, "OK", policy_bytes(cfg), ctype))
    elif behaviour == "redirect":
        conn.sendall(response(301, "Moved Permanently", b"moved\n",
                              extra=[f"Location: https://mta-sts.good.test{WELL_KNOWN}"]))
    elif behaviour == "notfound":
        conn.sendall(response(404, "Not Found", b"not found\n"))
    elif behaviour == "big-cl":
        conn.sendall(response(200, "OK", big_body(cfg), ctype))
    elif behaviour == "big-chunked":
        body = big_body(cfg)
        conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n" % ctype).encode())
        for i in range(0, len(body), 4096):
            chunk = body[i:i + 4096]
            conn.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        conn.sendall(b"0\r\n\r\n")
    elif behaviour == "big-close":
        conn.sendall(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n"
                      % ctype).encode() + big_body(cfg))
    elif behaviour == "reset":
        body = policy_bytes(cfg)
        full = response(200, "OK", body, ctype)
        conn.sendall(full[:len(full) - 50])  # the cut-off part is padding: what came is valid
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raise ConnectionResetError("reset on purpose")  # close() below sends the RST
    else:
        conn.sendall(response(500, "Internal Server Error", b"unknown behaviour\n"))


def handle(conn, peer, lcfg, ctx):
    addr = lcfg["addr"]
    try:
        conn.settimeout(10)
        log(event="accept", addr=addr, peer=peer[0])
        if lcfg["kind"] == "tarpit":
            conn.settimeout(120)
            while conn.recv(4096):  # swallow everything, never answer
                pass
            return
        if lcfg["kind"] == "https":
            conn = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            try:
                conn.do_handshake()
            except (ssl.SSLError, OSError) as e:
                log(event="tls-error", addr=addr, error=str(e))
                return
            log(event="tls", addr=addr, sni=getattr(conn, "sni", None), version=conn.version())
        if lcfg["kind"] == "http":
            first = conn.recv(1, socket.MSG_PEEK)
            if first and first[0] == 0x16:  # a TLS ClientHello sent to a plain HTTP server
                log(event="request", addr=addr, host=None, path=None, tls_hello=True)
                conn.recv(MAX_HEAD)
                conn.sendall(response(400, "Bad Request", b"plain HTTP server\n"))
                return
        req = read_head(conn)
        if req is None:
            log(event="bad-request", addr=addr)
            return
        log(event="request", addr=addr, host=req["headers"].get("host"), path=req["path"],
            ua=req["headers"].get("user-agent"))
        serve_http(conn, lcfg, req)
    except Exception as e:  # one connection's trouble must not end the server
        log(event="conn-error", addr=addr, error=repr(e))
    finally:
        try:
            conn.close()
        except OSError:
            pass


def make_ctx(lcfg):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(lcfg["cert"], lcfg["key"])

    def remember_sni(sock, name, _ctx):
        try:
            sock.sni = name
        except AttributeError:
            pass
    ctx.sni_callback = remember_sni
    return ctx


def tcp_listener(lcfg):
    ctx = make_ctx(lcfg) if lcfg["kind"] == "https" else None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((lcfg["addr"], lcfg.get("port", 443)))
    sock.listen(256)

    def loop():
        while True:
            conn, peer = sock.accept()
            threading.Thread(target=handle, args=(conn, peer, lcfg, ctx), daemon=True).start()
    return loop


def udp_listener(lcfg):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((lcfg["addr"], lcfg.get("port", 53)))

    def loop():
        while True:
            data, peer = sock.recvfrom(65535)
            log(event="dns", addr=lcfg["addr"], kind=lcfg["kind"], size=len(data))
            if lcfg["kind"] == "udp-refuse" and len(data) >= 12:
                qid, flags = struct.unpack("!HH", data[:4])
                flags = 0x8000 | (flags & 0x0100) | 5  # QR, copy RD, rcode REFUSED
                sock.sendto(struct.pack("!HH", qid, flags) + data[4:12] + data[12:], peer)
            # udp-drop: read and never answer
    return loop


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    global _log_file
    _log_file = open(cfg["log"], "a")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    loops = []
    for lcfg in cfg["listeners"]:
        loops.append(udp_listener(lcfg) if lcfg["kind"].startswith("udp") else tcp_listener(lcfg))
    for loop in loops:
        threading.Thread(target=loop, daemon=True).start()
    print("READY", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
