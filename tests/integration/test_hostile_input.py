"""Hostile socketmap clients against the real mtastsd (issue 6, item 3), malformed input:
random bytes (checked against a Python model of the netstring decoder: exactly one warn
line per connection the daemon must close), half-written requests, closes with lookups
pending, and the max_query_size edge. Every test also runs a Prober: another client
querying throughout, which must keep being answered promptly (HostileCase in
daemon_harness.py, with the black-hole DNS these modules use instead of a test world).

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_hostile_input.py
--mtastsd PATH (or MTASTSD=PATH). CTest passes the built binary.
"""
import os
import random
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (CHEAP_REQUEST, NO_LOOKUP, NOTFOUND, HostileCase, take_binary_arg,  # noqa: E402
                            wait_closed, wait_until)

HostileCase.binary = take_binary_arg(sys.argv)
BAD_CLOSE_LINES = ("closing connection: malformed netstring", "closing connection: request too long")


def netstring(payload):
    return b"%d:%s," % (len(payload), payload)


def decode_model(buf, max_payload):
    """Python mirror of postfix::decodeNetstring: ('complete', consumed) | ('incomplete',) |
    ('malformed',) | ('toolong',)."""
    n = 0
    pos = 0
    while True:
        if pos == len(buf):
            return ("incomplete",)
        c = buf[pos]
        if c == ord(":"):
            break
        if not 48 <= c <= 57:
            return ("malformed",)
        if pos == 1 and buf[0] == ord("0"):
            return ("malformed",)
        n = n * 10 + c - 48
        if n > max_payload:
            return ("toolong",)
        pos += 1
    if pos == 0:
        return ("malformed",)
    start = pos + 1
    if len(buf) - start <= n:
        return ("incomplete",)
    if buf[start + n] != ord(","):
        return ("malformed",)
    return ("complete", start + n + 1)


def expected_outcome(blob, max_payload=10000):
    """('closed', replies) when the daemon must close the connection on its own (one warn
    line), ('open', replies) when it waits for more input."""
    replies = 0
    while True:
        r = decode_model(blob, max_payload)
        if r[0] == "complete":
            replies += 1
            blob = blob[r[1]:]
            continue
        return ("open" if r[0] == "incomplete" else "closed", replies)


class Garbage(HostileCase):
    options = {"idle_timeout": "5s"}

    def test_random_bytes_close_each_connection_with_one_warn_line(self):
        rng = random.Random(20240611)
        warned_before = self.log_count(*BAD_CLOSE_LINES)
        expected_closes = 0
        kinds = {"closed": 0, "open": 0}
        for i in range(300):
            size = rng.randint(1, 3000)
            blob = bytes(rng.getrandbits(8) for _ in range(size))
            if i % 3 == 1:  # a plausible length prefix, then garbage
                blob = b"%d:" % rng.randint(0, 12000) + blob
            elif i % 3 == 2:  # valid requests first
                blob = CHEAP_REQUEST * rng.randint(1, 5) + blob
            outcome, _ = expected_outcome(blob)
            kinds[outcome] += 1
            with socket.create_connection(("127.0.0.1", self.daemon.port), timeout=5) as s:
                try:
                    s.sendall(blob)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if outcome == "closed":
                    expected_closes += 1
                    if not wait_closed(s, 3.0):
                        self.fail_with_log(f"connection {i} not closed after garbage {blob[:40]!r}")
                else:
                    s.shutdown(socket.SHUT_WR)  # the daemon waits for more: hang up ourselves
                    self.assertTrue(wait_closed(s, 3.0))
        self.assert_still_answers()
        warned = self.log_count(*BAD_CLOSE_LINES) - warned_before
        print(f"\n  random bytes: 300 connections, {kinds['closed']} closed by the daemon, "
              f"{kinds['open']} waiting for more; {warned} warn lines", file=sys.stderr)
        self.assertGreater(expected_closes, 200)
        self.assertEqual(warned, expected_closes, "exactly one warn line per bad connection")

    def test_half_written_requests_followed_by_a_close(self):
        warned_before = self.log_count("warning", "error", "critical")
        for i in range(100):
            with socket.create_connection(("127.0.0.1", self.daemon.port), timeout=5) as s:
                s.sendall(CHEAP_REQUEST * (i % 3) + CHEAP_REQUEST[: 1 + i % (len(CHEAP_REQUEST) - 1)])
        self.assert_still_answers()
        self.assertEqual(self.log_count("warning", "error", "critical"), warned_before)

    def test_closing_in_the_middle_of_a_pipeline_with_lookups_pending(self):
        packets_before = self.blackhole.packets
        failed_before = self.log_count("TXT lookup failed")
        for i in range(30):
            with socket.create_connection(("127.0.0.1", self.daemon.port), timeout=5) as s:
                s.sendall(b"".join(netstring(b"postfix d%d-%d.blackhole.test" % (i, k)) for k in range(20))
                          + CHEAP_REQUEST + b"50:postfix half")
                if i % 2:
                    s.recv(1)  # nothing to read: replies wait for the pending lookups
        self.assertTrue(wait_until(lambda: self.blackhole.packets > packets_before, 3.0),
                        "no DNS query reached the black hole: the lookups were never pending")
        # The abandoned resolves (one per domain) go on and time out inside the daemon.
        self.assertTrue(wait_until(lambda: self.log_count("TXT lookup failed") - failed_before >= 30 * 20, 15.0),
                        self.daemon.log())
        self.assert_still_answers()
        self.assertEqual(self.log_count("critical", "internal error"), 0, self.daemon.log())

    def test_exactly_max_query_size_is_accepted_and_one_more_closes(self):
        for size, accepted in ((10000, True), (10001, False)):
            with self.subTest(size=size):
                payload = b"postfix " + b"a" * (size - 8)
                with self.daemon.client() as c:
                    if accepted:
                        c.sock.sendall(netstring(payload))
                        self.assertEqual(c.recv(), NOTFOUND)  # not a valid host name: no lookup
                        self.assertEqual(c.query(NO_LOOKUP), NOTFOUND)
                    else:
                        too_long_before = self.log_count("request too long")
                        c.sock.sendall(b"%d:" % len(payload))  # the length alone decides
                        self.assertTrue(wait_closed(c.sock, 2.0))
                        self.assertEqual(self.log_count("request too long") - too_long_before, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
