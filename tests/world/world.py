"""The MTA-STS test world: a test CA and an untrusted CA, per-host certificates, an unbound on
127.0.0.53:53 serving every scenario of scenarios.py, and one policy_server.py process with an
HTTPS (or misbehaving) listener on 443 of each scenario's 127.0.50.N address. World(dnssec=True)
adds the DANE rows (scenarios.DANE_SCENARIOS): a zone signed per run (dnssec.py) served by an
authoritative unbound on 127.0.0.56 and delegated from the world zone, and a validating unbound
on 127.0.0.55; the plain resolver on .53 answers as before.

`with World() as w:` builds everything in a temp dir and tears it down (process groups killed,
hard timeouts). Must run inside the private network+mount namespace of run_in_netns.sh (it
refuses otherwise: it binds port 53). Failures raise WorldError with the relevant log tail.
Python 3 stdlib only; runs on /usr/bin/python3.
"""
import datetime
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsquery  # noqa: E402
import dnssec  # noqa: E402
from scenarios import DANE_SCENARIOS, SCENARIOS, SIGNED_ZONE  # noqa: E402

DNS_ADDR = "127.0.0.53"
REFUSING_DNS_ADDR = "127.0.0.54"   # forwarder target of "servfail" zones: answers REFUSED
ELSEWHERE = "elsewhere.test"       # zone holding CNAME targets
VALIDATING_DNS_ADDR = dnssec.VALIDATING_DNS_ADDR  # World(dnssec=True): validating resolver
SIGNED_AUTH_ADDR = dnssec.SIGNED_AUTH_ADDR        # World(dnssec=True): serves SIGNED_ZONE


class WorldError(RuntimeError):
    pass


def die_with_parent():
    """preexec_fn: SIGKILL the child when its parent dies (e.g. the test killed by a timeout),
    since start_new_session puts it outside the process group `timeout` signals."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _run(cmd, cwd=None, timeout=30):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise WorldError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def _stamp(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


class CertAuthority:
    """A CA made with the openssl CLI; issues leaf certificates through `openssl ca`, which,
    unlike `openssl x509 -req`, can set any validity window (expired certificates)."""

    def __init__(self, base, name):
        self.dir = os.path.join(base, name)
        os.makedirs(os.path.join(self.dir, "new"))
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(f"""[ca]
default_ca = ca_default
[ca_default]
dir = {self.dir}
database = $dir/index.txt
new_certs_dir = $dir/new
certificate = {self.cert}
private_key = {self.key}
serial = $dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[policy_any]
commonName = supplied
""")
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "3650",
              "-subj", f"/CN=mtastsd {name} CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    def issue(self, out_dir, label, names, expired=False, san=True):
        """Returns (cert path, key path) for a leaf valid for DNS names `names`; with
        san=False the first name is only the subject CN (no subjectAltName at all)."""
        key = os.path.join(out_dir, f"{label}.key")
        csr = os.path.join(out_dir, f"{label}.csr")
        crt = os.path.join(out_dir, f"{label}.pem")
        ext = os.path.join(out_dir, f"{label}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
            if san:
                f.write("subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
        _run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={names[0]}"])
        now = datetime.datetime.now(datetime.timezone.utc)
        if expired:
            start, end = now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)
        else:
            start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        _run(["openssl", "ca", "-config", self.conf, "-batch", "-notext", "-in", csr, "-out", crt,
              "-startdate", _stamp(start), "-enddate", _stamp(end), "-extfile", ext])
        return crt, key


class World(dnssec.SignedWorld):
    Error = WorldError

    def __init__(self, scenarios=None, keep=None, allow_host=False, dnssec=False):
        self.scenarios = list(SCENARIOS if scenarios is None else scenarios)
        self.dnssec = dnssec
        if dnssec:  # the DANE rows, unless the caller passed (its own copies of) them
            given = {s["domain"] for s in self.scenarios}
            self.scenarios += [s for s in DANE_SCENARIOS if s["domain"] not in given]
        elif any(s.get("zone") for s in self.scenarios):
            raise WorldError("rows of the signed zone need World(dnssec=True)")
        self.by_domain = {s["domain"]: s for s in self.scenarios}
        self.keep = os.environ.get("MTASTS_WORLD_KEEP") == "1" if keep is None else keep
        self.allow_host = allow_host or os.environ.get("MTASTS_WORLD_ALLOW_HOST") == "1"
        self.dns_server = DNS_ADDR
        self.validating_dns_server = VALIDATING_DNS_ADDR if dnssec else None
        self.trust_anchor_file = None   # World(dnssec=True): DS of SIGNED_ZONE (root.key format)
        self.mx_certs = {}              # MX host -> (cert, key) issued by the world (DANE rows)
        self.tlsa_data = {}             # MX host -> hex SHA-256 of its TLSA 3 1 1 record
        self.dir = None
        self.procs = {}

    # ----- lifecycle -----
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if os.environ.get("MTASTS_NETNS") != "1" and not self.allow_host:
            raise WorldError("refusing to bind port 53/443 outside a private network namespace:"
                             " run through tests/world/run_in_netns.sh")
        self.dir = tempfile.mkdtemp(prefix="mtasts-world-")
        for sub in ("certs", "policies"):
            os.makedirs(os.path.join(self.dir, sub))
        self.ca = CertAuthority(self.dir, "test")
        self.untrusted_ca = CertAuthority(self.dir, "untrusted")
        self.ca_file = self.ca.cert
        self.untrusted_ca_file = self.untrusted_ca.cert
        self.server_log = os.path.join(self.dir, "servers.log")
        self.unbound_log = os.path.join(self.dir, "unbound.log")
        self._start_servers()
        if self.dnssec:
            self._start_signed_zone()
        self._start_unbound()
        if self.dnssec:
            self._start_validator()

    def stop(self):
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(timeout=3)
            if proc.stdout:
                proc.stdout.close()
            del self.procs[name]
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            print(f"test world kept in {self.dir}", file=sys.stderr)

    # ----- certificates and servers -----
    def issue_cert(self, names, untrusted=False, expired=False, label=None, san=True):
        """Issues a leaf for `names` (e.g. MX hosts for Postfix end-to-end tests)."""
        ca = self.untrusted_ca if untrusted else self.ca
        label = label or re.sub(r"[^a-z0-9.-]", "_", names[0].lower())
        return ca.issue(os.path.join(self.dir, "certs"), label, names, expired=expired, san=san)

    def policy_file(self, domain):
        return os.path.join(self.dir, "policies", domain + ".txt")

    def set_policy(self, domain, body):
        """Replaces the body served for `domain` (read by the server on every request)."""
        tmp = self.policy_file(domain) + ".tmp"
        with open(tmp, "w", newline="") as f:
            f.write(body)
        os.replace(tmp, self.policy_file(domain))

    def _cert_for(self, s):
        d = s["domain"]
        kind = s["cert"]
        if kind == "wildcard":
            return self.issue_cert([f"*.{d}"])
        if kind == "wrongname":
            return self.issue_cert([f"mta-sts.not-{d}"], label=f"mta-sts.{d}")
        if kind == "cnonly":
            return self.issue_cert([f"mta-sts.{d}"], san=False)
        return self.issue_cert([f"mta-sts.{d}"], untrusted=(kind == "untrusted"),
                               expired=(kind == "expired"))

    def _start_servers(self):
        listeners = [{"addr": REFUSING_DNS_ADDR, "port": 53, "kind": "udp-refuse"}]
        for s in self.scenarios:
            self.set_policy(s["domain"], s["policy"])
            if s["kind"] == "refused" or s["dns"] != "static":
                continue
            lcfg = {"addr": s["addr"], "port": 443, "kind": s["kind"], "behaviour": s["behaviour"],
                    "content_type": s["content_type"], "policy_file": self.policy_file(s["domain"])}
            if s["kind"] == "https":
                lcfg["cert"], lcfg["key"] = self._cert_for(s)
            listeners.append(lcfg)
        cfg_path = os.path.join(self.dir, "servers.json")
        with open(cfg_path, "w") as f:
            json.dump({"log": self.server_log, "listeners": listeners}, f, indent=1)
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(self.dir, "servers.err"), "w") as err:
            proc = subprocess.Popen([sys.executable, os.path.join(here, "policy_server.py"), cfg_path],
                                    stdout=subprocess.PIPE, stderr=err, start_new_session=True, text=True,
                                    preexec_fn=die_with_parent)
        self.procs["servers"] = proc
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "READY":
            raise WorldError("policy server did not start: " + self._tail("servers.err"))

    # ----- DNS -----
    # All data lives in one auth-zone for "." served with for-upstream, so unbound's iterator
    # answers like a real recursive resolver: CNAME chains are chased across zones, unknown
    # names get NXDOMAIN, "servfail" domains are delegated to a server that answers REFUSED
    # (unbound turns that into SERVFAIL), "silent" domains are dropped by a local-zone deny.
    def _zone_records(self, txt_override=None):
        txt_override = txt_override or {}
        rr = [". 300 IN SOA ns.world.test. hostmaster.world.test. 1 3600 600 86400 300",
              ". 300 IN NS ns.world.test.", f"ns.world.test. 300 IN A {DNS_ADDR}",
              f"ns.refuser.test. 300 IN A {REFUSING_DNS_ADDR}"]
        if self.dnssec:  # an unsigned delegation: the plain resolver sees the zone as insecure
            rr += [f"{SIGNED_ZONE}. 300 IN NS ns.{SIGNED_ZONE}.",
                   f"ns.{SIGNED_ZONE}. 300 IN A {SIGNED_AUTH_ADDR}"]
        for s in self.scenarios:
            if not s.get("zone"):
                rr += self._row_records(s, txt_override)
        return rr

    def _row_records(self, s, txt_override=None):
        """The records of one row: servfail delegation, TXT, policy host, MX and MX hosts."""
        txt_override = txt_override or {}
        rr = []
        d = s["domain"]
        if s["dns"] == "servfail":
            rr.append(f"{d}. 300 IN NS ns.refuser.test.")
        elif s["dns"] != "silent":
            ttl = 0 if d in txt_override or s["domain"] == "changing.test" else 300
            rr.append(f"{d}. 300 IN TXT \"v=spf1 -all\"")
            for txt in txt_override.get(d, s["txt"]):
                rr.append(self._txt_rr(f"_mta-sts.{d}.", txt, ttl))
            if s["txt_cname"]:
                rr.append(f"_mta-sts.{d}. 300 IN CNAME {s['txt_cname']}.")
                rr.append(self._txt_rr(s["txt_cname"] + ".",
                                       [f"v=STSv1; id=cname{s['addr'].split('.')[-1]}"]))
            if s["host"] == "a":
                rr.append(f"mta-sts.{d}. 300 IN A {s['addr']}")
            elif s["host"] == "cname":
                target = f"policy-host.{ELSEWHERE}"
                rr.append(f"mta-sts.{d}. 300 IN CNAME {target}.")
                rr.append(f"{target}. 300 IN A {s['addr']}")
            for txt in s.get("smtp_tls_txt", []):  # RRs of _smtp._tls.<domain> (TLSRPT), optional
                rr.append(self._txt_rr(f"_smtp._tls.{d}.", txt))
            for i, (pref, host) in enumerate(s["mx"]):
                rr.append(f"{d}. 300 IN MX {pref} {host}.")
                o = s["mx_addr"].split(".")
                rr.append(f"{host}. 300 IN A {o[0]}.{o[1]}.{int(o[2]) + i}.{o[3]}")
        return rr

    def _write_zone(self):
        tmp = self.zone_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(self._zone_records(self.txt_override)) + "\n")
        os.replace(tmp, self.zone_file)

    @staticmethod
    def _txt_rr(name, strings, ttl=300):
        quoted = " ".join('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"' for t in strings)
        return f"{name} {ttl} IN TXT {quoted}"

    def _start_unbound(self):
        self.txt_override = {}
        self.zone_file = os.path.join(self.dir, "world.zone")
        self._write_zone()
        self.unbound_conf = os.path.join(self.dir, "unbound.conf")
        self.unbound_ctl = os.path.join(self.dir, "unbound.ctl")
        lines = ["server:",
                 f"  interface: {DNS_ADDR}", "  port: 53", "  do-ip6: no",
                 "  do-daemonize: no", '  username: ""', '  chroot: ""',
                 f'  directory: "{self.dir}"', f'  pidfile: "{self.dir}/unbound.pid"',
                 f'  logfile: "{self.unbound_log}"', "  use-syslog: no", "  log-queries: yes",
                 "  verbosity: 1", "  num-threads: 1", "  do-not-query-localhost: no",
                 '  module-config: "iterator"', "  access-control: 127.0.0.0/8 allow",
                 "  qname-minimisation: no", "  minimal-responses: yes",
                 "  infra-host-ttl: 1", "  infra-keep-probing: yes",
                 '  local-zone: "test." nodefault']  # unbound serves test. as NXDOMAIN by default
        lines += [f'  local-zone: "{s["domain"]}." deny' for s in self.scenarios if s["dns"] == "silent"]
        lines += ["auth-zone:", '  name: "."', f'  zonefile: "{self.zone_file}"',
                  "  for-upstream: yes", "  for-downstream: no", "  fallback-enabled: no"]
        lines += ["remote-control:", "  control-enable: yes",
                  f'  control-interface: "{self.unbound_ctl}"', "  control-use-cert: no"]
        with open(self.unbound_conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self._spawn_unbound("unbound", self.unbound_conf, DNS_ADDR, "ns.world.test")

    def _spawn_unbound(self, name, conf, addr, probe):
        """Starts `unbound -d -c conf` as procs[name]; returns once `probe` A gets NOERROR.
        Its stderr goes to <dir>/<name>.err, its log to <dir>/<name>.log."""
        _run(["unbound-checkconf", conf])
        with open(os.path.join(self.dir, f"{name}.err"), "w") as err:
            self.procs[name] = subprocess.Popen(["unbound", "-d", "-c", conf],
                                                stdout=subprocess.DEVNULL, stderr=err,
                                                start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                break
            try:
                if dnsquery.query(addr, probe, "A", timeout=0.3).rcode == "NOERROR":
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise WorldError(f"{name} did not answer: " + self._tail(f"{name}.err") + self._tail(f"{name}.log"))

    def dns(self, name, qtype, timeout=2.0):
        return dnsquery.query(DNS_ADDR, name, qtype, timeout=timeout)

    def unbound_control(self, *args):
        return _run(["unbound-control", "-c", self.unbound_conf] + list(args))

    def set_txt(self, domain, records):
        """Replaces the _mta-sts TXT RRset of `domain` at run time; records: list of string lists.
        Rewrites the zone file, reloads it and flushes the domain from unbound's cache."""
        if self.by_domain.get(domain, {}).get("zone"):
            raise WorldError(f"{domain} is in the signed zone: its TXT cannot change at run time")
        self.txt_override[domain] = records
        self._write_zone()
        self.unbound_control("auth_zone_reload", ".")
        self.unbound_control("flush_zone", domain)

    # ----- counters for the tests -----
    def server_events(self, event=None):
        out = []
        with open(self.server_log) as f:
            for line in f:
                ev = json.loads(line)
                if event is None or ev["event"] == event:
                    out.append(ev)
        return out

    def request_count(self, domain):
        """HTTP requests that reached the policy host of `domain` (after TLS)."""
        addr = self.by_domain[domain]["addr"]
        return sum(1 for ev in self.server_events("request") if ev["addr"] == addr)

    def connection_count(self, domain):
        addr = self.by_domain[domain]["addr"]
        return sum(1 for ev in self.server_events("accept") if ev["addr"] == addr)

    def dns_query_count(self, name, qtype):
        """Queries unbound received for name/qtype (log-queries), from any client."""
        pat = re.compile(r"info: \S+ " + re.escape(name.rstrip(".")) + r"\. " + qtype + r" IN$",
                         re.IGNORECASE)
        with open(self.unbound_log, errors="replace") as f:
            return sum(1 for line in f if pat.search(line.rstrip("\n")))

    def resolv_conf(self, validating=False):
        """Writes a resolv.conf naming the world's DNS server; returns its path. validating=True
        names the validating resolver instead, with `options trust-ad`: glibc (2.31+) clears
        the AD bit of answers unless told to trust the server, and Postfix's DANE needs it."""
        if validating and not self.dnssec:
            raise WorldError("resolv_conf(validating=True) needs World(dnssec=True)")
        path = os.path.join(self.dir, "resolv-validating.conf" if validating else "resolv.conf")
        with open(path, "w") as f:
            if validating:
                f.write(f"nameserver {VALIDATING_DNS_ADDR}\noptions trust-ad timeout:2 attempts:1\n")
            else:
                f.write(f"nameserver {DNS_ADDR}\noptions timeout:2 attempts:1\n")
        return path

    def bind_resolv_conf(self, validating=False):
        """Bind-mounts resolv_conf() over /etc/resolv.conf (private mount namespace only)."""
        if os.environ.get("MTASTS_NETNS") != "1":
            raise WorldError("bind_resolv_conf only inside run_in_netns.sh")
        _run(["mount", "--bind", self.resolv_conf(validating), "/etc/resolv.conf"])

    def _tail(self, name, n=20):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return "\n" + "".join(f.readlines()[-n:])
        except OSError:
            return ""
