#!/usr/bin/env python3
"""TLSRPT datagram collection benchmark (issue 12): mtastsd's collector against the floor.

Runs inside a private network namespace (bench/run_tlsrpt_benchmark.sh does the unshare), so
that net.unix.max_dgram_qlen can be set to what dist/sysctl.d/60-mtastsd.conf installs without
touching the host. For each round, interleaved (seconds apart, so both see the same machine):

  - at each fixed rate (default 5,000 and 20,000 datagrams/s, 4 sender processes with
    Postfix's pattern: socket, sendto MSG_DONTWAIT, close per datagram): the floor reader,
    then the collector (DatagramCollector + Committer over a real LMDB store, commits every
    second); CPU per datagram (process CPU / datagrams received), datagrams lost (EAGAIN at
    the senders), and for the collector: sessions stored == datagrams sent?
  - higher rates (default 50,000 and 80,000/s): whether the receiver still loses nothing.
    (Unthrottled senders measure the scheduler, not the receiver: 4 processes busy-looping on
    2 cores leave the reader a small share whatever it costs, so there is no such row.)

Two streams: `captures`, the 16 Postfix 3.11 captures in turn (what real traffic looks like to
the collector's memo: the same bytes again and again), and `distinct` (--distinct-domains N:
each capture renamed for N domains, so the same bytes come back only every 16 x N datagrams,
and every datagram is parsed), and `zipf` (--zipf-domains N, --zipf-exponent S: the renamed
captures, each datagram's domain drawn with weight 1/rank^S: a few domains take most sessions
and a long tail is seen rarely, as in a mail server's traffic).

--parse-floor adds a third receiver, `tlsrpt_receiver parse`: the floor plus a parse of every
datagram (no memo, nothing counted or stored), the least any collector costs on a stream whose
datagrams it has not seen before.

Each figure is the median of the rounds; every round is in the JSON. Ratios compare runs of the
same round. Prints markdown; --out FILE also writes FILE.md and FILE.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RECOMMENDED_QLEN = 1024


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_pair(args, mode, stream, rate, seconds, coalesce_us, work):
    sock = os.path.join(work, "tlsrpt.sock")
    state = os.path.join(work, "state")
    shutil.rmtree(state, ignore_errors=True)
    receiver = subprocess.Popen(
        [os.path.join(args.bin_dir, "tlsrpt_receiver"), mode, "--socket", sock, "--state-dir", state,
         "--coalesce-us", str(coalesce_us), "--commit-ms", str(args.commit_ms)],
        stdout=subprocess.PIPE, text=True)
    if receiver.stdout.readline().strip() != "ready":
        raise SystemExit(f"{mode} receiver did not start")
    load = subprocess.run(
        [os.path.join(args.bin_dir, "tlsrpt_load"), "--socket", sock, "--dir", args.fixtures,
         "--senders", str(args.senders), "--rate", str(rate), "--seconds", str(seconds),
         *stream_options(args, stream)],
        capture_output=True, text=True, check=True)
    receiver.terminate()
    out, _ = receiver.communicate(timeout=60)
    sent = json.loads(load.stdout)
    got = json.loads(out.strip().splitlines()[-1])
    row = {"mode": mode, "stream": stream, "rate": rate, "coalesce_us": coalesce_us, "load": sent, "receiver": got}
    received = max(got["received"], 1)
    row["cpu_us_per_datagram"] = got["cpu_seconds"] / received * 1e6
    row["reader_cpu_us_per_datagram"] = got["reader_cpu_seconds"] / received * 1e6
    row["received_per_s"] = got["received"] / sent["seconds"]
    if mode == "collector":
        row["stored_equals_sent"] = got["stored_sessions"] == sent["sent"]
        row["memo_hit_rate"] = got["memo_hits"] / max(got["memo_hits"] + got["memo_misses"], 1)
    return row


def stream_options(args, stream):
    if stream == "distinct":
        return ["--domains", str(args.distinct_domains)]
    if stream == "zipf":
        return ["--domains", str(args.zipf_domains), "--zipf", str(args.zipf_exponent)]
    return []


def median_of(rows, key):
    values = [r[key] for r in rows]
    return statistics.median(values) if values else float("nan")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", required=True, help="directory with tlsrpt_load and tlsrpt_receiver")
    p.add_argument("--fixtures", default=os.path.join(here, "..", "tests", "fixtures", "tlsrpt"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rates", default="5000,20000,50000,80000")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--commit-ms", type=int, default=1000)
    p.add_argument("--coalesce-us", default="1000,0", help="coalescing delays to compare")
    p.add_argument("--streams", default="captures,distinct", help="any of captures, distinct, zipf")
    p.add_argument("--distinct-domains", type=int, default=1000,
                   help="domains per capture in the distinct stream: 12 x N domains in all, keep that "
                   "under max_domains_per_day (20,000)")
    p.add_argument("--zipf-domains", type=int, default=1500, help="domains per capture in the zipf stream")
    p.add_argument("--zipf-exponent", type=float, default=1.0)
    p.add_argument("--parse-floor", action="store_true", help="also run the parse-only receiver")
    p.add_argument("--out")
    args = p.parse_args()
    with open("/proc/sys/net/unix/max_dgram_qlen", "w") as f:
        f.write(str(RECOMMENDED_QLEN))
    rates = [int(r) for r in args.rates.split(",")]
    delays = [int(c) for c in args.coalesce_us.split(",")]
    streams = args.streams.split(",")
    work = tempfile.mkdtemp(prefix="mtasts-tlsrpt-bench-")
    started = time.time()
    result = {"load_average_start": load_average(), "nproc": os.cpu_count(), "rounds": [], "args": vars(args)}
    try:
        for rnd in range(args.rounds):
            rows = []
            for stream in streams:
                for coalesce in delays:
                    for rate in rates:
                        for mode in (("floor", "parse", "collector") if args.parse_floor else ("floor", "collector")):
                            rows.append(run_pair(args, mode, stream, rate, args.seconds, coalesce, work))
            result["rounds"].append({"load_average": load_average(), "rows": rows})
            print(f"round {rnd + 1}/{args.rounds} done, load average {load_average()}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average_end"] = load_average()
    result["seconds"] = time.time() - started
    md = render(result, streams, rates, delays, args.parse_floor)
    print(md)
    if args.out:
        with open(args.out + ".json", "w") as f:
            json.dump(result, f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write(md)


def render(result, streams, rates, delays, parse_floor=False):
    lines = [f"Load average at start {result['load_average_start']}, at end {result['load_average_end']}; "
             f"{len(result['rounds'])} interleaved rounds, medians shown; run took {result['seconds']:.0f} s.", "",
             "| stream | coalesce | rate (sent/s) | floor us/dgram | collector us/dgram | collector reader thread us/dgram "
             "| collector / floor | lost (EAGAIN) floor / collector | stored == sent | received/s floor / collector "
             "| RSS MiB floor / collector | memo hits |" + (" parse-only us/dgram | parse-only / floor |" if parse_floor else ""),
             "| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |" +
             (" ---: | ---: |" if parse_floor else "")]
    for stream, coalesce, rate in ((s, c, r) for s in streams for c in delays for r in rates):
        per_round = []
        for rnd in result["rounds"]:
            pair = {r["mode"]: r for r in rnd["rows"]
                    if r["rate"] == rate and r["coalesce_us"] == coalesce and r.get("stream") == stream}
            per_round.append(pair)
        floors = [p["floor"] for p in per_round]
        colls = [p["collector"] for p in per_round]
        ratio = statistics.median(c["cpu_us_per_datagram"] / f["cpu_us_per_datagram"] for f, c in zip(floors, colls))
        lost_f = sum(f["load"]["lost"] for f in floors)
        lost_c = sum(c["load"]["lost"] for c in colls)
        stored = "yes" if all(c["stored_equals_sent"] for c in colls) else "NO"
        label = f"{rate:,}"
        lines.append(
            f"| {stream} | {coalesce} us | {label} | {median_of(floors, 'cpu_us_per_datagram'):.2f} | "
            f"{median_of(colls, 'cpu_us_per_datagram'):.2f} | {median_of(colls, 'reader_cpu_us_per_datagram'):.2f} | "
            f"{ratio:.2f}x | {lost_f} / {lost_c} | {stored} | "
            f"{median_of(floors, 'received_per_s'):,.0f} / {median_of(colls, 'received_per_s'):,.0f} | "
            f"{statistics.median(f['receiver']['rss_kb'] for f in floors) / 1024:.1f} / "
            f"{statistics.median(c['receiver']['rss_kb'] for c in colls) / 1024:.1f} | "
            f"{median_of(colls, 'memo_hit_rate') * 100:.1f}% |" + (parse_cells(per_round) if parse_floor else ""))
    return "\n".join(lines) + "\n"


def parse_cells(per_round):
    parses = [p["parse"] for p in per_round]
    ratio = statistics.median(p["parse"]["cpu_us_per_datagram"] / p["floor"]["cpu_us_per_datagram"] for p in per_round)
    return f" {median_of(parses, 'cpu_us_per_datagram'):.2f} | {ratio:.2f}x |"


if __name__ == "__main__":
    main()
