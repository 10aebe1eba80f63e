"""Receiving SMTP servers for the end-to-end tests: one aiosmtpd Controller (own event loop
thread) per MX address on port 25, optionally offering STARTTLS with a given certificate, each
recording the messages it accepted (envelope, whether the session was TLS).

Owned by the test module; `stop()` ends every thread. Needs Debian's python3-aiosmtpd on
/usr/bin/python3. Errors while starting raise from Controller.start().
"""
import os
import ssl
import subprocess
import threading

try:
    from aiosmtpd.controller import Controller
except ImportError:  # no python3-aiosmtpd: test_postfix.py reports the test as skipped
    Controller = None


class Recorder:
    """aiosmtpd handler: stores every accepted message."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.messages = []
        self.ehlo_count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.ehlo_count += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "content": envelope.content.decode("utf-8", "replace")
                if isinstance(envelope.content, bytes) else envelope.content,
                "tls": session.ssl is not None,
            })
        return "250 2.0.0 OK stored by " + self.name

    def received(self):
        with self.lock:
            return list(self.messages)

    def received_msgid(self, msgid):
        return [m for m in self.received() if msgid in m["content"]]


def self_signed(out_dir, name):
    """A self-signed leaf for `name` (no CA involved); returns (cert, key)."""
    crt, key = os.path.join(out_dir, f"self-{name}.pem"), os.path.join(out_dir, f"self-{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True, timeout=30)
    return crt, key


class Receivers:
    def __init__(self):
        self.controllers = {}
        self.recorders = {}

    def add(self, name, addr, cert=None, port=25):
        """Starts a receiver on addr:port; with `cert` = (cert, key) it offers STARTTLS."""
        ctx = None
        if cert:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert[0], cert[1])
        rec = Recorder(name)
        kwargs = {"tls_context": ctx, "require_starttls": False} if ctx else {}
        c = Controller(rec, hostname=addr, port=port, server_hostname=name, ready_timeout=10,
                       **kwargs)
        c.start()
        self.controllers[name] = c
        self.recorders[name] = rec
        return rec

    def __getitem__(self, name):
        return self.recorders[name]

    def stop(self):
        for c in self.controllers.values():
            try:
                c.stop()
            except Exception:  # noqa: BLE001 - teardown must reach every controller
                pass
        self.controllers.clear()
