"""Self-test of the test world (tests/world): every DNS record and HTTPS behaviour of the
scenario table checked with Python's own resolver code and ssl module, so world bugs show up
apart from daemon bugs. Run inside tests/world/run_in_netns.sh (CTest does that)."""
import http.client
import os
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import start_world, stop_world  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

WORLD = None
WELL_KNOWN = "/.well-known/mta-sts.txt"


def setUpModule():
    global WORLD
    WORLD = start_world()


def tearDownModule():
    stop_world(WORLD)


def tls_context():
    ctx = ssl.create_default_context(cafile=WORLD.ca_file)
    ctx.load_verify_locations(cafile=WORLD.ca_file)
    return ctx


def fetch(row, ctx=None, timeout=5.0, path=WELL_KNOWN):
    """GET over TLS to the row's address with SNI/Host mta-sts.<domain>; returns
    (status, headers dict, body, elapsed)."""
    host = f"mta-sts.{row['domain']}"
    raw = socket.create_connection((row["addr"], 443), timeout=timeout)
    sock = (ctx or tls_context()).wrap_socket(raw, server_hostname=host)
    conn = http.client.HTTPSConnection(host, 443, timeout=timeout)
    conn.sock = sock
    start = time.monotonic()
    try:
        conn.request("GET", path, headers={"User-Agent": "world-selftest"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, time.monotonic() - start
    finally:
        conn.close()


def rows(**match):
    return [r for r in SCENARIOS if all(r[k] == v for k, v in match.items())]


class DnsTest(unittest.TestCase):
    def test_sts_txt_records_are_served_as_in_the_table(self):
        for row in rows(dns="static"):
            with self.subTest(domain=row["domain"]):
                resp = WORLD.dns(f"_mta-sts.{row['domain']}", "TXT")
                if row["txt_cname"]:
                    self.assertEqual(resp.values("CNAME"), [row["txt_cname"]])
                    self.assertEqual(len(resp.values("TXT")), 1, resp)
                    self.assertTrue(resp.values("TXT")[0][0].startswith("v=STSv1"))
                elif not row["txt"]:
                    self.assertEqual(resp.rcode, "NXDOMAIN", resp)
                else:
                    self.assertEqual(resp.rcode, "NOERROR")
                    self.assertEqual(sorted(resp.values("TXT")), sorted(row["txt"]))

    def test_policy_hosts_resolve_to_their_addresses(self):
        for row in rows(dns="static"):
            with self.subTest(domain=row["domain"]):
                resp = WORLD.dns(f"mta-sts.{row['domain']}", "A")
                if row["host"] == "none":
                    self.assertEqual(resp.rcode, "NXDOMAIN")
                    continue
                self.assertEqual(resp.values("A"), [row["addr"]])
                self.assertEqual(bool(resp.values("CNAME")), row["host"] == "cname")

    def test_mx_records_and_their_hosts_resolve(self):
        for row in rows(dns="static"):
            with self.subTest(domain=row["domain"]):
                resp = WORLD.dns(row["domain"], "MX")
                self.assertEqual(sorted(resp.values("MX")), sorted(row["mx"]))
                for _, host in row["mx"]:
                    self.assertEqual(len(WORLD.dns(host, "A").values("A")), 1, host)

    def test_servfail_domain_gets_servfail(self):
        for row in rows(dns="servfail"):
            self.assertEqual(WORLD.dns(f"_mta-sts.{row['domain']}", "TXT").rcode, "SERVFAIL")

    def test_silent_domain_never_answers(self):
        for row in rows(dns="silent"):
            with self.assertRaises(socket.timeout):
                WORLD.dns(f"_mta-sts.{row['domain']}", "TXT", timeout=1.5)

    def test_unknown_names_get_nxdomain(self):
        self.assertEqual(WORLD.dns("nothing-here.test", "A").rcode, "NXDOMAIN")
        self.assertEqual(WORLD.dns("example.com", "A").rcode, "NXDOMAIN")

    def test_unbound_logs_every_query(self):
        before = WORLD.dns_query_count("_mta-sts.crlf.test", "TXT")
        for _ in range(3):
            WORLD.dns("_MTA-STS.crlf.TEST", "TXT")
        deadline = time.monotonic() + 3
        while WORLD.dns_query_count("_mta-sts.crlf.test", "TXT") < before + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(WORLD.dns_query_count("_mta-sts.crlf.test", "TXT"), before + 3)

    def test_txt_record_can_be_changed_at_run_time(self):
        WORLD.set_txt("changing.test", [["v=STSv1; id=selftest2"]])
        try:
            self.assertEqual(WORLD.dns("_mta-sts.changing.test", "TXT").values("TXT"),
                             [["v=STSv1; id=selftest2"]])
        finally:
            WORLD.set_txt("changing.test", WORLD.by_domain["changing.test"]["txt"])
        self.assertEqual(WORLD.dns("_mta-sts.changing.test", "TXT").values("TXT"),
                         WORLD.by_domain["changing.test"]["txt"])


class HttpsTest(unittest.TestCase):
    def test_good_hosts_serve_their_policy_with_a_valid_certificate(self):
        for row in rows(kind="https", behaviour="good", cert="good", dns="static") + rows(cert="wildcard"):
            with self.subTest(domain=row["domain"]):
                status, headers, body, _ = fetch(row)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], row["content_type"])
                self.assertEqual(body.decode(), row["policy"])

    def test_other_paths_get_404(self):
        status, _, _, _ = fetch(WORLD.by_domain["good.test"], path="/")
        self.assertEqual(status, 404)

    def test_certificate_failures_are_what_the_row_says(self):
        expected = {"wrongname": "Hostname mismatch", "untrusted": "unable to get local issuer",
                    "expired": "certificate has expired"}
        for row in rows(kind="https"):
            if row["cert"] not in expected:
                continue
            with self.subTest(domain=row["domain"]):
                with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                    fetch(row)
                self.assertIn(expected[row["cert"]], str(cm.exception))
                # Without verification the same host serves a valid policy: only the cert is bad.
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                self.assertEqual(fetch(row, ctx=ctx)[0], 200)

    def test_untrusted_host_is_valid_under_the_untrusted_ca(self):
        ctx = ssl.create_default_context(cafile=WORLD.untrusted_ca_file)
        self.assertEqual(fetch(WORLD.by_domain["untrusted.test"], ctx=ctx)[0], 200)

    def test_redirect_404_and_html(self):
        status, headers, _, _ = fetch(WORLD.by_domain["redirect.test"])
        self.assertEqual(status, 301)
        self.assertTrue(headers["location"].startswith("https://"))
        self.assertEqual(fetch(WORLD.by_domain["notfound.test"])[0], 404)
        status, headers, body, _ = fetch(WORLD.by_domain["html.test"])
        self.assertEqual((status, headers["content-type"]), (200, "text/html"))
        self.assertIn(b"mode: enforce", body)

    def test_big_bodies_exceed_64k_in_each_framing(self):
        framing = {"big-cl.test": "content-length", "big-chunked.test": "transfer-encoding",
                   "big-close.test": None}
        for domain, header in framing.items():
            with self.subTest(domain=domain):
                status, headers, body, _ = fetch(WORLD.by_domain[domain])
                self.assertEqual(status, 200)
                self.assertGreater(len(body), 65536)
                self.assertTrue(body.startswith(b"version: STSv1\n"))
                for h in ("content-length", "transfer-encoding"):
                    self.assertEqual(h in headers, h == header, headers)

    def test_reset_host_breaks_the_body(self):
        with self.assertRaises((http.client.IncompleteRead, ConnectionResetError, ssl.SSLError)):
            fetch(WORLD.by_domain["reset.test"])

    def test_bad_policy_host_serves_a_policy_without_mx(self):
        status, headers, body, _ = fetch(WORLD.by_domain["badpolicy.test"])
        self.assertEqual((status, headers["content-type"]), (200, "text/plain"))
        self.assertNotIn(b"mx:", body)

    def test_slow_host_takes_its_delay(self):
        status, _, _, elapsed = fetch(WORLD.by_domain["parallel.test"])
        self.assertEqual(status, 200)
        self.assertGreaterEqual(elapsed, 0.25)

    def test_tarpit_accepts_and_never_answers(self):
        sock = socket.create_connection((WORLD.by_domain["tarpit.test"]["addr"], 443), timeout=1.0)
        with sock:
            sock.sendall(b"\x16\x03\x01\x00\x05hello")
            with self.assertRaises(socket.timeout):
                sock.recv(1)

    def test_plain_http_host_speaks_http_and_rejects_tls(self):
        row = WORLD.by_domain["plainhttp.test"]
        conn = http.client.HTTPConnection(row["addr"], 443, timeout=5)
        conn.request("GET", WELL_KNOWN, headers={"Host": f"mta-sts.{row['domain']}"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        with self.assertRaises(ssl.SSLError):
            fetch(row)

    def test_refused_host_refuses(self):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((WORLD.by_domain["refused.test"]["addr"], 443), timeout=2).close()

    def test_requests_are_counted_per_host_and_policy_can_change(self):
        row = WORLD.by_domain["changing.test"]
        before = WORLD.request_count("changing.test")
        self.assertEqual(fetch(row)[2].decode(), row["policy"])
        WORLD.set_policy("changing.test", "version: STSv1\nmode: testing\nmx: x.changing.test\nmax_age: 60\n")
        try:
            self.assertIn(b"mode: testing", fetch(row)[2])
        finally:
            WORLD.set_policy("changing.test", row["policy"])
        self.assertEqual(WORLD.request_count("changing.test"), before + 2)
        tls = [e for e in WORLD.server_events("tls") if e["addr"] == row["addr"]]
        self.assertEqual(tls[-1]["sni"], "mta-sts.changing.test")


if __name__ == "__main__":
    unittest.main(verbosity=2)
