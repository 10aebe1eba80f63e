"""Warm socketmap lookups while TLS-RPT input arrives (issue 12): does collection slow the
lookup path? Run inside tests/world/run_in_netns.sh by run_tlsrpt_socketmap_benchmark.sh.

One mtastsd (tlsrpt_socket set; net.unix.max_dgram_qlen 1024 in this namespace) over a
BenchWorld of COUNT enforce domains, all fetched once (cold) so every later lookup is warm.
Then interleaved rounds; in each, for each concurrency, one warm run per condition:
  none            nothing else runs
  dgrams->floor   tlsrpt_load sends RATE datagrams/s (4 senders, Postfix's pattern: socket,
                  sendto MSG_DONTWAIT, close) to a do-nothing reader (tlsrpt_receiver floor):
                  the machine is as busy with senders, mtastsd receives nothing (the control)
  dgrams->mtastsd the same load to mtastsd's socket
and with --maillog-rate, a writer appending that many Postfix 3.7 sessions/s (2 lines each,
to the cached domains) to a log nobody reads (log->nobody) or to mtastsd's tlsrpt_maillog
(log->mtastsd: each session asks the policy cache on the mail-log thread).
Per run: lookups/s, p50/p99 latency, daemon CPU per lookup (whole process) and the event-loop
thread's CPU per lookup (the socketmap's own cost; the collector's threads are others).
Medians over rounds; every run in the JSON. Collection's effect on the lookup path is the
difference between a mtastsd condition and its control. At the end the stored sessions are
compared with what was sent and written. Load average at the start and after each round.
"""
import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from bench_world import BenchWorld, bench_domain  # noqa: E402
from benchmark import CLK_TCK, Target, machine, run_load  # noqa: E402
from daemon_harness import _argv, free_port, root_options  # noqa: E402
from tlsrpt_harness import raise_qlen, tlsrpt_status, total_sessions  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "tlsrpt")


def thread_cpu_seconds(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def write_maillog(path, rate, seconds, domains, out):
    """Appends Postfix 3.7 lines of `rate` successful TLS sessions a second (a Verified line and
    a status line each, to the cached bench domains, from 50 smtp processes) for `seconds`;
    puts the number of sessions written on `out`."""
    start = time.monotonic()
    n = 0
    with open(path, "a") as f:
        while time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * rate)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
            chunk = []
            while n < due:
                pid = 1000 + n % 50
                chunk.append(f"{stamp} sender postfix/smtp[{pid}]: Verified TLS connection established to "
                             f"mx.bench.test[127.0.0.1]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
                             f"{stamp} sender postfix/smtp[{pid}]: {n:010X}: to=<u@{bench_domain(n % domains)}>, "
                             f"relay=mx.bench.test[127.0.0.1]:25, delay=0.1, delays=0/0/0.05/0.05, dsn=2.0.0, "
                             f"status=sent (250 2.0.0 OK)\n")
                n += 1
            f.write("".join(chunk))
            f.flush()
            time.sleep(0.01)
    out.put(n)


def warm_run(args, target, label, conns, condition):
    """One warm run under `condition` (see the module comment); the input starts half a second
    before the lookups and ends after them."""
    load = writer = queue = None
    if condition.startswith("dgrams->"):
        sock = args.floor_socket if condition == "dgrams->floor" else args.socket
        load = subprocess.Popen([os.path.join(args.bin_dir, "tlsrpt_load"), "--socket", sock, "--dir", FIXTURES,
                                 "--senders", "4", "--rate", str(args.rate), "--seconds", str(args.seconds + 1.0)],
                                stdout=subprocess.PIPE, text=True)
    elif condition.startswith("log->"):
        path = args.maillog if condition == "log->mtastsd" else args.unread_log
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        writer = ctx.Process(target=write_maillog, args=(path, args.maillog_rate, args.seconds + 1.0,
                                                         args.domains, queue))
        writer.start()
    if load or writer:
        time.sleep(0.5)
    loop0 = thread_cpu_seconds(target.proc.pid, target.proc.pid)
    res = run_load(args, target, f"{label} {condition}", conns, duration=args.seconds)
    res["condition"] = condition
    res["loop_cpu_us_per_lookup"] = ((thread_cpu_seconds(target.proc.pid, target.proc.pid) - loop0) * 1e6
                                     / res["requests"] if res["requests"] else None)
    if load:
        out, _ = load.communicate(timeout=args.seconds + 60)
        res["datagrams"] = json.loads(out)
    if writer:
        res["maillog_sessions"] = queue.get(timeout=args.seconds + 60)
        writer.join(timeout=10)
    return res


def median(runs, key, sub=None):
    values = [(r[key][sub] if sub else r[key]) for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def render(result):
    a = result["args"]
    lines = [f"Machine: {result['machine']['nproc']} cores ({result['machine']['cpu']}), shared; load average "
             f"{' '.join(result['load_average_start'])} at start, "
             f"{' / '.join(' '.join(r['load_average']) for r in result['rounds'])} after each round. "
             f"{len(result['rounds'])} interleaved rounds of {a['seconds']} s per run, medians; "
             f"{a['domains']} cached domains; {a['rate']:,} datagrams/s"
             + (f"; {a['maillog_rate']:,} mail-log sessions/s" if a["maillog_rate"] else "") + ".", "",
             "| concurrency | condition | lookups/s | p50 us | p99 us | daemon CPU us/lookup "
             "| loop thread CPU us/lookup | input sent / lost |",
             "| ---: | :--- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in a["concurrency"]:
        for cond in a["conditions"]:
            runs = [r[f"c{c}"][cond] for r in result["rounds"]]
            sent = "-"
            if cond.startswith("dgrams->"):
                sent = (f"{sum(r['datagrams']['sent'] for r in runs):,} / "
                        f"{sum(r['datagrams']['lost'] for r in runs):,}")
            elif cond.startswith("log->"):
                sent = f"{sum(r['maillog_sessions'] for r in runs):,} sessions"
            lines.append(f"| {c} | {cond} | {median(runs, 'lookups_per_s'):,.0f} | "
                         f"{median(runs, 'latency_us', 'p50'):.0f} | {median(runs, 'latency_us', 'p99'):.0f} | "
                         f"{median(runs, 'daemon_cpu_us_per_lookup'):.1f} | {median(runs, 'loop_cpu_us_per_lookup'):.1f} "
                         f"| {sent} |")
    s = result["stored"]
    lines += ["", f"Datagram sessions stored after SIGTERM: {s['stored']:,}; datagrams mtastsd was sent: "
                  f"{s['sent']:,} (one session each): {'equal' if s['stored'] == s['sent'] else 'DIFFERENT'}."]
    if a["maillog_rate"]:
        lines += [f"Mail-log sessions stored after SIGTERM: {s['maillog_stored']:,}; written to its log: "
                  f"{s['maillog_written']:,}: {'equal' if s['maillog_stored'] == s['maillog_written'] else 'DIFFERENT'}."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtastsd", required=True)
    ap.add_argument("--bin-dir", required=True, help="dir with socketmap_load, tlsrpt_load, tlsrpt_receiver")
    ap.add_argument("--domains", type=int, default=2000)
    ap.add_argument("--group", type=int, default=100)
    ap.add_argument("--rate", type=int, default=20000, help="datagrams/s in the dgrams-> conditions")
    ap.add_argument("--maillog-rate", type=int, default=0, help="mail-log sessions/s (0: no log-> conditions)")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", default="1,16")
    ap.add_argument("--out", help="FILE: also write FILE.md and FILE.json")
    args = ap.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.conditions = ["none", "dgrams->floor", "dgrams->mtastsd"]
    if args.maillog_rate:
        args.conditions += ["log->nobody", "log->mtastsd"]
    qlen = raise_qlen(1024)
    workdir = tempfile.mkdtemp(prefix="mtasts-tlsrpt-sm-bench-")
    os.chmod(workdir, 0o755)
    args.socket = os.path.join(workdir, "tlsrpt.sock")
    args.floor_socket = os.path.join(workdir, "floor.sock")
    args.maillog = os.path.join(workdir, "mail.log")
    args.unread_log = os.path.join(workdir, "unread.log")
    open(args.maillog, "w").close()
    state = os.path.join(workdir, "state")
    result = {"machine": machine(), "load_average_start": load_average(), "qlen": qlen, "rounds": []}
    floor = subprocess.Popen([os.path.join(args.bin_dir, "tlsrpt_receiver"), "floor", "--socket", args.floor_socket],
                             stdout=subprocess.PIPE, text=True)
    try:
        if floor.stdout.readline().strip() != "ready":
            raise SystemExit("the floor receiver did not start")
        with BenchWorld(args.domains, group=args.group) as world:
            world.bind_resolv_conf()
            port = free_port()
            opts = {"listen": f"inet:127.0.0.1:{port}", "state_dir": state, "dns_servers": world.dns_server,
                    "ca_file": world.ca_file, "log_level": "warn", "query_wait_timeout": "5s",
                    "dns_timeout": "2s", "fetch_timeout": "4s", "max_connections": "2000",
                    "tlsrpt_socket": args.socket}
            if args.maillog_rate:
                opts["tlsrpt_maillog"] = args.maillog
            opts.update(root_options(args.mtastsd))
            target = Target("mtastsd", _argv(args.mtastsd, opts), port, workdir)
            target.start()
            try:
                run_load(args, target, "cold c32", 32, requests=args.domains)
                run_load(args, target, "verify", 16, requests=args.domains)
                for i in range(args.rounds):
                    rnd = {}
                    for c in args.concurrency:
                        rnd[f"c{c}"] = {cond: warm_run(args, target, f"warm c{c} {i + 1}/{args.rounds}", c, cond)
                                        for cond in args.conditions}
                    rnd["load_average"] = load_average()
                    result["rounds"].append(rnd)
                    print(f"round {i + 1}/{args.rounds} done, load average {' '.join(rnd['load_average'])}",
                          file=sys.stderr, flush=True)
                # The last mail-log batch is cut once no handshake waits (at once here) and a
                # batch interval passed: give it that, then stop (the final commit).
                time.sleep(2.0)
            finally:
                target.stop()
            runs = [r[f"c{c}"][cond] for r in result["rounds"] for c in args.concurrency for cond in args.conditions]
            status = tlsrpt_status(args.mtastsd, state)
            result["stored"] = {
                "sent": sum(r["datagrams"]["sent"] for r in runs if r["condition"] == "dgrams->mtastsd"),
                "stored": total_sessions(status, "datagram"),
                "maillog_written": sum(r["maillog_sessions"] for r in runs if r["condition"] == "log->mtastsd"),
                "maillog_stored": total_sessions(status, "maillog")}
    finally:
        floor.terminate()
        floor.communicate(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    result["args"] = dict(vars(args))
    md = render(result)
    print(md)
    if args.out:
        with open(args.out + ".json", "w") as f:
            json.dump(result, f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
