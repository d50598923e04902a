"""``pynf bench classbench``, the kernel's side: the cost of ipt_do_table walking the same chain.

Method.  The router namespace of a lab (pynetfilter.bench.netns) loads, with
iptables-legacy-restore, the first k rules of the converted set into FORWARD, for a few k from 0
(an empty chain) to K; a UDP echo between client and server crosses it twice per round trip (the
request and the reply are both forwarded, and both walk FORWARD).  The median round trip at each k
is fitted with a line: its slope over 2 packets is the kernel's cost per rule walked, and the
difference against the empty chain is the cost of the walk alone (routing, veth and sockets
cancel out).  The per-classification estimate is that slope times the mean first-match depth of
the sampled ClassBench packets (the same packets pynetfilter classified).

Why prefixes instead of the ClassBench packets themselves: this lab's traffic uses 10.233.0.0/16
only, and the sets' addresses are elsewhere, so the probe (10.233.240.2 <-> 10.233.241.2, UDP)
matches no rule of the prefix and walks all k rules, failing each one at its addresses, protocol
or ports as a ClassBench packet fails the rules above its own.  K is the deepest prefix the probe
falls through in both directions (the sets end with wide rules that cover any address); the
reference interpreter confirms that before the kernel is asked.
"""

from __future__ import annotations

import json
import statistics

from pynetfilter.bench.classbench import UDP, CbRule, covers, restore_text
from pynetfilter.bench.classify import reference
from pynetfilter.bench.netns import Lab, LabError
from pynetfilter.bench.services import CLIENT, SERVER
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.netfilter.host import ip4
from pynetfilter.packet.model import Packet, Udp

# (client port, server port) candidates for the probe: the one walking deepest is used.
PROBE_PORTS = ((40000, 7), (33333, 7777), (50505, 5353), (61000, 9), (45678, 31337))
STEPS = 4  # prefixes at K/4, K/2, 3K/4, K beside the empty chain


def probe_depth(rules: list[CbRule]) -> tuple[int, tuple[int, int]]:
    """K (rules the probe walks before any could match it, both ways) and the ports achieving it."""
    c, s = ip4(CLIENT), ip4(SERVER)
    best = (-1, PROBE_PORTS[0])
    for cport, sport in PROBE_PORTS:
        k = next((i for i, r in enumerate(rules)
                  if covers(r, c, s, UDP, cport, sport) or covers(r, s, c, UDP, sport, cport)), len(rules))
        best = max(best, (k, (cport, sport)))
    return best


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares line through (xs, ys): slope, intercept, R squared."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss = sum((y - my) ** 2 for y in ys)
    res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, intercept, (1 - res / ss) if ss else 1.0


def _rtt_us(lab: Lab, sport: int, dport: int, count: int) -> float:
    got = json.loads(lab.client("udp-client", SERVER, str(dport), str(count), "--sport", str(sport)))
    if got["lost"] > count // 10 or not got["rtt_ns"]:
        raise LabError(f"UDP echo through the router lost {got['lost']} of {count}")
    return statistics.median(got["rtt_ns"]) / 1e3


def measure_kernel(name: str, rules: list[CbRule], mean_depth: float,
                   round_trips: int = 3000) -> dict[str, object]:
    """The kernel's figures for one set: per-rule cost, per-classification estimate, load time."""
    k_max, (cport, sport) = probe_depth(rules)
    if k_max < 8:
        raise LabError(f"the probe matches rule {k_max + 1}: too shallow to measure a walk")
    # The reference interpreter must agree that the probe falls through the prefix (cheap: one packet).
    rs = Ruleset()
    rs.restore(restore_text(rules[:k_max]))
    probe = [Packet(ip4(CLIENT), ip4(SERVER), UDP, Udp(cport, sport, 12), b"\0" * 4),
             Packet(ip4(SERVER), ip4(CLIENT), UDP, Udp(sport, cport, 12), b"\0" * 4)]
    depths = reference(rs, probe)[1]
    if depths != [k_max + 1, k_max + 1]:
        raise LabError(f"the probe stops at rules {depths}, expected the policy after {k_max}")
    ks = [round(k_max * i / STEPS) for i in range(STEPS + 1)]
    rtts = []
    with Lab() as lab:
        lab.agent("server", "udp-echo", str(sport))
        _rtt_us(lab, cport, sport, 300)  # warm-up: ARP, caches
        load_s = 0.0
        for k in ks:
            secs = lab.timed("router", ["iptables-legacy-restore", "-w"], restore_text(rules[:k]))
            if k == ks[-1]:
                load_s = secs
            rtts.append(_rtt_us(lab, cport, sport, round_trips))
        full_s = lab.timed("router", ["iptables-legacy-restore", "-w"], restore_text(rules))
    slope_us, _, r2 = _fit([2.0 * k for k in ks], rtts)  # two walks per round trip
    per_rule_ns = slope_us * 1e3
    return {
        "set": name, "rules": len(rules), "mode": "kernel-legacy",
        "ns_per_classification": per_rule_ns * mean_depth, "ns_per_rule": per_rule_ns,
        "walk_ns": (rtts[-1] - rtts[0]) * 1e3 / 2, "walk_rules": k_max, "fit_r2": r2,
        "load_s": full_s, "prefix_load_s": load_s, "build_s": full_s, "ruleset_mb": None, "memory_mb": None,
        "mean_depth": mean_depth, "rtt_us": dict(zip(map(str, ks), rtts, strict=True)),
    }
