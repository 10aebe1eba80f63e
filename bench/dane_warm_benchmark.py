"""Warm socketmap lookups with dane = auto against dane = off (issue 16), in one run: two
mtastsd processes over the signed test world (World(dnssec=True), the validating resolver's
AD bit), both warmed on the seven DANE_SCENARIOS domains, then socketmap_load against each in
turn (auto, off, auto, off, ...). Reports per daemon the median lookups/s, p50/p99 latency and
the daemon's CPU per lookup (utime+stime from /proc). The warm path of both is one LMDB read;
this shows what the DANE state in the record costs there.

Run (root, from the repo root): bench/run_dane_benchmark.sh --mtastsd build/daemon/mtastsd
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "world"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from daemon_harness import Daemon  # noqa: E402
from scenarios import DANE_SCENARIOS  # noqa: E402
from world import World  # noqa: E402


def daemon_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(args, daemon, domains_file, label):
    before = daemon_cpu(daemon.proc.pid)
    p = subprocess.run([os.path.join(args.bin_dir, "socketmap_load"), "--port", str(daemon.port),
                        "--connections", str(args.connections), "--threads", "1",
                        "--duration", str(args.seconds), "--domains", domains_file, "--label", label],
                       capture_output=True, text=True, timeout=args.seconds + 60)
    result = json.loads(p.stdout)
    result["daemon_cpu_us_per_lookup"] = (daemon_cpu(daemon.proc.pid) - before) * 1e6 / max(1, result["requests"])
    return result


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mtastsd", required=True)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mtasts-dane-bench-")
    domains_file = os.path.join(tmp, "domains")
    with open(domains_file, "w") as f:
        f.write("".join(row["domain"] + "\n" for row in DANE_SCENARIOS))
    with World(scenarios=[], dnssec=True) as world:
        common = {"dns_servers": world.validating_dns_server, "dnssec_trust_ad": "yes", "log_level": "warn"}
        daemons = {mode: Daemon(args.mtastsd, world, dane=mode, **common).start() for mode in ("auto", "off")}
        try:
            replies = {}
            for mode, d in daemons.items():
                with d.client() as c:
                    replies[mode] = {row["domain"]: c.query(row["domain"]) for row in DANE_SCENARIOS}
                    for row in DANE_SCENARIOS:  # the second answer is the warm one
                        assert c.query(row["domain"]) == replies[mode][row["domain"]]
            runs = {mode: [] for mode in daemons}
            for _ in range(args.rounds):
                for mode, d in daemons.items():
                    runs[mode].append(run_load(args, d, domains_file, f"dane={mode}"))
        finally:
            for d in daemons.values():
                d.stop()
                shutil.rmtree(d.dir, ignore_errors=True)
    # medians over the rounds, and the best round (least disturbed by other load on the host)
    print("| dane | lookups/s median (best) | p50 µs | p99 µs | daemon CPU µs/lookup median (best) | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, rs in runs.items():
        rate = [r["lookups_per_s"] for r in rs]
        cpu = [r["daemon_cpu_us_per_lookup"] for r in rs]
        print(f"| {mode} | {median(rate):.0f} ({max(rate):.0f}) "
              f"| {median([r['latency_us']['p50'] for r in rs]):.1f} "
              f"| {median([r['latency_us']['p99'] for r in rs]):.1f} "
              f"| {median(cpu):.2f} ({min(cpu):.2f}) "
              f"| {sum(r['errors'] for r in rs)} |")
    print("\nreplies:", json.dumps(replies, indent=1))
    print("runs:", json.dumps(runs))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
