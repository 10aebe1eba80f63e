"""Helpers for the TLS-RPT integration tests: datagram senders in separate processes that send
the way libtlsrpt does (a new AF_UNIX SOCK_DGRAM socket per datagram, sendto with
MSG_DONTWAIT, close; EAGAIN = the report is lost, as Postfix loses it), the counts a stream of
the captured fixtures must produce (computed here from the datagrams' JSON, independently of
mtastsd's parser), and `tlsrpt_status` for `mtastsd --tlsrpt-status --json`.
Python 3 stdlib only.
"""
import errno
import json
import multiprocessing
import os
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "tlsrpt")
POLICY_TYPES = {1: "tlsa", 2: "sts", 9: "no-policy-found"}
RESULT_TYPES = {201: "starttls-not-supported", 202: "certificate-host-mismatch",
                203: "certificate-not-trusted", 204: "certificate-expired", 205: "validation-failure",
                301: "sts-policy-fetch-error", 302: "sts-policy-invalid", 303: "sts-webpki-invalid",
                304: "tlsa-invalid", 305: "dnssec-invalid", 306: "dane-required"}


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def postfix_fixtures():
    """The datagrams a real Postfix 3.11 sent (one policy each, valid UTF-8)."""
    names = sorted(n for n in os.listdir(FIXTURES) if n.startswith("pf311-") and n.endswith(".dgram"))
    return [(n, fixture(n)) for n in names]


def raise_qlen(value=1024):
    """net.unix.max_dgram_qlen of this (private) network namespace, for sockets made from now
    on; returns the value in force (unchanged where it cannot be written)."""
    path = "/proc/sys/net/unix/max_dgram_qlen"
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError:
        pass
    with open(path) as f:
        return int(f.read())


def send_like_libtlsrpt(path, data):
    """0 when sent, else the errno (EAGAIN: queue full; ECONNREFUSED/ENOENT: nobody reads)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(data, socket.MSG_DONTWAIT, path)
        return 0
    except OSError as e:
        return e.errno or errno.EIO
    finally:
        s.close()


def _sender(path, datagrams, rounds, rate, duration, out):
    """One process: sends datagrams[i % n] in order; `rate` per second (0: as fast as it can);
    stops after `rounds` passes or `duration` seconds. Puts (sent per index, errors) on out."""
    sent = [0] * len(datagrams)
    errors = {}
    start = time.monotonic()
    k = 0
    total = rounds * len(datagrams) if rounds else None
    while total is None or k < total:
        if duration and time.monotonic() - start >= duration:
            break
        if rate:
            due = start + k / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
        i = k % len(datagrams)
        err = send_like_libtlsrpt(path, datagrams[i])
        if err == 0:
            sent[i] += 1
        else:
            errors[errno.errorcode.get(err, str(err))] = errors.get(errno.errorcode.get(err, str(err)), 0) + 1
        k += 1
    out.put((sent, errors))


class Senders:
    """`count` sender processes started at once; `wait()` returns (sent per datagram index
    summed over the processes, errors by name)."""

    def __init__(self, path, datagrams, count=4, rounds=0, rate=0, duration=0):
        self.n = len(datagrams)
        ctx = multiprocessing.get_context("fork")
        self.queue = ctx.Queue()
        self.procs = [ctx.Process(target=_sender, args=(path, datagrams, rounds, rate, duration, self.queue))
                      for _ in range(count)]
        for p in self.procs:
            p.start()

    def wait(self, timeout=120):
        sent, errors = [0] * self.n, {}
        for _ in self.procs:
            s, e = self.queue.get(timeout=timeout)
            sent = [a + b for a, b in zip(sent, s)]
            for k, v in e.items():
                errors[k] = errors.get(k, 0) + v
        for p in self.procs:
            p.join(timeout=10)
        return sent, errors


def expected_counts(datagrams, sent):
    """What sys4's counting gives for `sent[i]` copies of datagrams[i]: {entry key: (successful,
    failed, {result type: failed-session-count})}, keyed like entry_key()."""
    out = {}
    for data, times in zip(datagrams, sent):
        if not times:
            continue
        d = json.loads(data.decode("utf-8"))
        for pol in d.get("policies", []):
            key = (d["d"], d.get("pr", ""), POLICY_TYPES[pol["policy-type"]], pol.get("policy-domain", d["d"]),
                   tuple(pol.get("policy-string", ())), tuple(pol.get("mx-host", ())))
            ok, failed, rows = out.get(key, (0, 0, {}))
            if pol.get("f", 0):
                failed += times
            else:
                ok += times
            rows = dict(rows)
            for fd in pol.get("failure-details", []):
                rt = RESULT_TYPES[fd["c"]]
                rows[rt] = rows.get(rt, 0) + times
            out[key] = (ok, failed, rows)
    return out


def entry_key(entry):
    p = entry["policy"]
    return (entry["policy-domain"], entry.get("tlsrpt-record", ""), p["policy-type"], p.get("policy-domain", ""),
            tuple(p.get("policy-string", ())), tuple(p.get("mx-host", ())))


def counted(status):
    """--tlsrpt-status --json as {entry key: (successful, failed, {result type: count})}, summed
    over days (a test may cross midnight)."""
    out = {}
    for e in status["days"]:
        key = entry_key(e)
        ok, failed, rows = out.get(key, (0, 0, {}))
        ok += e["summary"]["total-successful-session-count"]
        failed += e["summary"]["total-failure-session-count"]
        rows = dict(rows)
        for fd in e.get("failure-details", []):
            rows[fd["result-type"]] = rows.get(fd["result-type"], 0) + fd["failed-session-count"]
        out[key] = (ok, failed, rows)
    return out


def total_sessions(status, source=None):
    n = 0
    for e in status["days"]:
        if source:
            n += e["sources"][source]
        else:
            n += e["summary"]["total-successful-session-count"] + e["summary"]["total-failure-session-count"]
    return n


def tlsrpt_status(binary, state_dir, day=None, timeout=30):
    """`mtastsd --tlsrpt-status --json` for state_dir (beside a running daemon or not)."""
    argv = [binary, "-c", "/dev/null", "-o", f"state_dir={state_dir}", "--tlsrpt-status", "--json"]
    if day:
        argv += ["--day", day]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"--tlsrpt-status exited {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)
