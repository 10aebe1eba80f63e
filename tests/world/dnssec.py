"""The DNSSEC half of the test world (World(dnssec=True)): a zone signed at run time with
Debian's ldnsutils (ldns-keygen: fresh ECDSA P-256 KSK + ZSK per run; ldns-signzone: NSEC3,
0 iterations, no salt, per RFC 9276), RRSIGs broken on purpose for the bogus rows, the DS
trust anchor file, TLSA data from certificates, and the unbound configurations of the two
servers that serve it: an authoritative unbound (auth-zone, for-downstream) and a validating
recursive unbound (validator + iterator, the DS as trust anchor, val-permissive-mode no).

The functions are pure file and config work; SignedWorld is the part of world.World that uses
them (World inherits it: it owns the processes, through World._spawn_unbound). Errors raise the
`fail` class given (World's WorldError) with the tool's stderr. Python 3 stdlib + ldnsutils.
"""
import base64
import datetime
import hashlib
import os
import shutil
import subprocess

import dnsquery
from scenarios import SIGNED_ZONE

VALIDATING_DNS_ADDR = "127.0.0.55"  # validating resolver (AD on secure data, SERVFAIL on bogus)
SIGNED_AUTH_ADDR = "127.0.0.56"     # authoritative server of SIGNED_ZONE

ALGORITHM = "ECDSAP256SHA256"   # algorithm 13: keys in milliseconds, small signatures
SIG_INCEPTION = datetime.timedelta(days=1)   # back-dated: clock skew never makes them "not yet valid"
SIG_LIFETIME = datetime.timedelta(days=30)
TOOLS = ("ldns-keygen", "ldns-signzone", "ldns-key2ds")


def _run(cmd, cwd, fail, stdin=None):
    p = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise fail(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def spki_sha256(cert_path, fail=RuntimeError):
    """SHA-256 of the certificate's DER SubjectPublicKeyInfo: the data of a TLSA 3 1 1 record
    (DANE-EE, SPKI, SHA2-256; RFC 6698 2.1, RFC 7672 3.1.1). Lower-case hex."""
    pem = _run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"], None, fail)
    p = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem.encode(),
                       capture_output=True, timeout=30)
    if p.returncode != 0 or not p.stdout:
        raise fail(f"openssl pkey -pubin failed for {cert_path}: {p.stderr.decode(errors='replace')}")
    return hashlib.sha256(p.stdout).hexdigest()


def tlsa_owner(mx_host, port=25):
    return f"_{port}._tcp.{mx_host.rstrip('.')}."


def _stamp(dt):
    return dt.strftime("%Y%m%d%H%M%S")


def _break_signature(line):
    """Flips one bit of the signature field (last token) of an RRSIG line: still well-formed,
    never valid (an ECDSA r||s with r changed)."""
    fields = line.split()
    sig = bytearray(base64.b64decode("".join(fields[12:])))
    sig[0] ^= 0x01
    return "\t".join(fields[:12] + [base64.b64encode(bytes(sig)).decode()])


def sign_zone(directory, origin, records, break_rrsigs=(), fail=RuntimeError):
    """Writes `records` (zone-file lines, apex SOA/NS included) as <origin>.zone in `directory`,
    makes a KSK and a ZSK, signs with NSEC3 and corrupts the RRSIG of each (owner, type) pair in
    `break_rrsigs`. Returns (signed zone path, trust anchor path): the anchor file holds the KSK's
    DS in zone-file form, like Debian's /usr/share/dns/root.key (what unbound's
    trust-anchor-file and getdns' trust anchor files read)."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        raise fail(f"{', '.join(missing)} not found: the DNSSEC world needs Debian's ldnsutils "
                   "(scripts/dev installs it)")
    origin = origin.rstrip(".") + "."
    os.makedirs(directory, exist_ok=True)
    zone = os.path.join(directory, origin + "zone")
    signed = os.path.join(directory, origin + "signed")
    with open(zone, "w") as f:
        f.write("\n".join(records) + "\n")
    ksk = _run(["ldns-keygen", "-a", ALGORITHM, "-k", origin], directory, fail).strip()
    zsk = _run(["ldns-keygen", "-a", ALGORITHM, origin], directory, fail).strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    _run(["ldns-signzone", "-n", "-t", "0", "-i", _stamp(now - SIG_INCEPTION),
          "-e", _stamp(now + SIG_LIFETIME), "-f", signed, zone, ksk, zsk], directory, fail)
    wanted = {(o.rstrip(".").lower() + ".", t.upper()) for o, t in break_rrsigs}
    broken = set()
    out = []
    with open(signed) as f:
        for line in f:
            fields = line.split()
            if len(fields) > 12 and fields[3] == "RRSIG" and (fields[0].lower(), fields[4]) in wanted:
                broken.add((fields[0].lower(), fields[4]))
                line = _break_signature(line) + "\n"
            out.append(line)
    if broken != wanted:
        raise fail(f"no RRSIG to break for {sorted(wanted - broken)} in {signed}")
    with open(signed, "w") as f:
        f.writelines(out)
    ds = _run(["ldns-key2ds", "-n", "-2", ksk + ".key"], directory, fail).strip()
    anchor = os.path.join(directory, "trust-anchor.ds")
    with open(anchor, "w") as f:
        f.write(ds + "\n")
    return signed, anchor


def _common(addr, directory, name):
    return ["server:", f"  interface: {addr}", "  port: 53", "  do-ip6: no",
            "  do-daemonize: no", '  username: ""', '  chroot: ""', f'  directory: "{directory}"',
            f'  pidfile: "{directory}/{name}.pid"', f'  logfile: "{directory}/{name}.log"',
            "  use-syslog: no", "  log-queries: yes", "  verbosity: 1", "  num-threads: 1",
            "  access-control: 127.0.0.0/8 allow", "  do-not-query-localhost: no",
            '  local-zone: "test." nodefault']  # unbound serves test. as NXDOMAIN by default


def authoritative_conf(addr, directory, origin, signed_zone):
    """An authoritative-only unbound: answers for `origin` from the signed file (AA, with RRSIGs
    and NSEC3 proofs for DO queries), refuses recursion elsewhere."""
    return "\n".join(_common(addr, directory, "signed-auth") + [
        '  module-config: "iterator"',
        "auth-zone:", f'  name: "{origin.rstrip(".")}."', f'  zonefile: "{signed_zone}"',
        "  for-downstream: yes", "  for-upstream: no", "  fallback-enabled: no"]) + "\n"


def validating_conf(addr, directory, origin, auth_addr, trust_anchor, upstream_addr, ctl):
    """A validating recursive unbound: `origin` straight from its authoritative server (stub),
    every other name forwarded to the world's plain resolver (so the unsigned world resolves as
    before, insecure: no trust anchor above it). AD on secure answers, SERVFAIL on bogus ones."""
    return "\n".join(_common(addr, directory, "validator") + [
        '  module-config: "validator iterator"', f'  trust-anchor-file: "{trust_anchor}"',
        "  val-permissive-mode: no", "  val-log-level: 2", "  qname-minimisation: no",
        "  infra-host-ttl: 1", "  infra-keep-probing: yes",
        "stub-zone:", f'  name: "{origin.rstrip(".")}."', f"  stub-addr: {auth_addr}",
        "forward-zone:", '  name: "."', f"  forward-addr: {upstream_addr}",
        "remote-control:", "  control-enable: yes", f'  control-interface: "{ctl}"',
        "  control-use-cert: no"]) + "\n"


class SignedWorld:
    """World(dnssec=True)'s DNSSEC part. Expects from World: dir, scenarios, dns_server,
    issue_cert(), _row_records(), _spawn_unbound(), and Error (the exception class)."""

    def _start_signed_zone(self):
        """Issues the DANE rows' MX certificates, signs SIGNED_ZONE with their TLSA records and
        starts its authoritative server (before the plain resolver, which delegates to it)."""
        origin = SIGNED_ZONE + "."
        rr = [f"{origin} 300 IN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 300",
              f"{origin} 300 IN NS ns.{origin}", f"ns.{origin} 300 IN A {SIGNED_AUTH_ADDR}"]
        broken = []
        for s in self.scenarios:
            if "tlsa" not in s:
                continue
            for _, host in s["mx"]:
                self.mx_certs[host] = self.issue_cert([host])
                if s["tlsa"]:
                    # mismatch: the hash of another key for the same name, as after a key
                    # rotation whose TLSA update was forgotten
                    src = (self.issue_cert([host], label=f"stale-key-{host}")
                           if s["tlsa"] == "mismatch" else self.mx_certs[host])
                    self.tlsa_data[host] = spki_sha256(src[0], self.Error)
            if not s.get("zone"):
                continue
            rr += self._row_records(s)
            rr += [f"{tlsa_owner(h)} 300 IN TLSA 3 1 1 {self.tlsa_data[h]}"
                   for _, h in s["mx"] if h in self.tlsa_data]
            if s["bogus"] == "MX":
                broken.append((s["domain"], "MX"))
            elif s["bogus"] == "TLSA":
                broken += [(tlsa_owner(h), "TLSA") for _, h in s["mx"]]
        self.signed_zone_file, self.trust_anchor_file = sign_zone(
            os.path.join(self.dir, "dnssec"), SIGNED_ZONE, rr, broken, self.Error)
        conf = os.path.join(self.dir, "signed-auth.conf")
        with open(conf, "w") as f:
            f.write(authoritative_conf(SIGNED_AUTH_ADDR, self.dir, SIGNED_ZONE, self.signed_zone_file))
        self._spawn_unbound("signed-auth", conf, SIGNED_AUTH_ADDR, f"ns.{SIGNED_ZONE}")

    def _start_validator(self):
        self.validator_conf = os.path.join(self.dir, "validator.conf")
        with open(self.validator_conf, "w") as f:
            f.write(validating_conf(VALIDATING_DNS_ADDR, self.dir, SIGNED_ZONE, SIGNED_AUTH_ADDR,
                                    self.trust_anchor_file, self.dns_server,
                                    os.path.join(self.dir, "validator.ctl")))
        self._spawn_unbound("validator", self.validator_conf, VALIDATING_DNS_ADDR, f"ns.{SIGNED_ZONE}")

    def mx_cert(self, host):
        """(cert, key) the world issued for MX host `host` of a DANE row (its TLSA source)."""
        return self.mx_certs[host]

    def dns_validated(self, name, qtype, timeout=2.0):
        """Query to the validating resolver with the DO bit: Response.ad tells secure data."""
        return dnsquery.query(VALIDATING_DNS_ADDR, name, qtype, timeout=timeout, dnssec=True)
