"""Integration test of TLS-RPT report delivery with the real mtastsd in the test world:
- datagrams collected by the daemon for two domains: good.test, whose TLSRPT record (carried in
  the datagrams) names an HTTPS rua on a test HTTPS server (test CA, mta-sts.good.test:8443),
  and bad.test with a mailto: rua;
- `mtastsd --report` for today: the HTTPS endpoint answers the first POST 503 (run 1 exits 1),
  the next 200 (run 2 exits 0), a third run sends nothing: the report is POSTed twice with the
  same bytes and delivered once; the mail goes once through a fake sendmail that stores it;
- the POST: Content-Type application/tlsrpt+gzip, the body gunzips to RFC 8460 JSON with the
  counts of the datagrams sent; the mail: multipart/report; report-type="tlsrpt", the RFC 8460
  headers (TLS-Report-Domain, TLS-Report-Submitter, Subject, TLS-Required: No), the sendmail
  argv, the application/tlsrpt+gzip attachment with the §5.1 file name, the same counts;
- the daemon with the report keys starts its sender (the day's own reports are due after
  midnight: the timing is the unit test's, tests/tlsrpt/report_sender_test.cpp);
- `--report --dry-run --out DIR` writes the .json.gz and the .eml and sends nothing;
- kill -9 of a `--report` run while sendmail holds the mail (handed over, not committed): the
  next run sends that same mail once more (the one documented duplicate), the one after none.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_tlsrpt_reports.py --mtastsd PATH
"""
import datetime
import email
import email.policy
import gzip
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, start_world, stop_world, take_binary_arg, wait_until  # noqa: E402
from tlsrpt_harness import fixture, send_like_libtlsrpt, tlsrpt_status  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
WORLD = None
HTTPS_HOST, HTTPS_ADDR, HTTPS_PORT = "mta-sts.good.test", "127.0.50.1", 8443


def setUpModule():
    global WORLD
    WORLD = start_world(MTASTSD)


def tearDownModule():
    stop_world(WORLD)


class Receiver(http.server.BaseHTTPRequestHandler):
    """POST /tlsrpt: the statuses in `server.answers` in turn (then 200); each request kept."""

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status = self.server.answers.pop(0) if self.server.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_receiver(answers):
    cert, key = WORLD.issue_cert([HTTPS_HOST], label="tlsrpt-receiver")
    server = http.server.ThreadingHTTPServer((HTTPS_ADDR, HTTPS_PORT), Receiver)
    server.posts, server.answers = [], list(answers)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def datagram(domain, record, copies_of):
    """A captured Postfix 3.11 datagram with another report domain and TLSRPT record."""
    d = json.loads(fixture(copies_of))
    d["d"], d["pr"] = domain, record
    for p in d["policies"]:
        p["policy-domain"] = domain
    return json.dumps(d).encode()


GOOD = ("good.test", f"v=TLSRPTv1; rua=https://{HTTPS_HOST}:{HTTPS_PORT}/tlsrpt", "pf311-good-success.dgram")
BAD = ("bad.test", "v=TLSRPTv1; rua=mailto:tlsrpt@bad.test", "pf311-bad-202-certificate-host-mismatch.dgram")
SENT = {"good.test": 3, "bad.test": 2}


class ReportDeliveryTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mtastsd-reports-")
        os.chmod(self.dir, 0o755)
        self.state = os.path.join(self.dir, "state")
        self.socket = os.path.join(self.dir, "tlsrpt.sock")
        self.mails = os.path.join(self.dir, "mails")
        os.mkdir(self.mails)
        self.sendmail = os.path.join(self.dir, "sendmail")
        with open(self.sendmail, "w") as f:
            # With the file `slow` beside it, it keeps the mail and then hangs (a delivery round
            # that a kill -9 interrupts between the hand-over and its commit).
            f.write("#!/bin/sh\nn=$(ls %s | wc -l)\nprintf '%%s\\n' \"$@\" > %s/argv-$n\ncat > %s/mail-$n.tmp\n"
                    "mv %s/mail-$n.tmp %s/mail-$n.eml\n"
                    "if [ -e %s/slow ]; then echo $$ > %s/slow-pid; exec sleep 60; fi\n"
                    % (self.mails, self.mails, self.mails, self.mails, self.mails, self.dir, self.dir))
        os.chmod(self.sendmail, 0o755)
        self.day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.collect()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def collect(self):
        with Daemon(MTASTSD, WORLD, state_dir=self.state, tlsrpt_socket=self.socket,
                    tlsrpt_commit_interval="200ms", log_level="info", tlsrpt_organization_name="mtastsd integration",
                    tlsrpt_contact_info="tlsrpt@sender.test", tlsrpt_report_from="tlsrpt-noreply@sender.test",
                    tlsrpt_sendmail=f"{self.sendmail} -i -f FROM -- TO") as d:
            for domain, record, base in (GOOD, BAD):
                for _ in range(SENT[domain]):
                    self.assertEqual(send_like_libtlsrpt(self.socket, datagram(domain, record, base)), 0)

            self.assertTrue(wait_until(lambda: bool(tlsrpt_status(MTASTSD, self.state, self.day)["days"]), 15),
                            d.log())
            time.sleep(0.5)  # the commit interval, twice
        # The daemon runs the sender too (today's reports are due only after midnight).
        self.assertEqual(d.log_count("tlsrpt reports enabled submitter=sender.test"), 1, d.log())
        self.assertEqual(d.log_count("TLS-RPT reports off", "reports not started"), 0, d.log())

    def report(self, *extra, popen=False):
        argv = [MTASTSD, "-c", "/dev/null", "-o", f"state_dir={self.state}", "-o", f"dns_servers={WORLD.dns_server}",
                "-o", f"ca_file={WORLD.ca_file}", "-o", "user=", "-o", "allow_root=yes",
                "-o", "tlsrpt_organization_name=mtastsd integration", "-o", "tlsrpt_contact_info=tlsrpt@sender.test",
                "-o", "tlsrpt_report_from=tlsrpt-noreply@sender.test",
                "-o", f"tlsrpt_sendmail={self.sendmail} -i -f FROM -- TO", "--report", "--day", self.day] + list(extra)
        if popen:
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    stdin=subprocess.DEVNULL)
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    def check_report_json(self, raw, domain):
        report = json.loads(gzip.decompress(raw))
        self.assertEqual(report["organization-name"], "mtastsd integration")
        self.assertEqual(report["contact-info"], "tlsrpt@sender.test")
        self.assertEqual(report["date-range"]["start-datetime"], self.day + "T00:00:00Z")
        self.assertEqual(report["date-range"]["end-datetime"], self.day + "T23:59:59Z")
        self.assertIsInstance(report["report-id"], str)
        total = 0
        for p in report["policies"]:
            self.assertEqual(p["policy"]["policy-domain"], domain)
            s = p["summary"]
            self.assertIsInstance(s["total-successful-session-count"], int)
            total += s["total-successful-session-count"] + s["total-failure-session-count"]
            for row in p.get("failure-details", []):
                self.assertIsInstance(row["failed-session-count"], int)
                self.assertNotIn("", row.values(), "unknown members are left out, not empty")
        self.assertEqual(total, SENT[domain])
        return report

    def test_https_503_then_200_is_delivered_once_and_the_mail_once(self):
        server = start_receiver([503])
        try:
            first = self.report()
            self.assertEqual(first.returncode, 1, first.stdout + first.stderr)
            self.assertEqual(len(server.posts), 1)
            second = self.report()
            self.assertEqual(second.returncode, 0, second.stdout + second.stderr)
            self.assertEqual(len(server.posts), 2)
            third = self.report()
            self.assertEqual(third.returncode, 0, third.stdout + third.stderr)
            self.assertEqual(len(server.posts), 2, "delivered once, never again")
        finally:
            server.shutdown()
            server.server_close()
        a, b = server.posts
        self.assertEqual(a["body"], b["body"], "the retry sends the stored report")
        self.assertEqual(b["path"], "/tlsrpt")
        self.assertEqual(b["headers"].get("Content-Type"), "application/tlsrpt+gzip")
        self.check_report_json(b["body"], "good.test")

        mails = sorted(n for n in os.listdir(self.mails) if n.endswith(".eml"))
        self.assertEqual(len(mails), 1, "the mail is handed over once over three runs")
        with open(os.path.join(self.mails, "argv-0")) as f:
            self.assertEqual(f.read().split("\n")[:5], ["-i", "-f", "tlsrpt-noreply@sender.test", "--", "tlsrpt@bad.test"])
        with open(os.path.join(self.mails, mails[0]), "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "tlsrpt")
        self.assertEqual(msg["TLS-Report-Domain"], "bad.test")
        self.assertEqual(msg["TLS-Report-Submitter"], "sender.test")
        self.assertEqual(msg["TLS-Required"], "No")
        self.assertEqual(msg["To"], "tlsrpt@bad.test")
        self.assertEqual(msg["From"], "tlsrpt-noreply@sender.test")
        self.assertTrue(msg["Message-ID"])
        self.assertTrue(msg["Date"])
        self.assertTrue(" ".join(str(msg["Subject"]).split()).startswith(
            "Report Domain: bad.test Submitter: sender.test Report-ID: <"), msg["Subject"])
        parts = [p for p in msg.walk() if not p.is_multipart()]
        self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "application/tlsrpt+gzip"])
        attachment = parts[1]
        name = attachment.get_filename()
        self.assertRegex(name, r"^sender\.test!bad\.test!\d+!\d+!.+\.json\.gz$")
        report = self.check_report_json(attachment.get_content(), "bad.test")
        self.assertIn(report["report-id"], str(msg["Subject"]))
        failures = [r for p in report["policies"] for r in p.get("failure-details", [])]
        self.assertEqual([r["result-type"] for r in failures], ["certificate-host-mismatch"])

    def test_kill_9_between_a_hand_over_and_its_commit_sends_that_mail_once_more_and_then_never(self):
        server = start_receiver([])
        slow = os.path.join(self.dir, "slow")
        open(slow, "w").close()
        try:
            run = self.report(popen=True)
            handed = lambda: any(n.endswith(".eml") for n in os.listdir(self.mails))  # noqa: E731
            self.assertTrue(wait_until(lambda: handed() and os.path.exists(slow + "-pid"), 30), "no hand-over")
            run.kill()  # SIGKILL: the mail is with sendmail, its outcome not committed
            run.wait(timeout=10)
            with open(slow + "-pid") as f:
                os.kill(int(f.read()), 9)
            os.unlink(slow)
            again = self.report()
            self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
            last = self.report()
            self.assertEqual(last.returncode, 0, last.stdout + last.stderr)
        finally:
            server.shutdown()
            server.server_close()
        mails = sorted(n for n in os.listdir(self.mails) if n.endswith(".eml"))
        self.assertEqual(len(mails), 2, "the one duplicate a crash between send and commit allows, then none")
        ids = set()
        for name in mails:
            with open(os.path.join(self.mails, name), "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            self.assertEqual(msg["TLS-Report-Domain"], "bad.test")
            ids.add(str(msg["Message-ID"]))
        self.assertEqual(len(ids), 1, "the same stored mail, not a new report")
        self.assertIn(len(server.posts), (1, 2), "the HTTPS report: delivered, at most once more")
        self.assertEqual(len({p["body"] for p in server.posts}), 1)

    def test_dry_run_writes_the_files_and_sends_nothing(self):
        out = os.path.join(self.dir, "out")
        server = start_receiver([])
        try:
            p = self.report("--dry-run", "--out", out)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(server.posts, [])
        self.assertEqual(os.listdir(self.mails), [])
        files = sorted(os.listdir(out))
        gz = [f for f in files if f.endswith(".json.gz")]
        self.assertEqual(len(gz), 2, files)
        for f in gz:
            domain = f.split("!")[1]
            with open(os.path.join(out, f), "rb") as fh:
                self.check_report_json(fh.read(), domain)
        self.assertTrue(any(f.endswith(".eml") for f in files), files)


if __name__ == "__main__":
    unittest.main()
