"""End-to-end test of TLS-RPT report sending ([10]): Debian's real Postfix delivers the e2e
scenarios through the real mtastsd, which counts the sessions from Postfix's mail log; then
`mtastsd --report` for that day, beside the running daemon, hands each report mail to
Postfix's own sendmail (`sendmail -C <instance> -i -f FROM -- TO`). Postfix delivers it, under
the MTA-STS policy mtastsd answers, to the receiver named by the report domain's
`_smtp._tls` TXT record (served by the test DNS: rua=mailto:tlsrpt@good.test, MX
mx.good.test, an aiosmtpd recorder). The test parses the delivered MIME, checks the RFC 8460
headers, verifies the DKIM signature mtastsd made (dkimpy, key record with s=tlsrpt), gunzips
and checks the JSON, and compares the counts with the sessions Postfix made.

Run (root, from the repo root):
  tests/world/run_in_netns.sh /usr/bin/python3 tests/e2e/test_tlsrpt_report.py --mtastsd PATH
"""
import base64
import datetime
import email
import email.policy
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
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

try:
    import dkim
except ImportError:
    dkim = None

MTASTSD = take_binary_arg(sys.argv)
ENV = {}
RUA = "tlsrpt@good.test"
REPORTED = {"good.test": (2, 0), "badname.test": (0, 1)}  # domain -> (successful, failed)
SELECTOR, SUBMITTER = "tlsrpt1", "sender.e2e.test"


def rows_with_tlsrpt_records():
    rows = []
    for row in ROWS:
        row = dict(row)
        if row["domain"] in REPORTED:
            row["smtp_tls_txt"] = [[f"v=TLSRPTv1; rua=mailto:{RUA}"]]
        rows.append(row)
    return rows


def cannot_run_here():
    if not real_root():
        return "a real Postfix needs real root (it switches to user postfix)"
    if not shutil.which("postfix"):
        return "no postfix command on PATH (Debian package postfix)"
    if receivers.Controller is None:
        return "no aiosmtpd here (Debian package python3-aiosmtpd)"
    if dkim is None:
        return "no dkimpy here (Debian package python3-dkim)"
    return None


def setUpModule():
    if not MTASTSD or not os.access(MTASTSD, os.X_OK):
        raise RuntimeError(f"mtastsd binary not found: pass --mtastsd PATH or MTASTSD (got {MTASTSD!r})")
    why = cannot_run_here()
    if why:
        raise unittest.SkipTest(why)
    try:
        world = ENV["world"] = World(scenarios=rows_with_tlsrpt_records()).__enter__()
        world.bind_resolv_conf()
        ENV["cert_dir"] = tempfile.mkdtemp(prefix="mtasts-e2e-certs-")
        ENV["recv"] = start_receivers(world, ENV["cert_dir"])
        daemon = ENV["daemon"] = Daemon(MTASTSD, world)
        postfix = ENV["postfix"] = PostfixInstance(world.ca_file, daemon.port)
        daemon.options.update({"tlsrpt_maillog": postfix.log_path, "tlsrpt_maillog_batch_interval": "1s",
                               "tlsrpt_maillog_quiescent_wait": "2s", "tlsrpt_maillog_poll_interval": "200ms",
                               "tlsrpt_commit_interval": "200ms"})
        daemon.start()
        postfix.start()
        key = ENV["dkim_key"] = os.path.join(ENV["cert_dir"], "dkim.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
                       check=True, capture_output=True, timeout=60)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                             capture_output=True, timeout=30).stdout
        # s=tlsrpt alone: dkimpy (1.0) takes s= as one value, so "email:tlsrpt" (a valid RFC 6376
        # list) is an unknown service type there and the signature fails; mtastsd(8) says so.
        ENV["dkim_record"] = f"v=DKIM1; k=rsa; s=tlsrpt; p={base64.b64encode(der).decode()}"
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


def counts(status):
    out = {}
    for e in status["days"]:
        s = e["summary"]
        ok, failed = out.get(e["policy-domain"], (0, 0))
        out[e["policy-domain"]] = (ok + s["total-successful-session-count"], failed + s["total-failure-session-count"])
    return out


class ReportThroughPostfixTest(unittest.TestCase):
    def test_report_mails_go_through_postfix_to_the_rua_signed_and_with_the_counts(self):
        daemon, postfix, world = ENV["daemon"], ENV["postfix"], ENV["world"]
        msgs = [postfix.send(r) for r in ("user@good.test", "user2@good.test", "user@badname.test")]
        for m in msgs:
            m.wait_status(timeout=60)
        state = daemon.options["state_dir"]
        self.assertTrue(wait_until(lambda: all(counts(tlsrpt_status(MTASTSD, state)).get(d) == c
                                               for d, c in REPORTED.items()), timeout=30, step=0.3),
                        f"{json.dumps(tlsrpt_status(MTASTSD, state), indent=1)}\n{daemon.log(40)}")
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        argv = [MTASTSD, "-c", "/dev/null"]
        for k, v in {"state_dir": state, "dns_servers": world.dns_server, "ca_file": world.ca_file,
                     "user": "", "allow_root": "yes", "tlsrpt_organization_name": "mtastsd e2e",
                     "tlsrpt_contact_info": f"tlsrpt@{SUBMITTER}", "tlsrpt_report_from": f"tlsrpt-noreply@{SUBMITTER}",
                     "tlsrpt_sendmail": f"/usr/sbin/sendmail -C {postfix.conf_dir} -i -f FROM -- TO",
                     "tlsrpt_dkim_key": ENV["dkim_key"], "tlsrpt_dkim_selector": SELECTOR}.items():
            argv += ["-o", f"{k}={v}"]
        run = subprocess.run(argv + ["--report", "--day", day], capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

        recorder = ENV["recv"]["mx.good.test"]

        def reports():
            return [m for m in recorder.received() if RUA in m["rcpt_tos"]]
        if not wait_until(lambda: len(reports()) >= 2, timeout=60, step=0.3):
            self.fail(f"{len(reports())} report mails arrived\n{run.stdout}\n{postfix.log.tail(40)}")
        got = reports()
        self.assertEqual(len(got), 2, "one mail per report domain")
        seen = {}
        for m in got:
            self.assertTrue(m["tls"], "delivered over TLS under mtastsd's policy for good.test")
            self.assertEqual(m["mail_from"], f"tlsrpt-noreply@{SUBMITTER}")
            raw = m["content"].encode()
            self.assertTrue(dkim.verify(raw, dnsfunc=lambda name, timeout=5: (
                ENV["dkim_record"].encode() if name == f"{SELECTOR}._domainkey.{SUBMITTER}.".encode() else None),
                tlsrpt="strict"), "the DKIM signature made by mtastsd verifies after Postfix delivered it")
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            domain = msg["TLS-Report-Domain"]
            self.assertIn(domain, REPORTED)
            self.assertEqual(msg["TLS-Report-Submitter"], SUBMITTER)
            self.assertEqual(msg["TLS-Required"], "No")
            self.assertEqual(msg.get_content_type(), "multipart/report")
            self.assertEqual(msg.get_param("report-type"), "tlsrpt")
            parts = [p for p in msg.walk() if not p.is_multipart()]
            self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "application/tlsrpt+gzip"])
            self.assertTrue(parts[1].get_filename().startswith(f"{SUBMITTER}!{domain}!"))
            report = json.loads(gzip.decompress(parts[1].get_content()))
            self.assertIn(report["report-id"], " ".join(str(msg["Subject"]).split()))
            self.assertEqual(report["date-range"]["start-datetime"], day + "T00:00:00Z")
            ok = sum(p["summary"]["total-successful-session-count"] for p in report["policies"])
            failed = sum(p["summary"]["total-failure-session-count"] for p in report["policies"])
            seen[domain] = (ok, failed)
            if domain == "badname.test":
                rows = [r["result-type"] for p in report["policies"] for r in p.get("failure-details", [])]
                self.assertEqual(rows, ["certificate-host-mismatch"])
        # Counted at --report time; Postfix may retry the deferred badname.test mail later,
        # which only adds to the counts of the store, never to the report already sent.
        self.assertEqual(seen["good.test"], REPORTED["good.test"])
        self.assertEqual(seen["badname.test"][0], 0)
        self.assertGreaterEqual(seen["badname.test"][1], 1)
        again = subprocess.run(argv + ["--report", "--day", day], capture_output=True, text=True, timeout=120)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        time.sleep(2)
        self.assertEqual(len(reports()), 2, "a second --report sends nothing again")


if __name__ == "__main__":
    unittest.main()
