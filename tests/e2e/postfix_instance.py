"""A sending Postfix instance for end-to-end tests: its own config, queue and data directories
under one temp dir (nothing in /etc/postfix is read or changed), a minimal master.cf without
chroot, and its log in a file (maillog_file + postlogd). Needs root (inside run_in_netns.sh).

`PostfixInstance(...).start()`; `send(rcpt)` returns a Message whose queue id and status lines
are read from the log by `wait_status()` (bounded polling). `MailLog` parses the log and ties
the TLS lines (which carry no queue id) to the next status line of the same smtp[PID].
Failures raise PostfixError with the log tail. Python 3 stdlib only.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

SENDER = "e2e@sender.e2e.test"

MASTER_CF = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixError(RuntimeError):
    pass


# "Mon DD HH:MM:SS host postfix/smtp[123]: rest"
LINE_RE = re.compile(r"\spostfix/([\w/-]+)\[(\d+)\]: (.*)$")
QID_RE = re.compile(r"^([0-9A-Za-z]{6,}): (.*)$")
STATUS_RE = re.compile(r"to=<([^>]*)>.*?, relay=([^,]+),.*?, dsn=([\d.]+), status=(\w+) (.*)$")
TLS_RE = re.compile(r"^(Verified|Trusted|Untrusted|Anonymous) TLS connection established to ([^:\[]+)")


class Status:
    """One delivery attempt of one recipient: a status= line plus the TLS lines the same
    smtp process logged since its previous status line."""

    def __init__(self, qid, rcpt, relay, dsn, status, detail, tls_lines, context_lines):
        self.qid, self.rcpt, self.relay, self.dsn = qid, rcpt, relay, dsn
        self.status, self.detail = status, detail
        self.tls_lines = tls_lines          # "Verified TLS connection established to ..." etc.
        self.context_lines = context_lines  # every line of that smtp process since its last status

    def tls_kinds(self):
        return [TLS_RE.match(t).group(1) for t in self.tls_lines]

    def __repr__(self):
        return (f"Status({self.qid} to=<{self.rcpt}> relay={self.relay} dsn={self.dsn} "
                f"status={self.status} {self.detail} tls={self.tls_kinds()})")


class MailLog:
    def __init__(self, path):
        self.path = path

    def lines(self):
        try:
            with open(self.path, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def parse(self):
        """Returns (message-id -> queue id, list of Status in log order)."""
        msgids, statuses, pending = {}, [], {}
        for line in self.lines():
            m = LINE_RE.search(line)
            if not m:
                continue
            prog, pid, rest = m.group(1), m.group(2), m.group(3)
            q = QID_RE.match(rest)
            if prog.endswith("cleanup") and q and q.group(2).startswith("message-id="):
                msgids[q.group(2)[len("message-id="):].strip()] = q.group(1)
                continue
            key = (prog, pid)
            s = STATUS_RE.search(q.group(2)) if q else None
            if s:
                ctx = pending.pop(key, [])
                tls = [c for c in ctx if TLS_RE.match(c)]
                statuses.append(Status(q.group(1), s.group(1), s.group(2), s.group(3), s.group(4),
                                       s.group(5), tls, ctx))
            elif prog.endswith("smtp"):
                pending.setdefault(key, []).append(rest)
        return msgids, statuses

    def tail(self, n=40):
        return "\n".join(self.lines()[-n:])


class Message:
    def __init__(self, instance, rcpt, msgid):
        self.instance, self.rcpt, self.msgid = instance, rcpt, msgid
        self.qid = None

    def statuses(self):
        msgids, statuses = self.instance.log.parse()
        self.qid = self.qid or msgids.get(self.msgid)
        return [s for s in statuses if self.qid and s.qid == self.qid]

    def wait_status(self, count=1, timeout=60.0, want=None):
        """Waits until the message has `count` status lines (or one with status `want`);
        returns the last one."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.statuses()
            if want and any(s.status == want for s in st):
                return [s for s in st if s.status == want][-1]
            if not want and len(st) >= count:
                return st[count - 1]
            if time.monotonic() > deadline:
                raise PostfixError(f"no status line for {self.rcpt} ({self.msgid}, queue id "
                                   f"{self.qid}) within {timeout}s; got {st}\n--- log tail ---\n"
                                   + self.instance.log.tail())
            time.sleep(0.1)


class PostfixInstance:
    def __init__(self, ca_file, policy_port, extra=None):
        """ca_file None: no smtp_tls_CAfile (no Web PKI trust at all, so a Verified line can only
        come from DANE); policy_port None: no smtp_tls_policy_maps."""
        self.dir = tempfile.mkdtemp(prefix="mtasts-e2e-postfix-")
        os.chmod(self.dir, 0o755)  # postfix-owned processes traverse it
        self.conf_dir = os.path.join(self.dir, "etc")
        self.queue_dir = os.path.join(self.dir, "queue")
        self.data_dir = os.path.join(self.dir, "data")
        for d in (self.conf_dir, self.queue_dir, self.data_dir):
            os.makedirs(d)
        shutil.chown(self.data_dir, "postfix", "postfix")
        self.log_path = os.path.join(self.dir, "postfix.log")
        self.log = MailLog(self.log_path)
        ca_copy = None
        if ca_file:
            ca_copy = os.path.join(self.conf_dir, "ca.pem")
            shutil.copyfile(ca_file, ca_copy)
            os.chmod(ca_copy, 0o644)
        self.main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix", "setgid_group": "postdrop",
            "myhostname": "sender.e2e.test", "mydomain": "e2e.test", "myorigin": "$myhostname",
            "mydestination": "", "relay_domains": "", "mynetworks": "127.0.0.0/8",
            "inet_interfaces": "loopback-only", "inet_protocols": "ipv4",
            "alias_maps": "", "alias_database": "", "biff": "no",
            "local_transport": "discard:local delivery disabled",
            "maillog_file": self.log_path, "maillog_file_prefixes": self.dir,
            "smtp_tls_security_level": "may",
            "smtp_tls_loglevel": "1",
            "smtp_tls_CAfile": ca_copy,
            "smtp_tls_policy_maps": f"socketmap:inet:127.0.0.1:{policy_port}:postfix",
            # one TLS handshake (and so one TLS log line) per delivery
            "smtp_connection_cache_on_demand": "no",
            "smtp_connect_timeout": "5s", "smtp_helo_timeout": "15s",
            "smtp_starttls_timeout": "15s",
            "bounce_queue_lifetime": "1d", "maximal_queue_lifetime": "1d",
        }
        if not ca_copy:
            del self.main_cf["smtp_tls_CAfile"]
        if policy_port is None:
            del self.main_cf["smtp_tls_policy_maps"]
        self.main_cf.update(extra or {})
        with open(os.path.join(self.conf_dir, "main.cf"), "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in self.main_cf.items()))
        with open(os.path.join(self.conf_dir, "master.cf"), "w") as f:
            f.write(MASTER_CF)
        self.started = False

    def _cmd(self, argv, timeout=60, check=True, stdin=None):
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise PostfixError(f"{' '.join(argv)} exited {p.returncode}: {p.stdout}{p.stderr}"
                               f"\n--- log tail ---\n{self.log.tail()}")
        return p

    def start(self):
        self._cmd(["postfix", "-c", self.conf_dir, "check"], check=False)
        self._cmd(["postfix", "-c", self.conf_dir, "start"])
        self.started = True
        deadline = time.monotonic() + 20  # master and qmgr up: "daemon started" in the log
        while not any("daemon started" in line for line in self.log.lines()):
            if time.monotonic() > deadline:
                raise PostfixError("postfix did not log 'daemon started':\n" + self.log.tail())
            time.sleep(0.1)
        return self

    def stop(self, remove=True):
        if self.started:
            self._cmd(["postfix", "-c", self.conf_dir, "stop"], check=False)
            self._cmd(["postfix", "-c", self.conf_dir, "abort"], check=False)
            self.started = False
        if remove and os.environ.get("MTASTS_WORLD_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        elif remove:
            print(f"postfix instance kept in {self.dir}")

    def send(self, rcpt, subject="mtastsd e2e"):
        msgid = f"<e2e-{uuid.uuid4().hex}@sender.e2e.test>"
        body = (f"From: <{SENDER}>\nTo: <{rcpt}>\nSubject: {subject}\nMessage-ID: {msgid}\n\n"
                f"end-to-end test message {msgid}\n")
        self._cmd(["sendmail", "-C", self.conf_dir, "-i", "-f", SENDER, "--", rcpt], stdin=body)
        return Message(self, rcpt, msgid)

    def flush(self):
        self._cmd(["postqueue", "-c", self.conf_dir, "-f"])

    def queue_ids(self):
        p = self._cmd(["postqueue", "-c", self.conf_dir, "-j"], check=False)
        return [line for line in p.stdout.splitlines() if line.strip()]

    def postmap_query(self, key, port):
        p = self._cmd(["postmap", "-c", self.conf_dir, "-q", key,
                       f"socketmap:inet:127.0.0.1:{port}:postfix"], check=False)
        return p.returncode, p.stdout.strip()
