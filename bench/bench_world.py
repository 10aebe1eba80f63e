"""The benchmark's test world: tests/world's World (every scenario of scenarios.py, so the
daemons can be sanity-checked on good/untrusted/expired domains) plus COUNT generated enforce
domains d00000.bench.test ... sharing a few policy hosts.

Cheap at 10,000 domains: the generated domains are split into groups of GROUP; each group is
one extra scenario row (one listener address, one policy body, ONE certificate whose SANs
name mta-sts.<d> for every domain of the group), and the members only add two DNS records
each (_mta-sts TXT, mta-sts A -> the group's address). So 10,000 domains cost 100
certificates and 100 listeners, not 10,000. Python 3 stdlib only; runs inside run_in_netns.sh.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "world"))
import scenarios  # noqa: E402
from world import World  # noqa: E402

BENCH_MX = "mx.bench.test"
EXPECTED_REPLY = f"OK secure match={BENCH_MX} servername=hostname"


def bench_domain(i, width=5):
    return f"d{i:0{width}d}.bench.test"


def bench_policy(max_age=604800):
    return scenarios.policy_body("bench.test", mode="enforce", mx=[BENCH_MX], max_age=max_age)


def group_rows(count, group):
    rows = []
    for g, start in enumerate(range(0, count, group)):
        members = [bench_domain(i) for i in range(start, min(count, start + group))]
        row = scenarios._row(f"g{g}.bench.test", 0, policy=bench_policy(), reply=EXPECTED_REPLY,
                             txt=[[f"v=STSv1; id=bench{g}"]],
                             note="benchmark group: one certificate for all members")
        row["addr"] = f"127.{51 + g // 250}.{g % 250 + 1}.1"
        row["mx_addr"] = row["addr"]
        row["members"] = members
        rows.append(row)
    return rows


class BenchWorld(World):
    def __init__(self, count, group=100, **kw):
        self.groups = group_rows(count, group)
        self.bench_count = count
        super().__init__(scenarios=list(scenarios.SCENARIOS) + self.groups, **kw)

    def _cert_for(self, s):
        if "members" in s:
            names = [f"mta-sts.{s['domain']}"] + [f"mta-sts.{m}" for m in s["members"]]
            return self.issue_cert(names, label=f"mta-sts.{s['domain']}")
        return super()._cert_for(s)

    def _zone_records(self, txt_override=None):
        rr = super()._zone_records(txt_override)
        for s in self.groups:
            for m in s["members"]:
                rr.append(f'_mta-sts.{m}. 300 IN TXT "v=STSv1; id={s["txt"][0][0].split("id=")[1]}"')
                rr.append(f"mta-sts.{m}. 300 IN A {s['addr']}")
        return rr
