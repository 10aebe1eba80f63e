#!/usr/bin/env python3
"""TLS-RPT report building at scale (issue 14): `mtastsd --report --dry-run` over a day with N
report domains. For each N: a real mtastsd collects one captured Postfix 3.11 datagram per
domain (own domain and mailto: record each, so no DNS is needed) into a fresh state_dir, is
stopped, and then `/usr/bin/time -v mtastsd --report --dry-run --out DIR --day TODAY` builds
and writes every report (.json.gz and .eml); its wall time and peak RSS are printed as a
markdown row. One report is in memory at a time, so peak RSS must not grow with N.

Run as root (the daemon stays root with user= allow_root=yes):
    python3 bench/tlsrpt_report_bench.py --mtastsd build/daemon/mtastsd --domains 1000 10000
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "tests", "fixtures", "tlsrpt", "pf311-bad-202-certificate-host-mismatch.dgram")


def options(state, sock, port):
    return {"state_dir": state, "tlsrpt_socket": sock, "listen": f"inet:127.0.0.1:{port}", "user": "",
            "allow_root": "yes", "dns_servers": "127.0.0.1", "tlsrpt_commit_interval": "200ms",
            "tlsrpt_max_domains_per_day": "1000000", "log_level": "warn",
            "tlsrpt_organization_name": "bench", "tlsrpt_contact_info": "tlsrpt@sender.test",
            "tlsrpt_report_from": "tlsrpt-noreply@sender.test"}


def argv(binary, opts):
    out = [binary, "-c", "/dev/null"]
    for k, v in opts.items():
        out += ["-o", f"{k}={v}"]
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collect(binary, work, domains):
    state, sock = os.path.join(work, "state"), os.path.join(work, "tlsrpt.sock")
    opts = options(state, sock, free_port())
    log = open(os.path.join(work, "daemon.log"), "w")
    proc = subprocess.Popen(argv(binary, opts), stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(sock):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("mtastsd did not make its socket: " + open(log.name).read()[-2000:])
        time.sleep(0.05)
    base = json.loads(open(FIXTURE, "rb").read())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for i in range(domains):
        d = f"d{i:06d}.bench.test"
        base["d"], base["pr"] = d, f"v=TLSRPTv1; rua=mailto:tlsrpt@{d}"
        for p in base["policies"]:
            p["policy-domain"] = d
        s.sendto(json.dumps(base).encode(), sock)  # blocking: nothing lost
    s.close()
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return opts


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(binary, work, opts, day):
    """Runs the dry run under /usr/bin/time -v (wall, peak RSS) and samples the mtastsd child's
    RssAnon (heap and stacks) and RssFile (mapped LMDB pages, shared and reclaimable) every 5 ms."""
    out = os.path.join(work, "out")
    cmd = ["/usr/bin/time", "-v"] + argv(binary, opts) + ["--report", "--dry-run", "--out", out, "--day", day]
    started = time.monotonic()
    out_log, err_log = os.path.join(work, "report.out"), os.path.join(work, "report.err")
    with open(out_log, "w") as o, open(err_log, "w") as e:  # files: a pipe would fill up and stall it
        p = subprocess.Popen(cmd, stdout=o, stderr=e)
    anon = mapped = 0
    child = None
    while p.poll() is None:
        if child is None:
            try:
                with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                    ids = f.read().split()
                child = int(ids[0]) if ids else None
            except OSError:
                pass
        if child is not None:
            anon = max(anon, status_kib(child, "RssAnon"))
            mapped = max(mapped, status_kib(child, "RssFile"))
        time.sleep(0.005)
    with open(out_log) as o, open(err_log) as e:
        stdout, stderr = o.read(), e.read()
    wall = time.monotonic() - started
    if p.returncode != 0:
        raise RuntimeError(f"--report exited {p.returncode}: {stdout[-2000:]} {stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1))
    summary = [line for line in stdout.splitlines() if line.startswith("day ")][-1]
    files = len(os.listdir(out))
    size = os.path.getsize(os.path.join(opts["state_dir"], "data.mdb"))
    return wall, rss, anon, mapped, size, files, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtastsd", required=True)
    ap.add_argument("--domains", type=int, nargs="+", default=[1000, 10000])
    args = ap.parse_args()
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    print("| domains | wall s | peak RSS MiB | peak RssAnon MiB | peak RssFile MiB | data.mdb MiB | files | summary |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.domains:
        work = tempfile.mkdtemp(prefix="mtastsd-report-bench-")
        try:
            opts = collect(os.path.abspath(args.mtastsd), work, n)
            wall, rss, anon, mapped, size, files, summary = measure(os.path.abspath(args.mtastsd), work, opts, day)
            print(f"| {n} | {wall:.2f} | {rss / 1024:.1f} | {anon / 1024:.1f} | {mapped / 1024:.1f} | "
                  f"{size / 1048576:.1f} | {files} | {summary} |", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
