"""`mtastsd --check-domain` against the test world: one domain per common mistake of a
published MTA-STS/TLSRPT setup and one correct domain, each with its exact findings.

Each row is a world row (tests/world/scenarios.py format: _mta-sts TXT, policy host, policy,
MX records) plus its _smtp._tls TXT records (`smtp_tls_txt`, world.py) and the certificate its
MX presents on port 25 (aiosmtpd receivers from tests/e2e/receivers.py, on the MX address in
the private network namespace). The expected findings are the correct domain's list with the
row's mistake edited in; certificate dates are read from the certificates the world issued.
Needs python3-aiosmtpd (else the module is skipped).
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "world"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from daemon_harness import require_binary, take_binary_arg  # noqa: E402
from scenarios import _row, policy_body  # noqa: E402
from world import World  # noqa: E402
import receivers  # noqa: E402

BINARY = take_binary_arg(sys.argv)
WEEK = 604800
GOOD, EXPIRED, OTHER_NAME, NO_TLS = "good", "expired", "othername", "none"


def _check_row(domain, n, mx_cert=GOOD, tlsrpt=None, **kw):
    kw.setdefault("policy", policy_body(domain, max_age=WEEK))
    row = _row(domain, n, **kw)
    row["smtp_tls_txt"] = [[f"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"]] if tlsrpt is None else tlsrpt
    row["mx_cert"] = mx_cert
    return row


ROWS = [
    _check_row("correct.test", 1, note="everything right"),
    _check_row("mode-test.test", 2, policy="version: STSv1\nmode: test\nmx: mx.mode-test.test\nmax_age: 604800\n",
               note="the how-to's example policy"),
    _check_row("mx-uncovered.test", 3, mx=[(10, "rogue.mx-uncovered.test")], note="MX not in the policy"),
    _check_row("mx-expired.test", 4, mx_cert=EXPIRED, note="expired MX certificate"),
    _check_row("mx-wrongname.test", 5, mx_cert=OTHER_NAME, note="MX certificate for another name"),
    _check_row("no-starttls.test", 6, mx_cert=NO_TLS, note="MX without STARTTLS"),
    _check_row("no-tlsrpt.test", 7, tlsrpt=[], note="no _smtp._tls record"),
    _check_row("two-tlsrpt.test", 8, tlsrpt=[["v=TLSRPTv1; rua=mailto:a@two-tlsrpt.test"],
                                             ["v=TLSRPTv1; rua=mailto:b@two-tlsrpt.test"]],
               note="two TLSRPT records"),
    _check_row("redirect.test", 9, behaviour="redirect", note="the policy host redirects"),
    _check_row("cn-only.test", 10, cert="cnonly", note="policy host certificate names it only in the CN"),
    _check_row("policy-wrongname.test", 11, cert="wrongname", note="policy host certificate for another name"),
    _check_row("testing-ready.test", 12, policy=policy_body("testing-ready.test", mode="testing", max_age=WEEK),
               note="mode testing, everything else right"),
]
BY_DOMAIN = {r["domain"]: r for r in ROWS}

world = None
recv = None
mx_certs = {}  # MX host -> certificate file


def setUpModule():
    global world, recv
    if receivers.Controller is None:
        raise unittest.SkipTest("python3-aiosmtpd is not installed")
    require_binary(BINARY)
    world = World(scenarios=ROWS).__enter__()
    recv = receivers.Receivers()
    for row in ROWS:
        host = row["mx"][0][1]
        kind = row["mx_cert"]
        cert = None
        if kind == GOOD:
            cert = world.issue_cert([host])
        elif kind == EXPIRED:
            cert = world.issue_cert([host], expired=True)
        elif kind == OTHER_NAME:
            cert = world.issue_cert(["mx.other-name.test"], label=f"other-{host}")
        if cert:
            mx_certs[host] = cert[0]
        recv.add(host, row["mx_addr"], cert)
        if row["domain"] == "correct.test":  # the same MX on another port, for check_smtp_port
            recv.add(host + ":2525", row["mx_addr"], cert, port=2525)


def tearDownModule():
    if recv:
        recv.stop()
    if world:
        world.__exit__(None, None, None)


def check_domain(domain, *extra, json_output=True, **overrides):
    options = {"dns_servers": world.dns_server, "ca_file": world.ca_file, "dns_timeout": "2s",
               "fetch_timeout": "5s", "check_smtp_timeout": "5s", "check_ehlo_name": "checker.test"}
    options.update(overrides)
    argv = [BINARY, "-c", "/dev/null"]
    for k, v in options.items():
        argv += ["-o", f"{k}={v}"]
    argv += ["--check-domain", domain] + list(extra) + (["--json"] if json_output else [])
    p = subprocess.run(argv, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def not_after(cert_file):
    """The certificate's notAfter (UTC), read with openssl."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", cert_file],
                         capture_output=True, text=True, check=True, timeout=10).stdout
    return datetime.datetime.fromisoformat(out.strip().split("=", 1)[1].replace("Z", "+00:00"))


def expiry(cert_file, checked_at):
    """What --check-domain says of a certificate's end, judged at `checked_at` (its JSON's
    checked_at: a certificate issued for 30 days and checked within the same second has 30
    days left, one second later 29)."""
    end = not_after(cert_file)
    left = end - checked_at
    if left.total_seconds() < 0:
        ago = (checked_at - end).days
        return f"certificate expired {ago} day{'' if ago == 1 else 's'} ago ({end.date().isoformat()})"
    return f"certificate expires in {left.days} day{'' if left.days == 1 else 's'} ({end.date().isoformat()})"


def policy_cert(domain):
    return os.path.join(world.dir, "certs", f"mta-sts.{domain}.pem")


def F(severity, check, subject, message, fix=""):
    return {"severity": severity, "check": check, "subject": subject, "message": message, "fix": fix}


def correct_findings(row, at):
    """The findings of a correctly published row: the baseline every mistake edits."""
    d, n = row["domain"], row["addr"].split(".")[-1]
    url = f"https://mta-sts.{d}/.well-known/mta-sts.txt"
    host = f"mta-sts.{d}"
    ph = f"{host}[{row['addr']}]"
    mx = row["mx"][0][1]
    ms = f"{mx}[{row['mx_addr']}]"
    out = [
        F("ok", "sts.txt", f"_mta-sts.{d}", f"v=STSv1 record, id={n}a"),
        F("ok", "sts.host", host, f"addresses {row['addr']}"),
        F("ok", "sts.tls", ph, "TLSv1.3"),
        F("ok", "sts.cert.name", ph, f"certificate valid for {host}"),
        F("ok", "sts.cert.trust", ph, "chains to a trusted root"),
        F("ok", "sts.cert.expiry", ph, expiry(policy_cert(d), at)),
        F("ok", "sts.fetch", url, f"status 200, text/plain, {len(row['policy'])} bytes"),
        F("ok", "sts.policy", url, f"valid policy: mode enforce, max_age {WEEK}, mx mx.{d}"),
        F("ok", "sts.mode", url, "mode enforce: senders deliver only over verified TLS to the listed MX hosts"),
        F("ok", "sts.max_age", url, f"max_age {WEEK} (7 days)"),
        F("ok", "mx.dns", d, f"1 MX record: 10 {mx}"),
        F("ok", "mx.match", mx, f"matched by the policy's mx: mx.{d}"),
        F("ok", "smtp.starttls", ms, "STARTTLS offered"),
        F("ok", "smtp.tls", ms, "TLSv1.3"),
        F("ok", "smtp.cert.name", ms, f"certificate valid for {mx}"),
        F("ok", "smtp.cert.trust", ms, "chains to a trusted root"),
    ]
    if mx in mx_certs:
        out.append(F("ok", "smtp.cert.expiry", ms, expiry(mx_certs[mx], at)))
    out += [F("ok", "tlsrpt.txt", f"_smtp._tls.{d}", "v=TLSRPTv1 record"),
            F("ok", "tlsrpt.rua", f"_smtp._tls.{d}", f"reports go to mailto:tlsrpt@{d}")]
    return out


def replace(findings, check, new, subject=None):
    """Replaces the finding `check` (of `subject`, when given) by `new` (a finding or a list)."""
    for i, f in enumerate(findings):
        if f["check"] == check and (subject is None or f["subject"] == subject):
            findings[i:i + 1] = new if isinstance(new, list) else [new]
            return findings
    raise AssertionError(f"no finding {check} to replace")


def drop(findings, *checks):
    return [f for f in findings if f["check"] not in checks]


def expected(domain, at):
    """(findings, verdict, exit code, summary) that `domain` must get, checked at `at`."""
    row = BY_DOMAIN[domain]
    d = domain
    url = f"https://mta-sts.{d}/.well-known/mta-sts.txt"
    host = f"mta-sts.{d}"
    ph = f"{host}[{row['addr']}]"
    mx = row["mx"][0][1]
    ms = f"{mx}[{row['mx_addr']}]"
    f = correct_findings(row, at)
    enforce_now = "testing only: with mode enforce published, senders defer mail now (1 finding(s) above); " \
                  "go back to mode: testing until they are fixed"
    if d == "correct.test":
        return f, "ready for enforce", 0, "ready for enforce: the policy is enforced and every check passed"
    if d == "mode-test.test":
        f = drop(f, "sts.mode", "sts.max_age", "mx.match")
        f = replace(f, "sts.policy", F("error", "sts.policy", url, "mode must be enforce, testing or none (line 2)",
                                       'write "mode: testing" (or enforce, or none; lower case) instead of "test"'))
        return f, "not ready", 2, "not ready: senders find no usable MTA-STS policy; fix the 1 error(s) above"
    if d == "mx-uncovered.test":
        f = replace(f, "mx.match", F("error", "mx.match", mx,
                                     "no mx pattern of the policy matches: senders that enforce defer its mail",
                                     f'add "mx: {mx}" to the policy and change the id of _mta-sts.{d} '
                                     "(or remove this MX record)"))
        return f, "testing only", 1, enforce_now
    if d == "mx-expired.test":
        f = replace(f, "smtp.cert.expiry", F("error", "smtp.cert.expiry", ms,
                                             expiry(mx_certs[mx], at),
                                             "renew the certificate, and automate its renewal"))
        return f, "testing only", 1, enforce_now
    if d == "mx-wrongname.test":
        f = replace(f, "smtp.cert.name", F("error", "smtp.cert.name", ms,
                                           f"certificate not valid for {mx} (its names: mx.other-name.test)",
                                           f"get a certificate with {mx} as a subjectAltName DNS name"))
        return f, "testing only", 1, enforce_now
    if d == "no-starttls.test":
        f = drop(f, "smtp.tls", "smtp.cert.name", "smtp.cert.trust", "smtp.cert.expiry")
        f = replace(f, "smtp.starttls", F("error", "smtp.starttls", ms,
                                          "STARTTLS not offered: senders that enforce defer mail to it",
                                          f"offer STARTTLS with a certificate for {mx} (Postfix: smtpd_tls_chain_files, "
                                          "smtpd_tls_security_level = may)"))
        return f, "testing only", 1, enforce_now
    if d == "no-tlsrpt.test":
        f = drop(f, "tlsrpt.rua")
        f = replace(f, "tlsrpt.txt", F("warning", "tlsrpt.txt", f"_smtp._tls.{d}",
                                       "no TLSRPT record: nobody reports failed TLS deliveries to you",
                                       f'publish one TXT record _smtp._tls.{d} "v=TLSRPTv1; rua=mailto:tlsrpt@{d}"'))
        return f, "ready for enforce", 0, "ready for enforce: the policy is enforced and every check passed"
    if d == "two-tlsrpt.test":
        f = drop(f, "tlsrpt.rua")
        f = replace(f, "tlsrpt.txt", F("error", "tlsrpt.txt", f"_smtp._tls.{d}",
                                       "2 v=TLSRPTv1 records: reporters send no report at all (RFC 8460 3)",
                                       "delete all but one v=TLSRPTv1 record"))
        return f, "testing only", 1, "testing only: fix the 1 error(s) above before mode: enforce"
    if d == "redirect.test":
        f = drop(f, "sts.policy", "sts.mode", "sts.max_age", "mx.match")
        f = replace(f, "sts.fetch", F("error", "sts.fetch", url,
                                      "answers 301 redirect to https://mta-sts.good.test/.well-known/mta-sts.txt: "
                                      "senders never follow redirects (RFC 8461 3.3)",
                                      "serve the policy file itself at this URL, with status 200"))
        return f, "not ready", 2, "not ready: senders find no usable MTA-STS policy; fix the 1 error(s) above"
    if d in ("cn-only.test", "policy-wrongname.test"):
        names = (f"{host} is only its subject CN, without a subjectAltName; senders want a DNS-ID (RFC 6125)"
                 if d == "cn-only.test" else f"its names: mta-sts.not-{d}")
        f = drop(f, "sts.policy", "sts.mode", "sts.max_age", "mx.match")
        f = replace(f, "sts.cert.name", F("error", "sts.cert.name", ph, f"certificate not valid for {host} ({names})",
                                          f"get a certificate with {host} as a subjectAltName DNS name"))
        f = replace(f, "sts.fetch", F("error", "sts.fetch", url,
                                      f"refused, certificate: hostname mismatch ({row['addr']})",
                                      f"fix the certificate of {host} (sts.cert above)"))
        return f, "not ready", 2, "not ready: senders find no usable MTA-STS policy; fix the 2 error(s) above"
    if d == "testing-ready.test":
        f = replace(f, "sts.policy", F("ok", "sts.policy", url, f"valid policy: mode testing, max_age {WEEK}, mx mx.{d}"))
        f = replace(f, "sts.mode", F("warning", "sts.mode", url,
                                     "mode testing: failures are only reported, mail is delivered anyway",
                                     'once this check and the reports are clean, write "mode: enforce" and change '
                                     f"the id of _mta-sts.{d}"))
        return f, "ready for enforce", 0, f'ready for enforce: write "mode: enforce" and change the id of _mta-sts.{d}'
    raise AssertionError(domain)


class CheckDomainTest(unittest.TestCase):
    maxDiff = None

    def assertFindings(self, domain, got_json, rc, stderr):
        self.assertEqual(stderr, "", domain)
        report = json.loads(got_json)
        at = datetime.datetime.fromisoformat(report["checked_at"].replace("Z", "+00:00"))
        findings, verdict, code, summary = expected(domain, at)
        self.assertEqual(report["domain"], domain)
        self.assertEqual(report["findings"], findings, domain)
        self.assertEqual(report["result"], {"verdict": verdict, "exit_code": code, "summary": summary}, domain)
        self.assertEqual(rc, code, domain)

    def test_each_domain_gets_exactly_its_findings(self):
        for row in ROWS:
            with self.subTest(domain=row["domain"], note=row["note"]):
                rc, out, err = check_domain(row["domain"])
                self.assertFindings(row["domain"], out, rc, err)

    def test_the_probe_says_ehlo_with_the_configured_name(self):
        before = recv["mx.correct.test"].ehlo_count
        rc, _, _ = check_domain("correct.test")
        self.assertEqual(rc, 0)
        self.assertGreater(recv["mx.correct.test"].ehlo_count, before)
        self.assertEqual(recv["mx.correct.test"].messages, [])  # a probe never sends mail

    def test_check_smtp_port_moves_the_probes(self):
        before = recv["mx.correct.test:2525"].ehlo_count
        rc, out, err = check_domain("correct.test", check_smtp_port="2525")
        self.assertFindings("correct.test", out, rc, err)
        self.assertGreater(recv["mx.correct.test:2525"].ehlo_count, before)
        rc, out, _ = check_domain("correct.test", check_smtp_port="2526")  # nobody listens there
        self.assertEqual(rc, 1)
        errors = [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
        self.assertEqual([(f["check"], f["message"]) for f in errors],
                         [("smtp.connect", "cannot connect to port 2526: connect failed: Connection refused")])

    def test_no_smtp_leaves_the_mx_hosts_alone(self):
        before = recv["mx.mx-expired.test"].ehlo_count
        rc, out, err = check_domain("mx-expired.test", "--no-smtp")
        self.assertEqual((rc, err), (0, ""))
        report = json.loads(out)
        self.assertFalse(report["smtp_checked"])
        self.assertEqual([f for f in report["findings"] if f["check"].startswith("smtp.")], [])
        self.assertTrue(report["result"]["summary"].endswith("(MX hosts not probed: --no-smtp)"))
        self.assertEqual(recv["mx.mx-expired.test"].ehlo_count, before)

    def test_the_text_report_is_aligned_with_a_fix_under_each_problem(self):
        rc, out, err = check_domain("mode-test.test", json_output=False)
        self.assertEqual((rc, err), (2, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0], "checking mode-test.test (MX hosts probed on port 25)")
        now = datetime.datetime.now(datetime.timezone.utc)
        width = max(len(f["check"]) for f in expected("mode-test.test", now)[0])
        policy_line = next(i for i, line in enumerate(lines) if line.startswith("error"))
        self.assertEqual(lines[policy_line],
                         "error   " + "sts.policy".ljust(width) + "  https://mta-sts.mode-test.test/.well-known/"
                         "mta-sts.txt: mode must be enforce, testing or none (line 2)")
        self.assertEqual(lines[policy_line + 1], " " * (8 + width + 2) + 'fix: write "mode: testing" (or enforce, '
                         'or none; lower case) instead of "test"')
        self.assertEqual(lines[-1], "result: not ready: senders find no usable MTA-STS policy; fix the 1 error(s) "
                         "above (exit 2)")

    def test_a_domain_without_any_publication_is_not_ready(self):
        rc, out, _ = check_domain("nothing-here.test")
        self.assertEqual(rc, 2)
        checks = [(f["severity"], f["check"]) for f in json.loads(out)["findings"]]
        # No MX record: mail would go to the name itself (implicit MX), which has no address.
        self.assertEqual(checks, [("error", "sts.txt"), ("error", "sts.host"), ("warning", "mx.dns"),
                                  ("error", "mx.host"), ("warning", "tlsrpt.txt")])

    def test_usage_errors_exit_64(self):
        for args in (["--check-domain"], ["--check-domain", "[192.0.2.1]"], ["--no-smtp"]):
            with self.subTest(args=args):
                p = subprocess.run([BINARY, "-c", "/dev/null"] + args, capture_output=True, text=True, timeout=30)
                self.assertEqual(p.returncode, 64, p.stderr)


if __name__ == "__main__":
    unittest.main()
