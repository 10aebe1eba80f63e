"""The test world's scenario table: one row per domain, data only, read by world.py (to build
DNS data, certificates and HTTPS behaviours) and by the integration tests (expectations).

Every row says what the world serves and what mtastsd must answer:
  reply    exact socketmap reply for map name "postfix"
  exit     expected `mtastsd --query` exit code (0 policy, 1 no policy, 2 failure)
  tlsrpt   acceptable TLS-RPT result types for the failure (tuple), or None when no fetch
           failure is involved. Tuples with two entries mark cases where RFC 8460 leaves the
           classification open.
  unicode  (only some rows) the domain's U-label spelling; `domain` is its A-label form
"""

FETCH = "sts-policy-fetch-error"
INVALID = "sts-policy-invalid"
WEBPKI = "sts-webpki-invalid"

NOTFOUND = "NOTFOUND "


def policy_body(domain, mode="enforce", mx=None, max_age=86400, eol="\n"):
    mx = [f"mx.{domain}"] if mx is None else mx
    lines = ["version: STSv1", f"mode: {mode}"] + [f"mx: {m}" for m in mx] + [f"max_age: {max_age}"]
    return eol.join(lines) + eol


def secure(*patterns):
    return "OK secure match=" + ":".join(patterns) + " servername=hostname"


def _row(domain, n, **kw):
    row = {
        "domain": domain,
        "addr": f"127.0.50.{n}",           # address of mta-sts.<domain>
        "mx_addr": f"127.0.60.{n}",        # address of mx.<domain> (for Postfix end-to-end tests)
        "txt": [[f"v=STSv1; id={n}a"]],   # RRs of _mta-sts.<domain>, each a list of strings
        "txt_cname": None,                 # _mta-sts.<domain> is a CNAME to this name
        "host": "a",                       # a | cname | none: how mta-sts.<domain> resolves
        "dns": "static",                   # static | servfail | silent
        "kind": "https",                   # https | http | tarpit | refused
        "behaviour": "good",               # see policy_server.py
        "cert": "good",                    # good | wildcard | wrongname | untrusted | expired | cnonly
        "content_type": "text/plain",
        "policy": policy_body(domain),
        "mx": [(10, f"mx.{domain}")],
        "reply": secure(f"mx.{domain}"),
        "exit": 0,
        "tlsrpt": None,
        "note": "",
    }
    row.update(kw)
    return row


def _failing(domain, n, tlsrpt, **kw):
    return _row(domain, n, reply=NOTFOUND, exit=2, tlsrpt=tlsrpt, **kw)


SCENARIOS = [
    _row("good.test", 1, policy=policy_body("good.test", mx=["mx.good.test", "*.good.test"]),
         content_type="text/plain; charset=utf-8",
         mx=[(10, "mx.good.test"), (20, "mx2.good.test")],
         reply=secure("mx.good.test", ".good.test"), note="enforce, wildcard mx, media type parameter"),
    _row("testing.test", 2, policy=policy_body("testing.test", mode="testing"), reply=NOTFOUND),
    _row("none.test", 3, policy=policy_body("none.test", mode="none", mx=[]), reply=NOTFOUND,
         note="a fetched mode none is a policy (exit 0) that yields NOTFOUND"),
    _row("norecord.test", 4, txt=[], reply=NOTFOUND, exit=1, note="no TXT (NODATA at _mta-sts)"),
    _row("two-records.test", 5, txt=[["v=STSv1; id=5a"], ["v=STSv1; id=5b"]], reply=NOTFOUND, exit=1,
         note="two v=STSv1 records: no policy"),
    _row("split.test", 6, txt=[["v=STSv1; ", "id=split", "6"]], note="one RR, three strings"),
    _row("unrelated.test", 7, txt=[["v=spf1 -all"], ["v=STSv1; id=7a"], ["some other text"]]),
    _row("cname-txt.test", 8, txt=[], txt_cname="sts-record.elsewhere.test",
         note="_mta-sts is a CNAME to the TXT record"),
    _row("cname-host.test", 9, host="cname", note="mta-sts.<d> is a CNAME to policy-host.elsewhere.test"),
    _failing("servfail.test", 10, None, dns="servfail", note="zone forwarded to a server that refuses"),
    _failing("silent.test", 11, None, dns="silent", note="unbound drops the queries (local-zone deny)"),
    _failing("redirect.test", 12, (FETCH,), behaviour="redirect"),
    _failing("notfound.test", 13, (FETCH,), behaviour="notfound"),
    _failing("html.test", 14, (FETCH,), content_type="text/html",
             note="valid body, wrong type: not a policy document, so a fetch error (RFC 8460 4.3.2)"),
    _failing("big-cl.test", 15, (FETCH,), behaviour="big-cl"),
    _failing("big-chunked.test", 16, (FETCH,), behaviour="big-chunked"),
    _failing("big-close.test", 17, (FETCH,), behaviour="big-close"),
    _failing("tarpit.test", 18, (FETCH,), kind="tarpit"),
    _failing("wrongname.test", 19, (WEBPKI,), cert="wrongname"),
    _failing("untrusted.test", 20, (WEBPKI,), cert="untrusted"),
    _failing("expired.test", 21, (WEBPKI,), cert="expired"),
    _failing("plainhttp.test", 22, (FETCH, WEBPKI), kind="http"),
    _failing("refused.test", 23, (FETCH,), kind="refused"),
    _failing("reset.test", 24, (FETCH,), behaviour="reset",
             policy=policy_body("reset.test") + "x-padding: " + "a" * 100 + "\n",
             note="reset after a valid policy but before the end of Content-Length"),
    _failing("badpolicy.test", 25, (INVALID,), policy="version: STSv1\nmode: enforce\nmax_age: 86400\n",
             note="mx missing"),
    _row("changing.test", 26, note="tests rewrite its TXT (World.set_txt) and body (World.set_policy)"),
    _row("wildcard.test", 27, cert="wildcard", note="certificate for *.wildcard.test"),
    _row("parallel.test", 28, behaviour="slow", note="fresh domain for the 100-parallel test; 0.3 s delay"),
    _failing("nohost.test", 29, (FETCH,), host="none", note="TXT present, mta-sts.<d> does not exist"),
    _row("crlf.test", 30, policy=policy_body("crlf.test", eol="\r\n"), note="CRLF policy"),
    # An internationalised domain: the world serves its A-label form (DNS, certificate, SNI);
    # `unicode` is the UTF-8 next hop Postfix with SMTPUTF8 sends (test_idna.py).
    _row("xn--bcher-kva.test", 41, unicode="b\u00fccher.test",
         policy=policy_body("xn--bcher-kva.test", mx=["mx.xn--bcher-kva.test", "*.xn--bcher-kva.test"]),
         reply=secure("mx.xn--bcher-kva.test", ".xn--bcher-kva.test"),
         note="IDN: enforce policy under the A-label of b\u00fccher.test"),
    _failing("cn-only.test", 51, (WEBPKI,), cert="cnonly",
             note="mta-sts.<d> only in the subject CN, no DNS SAN: RFC 6125 DNS-ID only"),
    _row("early-hints.test", 52, behaviour="early-hints",
         note="103 Early Hints with headers before the 200: interim responses are skipped"),
    _row("many-mx.test", 53,
         policy=policy_body("many-mx.test", mx=["mx.many-mx.test"] + ["a"] * 12000).replace("mx: a\n", "mx:a\n"),
         reply=secure("mx.many-mx.test", "a"),
         note="12001 mx lines in under 64 KiB (more than the cache once stored): cached, fetched once"),
]

BY_DOMAIN = {row["domain"]: row for row in SCENARIOS}


def scenario(domain):
    return BY_DOMAIN[domain]


# ----- DANE (RFC 7672) next to MTA-STS (RFC 8461 §2): the DNSSEC part of the world -----
# Started only by World(dnssec=True) (tests/world/dnssec.py). Rows under SIGNED_ZONE live in a
# DNSSEC-signed zone (keys made per run) served by an authoritative unbound and validated by
# a second, validating unbound; sts-only.test lives in the unsigned world zone (insecure).
# Extra keys of these rows:
#   zone     SIGNED_ZONE, or None for an unsigned (insecure) row
#   tlsa     "match": _25._tcp.<mx> TLSA 3 1 1 = SHA-256 of the MX certificate's public key;
#            "mismatch": 3 1 1 of another key (a stale record after a key rotation), while the
#            MX certificate itself is valid for MTA-STS (test CA, right name); None: no TLSA
#   bogus    RR type whose RRSIG the world breaks on purpose ("MX", "TLSA") or None
#   dnssec   what the validating resolver says of the MX RRset: secure | bogus | insecure
#   tlsa_status  same for the TLSA RRset of the MX host: secure | bogus | nxdomain | insecure
#   reply    the socketmap reply mtastsd must give with dane = auto (issue 16): dane-only for a
#            secure MX with TLSA and for every bogus answer, the MTA-STS verdict otherwise,
#            NOTFOUND for DANE without MTA-STS (dane_without_sts = no, the default)
#   reply_dane_off  the reply with dane = off (the MTA-STS verdict, what mtastsd says today)
#   reply_dane_without_sts  (dane-only.dane.test only) the reply with dane_without_sts = yes
SIGNED_ZONE = "dane.test"
DANE_ONLY = "OK dane-only"


def _dane(domain, n, tlsa="match", bogus=None, sts=True, zone=SIGNED_ZONE, **kw):
    status = "insecure" if zone is None else "secure"
    defaults = {
        "zone": zone, "tlsa": tlsa, "bogus": bogus,
        "dnssec": "bogus" if bogus == "MX" else status,
        "tlsa_status": ("bogus" if bogus == "TLSA" else status if tlsa else
                        "nxdomain" if zone else "insecure"),
    }
    if not sts:  # no _mta-sts record, no policy host
        defaults.update(txt=[], host="none", kind="refused", reply=NOTFOUND, exit=1)
    defaults.update(kw)
    row = _row(domain, n, **defaults)
    row.setdefault("reply_dane_off", row["reply"])
    return row


DANE_SCENARIOS = [
    _dane("dane-sts.dane.test", 61, reply=DANE_ONLY, reply_dane_off=secure("mx.dane-sts.dane.test"),
          note="secure MX, matching TLSA, enforce policy: DANE wins (dane-only)"),
    _dane("dane-only.dane.test", 62, sts=False, reply_dane_without_sts="OK dane",
          note="secure MX, matching TLSA, no MTA-STS record: Postfix's own level applies"),
    _dane("sts-only.test", 63, zone=None, tlsa=None,
          note="unsigned (insecure) domain with an enforce policy: MTA-STS as today"),
    _dane("bogus-tlsa.dane.test", 64, bogus="TLSA", reply=DANE_ONLY,
          reply_dane_off=secure("mx.bogus-tlsa.dane.test"),
          note="the TLSA RRSIG is broken: bogus, SERVFAIL; never fall back to MTA-STS"),
    _dane("bogus-mx.dane.test", 65, bogus="MX", reply=DANE_ONLY,
          reply_dane_off=secure("mx.bogus-mx.dane.test"),
          note="the MX RRSIG is broken: bogus, SERVFAIL; never fall back to MTA-STS"),
    _dane("tlsa-mismatch.dane.test", 66, tlsa="mismatch", reply=DANE_ONLY,
          reply_dane_off=secure("mx.tlsa-mismatch.dane.test"),
          note="TLSA of another key, certificate fine for MTA-STS: must be deferred (RFC 8461 §2)"),
    _dane("no-tlsa.dane.test", 67, tlsa=None,
          note="secure MX, no TLSA (secure NXDOMAIN at _25._tcp): MTA-STS applies"),
]

DANE_BY_DOMAIN = {row["domain"]: row for row in DANE_SCENARIOS}
