#!/usr/bin/env python3
"""Writes the fixed input tree of the --read-reports golden test (tests/tlsrpt/read_reports/inputs).

Run from anywhere: python3 tests/tlsrpt/read_reports/make_inputs.py. Deterministic (gzip with
mtime 0), so rerunning it changes nothing unless this script changed. Real reports come from
tests/fixtures/tlsrpt (sys4 tlsrpt-reporter) and tests/tlsrpt/golden (RFC 8460 Appendix B, our
own mail builder); the Microsoft- and Stalwart-shaped reports are hand-made in the shapes
public bug reports show, not captures. See README.md next to this script."""
import base64
import gzip
import io
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "tlsrpt")
GOLDEN = os.path.join(ROOT, "tests", "tlsrpt", "golden")
OUT = os.path.join(HERE, "inputs")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="") as f:
        f.write(data)
    return buf.getvalue()


def b64lines(data):
    text = base64.b64encode(data).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n"


def to_lf(mail):
    return mail.replace(b"\r\n", b"\n")


def mboxrd_quote(mail):
    out = []
    for line in mail.split(b"\n"):
        stripped = line.lstrip(b">")
        if stripped.startswith(b"From "):
            line = b">" + line
        out.append(line)
    return b"\n".join(out)


def mbox_entry(sender, mail):
    mail = to_lf(mail)
    if not mail.endswith(b"\n"):
        mail += b"\n"
    return b"From " + sender.encode() + b" Sun Nov 29 06:00:00 2026\n" + mboxrd_quote(mail) + b"\n"


MICROSOFT_JSON = (
    b'{"organization-name":"Microsoft Corporation","date-range":{"start-datetime":"2026-11-28T00:00:00Z",'
    b'"end-datetime":"2026-11-28T23:59:59Z"},"contact-info":"tlsrpt-noreply@microsoft.com",'
    b'"report-id":"134089000000000000+contoso.example","policies":[{"policy":{"policy-type":"sts",'
    b'"policy-string":["version: STSv1","mode: enforce","mx: mx1.contoso.example","max_age: 604800"],'
    b'"policy-domain":"contoso.example"},"summary":{"total-successful-session-count":12,'
    b'"total-failure-session-count":3},"failure-details":[{"result-type":"sts-policy-fetch-error",'
    b'"failed-session-count":3}]}]}')

STALWART_JSON = (
    b'{"organization-name":"mx.example.net","date-range":{"start-datetime":"2026-11-29T00:00:00Z",'
    b'"end-datetime":"2026-11-30T00:00:00Z"},"contact-info":null,"report-id":"1796083200_5665667737",'
    b'"policies":[{"policy":{"policy-type":"no-policy-found","policy-string":[],"policy-domain":'
    b'"contoso.example","mx-host":[]},"summary":{"total-successful-session-count":4,'
    b'"total-failure-session-count":0},"failure-details":[]}]}')

UNRELATED = b"""Return-Path: <alice@example.net>
From: Alice <alice@example.net>
To: tlsrpt@contoso.example
Subject: lunch?
Date: Sat, 28 Nov 2026 12:00:00 +0000
Message-ID: <lunch.1@example.net>

Shall we?
From the desk of Alice: a body line that starts with "From ", quoted in the mbox.
>From already quoted once in the original.
"""

DMARC = ("""From: noreply-dmarc@example.org
To: tlsrpt@contoso.example
Subject: Report domain: contoso.example Submitter: example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="dmarc"

--dmarc
Content-Type: text/plain

A DMARC aggregate report, not a TLSRPT one.
--dmarc
Content-Type: application/gzip; name="example.org!contoso.example!1796000000!1796086399.xml.gz"
Content-Transfer-Encoding: base64

""" + b64lines(gz(b"<feedback/>\n")) + """--dmarc--
""").encode()


def report_mail(boundary, extra_headers, part_headers, body, subject="Report Domain: contoso.example"):
    return ("""From: tlsrpt-noreply@sender.example
To: tlsrpt@contoso.example
Subject: """ + subject + """
MIME-Version: 1.0
""" + extra_headers + """

--""" + boundary + """
Content-Type: text/plain; charset=us-ascii

This is an aggregate TLS report.
--""" + boundary + """
""" + part_headers + """

""" + body + """--""" + boundary + """--
""").encode()


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    sys4_eml = read(os.path.join(FIXTURES, "reportd-libtlsrpt-example.com.eml"))
    our_eml = read(os.path.join(GOLDEN, "report-mail.eml"))

    microsoft = report_mail(
        "_a737a3b9_", 'Content-Type: multipart/report;\n\tboundary="_a737a3b9_"; report-type=tlsrpt\n'
        "TLS-Report-Domain: contoso.example",
        "Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment;\n filename*=utf-8''microsoft.com%21contoso.example%211796000000"
        "%211796086399%21134089000000000000.json.gz",
        b64lines(gz(MICROSOFT_JSON)))
    bad_base64 = report_mail(
        "b64", 'Content-Type: multipart/report; report-type="tlsrpt"; boundary="b64"',
        'Content-Type: application/tlsrpt+gzip; name="sender.example!contoso.example!1!2!x.json.gz"\n'
        "Content-Transfer-Encoding: base64",
        "H4sIAAAAAAAC/*tHJIxM\n")
    no_attachment = report_mail(
        "none", 'Content-Type: multipart/report; report-type=tlsrpt; boundary="none"\n'
        "TLS-Report-Domain: contoso.example",
        "Content-Type: text/plain", "The report should have been here.\n")
    stalwart = report_mail(
        "qp", 'Content-Type: multipart/mixed; boundary="qp"',
        'Content-Type: application/octet-stream;\n name="mx.example.net!contoso.example!1796083200!1796169600.json"\n'
        "Content-Transfer-Encoding: quoted-printable",
        STALWART_JSON.decode().replace("=", "=3D")[:60] + "=\n" + STALWART_JSON.decode().replace("=", "=3D")[60:] + "\n")
    forwarded = ("""From: postmaster@contoso.example
To: tlsrpt@contoso.example
Subject: Fwd: a report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble, not a part
--outer
Content-Type: text/plain

Forwarding the report below.
--outer
Content-Type: message/rfc822

""").encode() + to_lf(sys4_eml) + b"\n--outer--   \nepilogue\n"

    nopol = read(os.path.join(FIXTURES, "reportd-libtlsrpt-nopol.example.json"))
    nopol_mail = report_mail(
        "n", 'Content-Type: multipart/report; report-type="tlsrpt"; boundary="n"\nTLS-Report-Domain: nopol.example',
        'Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n'
        'Content-Disposition: attachment; filename="sender.e2e.test!nopol.example!1795910400!1795996799!1.json.gz"',
        b64lines(gz(nopol)))

    mbox = b"".join([
        mbox_entry("alice@example.net", UNRELATED),
        mbox_entry("tlsrpt-noreply@sender.e2e.test", sys4_eml),
        mbox_entry("tlsrpt-noreply@sender.example", our_eml),
        mbox_entry("noreply-dmarc@example.org", DMARC),
        mbox_entry("tlsrpt-noreply@sender.example", bad_base64),
        mbox_entry("tlsrpt-noreply@sender.example", no_attachment),
        mbox_entry("tlsrpt-noreply@sender.e2e.test", sys4_eml),
        mbox_entry("tlsrpt-noreply@microsoft.com", microsoft),
        mbox_entry("tlsrpt@mx.example.net", stalwart),
        mbox_entry("postmaster@contoso.example", forwarded),
        mbox_entry("tlsrpt-noreply@sender.e2e.test", nopol_mail),
    ])
    write("reports.mbox", mbox)

    pf311_good = read(os.path.join(FIXTURES, "reportd-pf311-good.test.json"))
    json_mail = report_mail(
        "j", 'Content-Type: multipart/report; report-type=tlsrpt; boundary="j"\nTLS-Report-Domain: good.test',
        'Content-Type: application/tlsrpt+json\nContent-Transfer-Encoding: 7bit', pf311_good.decode() + "\n")
    write("Maildir/cur/1796083201.M1P1.host:2,S", json_mail)
    write("Maildir/new/1796083202.M2P2.host", UNRELATED)
    write("Maildir/tmp/1796083203.M3P3.host", json_mail.replace(b"good.test", b"tmp.test"))
    write("Maildir/dovecot-uidlist", b"3 V1 N4\n")
    write("Maildir/.TLSRPT/cur/1796083204.M4P4.host:2,", microsoft)

    write("files/rfc8460-appendix-b.json", read(os.path.join(GOLDEN, "rfc8460-appendix-b.json")))
    https_body = read(os.path.join(FIXTURES, "reportd-libtlsrpt-example.org-https-post.json.gz"))
    write("files/sender.e2e.test!example.org!1795910400!1795996799!2.json.gz", https_body)
    write("files/body-with-crlf.gz", gz(read(os.path.join(FIXTURES, "reportd-pf311-bad.test.json"))) + b"\r\n")
    write("files/damaged/truncated.json.gz", https_body[: len(https_body) // 2])
    nopol = read(os.path.join(FIXTURES, "reportd-libtlsrpt-nopol.example.json"))
    write("files/damaged/broken.json", nopol[: len(nopol) - 40])
    write("files/damaged/missing-members.json", nopol.replace(b'"contact-info": "tlsrpt-noreply@sender.e2e.test", ', b"")
          .replace(b'"summary": {"total-failure-session-count": 1, "total-successful-session-count": 0}, ', b""))
    write("files/damaged/wrong-types.json", nopol.replace(b'"failed-session-count": 1', b'"failed-session-count": "1"'))
    write("files/damaged/foreign.json", b'{"feedback": {"report_metadata": {"org_name": "not a TLSRPT report"}}}\n')
    write("files/damaged/datagram.json", read(os.path.join(FIXTURES, "pf311-good-success.dgram")))
    write("files/damaged/bomb.json.gz", gz(b"{" + b" " * (17 * 1024 * 1024) + b"}"))
    write("files/damaged/empty.json", b"")
    write("files/damaged/not-gzip.json.gz", b"PK\x03\x04 a zip file, not gzip\n")
    write("files/unrelated/notes.txt", b"Nothing to see here.\n")
    write("files/unrelated/example.org!contoso.example!1796000000!1796086399.xml.gz", gz(b"<feedback/>\n"))
    write("files/unrelated/.hidden.json", b"not read: dot files are left out\n")


if __name__ == "__main__":
    main()
