#!/usr/bin/python3
"""Tiny authoritative-looking UDP DNS responder for the net/ integration tests.

Binds 127.0.0.1 on an ephemeral port, prints "dns_port <n>" then "ready", and answers
from the fixed ZONE table below. Exits when stdin closes (the test ended) or after
--lifetime seconds, whichever comes first. Stdlib only.
"""
import os
import socket
import struct
import sys
import threading

TXT, A, AAAA, CNAME, MX, TLSA = 16, 1, 28, 5, 15, 52
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5

# name -> list of (type, owner, rdata-bytes) answers, or an rcode/"drop" behaviour.
def txt(*strings):
    out = b""
    for s in strings:
        b = s if isinstance(s, bytes) else s.encode()
        out += bytes([len(b)]) + b
    return out

def wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def mx(preference, host):
    return struct.pack("!H", preference) + wire(host)

def tlsa(usage, selector, mtype, data):
    return bytes([usage, selector, mtype]) + data

ZONE = {
    ("split.test", TXT): [("split.test", TXT, txt("v=STSv1; ", "id=abc123")),
                          ("split.test", TXT, txt("unrelated"))],
    ("binary.test", TXT): [("binary.test", TXT, txt(b"\x00\xff;", b""))],
    ("alias.test", TXT): [("alias.test", CNAME, wire("hop.test")),
                          ("hop.test", CNAME, wire("target.test")),
                          ("stray.test", TXT, txt("not on the chain")),
                          ("target.test", TXT, txt("v=STSv1; id=viacname"))],
    ("secure.test", TXT): [("secure.test", TXT, txt("signed"))],
    ("addr.test", A): [("addr.test", A, bytes([192, 0, 2, 1])),
                       ("addr.test", A, bytes([192, 0, 2, 2]))],
    ("addr.test", AAAA): [("addr.test", AAAA, socket.inet_pton(socket.AF_INET6, "2001:db8::1"))],
    ("v4only.test", A): [("v4only.test", A, bytes([198, 51, 100, 7]))],
    ("v4only.test", AAAA): [],
    ("mx.test", MX): [("mx.test", MX, mx(10, "mx1.mx.test")),
                      ("mx.test", MX, mx(20, "MX2.Example.NET"))],
    ("nullmx.test", MX): [("nullmx.test", MX, mx(0, "."))],
    ("alias.test", MX): [("alias.test", CNAME, wire("mx.test")),
                         ("mx.test", MX, mx(5, "via.cname.test"))],
    ("_25._tcp.mx1.mx.test", TLSA): [("_25._tcp.mx1.mx.test", TLSA, tlsa(3, 1, 1, bytes(range(32)))),
                                     ("_25._tcp.mx1.mx.test", TLSA, tlsa(2, 0, 2, b"\xff" * 64))],
    ("nodata.test", TXT): [],
    ("nodata.test", A): [],
    ("nodata.test", AAAA): [],
}
RCODES = {"servfail.test": SERVFAIL, "refused.test": REFUSED}
DROP = {"drop.test"}
AUTHENTICATED = {"secure.test", "_25._tcp.mx1.mx.test"}


def parse_question(msg):
    pos, labels = 12, []
    while True:
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        labels.append(msg[pos:pos + n].decode("ascii", "replace").lower())
        pos += n
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return ".".join(labels), qtype, msg[12:pos + 4]


def answer(msg):
    (qid, flags) = struct.unpack("!HH", msg[:4])
    name, qtype, question = parse_question(msg)
    if name in DROP:
        return None
    rcode, records = NXDOMAIN, []
    if name in RCODES:
        rcode = RCODES[name]
    elif (name, qtype) in ZONE:
        rcode, records = NOERROR, ZONE[(name, qtype)]
    elif any(key[0] == name for key in ZONE):
        rcode = NOERROR  # the name exists with other types: NODATA
    out_flags = 0x8000 | (flags & 0x0100) | 0x0080 | 0x0400 | rcode
    if name in AUTHENTICATED:
        out_flags |= 0x0020
    head = struct.pack("!HHHHHH", qid, out_flags, 1, len(records), 0, 0)
    body = b""
    for owner, rtype, rdata in records:
        body += wire(owner) + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata
    return head + question + body


def main():
    lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1]) if "--lifetime" in sys.argv else 60
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    print("dns_port", sock.getsockname()[1], flush=True)
    print("ready", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    threading.Timer(lifetime, lambda: os._exit(0)).start()
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            reply = answer(msg)
        except Exception as exc:  # a malformed query must not kill the responder
            print("bad query", exc, file=sys.stderr)
            continue
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
