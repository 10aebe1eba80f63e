"""DKIM signatures of report mails checked by an independent verifier: dkimpy (Debian's
python3-dkim) fetches the key records from the test world's DNS (tests/world: unbound in a
private network namespace, run_in_netns.sh), as a receiver would. Keys (RSA 2048 and
Ed25519) are made at test time with the openssl CLI; report_mail_tool builds and signs the
mail with mtastsd's code. Damaged copies must fail, so the test can fail.

Key records carry s=tlsrpt (RFC 8460 3): dkimpy 1.1 cannot parse the s=email:tlsrpt list.
Exits 77 (SKIP for CTest) when python3-dkim is missing.

    run_in_netns.sh /usr/bin/python3 test_dkim_verify.py --tool build/tests/tlsrpt/report_mail_tool
"""
import base64
import email
import email.policy
import gzip
import json
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import dkim
except ImportError:
    print("SKIP: python3-dkim (dkimpy) is not installed", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "world"))
from scenarios import SCENARIOS  # noqa: E402
from world import World  # noqa: E402

SUBMITTER = "sender.test"
SIGN_TIME = "1795998600"
TOOL = None
WORLD = None
KEYS = {}  # selector -> (key path, DNS record text)


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout


def make_key(tmp, selector, algorithm, service="tlsrpt"):
    path = os.path.join(tmp, selector + ".pem")
    if algorithm == "rsa":
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path])
    else:
        run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", path])
    der = run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"])
    # RFC 6376 3.6.1: RSA p= is the DER SubjectPublicKeyInfo; RFC 8463 3: Ed25519 p= is the
    # raw 32-byte key, the last 32 bytes of its SubjectPublicKeyInfo.
    p = base64.b64encode(der if algorithm == "rsa" else der[-32:]).decode()
    record = f"v=DKIM1; k={algorithm}; s={service}; p={p}"
    KEYS[selector] = (path, record)


class DkimWorld(World):
    """The test world (only good.test, which world.py waits for) plus DKIM key records."""

    def __init__(self, records):
        super().__init__(scenarios=[s for s in SCENARIOS if s["domain"] == "good.test"])
        self.records = records  # owner name -> TXT text

    def _zone_records(self, txt_override=None):
        rr = super()._zone_records(txt_override)
        for name, text in self.records.items():
            rr.append(self._txt_rr(name + ".", [text[i:i + 255] for i in range(0, len(text), 255)]))
        return rr


def setUpModule():
    global WORLD
    tmp = tempfile.mkdtemp(prefix="mtasts-dkim-")
    make_key(tmp, "rsa2026", "rsa")
    make_key(tmp, "ed2026", "ed25519")
    make_key(tmp, "emailonly", "ed25519", service="email")
    records = {f"{sel}._domainkey.{SUBMITTER}": rec for sel, (_, rec) in KEYS.items()}
    WORLD = DkimWorld(records).__enter__()
    WORLD.bind_resolv_conf()  # dkimpy asks the system resolver, i.e. the world's unbound


def tearDownModule():
    if WORLD:
        WORLD.__exit__(None, None, None)


def signed_mail(selector):
    out = os.path.join(WORLD.dir, selector + ".eml")
    run([TOOL, "sign", KEYS[selector][0], SUBMITTER, selector, SIGN_TIME, out])
    with open(out, "rb") as f:
        return f.read()


def verify(message, tlsrpt="strict"):
    return dkim.verify(message, tlsrpt=tlsrpt)


def replace_once(message, old, new):
    assert message.count(old) >= 1, old
    return message.replace(old, new, 1)


class DkimVerificationTest(unittest.TestCase):
    def test_the_world_serves_the_key_records(self):
        for sel, (_, record) in KEYS.items():
            with self.subTest(selector=sel):
                answer = WORLD.dns(f"{sel}._domainkey.{SUBMITTER}", "TXT")
                self.assertEqual(answer.rcode, "NOERROR")
                if not answer.truncated:  # RSA 2048 may not fit in 512 bytes of UDP
                    self.assertEqual(["".join(v) for v in answer.values("TXT")], [record])

    def test_the_tool_prints_the_record_a_receiver_needs(self):
        for sel in ("rsa2026", "ed2026"):
            with self.subTest(selector=sel):
                self.assertEqual(run([TOOL, "record", KEYS[sel][0]]).decode().strip(), KEYS[sel][1])

    def test_signed_report_mails_verify(self):
        for sel, algorithm in (("rsa2026", b"rsa-sha256"), ("ed2026", b"ed25519-sha256")):
            with self.subTest(selector=sel):
                message = signed_mail(sel)
                self.assertTrue(message.startswith(b"DKIM-Signature: v=1; a=" + algorithm))
                sig = message.split(b"\r\nFrom: ")[0]
                self.assertNotIn(b" l=", sig.replace(b"\r\n", b""))
                self.assertIn(b"d=" + SUBMITTER.encode(), sig)
                self.assertTrue(verify(message), f"{sel}: dkimpy rejected the signature")
                # Unsigned on purpose: an MTA may drop or rewrite TLS-Required.
                self.assertTrue(verify(replace_once(message, b"TLS-Required: No\r\n", b"")))

    def test_damaged_mails_fail(self):
        for sel in ("rsa2026", "ed2026"):
            message = signed_mail(sel)
            attachment_line = message.split(b"\r\n\r\nH4sI")[1].split(b"\r\n")[0]
            damages = {
                "attachment byte": (b"H4sI" + attachment_line,
                                    b"H4sI" + attachment_line[:-1] + (b"A" if attachment_line[-1:] != b"A" else b"B")),
                "subject": (b"Subject: Report Domain: example.com", b"Subject: Report Domain: example.org"),
                "report domain header": (b"TLS-Report-Domain: example.com", b"TLS-Report-Domain: example.net"),
                "recipient": (b"To: tlsrpt@example.com", b"To: attacker@example.net"),
                "added From (oversigned)": (b"\r\nMIME-Version: 1.0\r\n",
                                            b"\r\nMIME-Version: 1.0\r\nFrom: evil@example.net\r\n"),
                "text part": (b"Reporting organization:", b"Reporting organisation:"),
            }
            for name, (old, new) in damages.items():
                with self.subTest(selector=sel, damage=name):
                    self.assertFalse(verify(replace_once(message, old, new)))

    def test_a_key_without_the_tlsrpt_service_fails_strict_checking(self):
        message = signed_mail("emailonly")
        self.assertTrue(verify(message, tlsrpt=True))
        self.assertFalse(verify(message, tlsrpt="strict"))

    def test_the_mail_parses_as_rfc_8460_wants(self):
        message = email.message_from_bytes(signed_mail("ed2026"), policy=email.policy.default)
        self.assertEqual(message.get_content_type(), "multipart/report")
        self.assertEqual(message.get_param("report-type"), "tlsrpt")
        self.assertEqual(message["TLS-Report-Submitter"], SUBMITTER)
        self.assertEqual(message["TLS-Report-Domain"], "example.com")
        self.assertEqual(message["TLS-Required"], "No")
        parts = list(message.iter_parts())
        self.assertEqual([p.get_content_type() for p in parts], ["text/plain", "application/tlsrpt+gzip"])
        self.assertTrue(parts[1].get_filename().startswith(f"{SUBMITTER}!example.com!1795910400!1795996799!"))
        report = json.loads(gzip.decompress(parts[1].get_content()))
        self.assertEqual(report["contact-info"], f"tlsrpt-noreply@{SUBMITTER}")
        self.assertIn(report["report-id"], message["Subject"])


if __name__ == "__main__":
    if "--tool" not in sys.argv:
        sys.exit("usage: test_dkim_verify.py --tool PATH [unittest args]")
    i = sys.argv.index("--tool")
    TOOL = os.path.abspath(sys.argv[i + 1])
    del sys.argv[i:i + 2]
    unittest.main()
