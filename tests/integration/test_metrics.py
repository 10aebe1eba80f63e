"""The metrics endpoint of the running daemon (metrics_listen): socketmap lookups against the
test world, then a scrape of GET /metrics, whose series must say what happened (lookups by
answer and path, cache hits and misses, resolves, fetch failures by result type, the fetch
duration histogram, store entries and map use, socketmap connections and bad requests, TLS-RPT
sessions by source and datagrams accepted or rejected by reason);
other paths and methods are refused; without metrics_listen nothing listens. With
MTASTS_PROMTOOL set (tests/integration/metrics_promtool.sh fetches promtool outside the
network namespace), Prometheus' own `promtool check metrics` must accept the live scrape.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_metrics.py --mtastsd PATH
"""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, free_port, start_world, stop_world, take_binary_arg  # noqa: E402
from scenarios import NOTFOUND, secure  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
WORLD = None
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tlsrpt")
SAMPLE = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(\{[^}]*\})? (\S+)$')


def setUpModule():
    global WORLD
    WORLD = start_world(MTASTSD)


def tearDownModule():
    stop_world(WORLD)


def http_get(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


def parse(text):
    """{(name, frozenset of label pairs): value} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    want = frozenset(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


class ScrapedDaemon(unittest.TestCase):
    """A daemon with metrics on, asked a few lookups, then scraped once (cls.text)."""

    @classmethod
    def setUpClass(cls):
        cls.metrics_port = free_port()
        cls.tlsrpt_dir = tempfile.mkdtemp(prefix="mtastsd-metrics-")
        cls.tlsrpt_socket = os.path.join(cls.tlsrpt_dir, "tlsrpt.sock")
        cls.daemon = Daemon(MTASTSD, WORLD, metrics_listen=f"inet:127.0.0.1:{cls.metrics_port}",
                            tlsrpt_socket=cls.tlsrpt_socket, tlsrpt_socket_group="",
                            # Reporting on (nothing is due yet): its series are in the scrape.
                            tlsrpt_organization_name="mtastsd metrics", tlsrpt_contact_info="tlsrpt@sender.test",
                            tlsrpt_report_from="tlsrpt-noreply@sender.test").start()
        # One real libtlsrpt datagram (one successful session) and one that is no JSON.
        with open(os.path.join(FIXTURES, "libtlsrpt-success-sts.dgram"), "rb") as f:
            good = f.read()
        for data in (good, b"not a datagram"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                s.sendto(data, cls.tlsrpt_socket)
            finally:
                s.close()
        with cls.daemon.client() as c:
            assert c.query("good.test") == secure("mx.good.test", ".good.test"), cls.daemon.log()
            assert c.query("good.test") == secure("mx.good.test", ".good.test")  # from the cache
            assert c.query("norecord.test") == NOTFOUND
            assert c.query("wrongname.test") == NOTFOUND  # certificate for another name
            c.sock.sendall(b"7:nospace,")  # no "<mapname> <key>": PERM, counted as a bad request
            assert c.recv().startswith("PERM ")
        # The datagram reader is a thread of its own: scrape until it has read both.
        deadline = time.monotonic() + 10
        while True:
            status, cls.headers, cls.text = http_get(cls.metrics_port, "/metrics")
            assert status == 200, (status, cls.text)
            cls.samples = parse(cls.text)
            if value(cls.samples, "mtastsd_tlsrpt_datagrams_received_total") >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.tlsrpt_dir, ignore_errors=True)


class MetricsTest(ScrapedDaemon):
    def test_the_scrape_is_the_text_exposition_format(self):
        self.assertEqual(self.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        self.assertIn("# TYPE mtastsd_policy_lookups_total counter", self.text)
        self.assertIn("# TYPE mtastsd_policy_fetch_duration_seconds histogram", self.text)
        self.assertEqual(value(self.samples, "mtastsd_build_info"), 1)
        self.assertGreater(value(self.samples, "process_start_time_seconds"), 1.6e9)

    def test_lookups_are_counted_by_answer_path_and_cache_state(self):
        s = self.samples
        self.assertEqual(value(s, "mtastsd_policy_lookups_total", answer="enforce", path="resolved"), 1)
        self.assertEqual(value(s, "mtastsd_policy_lookups_total", answer="enforce", path="cache-hit"), 1)
        self.assertEqual(value(s, "mtastsd_policy_lookups_total", answer="no-policy"), 2)
        self.assertEqual(value(s, "mtastsd_policy_cache_lookups_total", result="hit"), 1)
        self.assertEqual(value(s, "mtastsd_policy_cache_lookups_total", result="miss"), 3)

    def test_resolves_and_fetch_failures_are_counted_with_their_duration(self):
        s = self.samples
        self.assertEqual(value(s, "mtastsd_policy_resolves_total", reason="first", outcome="fetched"), 1)
        self.assertEqual(value(s, "mtastsd_policy_resolves_total", reason="first", outcome="no-record"), 1)
        self.assertEqual(value(s, "mtastsd_policy_resolves_total", reason="first", outcome="fetch-failed"), 1)
        self.assertEqual(value(s, "mtastsd_policy_fetch_failures_total", result_type="sts-webpki-invalid"), 1)
        self.assertEqual(value(s, "mtastsd_policy_fetch_duration_seconds_count"), 2)
        self.assertEqual(value(s, "mtastsd_policy_fetch_duration_seconds_bucket", le="+Inf"), 2)
        self.assertGreater(value(s, "mtastsd_policy_fetch_duration_seconds_sum"), 0)

    def test_store_entries_and_map_use_are_read_at_scrape_time(self):
        s = self.samples
        self.assertGreaterEqual(value(s, "mtastsd_store_entries", store="policies"), 2)
        size = value(s, "mtastsd_store_map_size_bytes")
        used = value(s, "mtastsd_store_map_used_bytes")
        self.assertGreater(size, 0)
        self.assertGreater(used, 0)
        self.assertLessEqual(used, size)

    def test_socketmap_connections_and_bad_requests_are_counted(self):
        s = self.samples
        self.assertGreaterEqual(value(s, "mtastsd_socketmap_connections_accepted_total"), 2)  # + the readiness probe
        self.assertEqual(value(s, "mtastsd_socketmap_connections_open"), 0)
        self.assertEqual(value(s, "mtastsd_socketmap_bad_requests_total", reason="invalid_request"), 1)
        self.assertEqual(value(s, "mtastsd_socketmap_connections_refused_total"), 0)

    def test_tlsrpt_sessions_and_datagrams_are_counted_by_source_and_reason(self):
        s = self.samples
        self.assertEqual(value(s, "mtastsd_tlsrpt_socket_up"), 1, self.daemon.log())
        self.assertEqual(value(s, "mtastsd_tlsrpt_datagrams_received_total"), 2)
        self.assertEqual(value(s, "mtastsd_tlsrpt_datagrams_accepted_total"), 1)
        self.assertEqual(value(s, "mtastsd_tlsrpt_datagrams_rejected_total", reason="invalid"), 1)
        self.assertEqual(value(s, "mtastsd_tlsrpt_datagrams_rejected_total", reason="too-large"), 0)
        self.assertEqual(value(s, "mtastsd_tlsrpt_sessions_total", source="datagram"), 1)
        # wrongname.test: the daemon's own failed fetch, one session of its own.
        self.assertEqual(value(s, "mtastsd_tlsrpt_sessions_total", source="own-failure"), 1)
        self.assertEqual(value(s, "mtastsd_tlsrpt_sessions_total", source="maillog"), 0)
        self.assertIn("# TYPE mtastsd_tlsrpt_maillog_overlong_total counter", self.text)

    def test_report_sender_series_are_registered_by_scheme(self):
        s, t = self.samples, self.text
        self.assertIn("# TYPE mtastsd_tlsrpt_reports_built_total counter", t)
        self.assertIn("# TYPE mtastsd_tlsrpt_report_destinations_pending gauge", t)
        for name in ("mtastsd_tlsrpt_reports_delivered_total", "mtastsd_tlsrpt_report_attempts_failed_total",
                     "mtastsd_tlsrpt_reports_given_up_total"):
            for scheme in ("mailto", "https"):
                self.assertIn((name, frozenset({("scheme", scheme)})), s, t)
                self.assertEqual(value(s, name, scheme=scheme), 0)  # no day is due yet
        self.assertEqual(value(s, "mtastsd_tlsrpt_reports_built_total"), 0)

    def test_other_paths_and_methods_are_refused(self):
        self.assertEqual(http_get(self.metrics_port, "/")[0], 404)
        self.assertEqual(http_get(self.metrics_port, "/metrics", method="POST")[0], 405)
        status, _, body = http_get(self.metrics_port, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))



class MetricsPromtoolTest(ScrapedDaemon):
    def test_promtool_accepts_the_live_scrape(self):
        promtool = os.environ.get("MTASTS_PROMTOOL")
        if not promtool:
            self.skipTest("MTASTS_PROMTOOL not set (tests/integration/metrics_promtool.sh sets it)")
        control = subprocess.run([promtool, "check", "metrics"], input="# TYPE requests counter\nrequests 1\n",
                                 capture_output=True, text=True, timeout=60)
        self.assertNotEqual(control.returncode, 0, "promtool accepted a bad exposition: it is not checking")
        p = subprocess.run([promtool, "check", "metrics"], input=self.text, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, f"promtool check metrics:\n{p.stdout}{p.stderr}\n{self.text}")


class MetricsOffTest(unittest.TestCase):
    def test_without_metrics_listen_no_endpoint_is_served(self):
        with Daemon(MTASTSD, WORLD) as d:
            with d.client() as c:
                self.assertEqual(c.query("norecord.test"), NOTFOUND)
            self.assertEqual(d.log_count("serving metrics"), 0, d.log())
            self.assertEqual(d.log_count("metrics="), 0, d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
