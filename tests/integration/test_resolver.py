"""Integration test of the real mtastsd resolver against the test world (tests/world):
socketmap verdicts for every scenario of the table, single-flight under 100 parallel first
queries, query_wait_timeout for a domain whose DNS never answers, TXT id changes, and the
`mtastsd --query` CLI exit codes and output.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_resolver.py --mtastsd PATH
(or MTASTSD=PATH). CTest passes the built binary.
"""
import json
import os
import re
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, run_query, start_world, stop_world, take_binary_arg, wait_until  # noqa: E402
from scenarios import NOTFOUND, SCENARIOS, secure  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
WORLD = None


def setUpModule():
    global WORLD
    WORLD = start_world(MTASTSD)


def tearDownModule():
    stop_world(WORLD)


class DaemonCase(unittest.TestCase):
    options = {}

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(MTASTSD, WORLD, **cls.options).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.daemon.stop()
        if code not in (0, None):
            print(f"mtastsd exited {code}:\n{cls.daemon.log()}", file=sys.stderr)

    def fail_with_log(self, msg):
        self.fail(f"{msg}\n--- mtastsd log tail ---\n{self.daemon.log()}")


class VerdictTest(DaemonCase):
    """query_wait_timeout (5s) exceeds dns_timeout (2s) and fetch_timeout (3s): every reply
    here is the verdict of a finished resolve."""

    def test_keys_needing_no_lookup_get_notfound_at_once(self):
        with self.daemon.client() as c:
            for key in (".good.test", "[127.0.0.1]", "127.0.0.1", "[::1]", "-bad-.test"):
                with self.subTest(key=key):
                    start = time.monotonic()
                    self.assertEqual(c.query(key), NOTFOUND)
                    self.assertLess(time.monotonic() - start, 1.0)

    def test_every_scenario_gets_its_table_reply_pipelined_then_from_cache(self):
        for round_name in ("first", "cached"):
            with self.daemon.client() as c:
                for row in SCENARIOS:
                    c.send("postfix", row["domain"])
                replies = [c.recv() for _ in SCENARIOS]
            for row, reply in zip(SCENARIOS, replies):
                with self.subTest(round=round_name, domain=row["domain"]):
                    self.assertEqual(reply, row["reply"], row["note"])

    def test_cached_policy_is_not_fetched_again(self):
        before = WORLD.request_count("crlf.test")  # the world is shared: count differences
        with self.daemon.client() as c:
            self.assertEqual(c.query("crlf.test"), secure("mx.crlf.test"))
            fetched = WORLD.request_count("crlf.test")
            for _ in range(5):
                self.assertEqual(c.query("crlf.test"), secure("mx.crlf.test"))
        self.assertEqual(WORLD.request_count("crlf.test"), fetched)
        self.assertLessEqual(fetched - before, 1)

    def test_policy_with_thousands_of_mx_lines_is_cached_not_fetched_per_query(self):
        row = WORLD.by_domain["many-mx.test"]
        self.assertGreater(row["policy"].count("\nmx:"), 10000)
        self.assertLessEqual(len(row["policy"]), 65536)
        with self.daemon.client() as c:
            self.assertEqual(c.query("many-mx.test"), row["reply"])
            fetched = WORLD.request_count("many-mx.test")
            for _ in range(3):
                self.assertEqual(c.query("many-mx.test"), row["reply"])
        if WORLD.request_count("many-mx.test") != fetched:
            self.fail_with_log("a valid policy was fetched again on every query")

    def test_key_spellings_of_one_domain_get_the_same_verdict(self):
        want = secure("mx.good.test", ".good.test")
        with self.daemon.client() as c:
            for key in ("good.test", "GOOD.Test", "good.test.", "[good.test]", "[good.test]:25",
                        "[GOOD.TEST]:587"):
                with self.subTest(key=key):
                    self.assertEqual(c.query(key), want)

    def test_tlsrpt_map_flavour_adds_policy_attributes(self):
        with self.daemon.client() as c:
            reply = c.query("good.test", mapname="postfix-tlsrpt")
            self.assertEqual(c.query("norecord.test", mapname="postfix-tlsrpt"), NOTFOUND)
        self.assertTrue(reply.startswith(secure("mx.good.test", ".good.test") + " "), reply)
        self.assertIn(" policy_type=sts policy_domain=good.test ", reply)
        self.assertIn("mx_host_pattern=mx.good.test", reply)
        self.assertIn("mx_host_pattern=*.good.test", reply)
        self.assertIn("{ policy_string = mode: enforce }", reply)

    def test_policy_fetch_uses_sni_host_and_user_agent(self):
        with self.daemon.client() as c:
            self.assertEqual(c.query("wildcard.test"), secure("mx.wildcard.test"))
        addr = WORLD.by_domain["wildcard.test"]["addr"]
        tls = [e for e in WORLD.server_events("tls") if e["addr"] == addr]
        reqs = [e for e in WORLD.server_events("request") if e["addr"] == addr]
        self.assertTrue(tls and reqs)
        self.assertEqual(tls[-1]["sni"], "mta-sts.wildcard.test")
        self.assertIn(tls[-1]["version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(reqs[-1]["host"], "mta-sts.wildcard.test")
        self.assertEqual(reqs[-1]["path"], "/.well-known/mta-sts.txt")
        self.assertTrue((reqs[-1]["ua"] or "").startswith("mtastsd/"), reqs[-1])

    def test_daemon_keeps_serving_after_all_of_the_above(self):
        with self.daemon.client() as c:
            self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"))
        self.assertIsNone(self.daemon.proc.poll())


class SingleFlightTest(DaemonCase):
    def test_hundred_parallel_first_queries_cause_one_txt_query_and_one_fetch(self):
        domain = "parallel.test"  # its policy host waits 0.3 s: queries pile up on one resolve
        txt_before = WORLD.dns_query_count(f"_mta-sts.{domain}", "TXT")
        fetch_before = WORLD.request_count(domain)
        conn_before = WORLD.connection_count(domain)
        barrier = threading.Barrier(51)
        results = []

        def one_connection():
            with self.daemon.client() as c:
                barrier.wait(timeout=10)
                results.append(c.query(domain))

        def pipelined():
            with self.daemon.client() as c:
                barrier.wait(timeout=10)
                for _ in range(50):
                    c.send("postfix", domain)
                results.extend(c.recv() for _ in range(50))

        with ThreadPoolExecutor(max_workers=51) as pool:
            futures = [pool.submit(one_connection) for _ in range(50)] + [pool.submit(pipelined)]
            for f in futures:
                f.result(timeout=30)
        self.assertEqual(results, [secure(f"mx.{domain}")] * 100)
        self.assertEqual(WORLD.request_count(domain) - fetch_before, 1)
        self.assertEqual(WORLD.connection_count(domain) - conn_before, 1)
        txt_count = lambda: WORLD.dns_query_count(f"_mta-sts.{domain}", "TXT") - txt_before  # noqa: E731
        wait_until(lambda: txt_count() >= 1, timeout=3)
        time.sleep(0.3)  # unbound writes its log line per query; let any late one land
        self.assertEqual(txt_count(), 1)


# A short txt_check_interval keeps this test fast; MTASTS_IT_TXT_CHECK overrides it.
TXT_CHECK = int(os.environ.get("MTASTS_IT_TXT_CHECK", "2"))


class ChangingPolicyTest(DaemonCase):
    options = {"txt_check_interval": f"{TXT_CHECK}s"}

    def test_new_txt_id_makes_the_daemon_fetch_the_new_policy(self):
        row = WORLD.by_domain["changing.test"]
        before = WORLD.request_count("changing.test")
        with self.daemon.client() as c:
            self.assertEqual(c.query("changing.test"), row["reply"])
            WORLD.set_policy("changing.test", "version: STSv1\nmode: enforce\nmx: new-mx.changing.test\n"
                                              "max_age: 86400\n")
            try:
                # Past txt_check_interval a query starts a TXT re-check; the id is still the old
                # one, so the old policy stays: poll until the re-check reached the DNS server.
                txt_before = WORLD.dns_query_count("_mta-sts.changing.test", "TXT")
                answers = []

                def rechecked():
                    answers.append(c.query("changing.test"))
                    return WORLD.dns_query_count("_mta-sts.changing.test", "TXT") > txt_before

                if not wait_until(rechecked, timeout=TXT_CHECK + 10, step=0.3):
                    self.fail_with_log("the TXT record was never re-checked")
                self.assertEqual(set(answers), {row["reply"]})
                self.assertEqual(c.query("changing.test"), row["reply"])
                WORLD.set_txt("changing.test", [["v=STSv1; id=changed2"]])
                want = secure("new-mx.changing.test")
                if not wait_until(lambda: c.query("changing.test") == want, timeout=10, step=0.3):
                    self.fail_with_log(f"never saw {want!r}")
            finally:
                WORLD.set_policy("changing.test", row["policy"])
                WORLD.set_txt("changing.test", row["txt"])
        self.assertEqual(WORLD.request_count("changing.test") - before, 2)


class QueryWaitTest(DaemonCase):
    options = {"query_wait_timeout": "700ms", "dns_timeout": "10s", "fetch_timeout": "10s"}

    def test_slow_resolves_answer_after_query_wait_timeout(self):
        for domain in ("silent.test", "tarpit.test"):
            with self.subTest(domain=domain), self.daemon.client() as c:
                start = time.monotonic()
                reply = c.query(domain)
                elapsed = time.monotonic() - start
                self.assertEqual(reply, NOTFOUND)
                self.assertGreaterEqual(elapsed, 0.6)
                self.assertLess(elapsed, 0.7 + 1.0)


class QueryWaitTempTest(DaemonCase):
    options = {"query_wait_timeout": "500ms", "on_resolve_timeout": "TEMP", "dns_timeout": "10s"}

    def test_on_resolve_timeout_temp_answers_temp(self):
        with self.daemon.client() as c:
            start = time.monotonic()
            reply = c.query("silent.test")
            self.assertLess(time.monotonic() - start, 1.5)
            self.assertTrue(reply.startswith("TEMP "), reply)
            self.assertEqual(c.query("good.test"), secure("mx.good.test", ".good.test"))


DNS_WORDS = re.compile(r"dns|resolv|lookup|servfail|timed? ?out|timeout", re.IGNORECASE)


class QueryCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = {row["domain"]: pool.submit(run_query, MTASTSD, WORLD, row["domain"]) for row in SCENARIOS}
            cls.results = {d: f.result(timeout=120) for d, f in futures.items()}

    def test_exit_codes_follow_the_table(self):
        for row in SCENARIOS:
            code, out, err = self.results[row["domain"]]
            with self.subTest(domain=row["domain"]):
                self.assertEqual(code, row["exit"], f"{row['note']}\nstdout:\n{out}\nstderr:\n{err}")

    def test_fetch_failures_name_their_tlsrpt_result_type(self):
        for row in SCENARIOS:
            if not row["tlsrpt"]:
                continue
            code, out, err = self.results[row["domain"]]
            with self.subTest(domain=row["domain"]):
                self.assertTrue(any(t in out + err for t in row["tlsrpt"]),
                                f"want one of {row['tlsrpt']}\n{out}{err}")

    def test_policy_output_shows_record_and_policy(self):
        code, out, _ = self.results["good.test"]
        self.assertEqual(code, 0)
        self.assertIn("v=STSv1; id=1a", out)
        self.assertIn("mode: enforce", out)
        self.assertIn(secure("mx.good.test", ".good.test"), out)

    def test_dns_failure_is_told_apart_from_no_policy(self):
        for domain in ("servfail.test", "silent.test"):
            code, out, err = self.results[domain]
            with self.subTest(domain=domain):
                self.assertEqual(code, 2)
                self.assertRegex(out + err, DNS_WORDS)
        code, out, err = self.results["norecord.test"]
        self.assertEqual(code, 1)
        self.assertNotRegex(out + err, re.compile(r"servfail|timed? ?out|timeout", re.IGNORECASE))
        for t in ("sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"):
            self.assertNotIn(t, out + err)

    def test_json_output_parses_and_keeps_the_exit_code(self):
        for domain in ("good.test", "norecord.test", "servfail.test", "expired.test"):
            with self.subTest(domain=domain):
                code, out, err = run_query(MTASTSD, WORLD, domain, json_output=True)
                self.assertEqual(code, WORLD.by_domain[domain]["exit"], err)
                self.assertIsInstance(json.loads(out), dict)

    def test_unreachable_dns_server_is_a_failure_not_no_policy(self):
        code, out, err = run_query(MTASTSD, WORLD, "good.test", dns_servers="127.0.0.99", dns_timeout="1s")
        self.assertEqual(code, 2, out + err)
        self.assertRegex(out + err, DNS_WORDS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
