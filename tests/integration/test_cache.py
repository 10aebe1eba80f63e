"""Integration test of the persistent LMDB cache with the real mtastsd and the test world:
cached verdicts survive a restart when DNS and HTTPS are unreachable, an expired policy
is dropped when it cannot be refreshed, kill -9 during a burst of cold fetches leaves a
store that opens and answers, and --dump / --purge work beside a running daemon.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_cache.py --mtastsd PATH
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, _argv, start_world, stop_world, take_binary_arg, wait_until  # noqa: E402
from scenarios import NOTFOUND, SCENARIOS, secure  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
WORLD = None
# Nothing listens here inside the test's network namespace: DNS (and so HTTPS) fails.
DEAD_DNS = "127.0.0.99"


def setUpModule():
    global WORLD
    WORLD = start_world(MTASTSD)


def tearDownModule():
    stop_world(WORLD)


def cli(state_dir, *args):
    argv = _argv(MTASTSD, {"state_dir": state_dir}) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


class CacheTest(unittest.TestCase):
    def setUp(self):
        self.state = os.path.join(tempfile.mkdtemp(prefix="mtastsd-cache-"), "state")

    def test_cached_policy_survives_a_restart_without_dns_or_https(self):
        with Daemon(MTASTSD, WORLD, state_dir=self.state) as d, d.client() as c:
            self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"))
            self.assertEqual(c.query("norecord.test"), NOTFOUND)
        fetches = WORLD.request_count("good.test")
        # Restarted against a dead DNS server, re-checking the TXT record every second.
        with Daemon(MTASTSD, WORLD, state_dir=self.state, dns_servers=DEAD_DNS,
                    dns_timeout="300ms", txt_check_interval="1s") as d:
            answers = []

            def query_until_three_failed_checks():
                with d.client() as c:
                    answers.append(c.query("GOOD.Test"))
                return d.log_count("TXT lookup failed") >= 3

            # Each query past txt_check_interval starts a re-check, which fails: poll for three.
            self.assertTrue(wait_until(query_until_three_failed_checks, timeout=15, step=0.2), d.log(200))
            self.assertEqual(set(answers), {secure("mx.good.test", ".good.test")})
            self.assertIn("TXT lookup failed", d.log(200))
        self.assertEqual(WORLD.request_count("good.test"), fetches)

    def test_an_expired_policy_that_cannot_be_refreshed_is_dropped(self):
        row = WORLD.by_domain["changing.test"]
        WORLD.set_policy("changing.test", "version: STSv1\nmode: enforce\nmx: mx.changing.test\nmax_age: 3\n")
        fetched = time.time()
        try:
            with Daemon(MTASTSD, WORLD, state_dir=self.state) as d, d.client() as c:
                self.assertEqual(c.query("changing.test"), secure("mx.changing.test"))
        finally:
            WORLD.set_policy("changing.test", row["policy"])
        with Daemon(MTASTSD, WORLD, state_dir=self.state, dns_servers=DEAD_DNS,
                    dns_timeout="300ms") as d:
            with d.client() as c:
                self.assertEqual(c.query("changing.test"), secure("mx.changing.test"))

            def answer():
                with d.client() as c:
                    return c.query("changing.test")

            # Past max_age the refresh cannot succeed and the policy is gone: poll for that.
            self.assertTrue(wait_until(lambda: answer() == NOTFOUND, timeout=15, step=0.2), d.log(200))
            # Not before max_age ran out (whole seconds: the fetch time may be cut by up to 1 s).
            self.assertGreaterEqual(time.time() - fetched, 2.0)
            self.assertEqual(answer(), NOTFOUND)

    def test_dump_and_purge_beside_a_running_daemon(self):
        with Daemon(MTASTSD, WORLD, state_dir=self.state) as d:
            with d.client() as c:
                self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"))
                self.assertEqual(c.query("norecord.test"), NOTFOUND)
            p = cli(self.state, "--dump")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"(?m)^good\.test mode=enforce id=\S+ fetched=\S+Z expires=\S+Z")
            self.assertRegex(p.stdout, r"(?m)^norecord\.test mode=no-policy")
            p = cli(self.state, "--dump", "--json")
            entries = {e["domain"]: e for e in json.loads(p.stdout)}
            self.assertEqual(entries["good.test"]["mx"], ["mx.good.test", "*.good.test"])
            self.assertTrue(entries["good.test"]["valid"])
            p = cli(self.state, "--purge", "GOOD.test")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertNotIn("good.test", cli(self.state, "--dump").stdout.split())
            before = WORLD.request_count("good.test")
            with d.client() as c:  # purged: fetched again
                self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"))
            self.assertEqual(WORLD.request_count("good.test"), before + 1)
            self.assertEqual(cli(self.state, "--purge-all").returncode, 0)
            self.assertEqual(cli(self.state, "--dump").stdout, "")

    def test_kill_9_during_cold_fetches_leaves_a_store_that_opens_and_answers(self):
        domains = [row["domain"] for row in SCENARIOS
                   if row["domain"] not in ("silent.test", "tarpit.test")]
        rng = random.Random(8461)
        for round_ in range(8):
            d = Daemon(MTASTSD, WORLD, state_dir=self.state, query_wait_timeout="2s").start()

            def burst():
                try:
                    with d.client() as c:
                        for name in rng.sample(domains, len(domains)):
                            c.query(name)
                except (OSError, ConnectionError):
                    pass  # the daemon was killed under us: expected

            workers = [threading.Thread(target=burst) for _ in range(4)]
            for w in workers:
                w.start()
            time.sleep(rng.uniform(0.05, 0.4))
            os.killpg(d.proc.pid, signal.SIGKILL)
            d.proc.wait(timeout=5)
            for w in workers:
                w.join(timeout=10)
            p = cli(self.state, "--dump")
            self.assertEqual(p.returncode, 0, f"round {round_}: {p.stderr}")
            with Daemon(MTASTSD, WORLD, state_dir=self.state) as d2, d2.client() as c:
                self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"),
                                 f"round {round_}:\n{d2.log()}")


if __name__ == "__main__":
    unittest.main(argv=sys.argv, verbosity=2)
