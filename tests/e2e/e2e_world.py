"""The end-to-end scenario table: test-world rows (tests/world/scenarios.py format, so World()
builds their DNS: _mta-sts TXT, mta-sts.<d> A, MX records and the MX hosts' A records) plus, per
row, the receiving SMTP servers to start and the certificate each presents.

MX host i of row n resolves to 127.0.(60+i).n (world.py's rule); the receivers listen there on
port 25. Data only, except `start_receivers()`, which issues the certificates from the world's
test CA and starts the aiosmtpd servers (receivers.py).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "world"))
from scenarios import DANE_SCENARIOS, NOTFOUND, _row, policy_body, secure  # noqa: E402

from receivers import Receivers, self_signed  # noqa: E402

# certificate kinds a receiver presents
GOOD = "good"              # test CA, name = the MX host
OTHER_NAME = "othername"   # test CA, name = mx.other-name.test
SELF_SIGNED = "selfsigned"  # self-signed, name = the MX host
EXPIRED = "expired"        # test CA, name = the MX host, expired yesterday
NO_TLS = "none"            # no STARTTLS offered


def _e2e(domain, n, certs, **kw):
    """certs: one certificate kind per MX host of the row, in MX order."""
    row = _row(domain, n, **kw)
    row["receivers"] = [(host, certs[i]) for i, (_, host) in enumerate(row["mx"])]
    return row


ROWS = [
    _e2e("good.test", 1, [GOOD], note="enforce, valid certificate"),
    _e2e("badname.test", 2, [OTHER_NAME], note="enforce, certificate for another name"),
    _e2e("selfsigned.test", 3, [SELF_SIGNED], note="enforce, self-signed certificate"),
    _e2e("expiredcert.test", 4, [EXPIRED], note="enforce, expired certificate"),
    _e2e("nostarttls.test", 5, [NO_TLS], note="enforce, no STARTTLS"),
    # The only MX host is not in the policy. It has a valid certificate for its own name, so
    # only the match= patterns from the policy can reject it (Postfix 3.7 checks the
    # certificate name against them at level secure).
    _e2e("mxmismatch.test", 6, [GOOD], mx=[(10, "rogue.mxmismatch.test")],
         note="MX host not matching the policy"),
    # Preferred MX not in the policy, second one in it: mail must go to the second only.
    _e2e("mxfallback.test", 7, [GOOD, GOOD],
         mx=[(10, "rogue.mxfallback.test"), (20, "mx.mxfallback.test")],
         note="first MX not matching the policy, second matching"),
    _e2e("norecord.test", 8, [SELF_SIGNED], txt=[], reply=NOTFOUND, exit=1,
         note="no MTA-STS record: opportunistic TLS, even to a self-signed certificate"),
    _e2e("testing.test", 9, [OTHER_NAME], policy=policy_body("testing.test", mode="testing"),
         reply=NOTFOUND, note="mode testing: delivered despite a certificate for another name"),
    _e2e("restart.test", 10, [GOOD], note="daemon restarted while mail is queued"),
]

BY_DOMAIN = {r["domain"]: r for r in ROWS}


def mx_address(row, i):
    o = row["mx_addr"].split(".")
    return f"{o[0]}.{o[1]}.{int(o[2]) + i}.{o[3]}"


def start_receivers(world, cert_dir):
    """Starts every receiver of ROWS; returns Receivers, indexed by MX host name."""
    recv = Receivers()
    try:
        for row in ROWS:
            for i, (host, kind) in enumerate(row["receivers"]):
                if kind == GOOD:
                    cert = world.issue_cert([host])
                elif kind == OTHER_NAME:
                    cert = world.issue_cert(["mx.other-name.test"], label=f"other-{host}")
                elif kind == EXPIRED:
                    cert = world.issue_cert([host], expired=True)
                elif kind == SELF_SIGNED:
                    cert = self_signed(cert_dir, host)
                else:
                    cert = None
                recv.add(host, mx_address(row, i), cert)
    except BaseException:
        recv.stop()
        raise
    return recv


# ----- DANE (test_dane.py): the rows of scenarios.DANE_SCENARIOS, World(dnssec=True) -----
# Each MX host presents the certificate the world issued for it (world.mx_cert: test CA, right
# name, the source of its TLSA record). `postfix_dane`: what a Postfix with
# smtp_dns_support_level = dnssec and smtp_tls_security_level = dane, NO policy map and no
# smtp_tls_CAfile (so Verified can only mean DANE) logs for the row, as
# (status, dsn, TLS line kinds, fragments that must appear in the log lines of that attempt).
# `postfix_mtastsd`: the same with smtp_tls_CAfile and mtastsd (dane = auto) as policy map.
WORLD_CERT = "world"   # receiver certificate kind: world.mx_cert(host)

# The fragments are Postfix 3.7.11's own words (tests/fixtures/maillog/postfix-3.7-dane.log).
SENT_DANE = ("sent", "2.0.0", ["Verified"], ())
SENT_WEBPKI = SENT_DANE          # with smtp_tls_CAfile: secure match= verifies the same way
SENT_OPPORTUNISTIC = ("sent", "2.0.0", ["Untrusted"], ())
DEFERRED_TLSA_MISMATCH = ("deferred", "4.7.5", ["Untrusted"],
                          ("num=65:no matching DANE TLSA records", "Server certificate not verified"))
DEFERRED_TLSA_BOGUS = ("deferred", "4.7.5", [],
                       ("warning: DANE TLSA lookup problem", "TLSA lookup error for mx."))
DEFERRED_MX_BOGUS = ("deferred", "4.4.3", [], ("Name service error for name=bogus-mx.dane.test type=MX",))

_DANE_EXPECT = {
    "dane-sts.dane.test": (SENT_DANE, SENT_DANE),
    "dane-only.dane.test": (SENT_DANE, SENT_DANE),
    "sts-only.test": (SENT_OPPORTUNISTIC, SENT_WEBPKI),
    "bogus-tlsa.dane.test": (DEFERRED_TLSA_BOGUS, DEFERRED_TLSA_BOGUS),
    "bogus-mx.dane.test": (DEFERRED_MX_BOGUS, DEFERRED_MX_BOGUS),
    "tlsa-mismatch.dane.test": (DEFERRED_TLSA_MISMATCH, DEFERRED_TLSA_MISMATCH),
    "no-tlsa.dane.test": (SENT_OPPORTUNISTIC, SENT_WEBPKI),
}


def _dane_e2e(row):
    row = dict(row)
    row["receivers"] = [(host, WORLD_CERT) for _, host in row["mx"]]
    row["postfix_dane"], row["postfix_mtastsd"] = _DANE_EXPECT[row["domain"]]
    return row


DANE_ROWS = [_dane_e2e(r) for r in DANE_SCENARIOS]
DANE_BY_DOMAIN = {r["domain"]: r for r in DANE_ROWS}


def start_dane_receivers(world):
    """Starts the receivers of DANE_ROWS with the world's MX certificates (World(dnssec=True))."""
    recv = Receivers()
    try:
        for row in DANE_ROWS:
            for i, (host, _) in enumerate(row["receivers"]):
                recv.add(host, mx_address(row, i), world.mx_cert(host))
    except BaseException:
        recv.stop()
        raise
    return recv


__all__ = ["ROWS", "BY_DOMAIN", "NOTFOUND", "secure", "start_receivers", "mx_address",
           "DANE_ROWS", "DANE_BY_DOMAIN", "start_dane_receivers"]
