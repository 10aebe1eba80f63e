"""End-to-end test: Debian's real Postfix (own config/queue/data dirs in a temp dir) resolving MX
records through the test world's DNS, asking the real mtastsd binary for TLS policies over
socketmap, and delivering to aiosmtpd receivers with STARTTLS and test-CA certificates.
Every scenario is asserted on Postfix's log (status= and TLS lines) and on what the receivers
got. Scenarios: e2e_world.py.

Run (root, from the repo root):
  tests/world/run_in_netns.sh /usr/bin/python3 tests/e2e/test_postfix.py --mtastsd PATH
(or MTASTSD=PATH). CTest passes the built binary. MTASTS_WORLD_KEEP=1 keeps the temp dirs;
MTASTS_E2E_MAILLOG=FILE copies Postfix's maillog_file there at the end (the fixture capture of
tests/fixtures/maillog/README.md).
"""
import os
import shutil
import signal
import socket
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from daemon_harness import Daemon, real_root, take_binary_arg  # noqa: E402
from e2e_world import BY_DOMAIN, NOTFOUND, ROWS, secure, start_receivers  # noqa: E402
from postfix_instance import PostfixInstance  # noqa: E402
import receivers  # noqa: E402
from world import World  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
ENV = {}


def cannot_run_here():
    """Why this machine cannot run the test (None when it can): run_tests.py reports a
    SkipTest as skipped to CTest, never as passed."""
    if not real_root():
        return "a real Postfix needs real root (it switches to user postfix)"
    if not shutil.which("postfix"):  # PostfixInstance runs it from PATH
        return "no postfix command on PATH (Debian package postfix)"
    if receivers.Controller is None:
        return "no aiosmtpd here (Debian package python3-aiosmtpd)"
    return None


def setUpModule():
    if not MTASTSD or not os.access(MTASTSD, os.X_OK):
        raise RuntimeError(f"mtastsd binary not found: pass --mtastsd PATH or MTASTSD (got {MTASTSD!r})")
    why = cannot_run_here()
    if why:
        raise unittest.SkipTest(why)
    try:
        world = ENV["world"] = World(scenarios=ROWS).__enter__()
        world.bind_resolv_conf()  # Postfix's smtp (no chroot) reads /etc/resolv.conf
        ENV["cert_dir"] = tempfile.mkdtemp(prefix="mtasts-e2e-certs-")
        ENV["recv"] = start_receivers(world, ENV["cert_dir"])
        ENV["daemon"] = Daemon(MTASTSD, world)
        ENV["daemon"].start()
        ENV["postfix"] = PostfixInstance(world.ca_file, ENV["daemon"].port)
        ENV["postfix"].start()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if "postfix" in ENV:
        keep_log = os.environ.get("MTASTS_E2E_MAILLOG")  # capture only: asserts nothing
        if keep_log:
            shutil.copyfile(ENV["postfix"].log_path, keep_log)
        ENV.pop("postfix").stop()
    keep = os.environ.get("MTASTS_WORLD_KEEP") == "1"
    if "daemon" in ENV:
        daemon = ENV.pop("daemon")
        daemon.stop()
        if keep:
            print(f"mtastsd dir kept in {daemon.dir}")
        else:
            shutil.rmtree(daemon.dir, ignore_errors=True)
    if "recv" in ENV:
        ENV.pop("recv").stop()
    if "cert_dir" in ENV:
        shutil.rmtree(ENV.pop("cert_dir"), ignore_errors=True)
    if "world" in ENV:
        ENV.pop("world").__exit__(None, None, None)


def mx_hosts(domain):
    return [host for _, host in BY_DOMAIN[domain]["mx"]]


class E2ECase(unittest.TestCase):
    def context(self):
        return (f"\n--- postfix log tail ---\n{ENV['postfix'].log.tail(30)}"
                f"\n--- mtastsd log tail ---\n{ENV['daemon'].log(20)}")

    def assert_verified_delivery(self, msg, mx_host, timeout=60):
        st = msg.wait_status(timeout=timeout)
        self.assertEqual(st.status, "sent", f"{st}{self.context()}")
        self.assertTrue(st.relay.startswith(f"{mx_host}["), st)
        self.assertEqual(st.tls_kinds(), ["Verified"], st.context_lines)
        self.assertIn(f"Verified TLS connection established to {mx_host}[", st.tls_lines[0])
        got = ENV["recv"][mx_host].received_msgid(msg.msgid)
        self.assertEqual(len(got), 1, f"{mx_host} should have received {msg.msgid}")
        self.assertTrue(got[0]["tls"], "delivered over STARTTLS")
        self.assertEqual(got[0]["rcpt_tos"], [msg.rcpt])

    def assert_deferred_nothing_received(self, msg, dsn_prefix="4.7.", detail=None, timeout=60):
        st = msg.wait_status(timeout=timeout)
        self.assertEqual(st.status, "deferred", f"{st}{self.context()}")
        self.assertTrue(st.dsn.startswith(dsn_prefix), st)
        if detail:
            self.assertIn(detail, st.detail)
        self.assertNotIn("Verified", st.tls_kinds(), st.context_lines)
        domain = msg.rcpt.split("@")[1].lower()
        for host in mx_hosts(domain):
            self.assertEqual(ENV["recv"][host].received_msgid(msg.msgid), [],
                             f"{host} must not receive mail for {msg.rcpt}")
        return st


class VerdictsSeenByPostfixTest(E2ECase):
    """What Postfix's own socketmap client gets (postmap -q): a readable first failure when the
    daemon's answers are wrong, before any mail is looked at."""

    def test_postmap_gets_the_table_reply_for_every_domain(self):
        pf, port = ENV["postfix"], ENV["daemon"].port
        for row in ROWS:
            with self.subTest(domain=row["domain"]):
                code, out = pf.postmap_query(row["domain"], port)
                if row["reply"] == NOTFOUND:
                    self.assertEqual((code, out), (1, ""))
                else:
                    self.assertEqual((code, out), (0, row["reply"][len("OK "):]),
                                     ENV["daemon"].log(20))


class DeliveryTest(E2ECase):
    """All messages are sent at once in setUpClass (deliveries run in parallel); each test
    waits, bounded, for the status lines of its own messages."""

    SENDS = ["user@good.test", "User@GOOD.Test", "user@badname.test", "User@BadName.Test",
             "user@selfsigned.test", "user@expiredcert.test", "user@nostarttls.test",
             "user@mxmismatch.test", "user@mxfallback.test", "user@norecord.test",
             "user@testing.test"]

    @classmethod
    def setUpClass(cls):
        cls.msgs = {rcpt: ENV["postfix"].send(rcpt) for rcpt in cls.SENDS}

    def test_enforce_with_valid_certificate_is_delivered_verified(self):
        self.assert_verified_delivery(self.msgs["user@good.test"], "mx.good.test")

    def test_enforce_with_certificate_for_another_name_is_deferred(self):
        st = self.assert_deferred_nothing_received(self.msgs["user@badname.test"], "4.7.5")
        self.assertTrue(any("verification failed" in c for c in st.context_lines), st.context_lines)

    def test_enforce_with_self_signed_certificate_is_deferred(self):
        st = self.assert_deferred_nothing_received(self.msgs["user@selfsigned.test"], "4.7.5")
        self.assertTrue(any("verification failed" in c for c in st.context_lines), st.context_lines)

    def test_enforce_with_expired_certificate_is_deferred(self):
        st = self.assert_deferred_nothing_received(self.msgs["user@expiredcert.test"], "4.7.5")
        self.assertTrue(any("certificate has expired" in c for c in st.context_lines), st.context_lines)

    def test_enforce_without_starttls_is_deferred(self):
        self.assert_deferred_nothing_received(self.msgs["user@nostarttls.test"], "4.7.4",
                                              detail="TLS is required, but was not offered")

    def test_mx_host_not_in_policy_with_valid_own_certificate_is_refused(self):
        # proves the match= patterns came from the policy: the host's chain and name are fine
        st = self.assert_deferred_nothing_received(self.msgs["user@mxmismatch.test"], "4.7.5")
        self.assertTrue(any("rogue.mxmismatch.test" in c and "verification failed" in c
                            for c in st.context_lines), st.context_lines)

    def test_mail_skips_an_mx_host_not_in_policy_for_one_that_is(self):
        msg = self.msgs["user@mxfallback.test"]
        st = msg.wait_status(timeout=60)
        self.assertEqual(st.status, "sent", f"{st}{self.context()}")
        self.assertTrue(st.relay.startswith("mx.mxfallback.test["), st)
        self.assertIn("Verified", st.tls_kinds())
        self.assertEqual(ENV["recv"]["rogue.mxfallback.test"].received_msgid(msg.msgid), [])
        self.assertEqual(len(ENV["recv"]["mx.mxfallback.test"].received_msgid(msg.msgid)), 1)

    def test_domain_without_policy_is_delivered_opportunistically(self):
        msg = self.msgs["user@norecord.test"]
        st = msg.wait_status(timeout=60)
        self.assertEqual(st.status, "sent", f"{st}{self.context()}")
        self.assertEqual(st.tls_kinds(), ["Untrusted"], st.context_lines)  # self-signed, not checked
        got = ENV["recv"]["mx.norecord.test"].received_msgid(msg.msgid)
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0]["tls"])

    def test_testing_mode_is_delivered_despite_a_bad_certificate(self):
        msg = self.msgs["user@testing.test"]
        st = msg.wait_status(timeout=60)
        self.assertEqual(st.status, "sent", f"{st}{self.context()}")
        self.assertNotIn("Verified", st.tls_kinds())
        self.assertEqual(len(ENV["recv"]["mx.testing.test"].received_msgid(msg.msgid)), 1)

    def test_mixed_case_recipient_domain_gets_the_same_verdicts(self):
        self.assert_verified_delivery(self.msgs["User@GOOD.Test"], "mx.good.test")
        self.assert_deferred_nothing_received(self.msgs["User@BadName.Test"], "4.7.5")


class RestartTest(E2ECase):
    """Runs last: it stops the world's policy hosts for good."""

    def test_mail_queued_while_daemon_is_down_flows_from_the_cached_policy(self):
        pf, daemon, world = ENV["postfix"], ENV["daemon"], ENV["world"]
        host, rec = "mx.restart.test", ENV["recv"]["mx.restart.test"]
        # 1. the policy is fetched and cached by a first delivery
        self.assert_verified_delivery(pf.send("user@restart.test"), host)
        # 2. daemon down: Postfix defers (lookup error), nothing reaches the receiver
        self.assertEqual(daemon.stop(), 0, daemon.log())
        queued = pf.send("user@restart.test", subject="queued")
        self.assert_deferred_nothing_received(queued, "4.7.", "client TLS configuration problem")
        self.assertGreaterEqual(world.request_count("restart.test"), 1, "policy fetched over HTTPS")
        # 3. policy hosts gone: the restarted daemon can only answer from its LMDB cache
        servers = world.procs["servers"]
        os.killpg(servers.pid, signal.SIGTERM)
        servers.wait(timeout=10)
        addr = BY_DOMAIN["restart.test"]["addr"]
        with self.assertRaises(OSError):
            socket.create_connection((addr, 443), timeout=2).close()
        os.replace(daemon.log_path, daemon.log_path + ".1")
        daemon.start()
        code, out = pf.postmap_query("restart.test", daemon.port)
        self.assertEqual((code, out), (0, secure("mx.restart.test")[len("OK "):]), daemon.log())
        # 4. flush: the queued message is delivered, verified, to the policy's MX host
        pf.flush()
        st = queued.wait_status(want="sent", timeout=60)
        self.assertEqual(st.tls_kinds(), ["Verified"], st.context_lines)
        self.assertTrue(st.relay.startswith(f"{host}["), st)
        self.assertEqual(len(rec.received_msgid(queued.msgid)), 1)


def load_tests(loader, tests, pattern):
    """Fixed order: RestartTest stops the policy hosts, so it runs last."""
    suite = unittest.TestSuite()
    for case in (VerdictsSeenByPostfixTest, DeliveryTest, RestartTest):
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


if __name__ == "__main__":
    unittest.main(verbosity=2)
