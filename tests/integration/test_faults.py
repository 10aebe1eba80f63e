"""Fault injection and privilege dropping with the real mtastsd and the test world: broken
peers (DNS that drops packets, an HTTPS tarpit, a reset mid-body, TLS failures) are answered
NOTFOUND within query_wait_timeout while others are served; an unwritable state_dir, a store
from a newer schema and running as root without `user` are refused with a clear message and
a non-zero exit; a tiny LMDB map grows under load without losing entries; started as root
with `user = nobody` the daemon runs with all four uids/gids switched and owns its store.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_faults.py --mtastsd PATH
"""
import os
import pwd
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import (Daemon, _argv, base_options, free_port, root_options, start_world,  # noqa: E402
                            real_root, stop_world, take_binary_arg, wait_until)
from scenarios import NOTFOUND, secure  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
WORLD = None
GOOD = secure("mx.good.test", ".good.test")
# Each misbehaves differently: DNS dropped, TCP accepted but silent, reset in the body,
# TLS handshake failures (unknown CA, expired, wrong name, plain HTTP on 443).
BROKEN = ["silent.test", "tarpit.test", "reset.test", "untrusted.test", "expired.test",
          "wrongname.test", "plainhttp.test"]
WAIT = 1.0      # query_wait_timeout for the fault tests
SLACK = 1.0     # scheduling and connection setup on a loaded 2-core CI box
EX_CANTCREAT = 73
EX_CONFIG = 78


def setUpModule():
    global WORLD
    WORLD = start_world(MTASTSD)


def tearDownModule():
    stop_world(WORLD)


def run_binary(options, *args, timeout=20, preexec_fn=None):
    """Runs mtastsd with -c /dev/null and options (daemon mode unless args say otherwise)."""
    return subprocess.run(_argv(MTASTSD, options) + list(args), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=preexec_fn)


def daemon_options(state_dir, **extra):
    opts = base_options(WORLD, state_dir)
    opts.update(root_options(MTASTSD))
    opts["listen"] = f"inet:127.0.0.1:{free_port()}"
    opts.update(extra)
    return opts


def proc_ids(pid):
    """{'Uid': [real, effective, saved, fs], 'Gid': [...], 'Groups': [...]} from /proc."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
    return out


def timed_query(daemon, domain, results):
    start = time.monotonic()
    try:
        with daemon.client() as c:
            results[domain] = (c.query(domain), time.monotonic() - start)
    except (OSError, ValueError, ConnectionError) as e:
        results[domain] = (f"error: {e!r}", time.monotonic() - start)


class BrokenPeersTest(unittest.TestCase):
    def test_broken_peers_are_answered_notfound_within_the_bound_while_others_are_served(self):
        with Daemon(MTASTSD, WORLD, query_wait_timeout=f"{int(WAIT * 1000)}ms", dns_timeout="3s",
                    fetch_timeout="3s") as d:
            with d.client() as c:
                self.assertEqual(c.query("good.test"), GOOD)  # warm: answered from the cache below
            for round_ in (1, 2):  # 2: the same domains again, resolves failed or still running
                results = {}
                threads = [threading.Thread(target=timed_query, args=(d, name, results))
                           for name in BROKEN + ["good.test"]]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=WAIT + SLACK + 10)
                for name in BROKEN:
                    reply, elapsed = results[name]
                    with self.subTest(domain=name, round=round_):
                        self.assertEqual(reply, NOTFOUND, d.log())
                        self.assertLess(elapsed, WAIT + SLACK)
                self.assertEqual(results["good.test"][0], GOOD)
                self.assertLess(results["good.test"][1], SLACK)
            # The tarpit fetch and the dropped DNS queries time out: poll for the last one.
            self.assertTrue(wait_until(lambda: d.log_count("TXT lookup failed domain=silent.test") > 0,
                                       timeout=15), d.log(400))
            with d.client() as c:
                self.assertEqual(c.query("good.test"), GOOD)
                for name in BROKEN:
                    self.assertEqual(c.query(name), NOTFOUND)
            self.assertIsNone(d.proc.poll())
            log = d.log(400)
            self.assertRegex(log, r"TXT lookup failed domain=silent\.test")


class StoreFaultsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mtastsd-faults-")

    def assert_refused(self, p, code, pattern):
        self.assertEqual(p.returncode, code, p.stderr)
        self.assertRegex(p.stderr, pattern)

    def test_a_file_in_the_way_of_state_dir_is_refused_at_start(self):
        blocker = os.path.join(self.dir, "file")
        open(blocker, "w").close()
        for state in (blocker, os.path.join(blocker, "state")):
            with self.subTest(state_dir=state):
                p = run_binary(daemon_options(state))
                self.assert_refused(p, EX_CANTCREAT, r"state_dir .*(cannot create|Not a directory|exists)")

    def test_a_read_only_state_dir_is_refused_at_start_even_for_root(self):
        ro = os.path.join(self.dir, "ro")
        os.makedirs(os.path.join(ro, "existing"))
        # A read-only bind mount: root's permission bypass does not help (private mount ns).
        subprocess.run(["mount", "--bind", ro, ro], check=True, timeout=10)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", ro], check=True, timeout=10)
            for state in (os.path.join(ro, "existing"), os.path.join(ro, "new")):
                with self.subTest(state_dir=state):
                    p = run_binary(daemon_options(state))
                    self.assert_refused(p, EX_CANTCREAT, r"state_dir .*(not writable|cannot create).*Read-only")
        finally:
            subprocess.run(["umount", ro], timeout=10)

    def test_a_store_written_by_a_newer_schema_is_refused(self):
        state = os.path.join(self.dir, "state")
        p = run_binary({"state_dir": state}, "--purge-all")  # creates a current store
        self.assertEqual(p.returncode, 0, p.stderr)
        subprocess.run(["mdb_load", "-T", "-s", "meta", state], input="schema\n99\n", text=True,
                       check=True, timeout=10)
        p = run_binary(daemon_options(state))
        self.assert_refused(p, EX_CANTCREAT, r"written by a newer mtastsd \(schema 99\); refusing to open")
        p = run_binary({"state_dir": state}, "--dump")
        self.assert_refused(p, EX_CANTCREAT, r"newer mtastsd \(schema 99\)")

    def test_a_tiny_map_grows_under_load_and_keeps_every_entry(self):
        state = os.path.join(self.dir, "state")
        names = [f"fill{i:04d}.test" for i in range(600)]  # NXDOMAIN: one no-policy entry each
        with Daemon(MTASTSD, WORLD, state_dir=state, lmdb_map_size="64k",
                    query_wait_timeout="3s") as d:
            def fill(chunk, out):
                with d.client() as c:
                    for n in chunk:
                        c.send("postfix", n)
                    out.extend(c.recv() for _ in chunk)

            replies = []
            threads = [threading.Thread(target=fill, args=(names[i::6], replies)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            self.assertEqual(replies, [NOTFOUND] * len(names))
            with d.client() as c:
                self.assertEqual(c.query("good.test"), GOOD)
            self.assertIsNone(d.proc.poll())
            self.assertRegex(d.log(2000), r"map grown dir=\S+ old_size=65536 new_size=131072")
        self.assertGreater(os.path.getsize(os.path.join(state, "data.mdb")), 64 * 1024)
        dumped = run_binary({"state_dir": state}, "--dump").stdout.split("\n")
        stored = {line.split(" ", 1)[0] for line in dumped if line}
        self.assertEqual(stored, set(names) | {"good.test"})


class PrivilegesTest(unittest.TestCase):
    def setUp(self):
        self.nobody = pwd.getpwnam("nobody")
        if not real_root():  # a user namespace's fake root cannot switch users
            self.skipTest("needs real root")

    def test_root_without_user_is_refused_unless_allow_root(self):
        state = os.path.join(tempfile.mkdtemp(prefix="mtastsd-priv-"), "state")
        p = run_binary(daemon_options(state, allow_root="no"))
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("refusing to run as root: set user = mtastsd (recommended) or allow_root = yes",
                      p.stderr)
        p = run_binary(daemon_options(state, allow_root="no", user="no-such-user-mtastsd"))
        self.assertEqual(p.returncode, EX_CONFIG, p.stderr)
        self.assertIn("user = no-such-user-mtastsd: no such user", p.stderr)

    def test_a_non_root_daemon_runs_as_itself_and_says_user_is_ignored(self):
        state = os.path.join(tempfile.mkdtemp(prefix="mtastsd-priv-"), "state")
        os.chmod(os.path.dirname(state), 0o777)

        def become_nobody():
            os.setgroups([])
            os.setresgid(self.nobody.pw_gid, self.nobody.pw_gid, self.nobody.pw_gid)
            os.setresuid(self.nobody.pw_uid, self.nobody.pw_uid, self.nobody.pw_uid)

        # ca_file="": the test CA is readable by root only.
        opts = daemon_options(state, user="root", allow_root="no", ca_file="")
        log_path = os.path.join(os.path.dirname(state), "mtastsd.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(_argv(MTASTSD, opts), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=become_nobody)

        def read_log():
            with open(log_path, errors="replace") as f:
                return f.read()
        try:
            # Wait for the start line: SIGTERM before the handlers are installed would kill
            # the process with the default action (slow under the sanitizers).
            deadline = time.monotonic() + 20
            while "mtastsd started" not in read_log() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("mtastsd started", read_log())
            self.assertEqual(proc_ids(proc.pid)["Uid"], [self.nobody.pw_uid] * 4)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        out = read_log()
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn(f"not root: user = root ignored, running as uid {self.nobody.pw_uid}", out)

    def test_started_as_root_with_user_it_drops_every_id_and_owns_its_store(self):
        d = Daemon(MTASTSD, WORLD, user="nobody", allow_root="no")
        os.chmod(d.dir, 0o755)  # nobody must reach state_dir under the temp dir
        uid, gid = self.nobody.pw_uid, self.nobody.pw_gid
        with d:
            ids = proc_ids(d.proc.pid)
            self.assertEqual(ids["Uid"], [uid] * 4)
            self.assertEqual(ids["Gid"], [gid] * 4)
            self.assertNotIn(0, ids["Groups"])
            with d.client() as c:
                self.assertEqual(c.query("good.test"), GOOD)
                self.assertEqual(c.query("norecord.test"), NOTFOUND)
            self.assertRegex(d.log(), r"dropped privileges user=nobody uid=%d gid=%d" % (uid, gid))
            state = d.options["state_dir"]
            # The CLI run as root beside it keeps the files the daemon user's.
            p = run_binary({"state_dir": state}, "--purge", "norecord.test")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            p = run_binary({"state_dir": state}, "--dump")
            self.assertRegex(p.stdout, r"(?m)^good\.test mode=enforce")
            self.assertNotRegex(p.stdout, r"(?m)^norecord\.test")
            with d.client() as c:  # still writes its store after the CLI touched it
                self.assertEqual(c.query("testing.test"), NOTFOUND)
        self.assertEqual(d.proc.returncode, 0, d.log())
        for name in ("", "data.mdb", "lock.mdb"):
            st = os.stat(os.path.join(state, name))
            self.assertEqual((st.st_uid, st.st_gid), (uid, gid), name)
        dumped = run_binary({"state_dir": state}, "--dump").stdout
        self.assertRegex(dumped, r"(?m)^testing\.test mode=testing")


if __name__ == "__main__":
    unittest.main(argv=sys.argv, verbosity=2)
