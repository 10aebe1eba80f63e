"""End-to-end test of TLS-RPT from the mail log ([9]): Debian's real Postfix 3.7 delivers the
e2e scenarios (e2e_world.py) through the real mtastsd, which follows Postfix's maillog_file
(tlsrpt_maillog = that file). Then the day's counts per domain, policy and result type in
`mtastsd --tlsrpt-status --json` must be exactly what Postfix 3.10+ would have reported for
the same handshakes, and the number of sessions must equal the number of TLS handshakes (and
connections refused for lack of STARTTLS) that Postfix logged, counted here from the log
independently of mtastsd's parser.

Run (root, from the repo root):
  tests/world/run_in_netns.sh /usr/bin/python3 tests/e2e/test_tlsrpt_maillog.py --mtastsd PATH
"""
import json
import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from daemon_harness import Daemon, real_root, take_binary_arg, wait_until  # noqa: E402
from e2e_world import ROWS, start_receivers  # noqa: E402
from postfix_instance import PostfixInstance  # noqa: E402
import receivers  # noqa: E402
from tlsrpt_harness import tlsrpt_status  # noqa: E402
from world import World  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
ENV = {}

SENDS = ["user@good.test", "User@GOOD.Test", "user@badname.test", "user@selfsigned.test",
         "user@expiredcert.test", "user@nostarttls.test", "user@mxmismatch.test", "user@mxfallback.test",
         "user@norecord.test", "user@testing.test"]

STS_GOOD = {"policy-type": "sts", "policy-domain": "good.test", "mx-host": ["mx.good.test"],
            "policy-string": ["version: STSv1", "mode: enforce", "mx: mx.good.test", "max_age: 86400"]}


def sts(domain, mx=None):
    mx = mx or f"mx.{domain}"
    return {"policy-type": "sts", "policy-domain": domain, "mx-host": [mx],
            "policy-string": ["version: STSv1", "mode: enforce", f"mx: {mx}", "max_age: 86400"]}


def none(domain):
    return {"policy-type": "no-policy-found", "policy-domain": domain}


# domain -> (policy, successful, failed, [(result-type, failure-reason-code or None, MX host)])
EXPECTED = {
    "good.test": (STS_GOOD, 2, 0, []),
    "badname.test": (sts("badname.test"), 0, 1, [("certificate-host-mismatch", None, "mx.badname.test")]),
    "selfsigned.test": (sts("selfsigned.test"), 0, 1,
                        [("validation-failure", "self-signed_certificate", "mx.selfsigned.test")]),
    "expiredcert.test": (sts("expiredcert.test"), 0, 1, [("certificate-expired", None, "mx.expiredcert.test")]),
    "nostarttls.test": (sts("nostarttls.test"), 0, 1, [("starttls-not-supported", None, "mx.nostarttls.test")]),
    "mxmismatch.test": (sts("mxmismatch.test"), 0, 1,
                        [("certificate-host-mismatch", None, "rogue.mxmismatch.test")]),
    "mxfallback.test": (sts("mxfallback.test"), 1, 1,
                        [("certificate-host-mismatch", None, "rogue.mxfallback.test")]),
    "norecord.test": (none("norecord.test"), 1, 0, []),
    "testing.test": (none("testing.test"), 1, 0, []),
}

HANDSHAKE = re.compile(r"postfix/smtp\[\d+\]: (Verified|Trusted|Untrusted|Anonymous) TLS connection established to ")
NO_STARTTLS = re.compile(r"postfix/smtp\[\d+\]: \w+: to=<[^>]*>, .*status=\w+ \(TLS is required, but was not offered")


def cannot_run_here():
    """Why this machine cannot run the test (None when it can): reported as SKIP, never PASS."""
    if not real_root():
        return "a real Postfix needs real root (it switches to user postfix)"
    if not shutil.which("postfix"):
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
        world.bind_resolv_conf()
        ENV["cert_dir"] = tempfile.mkdtemp(prefix="mtasts-e2e-certs-")
        ENV["recv"] = start_receivers(world, ENV["cert_dir"])
        daemon = ENV["daemon"] = Daemon(MTASTSD, world)
        postfix = ENV["postfix"] = PostfixInstance(world.ca_file, daemon.port)
        # mtastsd follows Postfix's own log file (postlogd); it does not exist yet: waited for.
        daemon.options.update({"tlsrpt_maillog": postfix.log_path, "tlsrpt_maillog_batch_interval": "1s",
                               "tlsrpt_maillog_quiescent_wait": "2s", "tlsrpt_maillog_poll_interval": "200ms",
                               "tlsrpt_commit_interval": "200ms"})
        daemon.start()
        postfix.start()
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    if "postfix" in ENV:
        ENV.pop("postfix").stop()
    keep = os.environ.get("MTASTS_WORLD_KEEP") == "1"
    if "daemon" in ENV:
        daemon = ENV.pop("daemon")
        daemon.stop()
        if not keep:
            shutil.rmtree(daemon.dir, ignore_errors=True)
    if "recv" in ENV:
        ENV.pop("recv").stop()
    if "cert_dir" in ENV:
        shutil.rmtree(ENV.pop("cert_dir"), ignore_errors=True)
    if "world" in ENV:
        ENV.pop("world").__exit__(None, None, None)


def sessions(status):
    return sum(e["summary"]["total-successful-session-count"] + e["summary"]["total-failure-session-count"]
               for e in status["days"])


class MaillogCountsTest(unittest.TestCase):
    def test_counts_from_postfix_3_7_log_match_what_postfix_3_10_would_report(self):
        daemon, postfix = ENV["daemon"], ENV["postfix"]
        msgs = [postfix.send(rcpt) for rcpt in SENDS]
        for m in msgs:
            m.wait_status(timeout=60)
        # No further line may come: stop Postfix, then count its handshakes from the log.
        postfix.stop(remove=False)
        lines = postfix.log.lines()
        handshakes = sum(1 for line in lines if HANDSHAKE.search(line))
        refused = sum(1 for line in lines if NO_STARTTLS.search(line))
        logged = handshakes + refused
        self.assertEqual(logged, 11, "\n".join(lines[-60:]))
        state = daemon.options["state_dir"]
        self.assertTrue(wait_until(lambda: sessions(tlsrpt_status(MTASTSD, state)) >= logged, timeout=30, step=0.3),
                        f"{json.dumps(tlsrpt_status(MTASTSD, state), indent=1)}\n{daemon.log(60)}")
        self.assertEqual(daemon.stop(), 0, daemon.log())
        status = tlsrpt_status(MTASTSD, state)
        self.assertEqual(sessions(status), logged, "one session per TLS handshake Postfix logged")

        by_domain = {}
        for e in status["days"]:
            self.assertNotIn(e["policy-domain"], by_domain, f"one policy per domain: {e}")
            by_domain[e["policy-domain"]] = e
        self.assertEqual(sorted(by_domain), sorted(EXPECTED), json.dumps(status, indent=1))
        for domain, (policy, ok, failed, rows) in EXPECTED.items():
            with self.subTest(domain=domain):
                e = by_domain[domain]
                self.assertEqual(e["policy"], policy)
                self.assertEqual(e["summary"], {"total-successful-session-count": ok,
                                                "total-failure-session-count": failed})
                self.assertEqual(e["sources"], {"datagram": 0, "own-failure": 0, "maillog": ok + failed})
                got = [(r["result-type"], r.get("failure-reason-code"), r.get("receiving-mx-hostname"))
                       for r in e.get("failure-details", [])]
                self.assertEqual(got, rows, e)
                for r in e.get("failure-details", []):
                    self.assertEqual(r["failed-session-count"], 1)
                    self.assertTrue(r.get("receiving-ip", "").startswith("127.0.6"), r)
        counters = status["collector"]["counters"]
        self.assertEqual(counters["sessions-maillog"], logged)
        self.assertEqual(counters["received"], 0, "no datagram socket here")


if __name__ == "__main__":
    unittest.main()
