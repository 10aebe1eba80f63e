"""Minimal DNS message encoder/decoder for the test world (RFC 1035 subset).

Used to poll the test unbound until it answers and by the world self-test to check every
scenario's records. UDP only, one question, answers decoded for A, CNAME, MX, TXT, TLSA (usage,
selector, matching type, hex data) and RRSIG (the type covered); other types are kept as raw
bytes. dnssec=True sends an EDNS0 OPT with the DO bit: the reply's AD flag and RRSIGs show. Errors: socket.timeout on no answer, ValueError on a malformed
reply. Python 3 stdlib only.
"""
import random
import socket
import struct

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "DS": 43,
         "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "NSEC3": 50, "TLSA": 52}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def encode_query(name, qtype, qid=None, dnssec=False):
    qid = random.randrange(0, 65536) if qid is None else qid
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if dnssec else 0)  # RD set
    packet = header + encode_name(name) + struct.pack("!HH", TYPES[qtype], 1)
    if dnssec:  # OPT: root owner, UDP size 1232, extended rcode/version 0, DO bit, no options
        packet += b"\x00" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)
    return qid, packet


def _read_name(msg, pos, depth=0):
    """Returns (name, position after the name in the original stream)."""
    labels = []
    end = None
    while True:
        if pos >= len(msg) or depth > 20:
            raise ValueError("truncated or looping name")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(msg):
                raise ValueError("truncated pointer")
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            depth += 1
            continue
        if length == 0:
            pos += 1
            break
        labels.append(msg[pos + 1:pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    return ".".join(labels), (end if end is not None else pos)


def _decode_rdata(msg, rtype, start, rdlen):
    rdata = msg[start:start + rdlen]
    if rtype == 1 and rdlen == 4:
        return socket.inet_ntoa(rdata)
    if rtype == 5:
        return _read_name(msg, start)[0]
    if rtype == 15:
        return (struct.unpack("!H", rdata[:2])[0], _read_name(msg, start + 2)[0])
    if rtype == 16:
        strings, i = [], 0
        while i < len(rdata):
            n = rdata[i]
            strings.append(rdata[i + 1:i + 1 + n].decode("utf-8", "replace"))
            i += 1 + n
        return strings
    if rtype == 52 and rdlen >= 3:
        return (rdata[0], rdata[1], rdata[2], rdata[3:].hex())
    if rtype == 46 and rdlen >= 2:
        covered = struct.unpack("!H", rdata[:2])[0]
        return TYPE_NAMES.get(covered, str(covered))
    return rdata


class Response:
    def __init__(self, rcode, answers, truncated, ad=False, authority=()):
        self.rcode = rcode          # "NOERROR", "NXDOMAIN", ...
        self.answers = answers      # list of (name, type name, value)
        self.truncated = truncated
        self.ad = ad                # Authenticated Data: the resolver validated it as secure
        self.authority = list(authority)  # (name, type name, value): SOA, NSEC3, RRSIG...

    def values(self, qtype):
        return [v for (_, t, v) in self.answers if t == qtype]

    def __repr__(self):
        return f"Response({self.rcode}{' AD' if self.ad else ''}, {self.answers})"


def decode_response(msg, qid):
    if len(msg) < 12:
        raise ValueError("short reply")
    rid, flags, qd, an, ns, _ar = struct.unpack("!HHHHHH", msg[:12])
    if rid != qid:
        raise ValueError("id mismatch")
    pos = 12
    for _ in range(qd):
        _, pos = _read_name(msg, pos)
        pos += 4
    sections = ([], [])
    for count, out in zip((an, ns), sections):
        for _ in range(count):
            name, pos = _read_name(msg, pos)
            if pos + 10 > len(msg):
                raise ValueError("truncated record")
            rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
            pos += 10
            out.append((name, TYPE_NAMES.get(rtype, str(rtype)),
                        _decode_rdata(msg, rtype, pos, rdlen)))
            pos += rdlen
    return Response(RCODES.get(flags & 0xF, str(flags & 0xF)), sections[0], bool(flags & 0x0200),
                    ad=bool(flags & 0x0020), authority=sections[1])


def query(server, name, qtype, port=53, timeout=2.0, dnssec=False):
    """One UDP query; raises socket.timeout if the server does not answer in time."""
    qid, packet = encode_query(name, qtype, dnssec=dnssec)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, port))
        while True:
            data, _ = sock.recvfrom(65535)
            try:
                return decode_response(data, qid)
            except ValueError:
                continue  # stray or garbled datagram: keep waiting until the timeout
