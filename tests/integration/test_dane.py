"""Integration test of DANE before MTA-STS (issue 16, RFC 8461 §2) in the real mtastsd against
the signed test world (World(dnssec=True): dane.test signed per run, a validating unbound on
127.0.0.55): the socketmap reply of every DANE_SCENARIOS row (DANE+STS, DANE only, STS only
insecure, bogus TLSA, bogus MX, TLSA not matching, secure domain without TLSA) with
dane = auto (the validating resolver's AD bit), dane = off, dane_without_sts = yes and getdns'
own validation (dnssec_trust_ad = no against the world's trust anchor); warm answers from the
cache; `mtastsd --query` showing the DNSSEC status of the MX and TLSA sets and the verdict.

Run: tests/world/run_in_netns.sh /usr/bin/python3 tests/integration/test_dane.py --mtastsd PATH
"""
import json
import os
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon_harness import Daemon, require_binary, run_query, stop_world, take_binary_arg  # noqa: E402
from scenarios import DANE_SCENARIOS, NOTFOUND  # noqa: E402
import dnssec  # noqa: E402
from world import World  # noqa: E402

MTASTSD = take_binary_arg(sys.argv)
WORLD = None


def setUpModule():
    global WORLD
    require_binary(MTASTSD)
    missing = [t for t in dnssec.TOOLS if not shutil.which(t)]
    if missing:
        raise unittest.SkipTest(f"no {', '.join(missing)} to sign the test zone (Debian package ldnsutils)")
    WORLD = World(scenarios=[], dnssec=True).__enter__()


def tearDownModule():
    stop_world(WORLD)


def dane_options(**extra):
    opts = {"dns_servers": WORLD.validating_dns_server, "dane": "auto", "dnssec_trust_ad": "yes"}
    opts.update(extra)
    return opts


class DaneCase(unittest.TestCase):
    options = {}
    reply_key = "reply"

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(MTASTSD, WORLD, **dane_options(**cls.options)).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        shutil.rmtree(cls.daemon.dir, ignore_errors=True)

    def expected(self, row):
        return row.get(self.reply_key, row["reply"])

    def check_every_row(self, rounds=2):
        # the second round comes from the cache (warm path) and must say the same
        with self.daemon.client() as c:
            for n in range(rounds):
                for row in DANE_SCENARIOS:
                    with self.subTest(domain=row["domain"], round=n):
                        self.assertEqual(c.query(row["domain"]), self.expected(row),
                                         f"{row['note']}\n{self.daemon.log(30)}")


class DaneAutoTest(DaneCase):
    """dane = auto, the AD bit of the loopback validating resolver: the issue's verdicts."""

    def test_every_scenario_row_gets_its_dane_aware_reply_cold_and_warm(self):
        self.check_every_row()

    def test_bogus_answers_are_logged_as_warnings(self):
        with self.daemon.client() as c:
            for domain in ("bogus-tlsa.dane.test", "bogus-mx.dane.test"):
                c.query(domain)
        for domain in ("bogus-tlsa.dane.test", "bogus-mx.dane.test"):
            self.assertGreaterEqual(self.daemon.log_count(f"DNSSEC bogus answer, DANE decides (dane-only) domain={domain}"),
                                    1, self.daemon.log(30))

    def test_the_tlsrpt_map_adds_nothing_to_a_dane_verdict(self):
        with self.daemon.client() as c:
            self.assertEqual(c.query("dane-sts.dane.test", mapname="postfix-tlsrpt"), "OK dane-only")

    def test_startup_says_dane_is_on(self):
        # start() returns after the "mtastsd started" line, which carries the DANE state
        self.assertGreaterEqual(self.daemon.log_count("dane=auto(trust-ad)"), 1, self.daemon.log(30))


class DaneOffTest(DaneCase):
    """dane = off: the MTA-STS verdicts alone, as before issue 16."""
    options = {"dane": "off"}
    reply_key = "reply_dane_off"

    def test_every_scenario_row_gets_the_mta_sts_reply(self):
        self.check_every_row(rounds=1)


class DaneWithoutStsTest(DaneCase):
    """dane_without_sts = yes: a DANE domain without MTA-STS is answered `dane`."""
    options = {"dane_without_sts": "yes"}
    reply_key = "reply_dane_without_sts"

    def test_every_scenario_row_with_dane_for_the_domain_without_sts(self):
        self.assertEqual(DANE_SCENARIOS[1]["reply_dane_without_sts"], "OK dane")
        self.check_every_row()


class DaneValidateTest(DaneCase):
    """dnssec_trust_ad = no: getdns validates itself against the world's trust anchor (DS of
    dane.test), through the same resolver: the same verdicts."""

    @classmethod
    def setUpClass(cls):
        cls.options = {"dnssec_trust_ad": "no", "dnssec_trust_anchor_file": WORLD.trust_anchor_file}
        super().setUpClass()

    def test_every_scenario_row_gets_its_dane_aware_reply(self):
        self.check_every_row(rounds=1)


class TrustAdOffLoopbackTest(unittest.TestCase):
    """A resolver that is not on loopback is not trusted for the AD bit: DANE checks are off,
    with a warning, and the MTA-STS verdicts stand."""

    def test_non_loopback_resolver_turns_dane_checks_off(self):
        # the world's resolvers are all on 127/8; a non-loopback address never answers here,
        # but the check is made at start, before any lookup
        d = Daemon(MTASTSD, WORLD, **dane_options(dns_servers="192.0.2.53")).start()
        try:
            self.assertGreaterEqual(d.log_count("DANE checks off"), 1, d.log(30))
            self.assertGreaterEqual(d.log_count("dane=off"), 1, d.log(30))
        finally:
            d.stop()
            shutil.rmtree(d.dir, ignore_errors=True)


class QueryTest(unittest.TestCase):
    """`mtastsd --query` shows the DNSSEC status of the MX and TLSA sets and the verdict."""

    def query(self, domain, json_output=False):
        code, out, err = run_query(MTASTSD, WORLD, domain, json_output=json_output, **dane_options())
        return code, out + err

    def test_text_output_shows_secure_sets_and_the_dane_verdict(self):
        code, out = self.query("tlsa-mismatch.dane.test")
        self.assertIn("mx: status=ok dnssec=secure", out)
        self.assertIn("tlsa _25._tcp.mx.tlsa-mismatch.dane.test: status=ok dnssec=secure", out)
        self.assertIn("dane: usable", out)
        self.assertIn("dane-only", out)

    def test_json_output_for_every_row(self):
        for row in DANE_SCENARIOS:
            with self.subTest(domain=row["domain"]):
                code, out = self.query(row["domain"], json_output=True)
                j = json.loads(out[:out.rindex("}") + 1])
                self.assertEqual(j["dane"]["mx"]["dnssec"], row["dnssec"], out)
                applies = row["reply"] == "OK dane-only" or row.get("reply_dane_without_sts") == "OK dane"
                self.assertEqual(j["dane"]["applies"], applies, out)
                if row["dnssec"] == "secure":
                    tlsa = j["dane"]["tlsa"][0]
                    want = {"secure": "secure", "bogus": "bogus", "nxdomain": "secure"}[row["tlsa_status"]]
                    self.assertEqual(tlsa["dnssec"], want, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
