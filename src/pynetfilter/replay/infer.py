"""The host's own packets as their sockets sent them, inferred from what a capture shows.

Theory of operation.  ``tcpdump -i any`` sees a packet the host sends after
POSTROUTING: a connection the host opens to a Service ClusterIP shows with the
endpoint's address that nat OUTPUT's DNAT put there (kube-proxy: KUBE-SERVICES
-> KUBE-SVC -> statistic -> KUBE-SEP), a REDIRECTed one with 127.0.0.1 and the
local port, and a masqueraded one with the new source.  OUTPUT saw the packet
as the socket sent it, so that packet is what the replay must feed.

For a connection's first packet (no conntrack entry yet; later packets are
mapped back through the entry), :func:`infer` lists what the socket may have
sent: the packet as captured, and for every DNAT/REDIRECT reachable from nat
OUTPUT whose result covers the captured destination, the destinations and
ports the rules on the way to it select (``-d A/32``, ``--dport``,
``--dports``); with each, the captured source and (if nat POSTROUTING can
rewrite sources) the source the host's routing picks for that destination.
Each candidate is run on a scratch engine (its own conntrack, copies of the
per-rule state), once per outcome of every ``statistic --mode random`` it
meets; a run that leaves through the captured interface as the captured packet
is an explanation.  The scratch runs bump the shared ruleset's counters: they
are taken back rule by rule from the runs' trace events, so no full snapshot
of a large ruleset is needed.

Explanations that pass the same rules count the same; when they differ, the
capture cannot tell which the kernel saw: the first is replayed (an unbound
socket's source first, then a NATed one before "as captured"), and the others
are named as ambiguous; one whose source the routing would not pick (a socket
bound to it) is no rival to one whose source it picks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.model.rule import Jump
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.pipeline import Engine
from pynetfilter.packet.model import Icmp
from pynetfilter.packet.wire import length as packet_len

if TYPE_CHECKING:
    from pynetfilter.model.rule import Rule
    from pynetfilter.model.ruleset import Table
    from pynetfilter.netfilter.par import Par
    from pynetfilter.netfilter.pipeline import Outcome
    from pynetfilter.packet.model import Packet

LOOPBACK = 0x7F000001
MAX_RUNS = 256  # scratch runs per packet (candidates x statistic branches)
SNAT_TARGETS = ("SNAT", "MASQUERADE", "NETMAP")


@dataclass
class Inference:
    """The packet to feed OUTPUT, the statistic outcomes the kernel drew, and how it was found."""

    packet: Packet
    decisions: list[bool]
    nat: bool  # OUTPUT NAT explains the captured packet
    others: list[str] = field(default_factory=list)  # explanations that count differently
    unexplained: bool = False  # no candidate leaves the host as captured: fed as captured


class Forced:
    """``choices`` for one packet: the given statistic outcomes in order, NAT's port from the capture."""

    def __init__(self, captured: Packet, decisions: list[bool], fallback: Any = None) -> None:
        self.captured, self.decisions = captured, decisions
        self.made: list[bool] = []
        self.fallback = fallback

    def decide(self, kind: str, probability: Any, par: Par | None = None) -> bool:
        if probability <= 0 or probability >= 1:
            return bool(probability >= 1)
        i = len(self.made)
        taken = self.decisions[i] if i < len(self.decisions) else True
        self.made.append(taken)
        return taken

    def nat_key(self, orig: Any, manip: int) -> int | None:
        from pynetfilter.netfilter.nat_tuple import MANIP_SRC

        l4 = self.captured.l4
        if isinstance(l4, Icmp):
            return l4.id
        return int(getattr(l4, "sport" if manip == MANIP_SRC else "dport", 0)) or None

    def ip_id(self, saddr: int, daddr: int, proto: int) -> int | None:
        pick = getattr(self.fallback, "ip_id", None)
        return pick(saddr, daddr, proto) if pick is not None else None


def branches(scratch: Scratch, real: Engine, pkt: Packet, now: float, limit: int,
             choices: Callable[[list[bool]], Forced],
             prepare: Callable[[], None] | None = None,
             ) -> Iterator[tuple[Outcome, list[bool], tuple[str, ...]]]:
    """Run *pkt* on the scratch engine once per outcome of every ``statistic --mode random`` it
    meets (depth first, at most *limit* runs; *prepare* runs after each reset): each run's outcome,
    the statistic outcomes it took, and the rules it passed.  Each run costs a full traversal."""
    pending: list[list[bool]] = [[]]
    while pending and limit > 0:
        forced = pending.pop()
        scratch.begin(real)
        if prepare is not None:
            prepare()
        ch = choices(forced)
        scratch.choices = ch
        try:
            out = scratch.send(copy.deepcopy(pkt), now, trace=True)
        finally:
            sig = tuple(t for t, _n in scratch.bumped)
            scratch.undo()
        limit -= 1
        yield out, list(ch.made), sig
        for j in range(len(ch.made) - 1, len(forced) - 1, -1):
            pending.append(ch.made[:j] + [not ch.made[j]])


# --------------------------------------------------------------------------- candidates from the rules


def _dports(rule: Rule) -> list[int] | None:
    """The destination ports *rule* selects, when it names them (None: any)."""
    for m in rule.matches:
        if m.name in ("tcp", "udp", "sctp", "dccp") and not getattr(m, "invflags", 0) & 0x02:
            lo, hi = m.dpts  # type: ignore[attr-defined]
            if (lo, hi) != (0, 0xFFFF) and hi - lo < 64:
                return list(range(lo, hi + 1))
        if m.name == "multiport" and not m.invert and m.flags == 1:  # type: ignore[attr-defined]
            if any(m.pflags):  # type: ignore[attr-defined]
                return None  # a port range: any of it
            return list(m.ports)  # type: ignore[attr-defined]
    return None


def _paths(table: Table, chain: str, dst: int | None, ports: list[int] | None, seen: frozenset[str],
           out: list[tuple[Rule, int | None, list[int] | None]]) -> None:
    """Every (NAT target rule, destination, ports) reachable from *chain*, with what the rules on
    the way select."""
    for r in table.chains[chain].rules:
        ip = r.ip
        d = ip.dst if ip.dmsk == 0xFFFFFFFF and not ip.inv_dst else dst
        p = _dports(r) or ports
        t = r.target
        if isinstance(t, Jump):
            if t.chain not in seen:
                _paths(table, t.chain, d, p, seen | {t.chain}, out)
        elif getattr(t, "name", "") in ("DNAT", "REDIRECT"):
            out.append((r, d, p))


def _covers(rule: Rule, pkt: Packet) -> bool:
    """Could *rule*'s NAT target (in OUTPUT) have produced *pkt*'s destination?"""
    from pynetfilter.ext._nat import MAP_IPS, PROTO_SPECIFIED

    t: Any = rule.target
    port = getattr(pkt.l4, "dport", None)
    if t.name == "REDIRECT":
        if pkt.daddr != LOOPBACK:
            return False
    elif t.flags & MAP_IPS and not t.min_ip <= pkt.daddr <= t.max_ip:
        return False
    return not (t.flags & PROTO_SPECIFIED and port is not None and not t.min_port <= port <= t.max_port)


def nat_paths(engine: Engine) -> list[tuple[Rule, int | None, list[int] | None]]:
    """Every DNAT/REDIRECT reachable from nat OUTPUT with what the rules on its way select
    (a walk of the whole nat OUTPUT graph: done once per replay)."""
    paths: list[tuple[Rule, int | None, list[int] | None]] = []
    nat = engine.ruleset.tables.get("nat")
    if nat is not None:
        _paths(nat, Hook.OUTPUT.name, None, None, frozenset(), paths)
    return paths


def candidates(engine: Engine, pkt: Packet,
               paths: list[tuple[Rule, int | None, list[int] | None]]) -> list[tuple[int, int | None]]:
    """(destination, port) the socket may have sent to: as captured first, then what OUTPUT NAT
    rules that produce the captured destination select."""
    port = getattr(pkt.l4, "dport", None)
    out: list[tuple[int, int | None]] = [(pkt.daddr, port)]
    for rule, dst, ports in paths:
        if not _covers(rule, pkt):
            continue
        dsts = [dst] if dst is not None else sorted({a.local for dev in engine.host.interfaces.values()
                                                       for a in dev.ifaddrs})
        from pynetfilter.ext._nat import PROTO_SPECIFIED

        if not getattr(rule.target, "flags", 0) & PROTO_SPECIFIED:  # the port is kept: as captured
            plist = [port] if not ports or port in ports else []
        else:
            plist = ports if ports and port is not None else [port]
        for d in dsts:
            for p in plist:
                if (d, p) not in out:
                    out.append((d, p))
    return out


def rewrites_sources(engine: Engine) -> bool:
    nat = engine.ruleset.tables.get("nat")
    return nat is not None and any(getattr(r.target, "name", "") in SNAT_TARGETS
                                   for c in nat.chains.values() for r in c.rules)


# --------------------------------------------------------------------------- scratch runs


class Scratch(Engine):
    """An engine for trial runs: the replay's ruleset and host, fresh netfilter state each run."""

    def __init__(self, ruleset: Any, host: Any) -> None:
        super().__init__(ruleset, host)
        self.paths = nat_paths(self)  # the ruleset does not change while a capture is replayed
        self.snat = rewrites_sources(self)

    def begin(self, real: Engine) -> None:
        from pynetfilter.netfilter.conntrack import Conntrack
        from pynetfilter.netfilter.nat import Nat

        self.rule_states = {k: dict(v) for k, v in real.rule_states.items()}
        self.recent = copy.deepcopy(real.recent)
        self.ipsets = real.ipsets
        if self.conntrack_active:
            # acct given: Conntrack would otherwise walk the whole ruleset for connbytes each run.
            self.conntrack = Conntrack(self, acct=bool(getattr(real.conntrack, "acct", False)))
            self.nat = Nat(self)
        self.bumped: list[tuple[str, int]] = []  # trace events and the packet's length then

    def new_par(self, name: str, pkt: Packet, st: Any) -> Any:
        par = super().new_par(name, pkt, st)
        par.events = _Bumps(self, pkt)
        return par

    def undo(self) -> None:
        """Take back the counters the run bumped (the trace events name each rule and policy)."""
        for text, n in self.bumped:
            tname, cname, _kind, num = text.rsplit(":", 3)
            chain = self.ruleset.tables[tname].chains[cname]
            i = int(num)
            obj: Any = chain.rules[i - 1] if i <= len(chain.rules) else (chain if chain.policy else None)
            if obj is not None:
                obj.packets -= 1
                obj.bytes -= n
        self.bumped = []


class _Bumps(list):  # type: ignore[type-arg]
    def __init__(self, engine: Scratch, pkt: Packet) -> None:
        super().__init__()
        self.engine, self.pkt = engine, pkt

    def append(self, ev: Any) -> None:
        if ev.kind == "trace":
            self.engine.bumped.append((ev.text, packet_len(self.pkt)))
        super().append(ev)


def _same(a: Packet, b: Packet) -> bool:
    la, lb = a.l4, b.l4
    if isinstance(la, Icmp) and isinstance(lb, Icmp):
        return (a.saddr, a.daddr, la.type, la.id) == (b.saddr, b.daddr, lb.type, lb.id)
    return (a.saddr, a.daddr, a.proto, getattr(la, "sport", None), getattr(la, "dport", None)) == \
        (b.saddr, b.daddr, b.proto, getattr(lb, "sport", None), getattr(lb, "dport", None))


def infer(scratch: Scratch, real: Engine, captured: Packet, oif: str, now: float) -> Inference | None:
    """The packet the socket sent, when it differs from *captured* or OUTPUT NAT explains it;
    None: feed the capture as it is."""
    from pynetfilter.netfilter.host import fmt4

    dests = candidates(real, captured, scratch.paths)
    srcs_vary = scratch.snat
    if len(dests) == 1 and not srcs_vary:
        return None
    found: list[tuple[int, Packet, list[bool], tuple[str, ...]]] = []
    runs = 0
    for daddr, dport in dests:
        sources = [captured.saddr]
        if srcs_vary:
            r = real.host.route_output_addr(daddr)
            if r.src and r.src != captured.saddr:
                sources.insert(0, r.src)
        for saddr in sources:
            cand = copy.deepcopy(captured)
            cand.saddr, cand.daddr = saddr, daddr
            if dport is not None and cand.l4 is not None and hasattr(cand.l4, "dport"):
                cand.l4.dport = dport  # type: ignore[union-attr]
            natural = real.host.route_output_addr(daddr).src == saddr
            rank = (0 if natural else 2) + (0 if daddr != captured.daddr else 1)
            for out, made, sig in branches(scratch, real, cand, now, MAX_RUNS - runs,
                                           lambda forced: Forced(captured, forced)):
                runs += 1
                if out.verdict == "accept" and out.oif == oif and _same(out.packet, captured):
                    found.append((rank, cand, made, sig))
    if not found:
        return Inference(captured, [], False, unexplained=True)
    found.sort(key=lambda x: x[0])
    rank, pkt, decisions, sig = found[0]
    others = []
    for r, p, _d, s in found[1:]:
        # A source the routing would not pick needs a socket bound to it: no rival to one it picks.
        if s != sig and r // 2 == rank // 2:
            what = "as captured" if p.daddr == captured.daddr and p.saddr == captured.saddr else \
                f"to {fmt4(p.daddr)}:{getattr(p.l4, 'dport', '')} from {fmt4(p.saddr)}"
            if what not in others:
                others.append(what)
    nat = pkt.daddr != captured.daddr or pkt.saddr != captured.saddr or \
        getattr(pkt.l4, "dport", None) != getattr(captured.l4, "dport", None)
    if not nat and not others:
        return None
    return Inference(pkt, decisions, nat, others)
