"""Side-by-side socketmap benchmark, run inside tests/world/run_in_netns.sh by run_benchmark.sh.

In ONE test world (bench_world.py: DNS + HTTPS policy hosts for COUNT enforce domains) it
starts, one after the other, the null responder (the floor), mtastsd and Debian's
postfix-mta-sts-resolver and measures each with the same load generator (socketmap_load):
cold lookups at concurrency 1 and 32 over distinct domains, RSS idle and with COUNT cached
domains; then, all three running, warm lookups over the cached domains at 1/16/128 in
interleaved rounds (measure_warm); daemon CPU from /proc/<pid>/stat.
--metrics-ab instead compares mtastsd with metrics off and on (metrics_listen set, scraped
every second like a busy Prometheus), warm phases in interleaved rounds (metrics_ab.py).
Every subprocess runs under a timeout; targets are stopped by process group.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from bench_world import BenchWorld, EXPECTED_REPLY  # noqa: E402
from daemon_harness import (SocketmapClient, _argv, free_port, log_tail, root_options,  # noqa: E402
                            stop_process, wait_listening)
from world import die_with_parent  # noqa: E402
import metrics_ab  # noqa: E402
import report  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
ROUNDS = 3  # interleaved warm rounds per concurrency (see measure_warm)
SANITY = [("good.test", "OK secure match=mx.good.test:.good.test servername=hostname"),
          ("untrusted.test", "NOTFOUND "), ("expired.test", "NOTFOUND "), ("wrongname.test", "NOTFOUND ")]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def rss_kib(pid, field="VmRSS"):
    """VmRSS (the target's figure), or RssAnon / RssFile: the process's own memory vs
    pages of mapped files (shared libraries, mtastsd's LMDB map)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Target:
    """One socketmap server process under test."""

    def __init__(self, name, argv, port, workdir, env=None):
        self.name, self.argv, self.port, self.workdir = name, argv, port, workdir
        self.env = env
        self.proc = None
        self.log_path = os.path.join(workdir, f"{name}.log")

    def start(self, timeout=20):
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         env=self.env, start_new_session=True, preexec_fn=die_with_parent)
        why = wait_listening(self.proc, self.port, timeout)
        if why:
            self.stop()
            raise RuntimeError(f"{self.name} {why} on port {self.port}: {self.log_tail()}")

    def stop(self):
        stop_process(self.proc)

    def log_tail(self, n=15):
        return log_tail(self.log_path, n)


def make_null(args, workdir):
    port = free_port()
    return Target("floor", [os.path.join(args.bin_dir, "null_responder"), "--port", str(port)],
                  port, workdir)


def make_mtastsd(args, world, workdir, name="mtastsd", extra=None):
    port = free_port()
    opts = {"listen": f"inet:127.0.0.1:{port}", "state_dir": os.path.join(workdir, f"{name}-state"),
            "dns_servers": world.dns_server, "ca_file": world.ca_file, "log_level": "warn",
            "query_wait_timeout": "5s", "dns_timeout": "2s", "fetch_timeout": "4s",
            "max_connections": "2000"}
    opts.update(root_options(args.mtastsd))
    opts.update(extra or {})
    return Target(name, _argv(args.mtastsd, opts), port, workdir)


def make_peer(args, world, workdir):
    """postfix-mta-sts-resolver: system resolver (resolv.conf is bind-mounted to the world's
    unbound) and the test CA through SSL_CERT_FILE (honoured by OpenSSL's default paths, which
    aiohttp's default SSL context loads). cache_grace is raised so warm lookups are cached."""
    port = free_port()
    cfg = os.path.join(workdir, "mta-sts-daemon.yml")
    with open(cfg, "w") as f:
        f.write(f"host: 127.0.0.1\nport: {port}\nreuse_port: true\nshutdown_timeout: 5\n"
                f"cache_grace: 86400\ncache:\n  type: internal\n  options:\n"
                f"    cache_size: {max(20000, 2 * args.domains)}\n"
                f"default_zone:\n  strict_testing: false\n  timeout: 4\n")
    env = dict(os.environ, SSL_CERT_FILE=world.ca_file)
    env.pop("SSL_CERT_DIR", None)
    return Target("peer", [args.peer, "-c", cfg, "-v", "warn"], port, workdir, env=env)


def world_cpu(world):
    """CPU of the world's policy server + unbound: what a cold lookup costs the other side."""
    return sum(cpu_seconds(p.pid) for p in world.procs.values() if p.poll() is None)


def run_load(args, target, label, conns, first=0, count=None, requests=None, duration=None, world=None):
    argv = [os.path.join(args.bin_dir, "socketmap_load"), "--port", str(target.port),
            "--connections", str(conns), "--first", str(first), "--count", str(count or args.domains),
            "--timeout", "15", "--label", label]
    argv += ["--requests", str(requests)] if requests else ["--duration", str(duration)]
    cpu0 = cpu_seconds(target.proc.pid)
    wcpu0 = world_cpu(world) if world else 0
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=(duration or 0) + 600)
    cpu = cpu_seconds(target.proc.pid) - cpu0
    if p.returncode not in (0, 3):
        raise RuntimeError(f"socketmap_load failed ({p.returncode}): {p.stderr}")
    res = json.loads(p.stdout)
    res["daemon_cpu_s"] = cpu
    if world and res["requests"]:
        res["world_cpu_us_per_lookup"] = (world_cpu(world) - wcpu0) * 1e6 / res["requests"]
    res["daemon_cpu_us_per_lookup"] = cpu * 1e6 / res["requests"] if res["requests"] else None
    res["loadgen_cpu_share"] = res["cpu_s"] / res["elapsed_s"] if res["elapsed_s"] else None
    print(f"  {target.name:8s} {label:10s} {res['lookups_per_s']:9.0f}/s  p50 {res['latency_us']['p50']:8.1f}"
          f"  p99 {res['latency_us']['p99']:9.1f} us  daemon {res['daemon_cpu_us_per_lookup'] or 0:7.1f}"
          f" us/lookup  replies {res['replies']} errors {res['errors']}", file=sys.stderr, flush=True)
    return res


def _canonical(reply):
    """The peer builds match= from a Python set: compare the pattern list unordered."""
    words = []
    for w in reply.split(" "):
        if w.startswith("match="):
            w = "match=" + ":".join(sorted(w[6:].split(":")))
        words.append(w)
    return " ".join(words)


def sanity(target):
    """Validation really happens: the test CA is trusted, untrusted/expired/wrong name not."""
    out = {}
    with SocketmapClient(target.port, timeout=20) as c:
        for domain, want in SANITY:
            got = c.query(domain)
            out[domain] = {"got": got, "want": want, "ok": _canonical(got) == _canonical(want)}
    return out


def measure_cold(args, target, is_floor, world):
    """Start, RSS idle, sanity, cold c1 and c32 over distinct domains, a verify pass, RSS with
    every domain cached. The target stays running for the warm rounds."""
    r = {"name": target.name}
    target.start()
    time.sleep(1.0)
    r["rss_idle_kib"] = rss_kib(target.proc.pid)
    if not is_floor:
        r["sanity"] = sanity(target)
    n1 = args.cold1
    r["cold1"] = run_load(args, target, "cold c1", 1, first=0, count=n1, requests=n1, world=world)
    r["cold32"] = run_load(args, target, "cold c32", 32, first=n1, count=args.domains - n1,
                           requests=args.domains - n1, world=world)
    time.sleep(1.0)
    # Every domain once more: proves they are cached (all OK) before RSS and warm runs.
    r["verify"] = run_load(args, target, "verify", 16, requests=args.domains)
    time.sleep(1.0)
    r["rss_cached_kib"] = rss_kib(target.proc.pid)
    r["rss_cached_anon_kib"] = rss_kib(target.proc.pid, "RssAnon")
    r["rss_cached_file_kib"] = rss_kib(target.proc.pid, "RssFile")
    return r


def measure_warm(args, targets, results):
    """Warm runs at 1, 16 and 128 connections, interleaved: each concurrency is measured in
    ROUNDS rounds, and every round runs each target once, back to back. A burst of noise on
    the shared machine (CPU steal has been seen here) then hits one round of one target,
    and each target's figures come from its median round (by daemon CPU per lookup), so the
    ratios compare runs a few seconds apart instead of minutes apart."""
    rounds = 1 if args.quick else (args.rounds or ROUNDS)
    live = list(targets)
    for c in (1, 16, 128):
        runs = {t.name: [] for t in live}
        for i in range(rounds):
            # --metrics-ab: every other round runs the targets in reverse order, so that
            # going first or second favours neither.
            order = list(reversed(live)) if args.metrics_ab and i % 2 else list(live)
            for t in order:
                try:
                    runs[t.name].append(run_load(args, t, f"warm c{c} {i + 1}/{rounds}", c,
                                                 duration=args.warm_seconds / rounds))
                except Exception as e:  # keep the other targets' figures
                    results[t.name]["failed"] = f"{e}\n{t.log_tail()}"
                    print(f"{t.name} FAILED: {e}\n{t.log_tail()}", file=sys.stderr, flush=True)
                    live.remove(t)
        for t in live:
            ordered = sorted(runs[t.name], key=lambda r: r["daemon_cpu_us_per_lookup"] or 0)
            results[t.name][f"warm{c}"] = ordered[len(ordered) // 2]
            results[t.name][f"warm{c}_rounds"] = runs[t.name]
    for t in live:
        results[t.name]["rss_after_kib"] = rss_kib(t.proc.pid)


def handshake_floor(world, seconds):
    """CPU per TLS handshake of `openssl s_time` (new session each time, chain verified
    against the test CA) with one of the world's policy hosts: what any client built on
    this OpenSSL pays for the handshake alone, a floor under a cold lookup's CPU."""
    addr = world.groups[0]["addr"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(["openssl", "s_time", "-connect", f"{addr}:443", "-new", "-time", str(seconds),
                        "-CAfile", world.ca_file, "-verify", "2"],
                       capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"(\d+) connections in [\d.]+s", p.stdout)
    if p.returncode != 0 or not m or int(m.group(1)) == 0:
        return {"failed": (p.stdout + p.stderr)[-500:]}
    n = int(m.group(1))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"handshakes": n, "cpu_us_per_handshake": cpu * 1e6 / n}


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "loadavg": open("/proc/loadavg").read().split()[:3]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtastsd", help="mtastsd binary (omit to skip it)")
    ap.add_argument("--peer", default="/usr/bin/mta-sts-daemon", help="'' to skip the peer")
    ap.add_argument("--bin-dir", required=True, help="dir with socketmap_load and null_responder")
    ap.add_argument("--domains", type=int, default=10000)
    ap.add_argument("--group", type=int, default=100, help="domains per policy host certificate")
    ap.add_argument("--cold1", type=int, default=300, help="distinct domains for cold c1")
    ap.add_argument("--warm-seconds", type=float, default=10)
    ap.add_argument("--quick", action="store_true", help="CI smoke: 500 domains, 1.5 s warm runs")
    ap.add_argument("--rounds", type=int, default=0, help=f"interleaved warm rounds (default {ROUNDS})")
    ap.add_argument("--metrics-ab", action="store_true",
                    help="mtastsd with metrics off vs on (scraped every second) instead of floor/mtastsd/peer")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "last-run.md"))
    args = ap.parse_args()
    if args.quick:
        args.domains, args.cold1, args.warm_seconds = 500, 30, 1.5
    if not 0 < args.cold1 < args.domains <= 99999:
        ap.error("need 0 < cold1 < domains <= 99999")
    t0 = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="mtasts-bench-")
    results = {"machine": machine(), "args": vars(args), "targets": {}, "rounds": args.rounds or ROUNDS}
    if args.metrics_ab and not args.mtastsd:
        ap.error("--metrics-ab needs --mtastsd")
    try:
        print(f"building the world ({args.domains} domains)...", file=sys.stderr, flush=True)
        with BenchWorld(args.domains, group=args.group) as world:
            world.bind_resolv_conf()
            print(f"world ready in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
            results["handshake"] = handshake_floor(world, 1 if args.quick else 5)
            print(f"  openssl s_time: {results['handshake']}", file=sys.stderr, flush=True)
            plan = [("floor", lambda: make_null(args, workdir), True)]
            scraper = None
            if args.metrics_ab:
                metrics_port = free_port()
                plan = [("mtastsd", lambda: make_mtastsd(args, world, workdir), False),
                        (metrics_ab.ON, lambda: make_mtastsd(args, world, workdir, metrics_ab.ON,
                                                             {"metrics_listen": f"inet:127.0.0.1:{metrics_port}"}),
                         False)]
                scraper = metrics_ab.Scraper(metrics_port)
            elif args.mtastsd:
                plan.append(("mtastsd", lambda: make_mtastsd(args, world, workdir), False))
            if args.peer:
                plan.append(("peer", lambda: make_peer(args, world, workdir), False))
            running = []
            try:
                for name, make, is_floor in plan:
                    target = make()
                    try:
                        results["targets"][name] = measure_cold(args, target, is_floor, world)
                        running.append(target)
                    except Exception as e:  # keep the other targets' figures
                        results["targets"][name] = {"name": name, "failed": f"{e}\n{target.log_tail()}"}
                        print(f"{name} FAILED: {e}\n{target.log_tail()}", file=sys.stderr, flush=True)
                        target.stop()
                if scraper:
                    scraper.start()
                measure_warm(args, running, results["targets"])
            finally:
                if scraper:
                    results["scrapes"] = scraper.stop()
                for target in running:
                    target.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["wall_s"] = round(time.monotonic() - t0, 1)
    results["expected_reply"] = EXPECTED_REPLY
    md = metrics_ab.render(results) if args.metrics_ab else report.render(results)
    print(md)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(md)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1)
    print(f"results: {args.out} (+ .json), {results['wall_s']} s", file=sys.stderr)
    return 0 if all("failed" not in t for t in results["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
