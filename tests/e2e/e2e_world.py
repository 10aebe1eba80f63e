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
from scenarios import NOTFOUND, _row, policy_body, secure  # noqa: E402

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


__all__ = ["ROWS", "BY_DOMAIN", "NOTFOUND", "secure", "start_receivers", "mx_address"]
