"""Socket activation without systemd as PID 1: a restart under load never refuses a lookup.

systemd-socket-activate makes the socketmap listener (as mtastsd.socket would) and execs
socket_holder.py, which keeps it (plus a TLS-RPT datagram socket, as mtastsd-tlsrpt.socket
would, when the daemon knows `tlsrpt_socket`) and runs mtastsd on it. While a load generator
queries, the daemon is stopped and started again three times, with half a second between
exit and start in which nobody serves the sockets. Counted: lookups answered, connections
refused, lookups lost (sent, connection closed before the reply, and the one retry on a new
connection that Postfix's dict_sockmap makes also failed). Pass: refused = lost = 0,
answered > 0, every datagram sent during the restarts was accepted by the kernel, and the
daemons counted each one (--tlsrpt-status after the last stop: the datagram socket was
adopted by every generation, its queue kept across the gaps).

Why not bench/socketmap_load: it keeps C connections and never reconnects; a restart closes
them all, and Postfix's smtp(8) does reconnect (and retries a failed request once).

Exit 77 (SKIP) while the daemon has no socket activation: its binary does not contain the
log text "listening on systemd socket" (the daemon logs it for each inherited socket).
Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/packaging/socket_activation_test.py --mtastsd PATH
"""
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from daemon_harness import NO_LOOKUP, NOTFOUND, free_port, take_binary_arg  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
SUPPORTS_NOTIFY = False
LOG_MARK = b"listening on systemd socket"
RESTARTS = 3
GAP = 0.5
CLIENTS = 8
# Real libtlsrpt datagrams (see its README.md).
FIXTURES = os.path.join(HERE, "..", "fixtures", "tlsrpt")


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def daemon_knows_key(key, value):
    p = subprocess.run([MTASTSD, "-c", "/dev/null", "-o", f"{key}={value}", "-o", "user=",
                        "-o", "allow_root=yes", "--check-config"], capture_output=True, timeout=20)
    return p.returncode == 0


def sample_datagram():
    with open(os.path.join(FIXTURES, "libtlsrpt-success-sts.dgram"), "rb") as f:
        return f.read()


class Client(threading.Thread):
    """One Postfix smtp(8) process: a persistent connection, one request at a time,
    reconnect when the server closed it, retry a failed request once on a new connection."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.answered = self.refused = self.lost = self.retried = 0
        self.max_latency = 0.0
        self.errors = []
        self.sock = None
        self.buf = b""

    def connect(self):
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except ConnectionRefusedError:
            self.refused += 1
            self.sock = None
            time.sleep(0.05)

    def ask(self):
        payload = f"postfix {NO_LOOKUP}".encode()
        self.sock.sendall(b"%d:%s," % (len(payload), payload))
        while True:
            if b":" in self.buf:
                head, rest = self.buf.split(b":", 1)
                n = int(head)
                if len(rest) >= n + 1:
                    self.buf = rest[n + 1:]
                    return rest[:n].decode()
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def run(self):
        while not self.stop.is_set():
            start = time.monotonic()
            reply = None
            for attempt in (1, 2):
                if self.sock is None:
                    self.connect()
                    if self.sock is None:
                        continue
                try:
                    reply = self.ask()
                    break
                except (OSError, ConnectionError):
                    self.sock.close()
                    self.sock, self.buf = None, b""
                    if attempt == 1:
                        self.retried += 1
            if reply is None:
                self.lost += 1
            elif reply != NOTFOUND:
                self.errors.append(reply)
            else:
                self.answered += 1
                self.max_latency = max(self.max_latency, time.monotonic() - start)
            time.sleep(0.002)
        if self.sock:
            self.sock.close()


class SocketActivationTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mtastsd-sa-")
        self.events = queue.Queue()
        self.notes = []
        self.holder = None

    def tearDown(self):
        if self.holder and self.holder.poll() is None:
            try:
                self.holder.stdin.write("stop\n")
                self.holder.stdin.flush()
                self.holder.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.holder.kill()
                self.holder.wait(timeout=5)
        if self.holder:
            for stream in (self.holder.stdin, self.holder.stdout, self.holder_log):
                try:
                    stream.close()
                except OSError:
                    pass
        if not os.environ.get("MTASTS_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def read_events(self):
        for line in self.holder.stdout:
            self.events.put(json.loads(line))
        self.events.put({"event": "eof"})

    def wait_event(self, kind, timeout=20, message=None):
        """The next event of `kind` (a notify event whose message starts with `message`);
        every notify event that goes by is kept in self.notes, in order."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                e = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(e)
            if e["event"] == "notify":
                self.notes.append(e["message"])
            if e["event"] == kind and (message is None or e.get("message", "").startswith(message)):
                return e, seen
            if e["event"] == "eof":
                break
        self.fail(f"no {kind} event within {timeout}s; saw {seen}\n{self.logs()}")

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f"--- {name} ---\n{f.read()[-3000:]}")
        return "\n".join(out)

    def wait_log_mark(self, generation, timeout=15):
        path = os.path.join(self.dir, f"mtastsd.{generation}.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path, "rb") as f:
                text = f.read()
            if text.count(LOG_MARK) >= self.expected_marks:
                return
            time.sleep(0.05)
        self.fail(f"daemon {generation} did not log '{LOG_MARK.decode()}' {self.expected_marks}x\n{self.logs()}")

    def test_restarts_under_load_refuse_and_lose_no_lookup(self):
        notify = SUPPORTS_NOTIFY
        # The package's sysctl, in this private network namespace only: a datagram socket keeps
        # the queue length it was created with.
        with open("/proc/sys/net/unix/max_dgram_qlen", "w") as f:
            f.write("1024")

        port = free_port()
        dgram_path = os.path.join(self.dir, "tlsrpt.sock")
        options = ["-c", "/dev/null", "-o", f"listen=inet:127.0.0.1:{port}", "-o", "user=",
                   "-o", "allow_root=yes", "-o", f"state_dir={self.dir}/state", "-o", "dns_servers=127.0.0.99"]
        with_dgram = daemon_knows_key("tlsrpt_socket", dgram_path)
        if with_dgram:
            options += ["-o", f"tlsrpt_socket={dgram_path}"]
        self.expected_marks = 2 if with_dgram else 1
        holder = [sys.executable, os.path.join(HERE, "socket_holder.py"), "--dir", self.dir, "--gap", str(GAP)]
        if with_dgram:
            holder += ["--dgram", dgram_path]
        if notify:
            holder += ["--notify"]
        self.holder_log = open(os.path.join(self.dir, "holder.log"), "w")
        self.holder = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "--fdname=socketmap", "--"]
            + holder + ["--", MTASTSD] + options,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.holder_log, text=True)
        threading.Thread(target=self.read_events, daemon=True).start()
        # systemd-socket-activate execs the holder on the first connection (still in the
        # backlog: the daemon answers it once it runs).
        first = None
        deadline = time.monotonic() + 10
        while first is None and time.monotonic() < deadline:
            try:
                first = socket.create_connection(("127.0.0.1", port), timeout=5)
            except ConnectionRefusedError:
                time.sleep(0.05)
        self.assertIsNotNone(first, "systemd-socket-activate did not listen")
        self.wait_event("started")
        self.wait_log_mark(1)
        if notify:  # Type=notify: systemd would count the service started only now
            self.wait_event("notify", message="READY=1")

        stop = threading.Event()
        clients = [Client(port, stop) for _ in range(CLIENTS)]
        for c in clients:
            c.start()
        datagram = sample_datagram()
        sent = failed = 0
        time.sleep(1.0)
        for generation in range(2, RESTARTS + 2):
            self.holder.stdin.write("restart\n")
            self.holder.stdin.flush()
            exited, _ = self.wait_event("exited")
            self.assertEqual(exited["code"], 0, f"daemon {generation - 1} exit status\n{self.logs()}")
            if with_dgram:  # nobody reads the socket now: the kernel must queue these
                for _ in range(200):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    try:
                        s.sendto(datagram, socket.MSG_DONTWAIT, dgram_path)
                        sent += 1
                    except OSError:
                        failed += 1
                    finally:
                        s.close()
            self.wait_event("started")
            self.wait_log_mark(generation)
            if notify:
                self.wait_event("notify", message="READY=1")
            time.sleep(1.0)
        stop.set()
        for c in clients:
            c.join(timeout=30)
        first.close()
        counted = None
        if with_dgram:  # the last daemon's final commit, then what the store holds
            self.holder.stdin.write("stop\n")
            self.holder.stdin.flush()
            self.holder.wait(timeout=30)
            status = subprocess.run([MTASTSD] + options + ["--tlsrpt-status", "--json"], capture_output=True,
                                    text=True, timeout=30)
            self.assertEqual(status.returncode, 0, status.stdout + status.stderr)
            counted = sum(d["sources"]["datagram"] for d in json.loads(status.stdout)["days"])

        answered = sum(c.answered for c in clients)
        refused = sum(c.refused for c in clients)
        lost = sum(c.lost for c in clients)
        retried = sum(c.retried for c in clients)
        latency = max(c.max_latency for c in clients)
        errors = [e for c in clients for e in c.errors]
        print(f"\n  {RESTARTS} restarts, {GAP}s without a daemon each: {answered} lookups answered, "
              f"{refused} connections refused, {lost} lost, {retried} retried on a new connection, "
              f"max latency {latency * 1000:.0f} ms; datagrams: {sent} sent, {failed} failed, "
              f"{counted} counted", file=sys.stderr)
        if notify:  # each daemon: READY=1 once serving, STOPPING=1 at SIGTERM, nothing else
            kinds = [n.split("\n", 1)[0] for n in self.notes]
            self.assertEqual(kinds, ["READY=1", "STOPPING=1"] * RESTARTS + ["READY=1"], self.notes)
        self.assertEqual(errors, [], "unexpected replies")
        self.assertEqual(refused, 0, "connections refused while the socket was held")
        self.assertEqual(lost, 0, "lookups without an answer")
        self.assertGreater(answered, 100)
        self.assertEqual(failed, 0, "datagrams the kernel did not queue")
        if with_dgram:
            self.assertEqual(counted, sent, "datagram sessions in the store (one per datagram sent)")


if __name__ == "__main__":
    if not shutil.which("systemd-socket-activate"):
        skip("systemd-socket-activate not installed (Debian package systemd)")
    if not MTASTSD or not os.access(MTASTSD, os.X_OK):
        sys.exit(f"mtastsd binary not found: pass --mtastsd PATH (got {MTASTSD!r})")
    with open(MTASTSD, "rb") as f:
        binary = f.read()
    if LOG_MARK not in binary:
        skip(f"mtastsd does not take sockets from systemd yet (no '{LOG_MARK.decode()}' in {MTASTSD})")
    # sd_notify(3) takes its text from the caller: a daemon that notifies contains it.
    SUPPORTS_NOTIFY = b"READY=1" in binary
    unittest.main(verbosity=2)
