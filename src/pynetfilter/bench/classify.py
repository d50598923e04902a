"""``pynf bench classbench``, our side: ns per classification, build time and memory.

Theory of operation.  A classifier is built from a loaded Ruleset and a Host and then called with
a packet; it returns the filter table's verdict at FORWARD.  :data:`CLASSIFIERS` maps a mode name
to its builder: "interpreter" and "compiled" both go through the engine's own FORWARD hook
(:meth:`Engine.run_hook`), with ``fastpath`` off and on, so "compiled" measures whatever the
engine's fast path runs there, and nothing else differs.  A classifier that is not reached through
the engine can be measured beside them with :func:`register`.

Every mode's verdicts are checked against the reference interpreter's (``traverse.do_table``,
traced, which also gives each packet's first-match depth), packet by packet, before its time is
believed.
"""

from __future__ import annotations

import gc
import statistics
import tracemalloc
from collections.abc import Callable

from pynetfilter.bench.classbench import CbRule, restore_text, sample
from pynetfilter.bench.services import CLOCK_NS, HOST_FILE
from pynetfilter.model.ruleset import Ruleset
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.par import Par
from pynetfilter.netfilter.pipeline import Engine, HookState
from pynetfilter.netfilter.traverse import do_table
from pynetfilter.packet.model import Packet

Classifier = Callable[[Packet], int]
Builder = Callable[[Ruleset, Host], Classifier]


def engine_classifier(fastpath: bool) -> Builder:
    """A builder whose classifier runs the engine's FORWARD hook functions (only filter is loaded)."""

    def build(rs: Ruleset, host: Host) -> Classifier:
        engine = Engine(rs, host, fastpath=fastpath)
        st = HookState(Hook.FORWARD, "rc", "rs", 0.0, False, [], [])
        path, run_hook, forward = st.path, engine.run_hook, Hook.FORWARD

        def classify(pkt: Packet) -> int:
            path.clear()  # run_table appends its step: keep the list from growing with the loop
            return run_hook(forward, pkt, st)

        classify(Packet(0, 0, 0))  # the engine's first packet: hook lists (and any compiling) now
        return classify

    return build


CLASSIFIERS: dict[str, Builder] = {
    "interpreter": engine_classifier(False),
    "compiled": engine_classifier(True),
}


def register(name: str, builder: Builder) -> None:
    """Measure another classifier under *name* (``pynf bench classbench --modes NAME``)."""
    CLASSIFIERS[name] = builder


def host() -> Host:
    return Host.from_file(HOST_FILE)


def reference(rs: Ruleset, packets: list[Packet]) -> tuple[list[int], list[int]]:
    """Verdict and first-match depth (1-based rule number, or rules + 1 for the policy) of every
    packet, from the reference interpreter's trace."""
    engine = Engine(rs, host(), fastpath=False)
    table = rs.tables["filter"]
    verdicts, depths = [], []
    for pkt in packets:
        par = Par(Hook.FORWARD, "filter", "rc", "rs", 0.0, engine.rng, engine, thoff=pkt.ihl * 4)
        verdicts.append(do_table(table, pkt, par, trace=True))
        depths.append(int(par.events[-1].text.rsplit(":", 1)[1]))
    return verdicts, depths


def _load(text: str) -> Ruleset:
    rs = Ruleset()
    rs.restore(text)
    return rs


def _memory_mb(text: str, builder: Builder) -> tuple[float, float]:
    """Heap held by the loaded ruleset, and by the classifier built on it (tracemalloc; a pass of
    its own, since tracing slows what the other pass times)."""
    gc.collect()
    tracemalloc.start()
    try:
        rs = _load(text)
        loaded = tracemalloc.get_traced_memory()[0]
        classify = builder(rs, host())
        built = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del classify, rs
    return loaded / 2**20, (built - loaded) / 2**20


def measure_set(name: str, rules: list[CbRule], modes: list[str], packets: int = 1000,
                repeat: int = 3) -> list[dict[str, object]]:
    """One rule set through every mode in *modes*: a result dict per mode."""
    text = restore_text(rules)
    picked = sample(rules, packets)
    pkts = [p for _k, p in picked]
    want, depths = reference(_load(text), pkts)
    out = []
    for mode in modes:
        builder = CLASSIFIERS[mode]
        t0 = CLOCK_NS() / 1e9
        rs = _load(text)
        t1 = CLOCK_NS() / 1e9
        classify = builder(rs, host())
        t2 = CLOCK_NS() / 1e9
        got = [classify(p) for p in pkts]
        bad = [i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b]
        if bad:
            i = bad[0]
            raise AssertionError(f"{name} {mode}: {len(bad)} verdicts differ from the interpreter's; the "
                                 f"first for the packet of rule {picked[i][0] + 1}: {got[i]} != {want[i]}")
        best = float("inf")
        for _ in range(repeat):
            gc.disable()  # no collector pauses inside the timed loop (the loop allocates little)
            try:
                s0 = CLOCK_NS()
                for p in pkts:
                    classify(p)
                best = min(best, (CLOCK_NS() - s0) / len(pkts))
            finally:
                gc.enable()
        ruleset_mb, classifier_mb = _memory_mb(text, builder)
        out.append({
            "set": name, "rules": len(rules), "mode": mode, "ns_per_classification": best,
            "load_s": t1 - t0, "build_s": t2 - t1, "ruleset_mb": ruleset_mb, "memory_mb": classifier_mb,
            "packets": len(pkts), "mean_depth": statistics.fmean(depths), "max_depth": max(depths),
        })
    return out
