"""benchmark.py --metrics-ab: mtastsd with metrics off (no metrics_listen: nothing counted)
and on (metrics_listen set, GET /metrics every second, far more often than Prometheus'
usual 15-60 s), the same warm lookups in interleaved rounds, median round per concurrency.
The Scraper thread scrapes during the warm phases only; render() writes the markdown."""
import http.client
import threading

ON = "mtastsd-metrics"


class Scraper:
    """GET /metrics every `interval` seconds until stop(); counts good scrapes and failures."""

    def __init__(self, port, interval=1.0):
        self.port, self.interval = port, interval
        self.ok = self.failed = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/metrics")
                r = conn.getresponse()
                body = r.read()
                conn.close()
                if r.status == 200 and b"mtastsd_policy_lookups_total" in body:
                    self.ok += 1
                    self.bytes = len(body)
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return {"ok": self.ok, "failed": self.failed, "last_bytes": self.bytes}


def _fmt(v, digits=1):
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}f}"


def _delta(on, off):
    return f"{(on - off) / off * 100:+.1f}%" if on is not None and off else "-"


def render(res):
    m = res["machine"]
    t = res["targets"]
    off, on = t.get("mtastsd", {}), t.get(ON, {})
    rounds = 1 if res["args"].get("quick") else res.get("rounds", 1)
    lines = [f"Metrics off vs on: {res['args']['domains']} cached domains, warm lookups at c1/c16/c128, "
             f"{rounds} interleaved rounds of {res['args']['warm_seconds'] / rounds:.2g} s per target, "
             f"median round (by daemon CPU per lookup) shown; {m['nproc']} cores ({m['cpu']}), "
             f"load {' '.join(m['loadavg'])} at start. Scrapes during the warm phases: {res.get('scrapes')}.",
             "",
             "| figure | metrics off | metrics on | on vs off |",
             "| --- | --- | --- | --- |"]
    for c in (1, 16, 128):
        for label, path in (("lookups/s", ("lookups_per_s",)), ("p50 latency us", ("latency_us", "p50")),
                            ("p99 latency us", ("latency_us", "p99")),
                            ("daemon CPU us/lookup", ("daemon_cpu_us_per_lookup",))):
            a, b = off.get(f"warm{c}"), on.get(f"warm{c}")
            for p in path:
                a = a.get(p) if isinstance(a, dict) else None
                b = b.get(p) if isinstance(b, dict) else None
            lines.append(f"| warm c{c} {label} | {_fmt(a)} | {_fmt(b)} | {_delta(b, a)} |")
    lines.append("")
    lines.append("Every round (daemon CPU us/lookup, off / on):")
    for c in (1, 16, 128):
        pairs = zip(off.get(f"warm{c}_rounds", []), on.get(f"warm{c}_rounds", []))
        lines.append(f"- c{c}: " + ", ".join(f"{_fmt(a['daemon_cpu_us_per_lookup'], 2)} / "
                                             f"{_fmt(b['daemon_cpu_us_per_lookup'], 2)}" for a, b in pairs))
    for name in ("mtastsd", ON):
        if "failed" in t.get(name, {}):
            lines.append(f"- {name} FAILED: {t[name]['failed'][:300]}")
    return "\n".join(lines) + "\n"
