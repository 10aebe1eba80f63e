"""Self-test of the test world (tests/world): every DNS record and HTTPS behaviour of the
scenario table checked with Python's own resolver code and ssl module, so world bugs show up
apart from daemon bugs. The world runs with dnssec=True: the DANE rows (signed zone, validating
resolver) are checked too, and every other check proves the plain world unchanged by them.
Run inside tests/world/run_in_netns.sh (CTest does that)."""
import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import stop_world  # noqa: E402
import dnsquery  # noqa: E402
import dnssec  # noqa: E402
from scenarios import DANE_SCENARIOS, SCENARIOS, SIGNED_ZONE  # noqa: E402
from world import World  # noqa: E402

WORLD = None
WELL_KNOWN = "/.well-known/mta-sts.txt"


def setUpModule():
    global WORLD
    WORLD = World(dnssec=True).__enter__()


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


class DnssecTest(unittest.TestCase):
    """The DANE rows as the validating resolver (127.0.0.55) sees them: AD on secure answers,
    SERVFAIL on bogus ones, no AD on insecure ones; TLSA data against the MX certificates."""

    def assert_status(self, resp, status, what):
        if status == "secure":
            self.assertEqual((resp.rcode, resp.ad), ("NOERROR", True), f"{what}: {resp}")
        elif status == "bogus":
            self.assertEqual((resp.rcode, resp.answers), ("SERVFAIL", []), f"{what}: {resp}")
        elif status == "nxdomain":
            self.assertEqual((resp.rcode, resp.ad), ("NXDOMAIN", True), f"{what}: {resp}")
        else:
            self.assertEqual(status, "insecure")
            self.assertFalse(resp.ad, f"{what}: {resp}")
            self.assertNotEqual(resp.rcode, "SERVFAIL", f"{what}: {resp}")

    def test_mx_rrsets_are_secure_bogus_or_insecure_as_the_table_says(self):
        for row in DANE_SCENARIOS:
            with self.subTest(domain=row["domain"]):
                resp = WORLD.dns_validated(row["domain"], "MX")
                self.assert_status(resp, row["dnssec"], "MX")
                if row["dnssec"] != "bogus":
                    self.assertEqual(sorted(resp.values("MX")), sorted(row["mx"]))
                    self.assertEqual(bool(resp.values("RRSIG")), row["dnssec"] == "secure", resp)
                for _, host in row["mx"]:
                    a = WORLD.dns_validated(host, "A")
                    self.assert_status(a, "insecure" if row["dnssec"] == "insecure" else "secure", host)
                    self.assertEqual(len(a.values("A")), 1, a)

    def test_tlsa_rrsets_are_secure_bogus_absent_or_insecure_as_the_table_says(self):
        for row in DANE_SCENARIOS:
            for _, host in row["mx"]:
                with self.subTest(domain=row["domain"], host=host):
                    resp = WORLD.dns_validated(dnssec.tlsa_owner(host), "TLSA")
                    self.assert_status(resp, row["tlsa_status"], "TLSA")
                    if row["tlsa_status"] == "insecure":
                        self.assertEqual(resp.rcode, "NXDOMAIN", resp)

    def test_tlsa_data_is_the_hash_of_the_mx_certificate_key_only_when_it_should_match(self):
        for row in DANE_SCENARIOS:
            if row["tlsa_status"] != "secure":
                continue
            for _, host in row["mx"]:
                with self.subTest(domain=row["domain"], host=host):
                    cert_hash = dnssec.spki_sha256(WORLD.mx_cert(host)[0])
                    records = WORLD.dns_validated(dnssec.tlsa_owner(host), "TLSA").values("TLSA")
                    self.assertEqual(len(records), 1, records)
                    usage, selector, mtype, data = records[0]
                    self.assertEqual((usage, selector, mtype), (3, 1, 1))
                    if row["tlsa"] == "match":
                        self.assertEqual(data, cert_hash)
                    else:
                        self.assertEqual(row["tlsa"], "mismatch")
                        self.assertNotEqual(data, cert_hash)
                        self.assertEqual(len(data), 64)

    def test_mx_certificates_are_valid_for_webpki_under_the_test_ca(self):
        # The mismatch row's TLSA is wrong while its certificate is fine for MTA-STS.
        for row in DANE_SCENARIOS:
            for _, host in row["mx"]:
                with self.subTest(host=host):
                    p = subprocess.run(["openssl", "verify", "-CAfile", WORLD.ca_file,
                                        "-verify_hostname", host, WORLD.mx_cert(host)[0]],
                                       capture_output=True, text=True, timeout=10)
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_sts_records_and_policy_hosts_of_dane_rows(self):
        for row in DANE_SCENARIOS:
            with self.subTest(domain=row["domain"]):
                status = "insecure" if row["zone"] is None else "secure"
                txt = WORLD.dns_validated(f"_mta-sts.{row['domain']}", "TXT")
                if not row["txt"]:
                    self.assert_status(txt, "nxdomain", "TXT")
                    continue
                self.assert_status(txt, status, "TXT")
                self.assertEqual(txt.values("TXT"), row["txt"])
                self.assert_status(WORLD.dns_validated(f"mta-sts.{row['domain']}", "A"), status, "A")
                got, _, body, _ = fetch(row)
                self.assertEqual((got, body.decode()), (200, row["policy"]))

    def test_plain_resolver_serves_the_signed_zone_without_validating_it(self):
        for row in DANE_SCENARIOS:
            with self.subTest(domain=row["domain"]):
                resp = WORLD.dns(row["domain"], "MX")  # bogus rows too: nobody checks there
                self.assertEqual(sorted(resp.values("MX")), sorted(row["mx"]))
                plain = dnsquery.query(WORLD.dns_server, row["domain"], "MX", dnssec=True)
                self.assertFalse(plain.ad, plain)

    def test_authoritative_server_signs_its_answers(self):
        resp = dnsquery.query(dnssec.SIGNED_AUTH_ADDR, "dane-sts.dane.test", "MX", dnssec=True)
        self.assertEqual(resp.values("RRSIG"), ["MX"], resp)
        keys = dnsquery.query(dnssec.SIGNED_AUTH_ADDR, SIGNED_ZONE, "DNSKEY", dnssec=True)
        self.assertEqual(len(keys.values("DNSKEY")), 2, keys)  # KSK + ZSK
        self.assertTrue(WORLD.dns_validated(SIGNED_ZONE, "DNSKEY").ad)
        nx = dnsquery.query(dnssec.SIGNED_AUTH_ADDR, "_25._tcp.mx.no-tlsa.dane.test", "TLSA", dnssec=True)
        self.assertEqual(nx.rcode, "NXDOMAIN")
        self.assertTrue(any(t == "NSEC3" for _, t, _ in nx.authority), nx.authority)

    def test_trust_anchor_file_is_the_ds_of_the_signed_zone(self):
        with open(WORLD.trust_anchor_file) as f:
            fields = f.read().split()
        self.assertEqual(fields[0], SIGNED_ZONE + ".")
        self.assertEqual(fields[2:4], ["IN", "DS"])
        self.assertEqual(fields[5:7], ["13", "2"])  # ECDSAP256SHA256, SHA-256 digest
        self.assertEqual(len(fields[7]), 64)

    def test_names_outside_the_signed_zone_resolve_through_the_validator_unchanged(self):
        for row in rows(dns="static"):
            with self.subTest(domain=row["domain"]):
                resp = WORLD.dns_validated(row["domain"], "MX")
                self.assertEqual((resp.rcode, resp.ad), ("NOERROR", False), resp)
                self.assertEqual(sorted(resp.values("MX")), sorted(row["mx"]))
        self.assertEqual(WORLD.dns_validated("nothing-here.test", "A").rcode, "NXDOMAIN")
        for row in rows(dns="servfail"):
            self.assertEqual(WORLD.dns_validated(f"_mta-sts.{row['domain']}", "TXT").rcode, "SERVFAIL")


if __name__ == "__main__":
    unittest.main(verbosity=2)
