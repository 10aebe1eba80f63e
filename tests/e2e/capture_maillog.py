"""Captures real Postfix mail-log lines for the mail-log parser's fixtures (not a test: it
asserts nothing about mtastsd). Runs Debian's Postfix in the e2e test world (DNS, STARTTLS
receivers, the real mtastsd as policy server) through the line forms the e2e scenarios do not
produce: several recipients in one message, an unknown CA, a TLS handshake that breaks (under
a policy and opportunistically), two MX hosts without STARTTLS, a refused connection, plaintext
delivery, connection reuse through tlsproxy(8), and a relayhost. Writes one log per phase.

Run (root, from the repo root):
  tests/world/run_in_netns.sh /usr/bin/python3 tests/e2e/capture_maillog.py \
      --mtastsd build/daemon/mtastsd OUTDIR
See tests/fixtures/maillog/README.md.
"""
import asyncio
import os
import shutil
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from daemon_harness import Daemon, take_binary_arg  # noqa: E402
from e2e_world import EXPIRED, GOOD, NO_TLS, OTHER_NAME, SELF_SIGNED, _e2e, mx_address  # noqa: E402
from postfix_instance import SENDER, PostfixInstance  # noqa: E402
from receivers import Receivers, self_signed  # noqa: E402
from scenarios import NOTFOUND  # noqa: E402
from world import World  # noqa: E402

UNKNOWN_CA = "unknownca"    # issued by the world's second CA, which Postfix does not trust
BROKEN = "broken"          # offers STARTTLS, answers the ClientHello with a fatal alert
REFUSED = "refused"        # nothing listens

ROWS = [
    _e2e("good.test", 1, [GOOD]),
    _e2e("badname.test", 2, [OTHER_NAME]),
    _e2e("selfsigned.test", 3, [SELF_SIGNED]),
    _e2e("expiredcert.test", 4, [EXPIRED]),
    _e2e("nostarttls.test", 5, [NO_TLS]),
    _e2e("unknownca.test", 6, [UNKNOWN_CA]),
    _e2e("twonostarttls.test", 7, [NO_TLS, NO_TLS],
         mx=[(10, "mx.twonostarttls.test"), (20, "mx2.twonostarttls.test")]),
    _e2e("brokentls.test", 8, [BROKEN]),
    _e2e("brokenmay.test", 9, [BROKEN], txt=[], reply=NOTFOUND, exit=1),
    _e2e("refused.test", 10, [REFUSED]),
    _e2e("norecord.test", 11, [SELF_SIGNED], txt=[], reply=NOTFOUND, exit=1),
    _e2e("plain.test", 12, [NO_TLS], txt=[], reply=NOTFOUND, exit=1),
]

ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x01\x00\x02\x02\x28"


class BrokenTlsServer:
    """A minimal SMTP server that offers STARTTLS, says 220 to it, then answers the TLS
    ClientHello with a fatal handshake_failure alert and closes. Plaintext sessions (Postfix's
    retry after a failed opportunistic handshake) get a working SMTP dialog."""

    def __init__(self, name, addr):
        self.name, self.addr = name, addr
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = None

    async def _session(self, reader, writer):
        async def say(text):
            writer.write(text.encode() + b"\r\n")
            await writer.drain()
        try:
            await say(f"220 {self.name} ESMTP")
            while True:
                line = (await reader.readline()).decode(errors="replace").strip()
                verb = line.split(" ")[0].upper()
                if not line or verb == "QUIT":
                    await say("221 2.0.0 Bye")
                    break
                if verb == "EHLO":
                    await say(f"250-{self.name}\r\n250-STARTTLS\r\n250 8BITMIME")
                elif verb == "STARTTLS":
                    await say("220 2.0.0 Ready to start TLS")
                    await reader.read(1)  # the ClientHello has begun
                    writer.write(ALERT_HANDSHAKE_FAILURE)
                    await writer.drain()
                    break
                elif verb == "DATA":
                    await say("354 End data with <CR><LF>.<CR><LF>")
                    while (await reader.readline()) not in (b".\r\n", b""):
                        pass
                    await say(f"250 2.0.0 OK stored by {self.name}")
                else:
                    await say("250 2.0.0 OK")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def start(self):
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._session, self.addr, 25), self.loop).result(10)

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def start_receivers(world, cert_dir):
    recv, broken = Receivers(), []
    for row in ROWS:
        for i, (host, kind) in enumerate(row["receivers"]):
            addr = mx_address(row, i)
            if kind == REFUSED:
                continue
            if kind == BROKEN:
                server = BrokenTlsServer(host, addr)
                server.start()
                broken.append(server)
                continue
            cert = {GOOD: lambda: world.issue_cert([host]),
                    OTHER_NAME: lambda: world.issue_cert(["mx.other-name.test"], label=f"o-{host}"),
                    EXPIRED: lambda: world.issue_cert([host], expired=True),
                    UNKNOWN_CA: lambda: world.issue_cert([host], untrusted=True),
                    SELF_SIGNED: lambda: self_signed(cert_dir, host),
                    NO_TLS: lambda: None}[kind]()
            recv.add(host, addr, cert)
    return recv, broken


def send(pf, *rcpts, subject="capture"):
    """sendmail with several recipients in one message; returns the Message of the first."""
    msg = pf.send(rcpts[0], subject=subject) if len(rcpts) == 1 else None
    if msg is None:
        from postfix_instance import Message
        import uuid
        msgid = f"<capture-{uuid.uuid4().hex}@sender.e2e.test>"
        body = f"From: <{SENDER}>\nSubject: {subject}\nMessage-ID: {msgid}\n\nbody\n"
        pf._cmd(["sendmail", "-C", pf.conf_dir, "-i", "-f", SENDER, "--", *rcpts], stdin=body)
        msg = Message(pf, rcpts[0], msgid)
    return msg


def run_phase(name, world, port, out_dir, sends, extra=None, master_extra=""):
    """One Postfix instance: sends each group of recipients (a message per group, in order,
    waiting for its status lines when `wait` is set), then copies its log to OUT/<name>.log."""
    pf = PostfixInstance(world.ca_file, port, extra=extra)
    try:
        if master_extra:
            with open(os.path.join(pf.conf_dir, "master.cf"), "a") as f:
                f.write(master_extra)
        pf.start()
        pending = []
        for rcpts, wait in sends:
            msg = send(pf, *rcpts)
            if wait:
                msg.wait_status(count=len(rcpts), timeout=60)
            else:
                pending.append((msg, len(rcpts)))
        for msg, count in pending:
            msg.wait_status(count=count, timeout=60)
        shutil.copyfile(pf.log_path, os.path.join(out_dir, f"{name}.log"))
        print(f"{name}: {len(pf.log.lines())} lines")
    finally:
        pf.stop()


def main():
    binary = take_binary_arg(sys.argv)
    out_dir = os.path.abspath(sys.argv[1])
    os.makedirs(out_dir, exist_ok=True)
    world = World(scenarios=ROWS).__enter__()
    cert_dir = tempfile.mkdtemp(prefix="mtasts-capture-certs-")
    recv = broken = daemon = None
    try:
        world.bind_resolv_conf()
        recv, broken = start_receivers(world, cert_dir)
        daemon = Daemon(binary, world)
        daemon.start()
        one = [(["user1@good.test", "user2@good.test"], False)] + [
            ([f"user@{d}"], False) for d in
            ("badname.test", "selfsigned.test", "expiredcert.test", "nostarttls.test",
             "unknownca.test", "twonostarttls.test", "brokentls.test", "brokenmay.test",
             "refused.test", "norecord.test", "plain.test")]
        run_phase("postfix-3.7-capture", world, daemon.port, out_dir, one)
        # Connection reuse: TLS connections are cached only through tlsproxy(8).
        reuse = {"smtp_tls_connection_reuse": "yes",
                 "smtp_connection_cache_destinations": "good.test norecord.test selfsigned.test",
                 "smtp_connection_cache_on_demand": "yes"}
        tlsproxy = "tlsproxy  unix  -       -       n       -       0       tlsproxy\n"
        sends = ([(["user@good.test"], True)] * 3 + [(["a@good.test", "b@good.test"], True)]
                 + [(["user@norecord.test"], True)] * 2 + [(["user@selfsigned.test"], True)] * 2)
        run_phase("postfix-3.7-tlsproxy", world, daemon.port, out_dir, sends, extra=reuse,
                  master_extra=tlsproxy)
        # A relayhost: every status line names the relay, never the recipient's MX.
        relay = {"relayhost": "[mx.good.test]:25"}
        run_phase("postfix-3.7-relayhost", world, daemon.port, out_dir,
                  [(["user@norecord.test"], False), (["user@elsewhere.test"], False)], extra=relay)
    finally:
        if daemon:
            daemon.stop()
            shutil.rmtree(daemon.dir, ignore_errors=True)
        if recv:
            recv.stop()
        for server in broken or []:
            server.stop()
        shutil.rmtree(cert_dir, ignore_errors=True)
        world.__exit__(None, None, None)


if __name__ == "__main__":
    main()
