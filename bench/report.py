"""Renders benchmark.py's results dict as markdown: the machine, one table (floor, mtastsd,
peer, ratios) and the issue-5 targets checked against this run's own floor and peer.
Pure formatting; missing targets/figures render as "-". Also usable on a saved JSON:
`python3 bench/report.py bench/results/last-run.json`.
"""
import json
import sys

NAMES = ("floor", "mtastsd", "peer")


def _get(res, name, *path):
    v = res["targets"].get(name)
    for p in path:
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v


def _fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _ok_share(res, name, *phases):
    ok = total = 0
    for ph in phases:
        r = _get(res, name, ph)
        if not r:
            return None
        ok += r["replies"].get("OK", 0)
        total += r["requests"] + r["errors"]
    return f"{ok}/{total}"


def _mib(kib):
    return kib / 1024 if kib is not None else None


def _rows(res):
    n = res["args"]["domains"]
    rows = []
    for ph, label in (("cold1", "cold c1"), ("cold32", "cold c32")):
        rows.append((f"{label}: lookups/s", lambda t, ph=ph: _get(res, t, ph, "lookups_per_s"), False))
        rows.append((f"{label}: daemon CPU us/lookup",
                     lambda t, ph=ph: _get(res, t, ph, "daemon_cpu_us_per_lookup"), False))
        rows.append((f"{label}: policy server + unbound CPU us/lookup",
                     lambda t, ph=ph: _get(res, t, ph, "world_cpu_us_per_lookup"), False))
    rows.append(("cold: OK replies", lambda t: _ok_share(res, t, "cold1", "cold32"), False))
    for c in (1, 16, 128):
        ph = f"warm{c}"
        rows += [
            (f"warm c{c}: lookups/s", lambda t, ph=ph: _get(res, t, ph, "lookups_per_s"), False),
            (f"warm c{c}: p50 us", lambda t, ph=ph: _get(res, t, ph, "latency_us", "p50"), False),
            (f"warm c{c}: p99 us", lambda t, ph=ph: _get(res, t, ph, "latency_us", "p99"), False),
            (f"warm c{c}: daemon CPU us/lookup",
             lambda t, ph=ph: _get(res, t, ph, "daemon_cpu_us_per_lookup"), True),
            (f"warm c{c}: load generator CPU us/lookup",
             lambda t, ph=ph: _get(res, t, ph, "cpu_us_per_lookup"), False),
            (f"warm c{c}: load generator busy %",
             lambda t, ph=ph: (lambda s: s * 100 if s is not None else None)(_get(res, t, ph, "loadgen_cpu_share")),
             False),
        ]
    rows.append(("warm: OK replies", lambda t: _ok_share(res, t, "warm1", "warm16", "warm128"), False))
    rows.append(("RSS idle MiB", lambda t: _mib(_get(res, t, "rss_idle_kib")), False))
    rows.append((f"RSS with {n:,} cached domains MiB", lambda t: _mib(_get(res, t, "rss_cached_kib")), False))
    rows.append(("  of which anonymous (heap, stacks) MiB", lambda t: _mib(_get(res, t, "rss_cached_anon_kib")), False))
    rows.append(("  of which mapped files (libraries, LMDB map) MiB",
                 lambda t: _mib(_get(res, t, "rss_cached_file_kib")), False))
    rows.append(("RSS after warm runs MiB", lambda t: _mib(_get(res, t, "rss_after_kib")), False))
    return rows


def _targets(res):
    """Issue 5's targets, judged against this run's floor and peer."""
    out = []

    def check(text, ok):
        out.append(f"- {'MET ' if ok else 'MISSED' if ok is not None else 'n/a '} {text}")

    g = lambda *p: _get(res, *p)  # noqa: E731
    notok = {ph: g("mtastsd", ph, "replies") for ph in ("cold1", "cold32", "warm1", "warm16", "warm128")
             if g("mtastsd", ph) and g("mtastsd", ph, "replies").get("OK", 0) != g("mtastsd", ph, "requests")}
    if notok:
        out.append(f"- CAVEAT: mtastsd did not answer `OK secure` everywhere ({notok}):"
                   " its figures are not comparable with the peer's until it does.")
    for c in (1, 16, 128):
        m, f = g("mtastsd", f"warm{c}", "daemon_cpu_us_per_lookup"), g("floor", f"warm{c}", "daemon_cpu_us_per_lookup")
        check(f"warm c{c} daemon CPU/lookup <= 1.5x floor: {_fmt(m)} vs {_fmt(f)} us ({_ratio(m, f)})",
              None if m is None or not f else m <= 1.5 * f)
    m, p = g("mtastsd", "warm128", "lookups_per_s"), g("peer", "warm128", "lookups_per_s")
    busy = g("mtastsd", "warm128", "loadgen_cpu_share")
    check(f"warm c128 throughput >= 3x peer or load generator saturated: {_ratio(m, p)},"
          f" load generator {_fmt(busy * 100 if busy is not None else None)}% busy",
          None if m is None or not p else (m >= 3 * p or (busy or 0) >= 0.9))
    m, f = g("mtastsd", "warm128", "latency_us", "p99"), g("floor", "warm128", "latency_us", "p99")
    check(f"warm c128 p99 <= floor p99 + 1000 us: {_fmt(m)} vs {_fmt(f)} us",
          None if m is None or f is None else m <= f + 1000)
    m = g("mtastsd", "rss_cached_kib")
    check(f"RSS with {res['args']['domains']:,} cached domains < 16 MiB: {_fmt(_mib(m))} MiB",
          None if m is None else m < 16 * 1024)
    hs = (res.get("handshake") or {}).get("cpu_us_per_handshake")
    for ph in ("cold1", "cold32"):
        m, p = g("mtastsd", ph, "daemon_cpu_us_per_lookup"), g("peer", ph, "daemon_cpu_us_per_lookup")
        bound = ""
        if hs and p and p / 3 < hs:
            bound = (f"; 1/3 of the peer ({_fmt(p / 3)} us) is less than openssl s_time spends on one"
                     f" handshake ({_fmt(hs)} us)")
        check(f"{ph} daemon CPU/lookup <= 1/3 peer: {_fmt(m)} vs {_fmt(p)} us ({_ratio(m, p)}){bound}",
              None if m is None or not p else m * 3 <= p)
    return out


def _rounds(res):
    return 1 if res["args"].get("quick") else res.get("rounds", 1)


def render(res):
    mach = res["machine"]
    lines = [f"Machine: {mach['nproc']} CPUs, {mach['cpu']}, Linux {mach['kernel']},"
             f" load average at start {' '.join(mach['loadavg'])}.",
             f"Domains: {res['args']['domains']:,} enforce domains ({res['args']['cold1']} cold at c1,"
             f" the rest cold at c32); warm: {_rounds(res)} interleaved round(s) per concurrency, each target"
             f" {res['args']['warm_seconds'] / _rounds(res):.2g} s per round, median round shown;"
             f" run took {res.get('wall_s', '-')} s.", "",
             "| figure | floor (null responder) | mtastsd | peer (postfix-mta-sts-resolver) |"
             " mtastsd / peer | mtastsd / floor |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, fn, vs_floor in _rows(res):
        vals = [fn(t) for t in NAMES]
        num = [v if isinstance(v, (int, float)) else None for v in vals]
        lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in vals) + f" | {_ratio(num[1], num[2])} | "
                     + (_ratio(num[1], num[0]) if vs_floor else "") + " |")
    hs = res.get("handshake") or {}
    if "cpu_us_per_handshake" in hs:
        lines += ["", f"For scale, cold: `openssl s_time -new` (a TLS handshake only, chain verified against the"
                      f" test CA, same OpenSSL) with one policy host spent {_fmt(hs['cpu_us_per_handshake'])} us"
                      f" of client CPU per handshake ({hs['handshakes']:,} handshakes); a cold lookup makes one"
                      f" handshake plus the DNS queries, the HTTP request and the store write."]
    elif hs:
        lines += ["", f"For scale, cold: openssl s_time failed: {hs.get('failed', '')!r}"]
    lines += ["", "Sanity (validation really happens: test CA trusted, others refused):"]
    for t in ("mtastsd", "peer"):
        s = _get(res, t, "sanity")
        if s:
            bad = [d for d, v in s.items() if not v["ok"]]
            lines.append(f"- {t}: " + ("all as expected (" + ", ".join(s) + ")" if not bad else
                                       "; ".join(f"{d}: got {s[d]['got']!r} want {s[d]['want']!r}" for d in bad)))
        failed = _get(res, t, "failed")
        if failed:
            lines.append(f"- {t}: FAILED: " + failed.strip().splitlines()[0])
    lines += ["", "Targets (issue 5), against this run's floor and peer:"] + _targets(res)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(render(json.load(f)))
