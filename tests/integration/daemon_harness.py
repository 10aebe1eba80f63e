"""Helpers for integration tests that run the real mtastsd binary against the test world:
a socketmap client (netstrings, persistent connection, pipelining), a Daemon process wrapper
(own state dir, stderr log file, killed by process group on stop) and `run_query` for the
`mtastsd --query` CLI. Every wait has a hard timeout. Python 3 stdlib only.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "world"))
from world import die_with_parent  # noqa: E402

MAX_REPLY = 100000 + 16


def take_binary_arg(argv):
    """Removes `--mtastsd PATH` from argv (so unittest does not see it); falls back to $MTASTSD."""
    path = os.environ.get("MTASTSD")
    if "--mtastsd" in argv:
        i = argv.index("--mtastsd")
        path = argv[i + 1]
        del argv[i:i + 2]
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SocketmapClient:
    def __init__(self, port, host="127.0.0.1", timeout=15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, mapname, key):
        payload = f"{mapname} {key}".encode()
        self.sock.sendall(b"%d:%s," % (len(payload), payload))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("socketmap server closed the connection")
        self.buf += chunk

    def recv(self):
        while b":" not in self.buf:
            if len(self.buf) > 10:
                raise ValueError(f"bad netstring length {self.buf[:20]!r}")
            self._fill()
        head, rest = self.buf.split(b":", 1)
        if not head.isdigit() or int(head) > MAX_REPLY:
            raise ValueError(f"bad netstring length {head!r}")
        n = int(head)
        while len(rest) < n + 1:
            self._fill()
            rest = self.buf.split(b":", 1)[1]
        if rest[n:n + 1] != b",":
            raise ValueError("netstring without trailing comma")
        self.buf = rest[n + 1:]
        return rest[:n].decode()

    def query(self, key, mapname="postfix"):
        self.send(mapname, key)
        return self.recv()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def base_options(world, state_dir):
    return {"state_dir": state_dir, "dns_servers": world.dns_server, "ca_file": world.ca_file,
            "log_level": "debug", "query_wait_timeout": "5s", "dns_timeout": "2s",
            "fetch_timeout": "3s"}


def _argv(binary, options):
    argv = [binary, "-c", "/dev/null"]
    for k, v in options.items():
        argv += ["-o", f"{k}={v}"]
    return argv


_root_opts = None


def root_options(binary):
    """`user= allow_root=yes` when the daemon knows those keys (tests run as root in the netns)."""
    global _root_opts
    if _root_opts is None:
        _root_opts = {}
        if os.geteuid() == 0:
            p = subprocess.run(_argv(binary, {"allow_root": "yes"}) + ["--check-config"],
                               capture_output=True, timeout=10)
            if p.returncode == 0:
                # Stay root: tests keep their state under root-only temp dirs.
                _root_opts = {"user": "", "allow_root": "yes"}
    return dict(_root_opts)


class Daemon:
    def __init__(self, binary, world, **overrides):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="mtastsd-it-")
        self.port = free_port()
        self.options = base_options(world, os.path.join(self.dir, "state"))
        self.options.update(root_options(binary))
        self.options["listen"] = f"inet:127.0.0.1:{self.port}"
        self.options.update(overrides)
        self.log_path = os.path.join(self.dir, "mtastsd.log")
        self.proc = None

    def start(self, timeout=10.0):
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(_argv(self.binary, self.options), stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mtastsd exited {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mtastsd did not listen within {timeout}s:\n{self.log()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return self.proc.returncode if self.proc else None

    def client(self):
        return SocketmapClient(self.port)

    def log(self, tail=60):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-tail:])
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run_query(binary, world, domain, json_output=False, timeout=60, **overrides):
    """Runs `mtastsd --query DOMAIN`; returns (exit code, stdout + stderr)."""
    state = tempfile.mkdtemp(prefix="mtastsd-q-")
    options = base_options(world, state)
    options.update(root_options(binary))
    options.update(overrides)
    argv = _argv(binary, options) + ["--query", domain] + (["--json"] if json_output else [])
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def wait_until(predicate, timeout, step=0.05):
    """Polls predicate until it holds or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
