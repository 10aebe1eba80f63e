"""Signals during mtastsd's start-up, as when a service manager stops a unit it has just
started: SIGTERM or SIGINT at any moment of start-up must end the daemon by itself with
exit status 0 after it logged the stop, never by the signal's default action; SIGHUP must
neither kill it nor be lost (it comes up, serves, and logs the reload). Every other try
runs as root with `user = nobody`, so the privilege drop falls inside the window too.

Delays count from the moment the daemon opens its config file, a FIFO the test holds: the
first moment a test can see the binary's own code run (before main the dynamic loader maps
the libraries, and no program can catch a signal there). They are spread from 0 to 100 ms;
start-up from there to listening took 90-130 ms on the 2-core dev box. /proc shows the
signal held (blocked, pending) when it landed inside start-up, and the test insists that
enough did. No test world: nothing is looked up.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_startup_signals.py --mtastsd PATH
"""
import errno
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (NO_LOOKUP, NO_WORLD, NOTFOUND, Daemon, require_binary, take_binary_arg,  # noqa: E402
                            real_root, wait_until)

MTASTSD = take_binary_arg(sys.argv)
STOP_TRIES = 30
RELOAD_TRIES = 10
MAX_DELAY = 0.100
EXIT_TIMEOUT = 20.0


def delays(count):
    """0 to MAX_DELAY seconds, evenly spread."""
    return [MAX_DELAY * i / (count - 1) for i in range(count)]


def nobody_available():
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return real_root()  # a user namespace's fake root cannot switch to nobody


def open_writer(path, proc, timeout=10.0):
    """Opens the FIFO for writing the moment the daemon has it open for reading."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mtastsd never opened its config file (exit {proc.poll()})")
        time.sleep(0.0001)


def spawn_at_config(as_nobody):
    """Spawns a daemon whose config file is a FIFO; returns (daemon, t0), t0 the moment the
    daemon opened it. The FIFO is then swapped for an empty regular file (what a SIGHUP
    rereads) and closed, so the daemon reads an empty config and goes on starting."""
    extra = {"user": "nobody", "allow_root": "no"} if as_nobody else {}
    d = Daemon(MTASTSD, NO_WORLD, log_level="info", **extra)
    os.chmod(d.dir, 0o755)  # nobody must reach state_dir and the config under the temp dir
    d.config_path = os.path.join(d.dir, "mtastsd.conf")
    os.mkfifo(d.config_path)
    d.spawn()
    fd = open_writer(d.config_path, d.proc)
    t0 = time.monotonic()
    plain = d.config_path + ".plain"
    open(plain, "w").close()
    os.replace(plain, d.config_path)
    os.close(fd)
    return d, t0


def held_in_start_up(pid, sig):
    """True when sig is blocked and waits in the process's pending set: it arrived in
    start-up. (Pending alone is no proof: a signal about to kill shows as pending too.)"""
    masks = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("ShdPnd", "SigBlk"):
                    masks[key] = int(value, 16)
    except FileNotFoundError:
        return False
    bit = 1 << (sig - 1)
    return all(masks.get(key, 0) & bit for key in ("ShdPnd", "SigBlk"))


def signal_at(proc, sig, when):
    """Sends sig at monotonic time `when`; returns (how late after it, held_in_start_up)."""
    time.sleep(max(0.0, when - time.monotonic()))
    late = time.monotonic() - when
    os.kill(proc.pid, sig)
    return late, held_in_start_up(proc.pid, sig)


class StartupSignals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary(MTASTSD)
        cls.nobody = nobody_available()

    def spawn(self, as_nobody):
        d, t0 = spawn_at_config(as_nobody)
        self.addCleanup(shutil.rmtree, d.dir, True)
        return d, t0

    def wait_exit(self, d, what):
        try:
            return d.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(d.proc.pid, signal.SIGKILL)
            d.proc.wait(timeout=5)
            self.fail(f"{what}: still running {EXIT_TIMEOUT:.0f} s later\n{d.log(200)}")

    def test_a_stop_signal_at_any_moment_of_start_up_ends_in_a_clean_exit(self):
        held = 0
        for i, delay in enumerate(delays(STOP_TRIES)):
            sig = signal.SIGINT if i % 5 == 4 else signal.SIGTERM
            as_nobody = self.nobody and i % 2 == 1
            what = f"{sig.name} {delay * 1000:.1f} ms after the config was opened" + (
                " (user = nobody)" if as_nobody else "")
            with self.subTest(what):
                d, t0 = self.spawn(as_nobody)
                late, was_held = signal_at(d.proc, sig, t0 + delay)
                code = self.wait_exit(d, what)
                held += was_held
                log = d.log(200)
                self.assertEqual(code, 0, f"{what} (sent {late * 1000:.1f} ms late): exit status {code}"
                                 f" (negative: killed by that signal)\n{log}")
                self.assertIn(f"stopping signal={int(sig)}", log)
                self.assertIn("mtastsd stopped", log)
                if as_nobody:
                    self.assertIn("dropped privileges user=nobody", log)
        print(f"\n  {held} of {STOP_TRIES} stop signals arrived while start-up held them", file=sys.stderr)
        # Otherwise the tries all came after start-up and proved nothing about it.
        self.assertGreaterEqual(held, STOP_TRIES // 6, "too few signals landed inside start-up")

    def test_a_sighup_during_start_up_neither_kills_it_nor_is_lost(self):
        for i, delay in enumerate(delays(RELOAD_TRIES)):
            as_nobody = self.nobody and i % 2 == 1
            what = f"SIGHUP {delay * 1000:.1f} ms after the config was opened" + (
                " (user = nobody)" if as_nobody else "")
            with self.subTest(what):
                d, t0 = self.spawn(as_nobody)
                try:
                    signal_at(d.proc, signal.SIGHUP, t0 + delay)
                    try:
                        d.wait_listening(10.0)
                    except RuntimeError as e:  # it exited (or never listened): say so as a failure
                        self.fail(f"{what}: {e}")
                    with d.client() as c:
                        self.assertEqual(c.query(NO_LOOKUP), NOTFOUND)
                    self.assertTrue(wait_until(lambda: "configuration reloaded" in d.log(200), 5.0),
                                    f"{what}: the reload was lost\n{d.log(200)}")
                    self.assertIsNone(d.proc.poll(), f"{what}: exit status {d.proc.returncode}\n{d.log(200)}")
                finally:
                    if d.proc.poll() is None:
                        d.proc.send_signal(signal.SIGTERM)
                    code = self.wait_exit(d, what + ", then SIGTERM")
                self.assertEqual(code, 0, f"{what}: exit status {code} (negative: killed by a signal)\n"
                                 f"{d.log(200)}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
