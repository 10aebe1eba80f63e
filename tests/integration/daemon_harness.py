"""Helpers for integration tests that run the real mtastsd binary against the test world:
start_world/stop_world for a module's shared World, a socketmap client (netstrings,
persistent connection, pipelining), a Daemon process wrapper (own state dir, stderr log
file, killed by process group on stop), `run_query` for the `mtastsd --query` CLI, and the
HostileCase base of the hostile-client modules (a black-hole DNS, a Prober client querying
throughout). Every wait has a hard timeout. Python 3 stdlib only.
"""
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "world"))
from world import World, die_with_parent  # noqa: E402

MAX_REPLY = 100000 + 16


def take_binary_arg(argv):
    """Removes `--mtastsd PATH` from argv (so unittest does not see it); falls back to $MTASTSD."""
    path = os.environ.get("MTASTSD")
    if "--mtastsd" in argv:
        i = argv.index("--mtastsd")
        path = argv[i + 1]
        del argv[i:i + 2]
    return path


def real_root():
    """uid 0 outside any user namespace. run_in_netns.sh maps a non-root caller to a fake 0,
    which cannot switch to another user: tests that need to skip (run_tests.py reports SKIP)."""
    try:
        with open("/proc/self/uid_map") as f:
            identity = f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        identity = True
    return os.geteuid() == 0 and identity


def require_binary(binary):
    if not binary or not os.access(binary, os.X_OK):
        raise RuntimeError(f"mtastsd binary not found: pass --mtastsd PATH or MTASTSD (got {binary!r})")


def start_world(binary=None):
    """For setUpModule: checks the daemon binary when the module runs one, then starts the
    test world (tests/world) that the module's tests share. Pair with stop_world."""
    if binary is not None:
        require_binary(binary)
    return World().__enter__()


def stop_world(world):
    """For tearDownModule: stops what start_world started (None when it failed)."""
    if world:
        world.__exit__(None, None, None)


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


def _argv(binary, options, config_path="/dev/null"):
    argv = [binary, "-c", config_path]
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


def wait_listening(proc, port, timeout):
    """Waits until 127.0.0.1:port accepts a connection. None once it does, else why not:
    "exited N" when the process ended first, "did not listen within Ts" at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return None
        except OSError:
            time.sleep(0.05)
    return f"did not listen within {timeout}s"


def stop_process(proc):
    """SIGTERM, then SIGKILL to its process group after 15 s; the exit status (None: no process)."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    return proc.returncode if proc else None


def log_tail(path, lines):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Daemon:
    def __init__(self, binary, world, config_path="/dev/null", **overrides):
        self.binary = binary
        self.config_path = config_path
        self.dir = tempfile.mkdtemp(prefix="mtastsd-it-")
        self.port = free_port()
        self.options = base_options(world, os.path.join(self.dir, "state"))
        self.options.update(root_options(binary))
        self.options["listen"] = f"inet:127.0.0.1:{self.port}"
        self.options.update(overrides)
        self.log_path = os.path.join(self.dir, "mtastsd.log")
        self.env = None  # the daemon's environment: None inherits the test's
        self.proc = None

    def spawn(self):
        """Starts the process and returns at once (start() also waits for the listener)."""
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(_argv(self.binary, self.options, self.config_path), stdout=log,
                                     stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=die_with_parent, env=self.env)
        log.close()
        return self

    def start(self, timeout=10.0):
        return self.spawn().wait_listening(timeout)

    def wait_listening(self, timeout):
        """Returns once the listener accepts and the daemon has logged "mtastsd started"; raises
        (after stopping it) if it exits or never gets there. The kernel queues connections from
        bind() on, before the state store opens and the components start: a test that loads
        the daemon as soon as it accepts would overlap its startup."""
        deadline = time.monotonic() + timeout
        why = wait_listening(self.proc, self.port, timeout)
        if not why and self.options.get("log_level", "info") in ("trace", "debug", "info"):
            while self.log_count("mtastsd started") == 0:
                if self.proc.poll() is not None:
                    why = f"exited {self.proc.returncode}"
                    break
                if time.monotonic() >= deadline:
                    why = f"did not log 'mtastsd started' within {timeout}s"
                    break
                time.sleep(0.01)
        if why:
            self.stop()
            raise RuntimeError(f"mtastsd {why}:\n{self.log()}")
        return self

    def stop(self):
        return stop_process(self.proc)

    def client(self):
        return SocketmapClient(self.port)

    def log(self, tail=60):
        return log_tail(self.log_path, tail)

    def log_count(self, *needles):
        """Log lines that contain any of needles."""
        try:
            with open(self.log_path, errors="replace") as f:
                return sum(1 for line in f if any(n in line for n in needles))
        except OSError:
            return 0

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


# ----- hostile clients (test_hostile_*.py) -----
# No test world there: DNS goes to a black hole on BLACKHOLE:53 (a UDP socket that never
# answers), so the only lookups are ones a test wants to stay pending. Keys like NO_LOOKUP
# are answered NOTFOUND without any lookup.
NO_LOOKUP = "[127.0.0.1]"
NOTFOUND = "NOTFOUND "
BLACKHOLE = "127.0.0.99"
NO_WORLD = types.SimpleNamespace(dns_server=BLACKHOLE, ca_file="")
# A request whose reply needs no lookup: 23 bytes in, "9:NOTFOUND ," (12 bytes) out.
CHEAP_REQUEST = b"19:postfix [127.0.0.1],"


def set_soft_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return soft


def wait_closed(sock, timeout):
    """True when the peer closed (EOF or reset) within timeout; data read meanwhile is dropped."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


class BlackHoleDns:
    """Swallows every DNS query sent to BLACKHOLE:53 and counts them."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((BLACKHOLE, 53))
        self.sock.settimeout(0.2)
        self.packets = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                self.sock.recv(4096)
                self.packets += 1
            except socket.timeout:
                pass
            except OSError:
                return

    def close(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


class Prober:
    """Another client, querying every 20 ms on one connection while a test runs."""

    def __init__(self, port, interval=0.02):
        self.client = SocketmapClient(port, timeout=5.0)
        self.interval = interval
        self.count = 0
        self.max_latency = 0.0
        self.errors = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                reply = self.client.query(NO_LOOKUP)
                if reply != NOTFOUND:
                    self.errors.append(f"unexpected reply {reply!r}")
            except (OSError, ValueError) as e:
                self.errors.append(repr(e))
                return
            self.max_latency = max(self.max_latency, time.monotonic() - start)
            self.count += 1
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)
        self.client.close()
        return self


class HostileCase(unittest.TestCase):
    """A daemon per class with DNS in the black hole, and a Prober running through each test
    that must keep being answered promptly. Modules set HostileCase.binary."""
    binary = None
    options = {}
    daemon_soft_nofile = None  # start the daemon with this soft RLIMIT_NOFILE
    # A sanitizer writing its report to log_path must open a file: a daemon with no free
    # descriptor loses the report and only says "Can't open file". Such a class's daemon
    # reports to its stderr (its log, which a failing test prints) instead.
    sanitizer_reports_to_stderr = False
    blackhole = None

    @classmethod
    def setUpClass(cls):
        require_binary(cls.binary)
        if HostileCase.blackhole is None:
            HostileCase.blackhole = BlackHoleDns()
        opts = {"log_level": "info", "dns_timeout": "300ms", "query_wait_timeout": "5s"}
        opts.update(cls.options)
        cls.daemon = Daemon(cls.binary, NO_WORLD, **opts)
        if cls.sanitizer_reports_to_stderr:
            cls.daemon.env = {k: re.sub(r"(^|:)log_path=[^:]*", r"\1log_path=stderr", v)
                              if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS") else v for k, v in os.environ.items()}
        previous = None
        if cls.daemon_soft_nofile:
            previous = set_soft_nofile(cls.daemon_soft_nofile)  # inherited by the daemon
        try:
            cls.daemon.start()
        finally:
            if previous is not None:
                set_soft_nofile(previous)

    @classmethod
    def tearDownClass(cls):
        code = cls.daemon.stop()
        if code not in (0, None):
            print(f"mtastsd exited {code}:\n{cls.daemon.log()}", file=sys.stderr)

    def setUp(self):
        self.prober = Prober(self.daemon.port)

    def tearDown(self):
        p = self.prober.stop()
        print(f"\n  [{self.id().split('.')[-1]}] prober: {p.count} answers, max latency "
              f"{p.max_latency * 1000:.0f} ms, rss {self.rss_kib()} KiB", file=sys.stderr)
        self.assertEqual(p.errors, [], "the prober client was not served throughout")
        self.assertGreater(p.count, 0)
        self.assertLess(p.max_latency, 2.0, "the prober waited too long for an answer")
        self.assertIsNone(self.daemon.proc.poll(), f"mtastsd died:\n{self.daemon.log()}")

    def fail_with_log(self, msg):
        self.fail(f"{msg}\n--- mtastsd log tail ---\n{self.daemon.log()}")

    def log_count(self, *needles):
        with open(self.daemon.log_path, errors="replace") as f:
            return sum(1 for line in f if any(n in line for n in needles))

    def rss_kib(self):
        with open(f"/proc/{self.daemon.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def assert_still_answers(self):
        with self.daemon.client() as c:
            self.assertEqual(c.query(NO_LOOKUP), NOTFOUND)
