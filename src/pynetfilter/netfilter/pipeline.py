"""The netfilter pipeline: a packet through the hooks, in the kernel's order (sans-IO).

Theory of operation.  :class:`Engine` holds a Ruleset, a Host (interfaces,
addresses, routes) and netfilter's state (conntrack, NAT bindings, recent
lists, hashlimit tables, ipsets, per-rule state).  It does no I/O: the caller
hands it a packet, the time and (through ``seed``) the randomness, and gets an
:class:`Outcome` back: the verdict, the changed packet, where it went, and
events (log lines, trace lines, packets the kernel generated such as REJECT
replies, which are run through OUTPUT and POSTROUTING themselves).

Hooks run their functions in priority order (NF_IP_PRI_*):

    PREROUTING   defrag -400, raw -300, conntrack -200, mangle -150, nat(DNAT) -100
    (routing decision: local delivery, forward, or no route; then the IP options are compiled:
     netfilter.ip_input; a failed route answers with the IP stack's own ICMP error, ip_error,
     and so does a forwarded packet whose TTL runs out, or that has DF set and exceeds the
     output route's MTU (fragmentation needed); these go through OUTPUT/POSTROUTING.  Without
     DF, a datagram over the MTU is fragmented after POSTROUTING, having been counted once)
    INPUT        mangle -150, filter 0, security 50, nat(SNAT) 100, conntrack confirm last
    FORWARD      mangle -150, filter 0, security 50
    OUTPUT       defrag -400, raw -300, conntrack -200, mangle -150, nat(DNAT) -100, filter 0,
                 security 50  (then re-routing if the destination or mark changed)
    POSTROUTING  mangle -150, nat(SNAT) 100, conntrack confirm last

A table runs only where it is loaded; conntrack and defragmentation run only
while a rule's extension needs them (a NAT target, a conntrack match, -j CT
without --notrack...; -m socket and -j TPROXY: defragmentation alone), as in
the kernel, where no table does by itself: a nat table without such a rule
counts nothing (tests/netfilter/test_activation.py has the kernel's table).
IPVS will hook in at its kernel positions (LOCAL_IN, FORWARD, LOCAL_OUT)
through :meth:`Engine.add_hook`.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.fastpath.traverse import do_table_compiled
from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.conntrack.entry import IPS_CONFIRMED
from pynetfilter.netfilter.ip_input import (
    forward_options,
    ip_error,
    ip_exceeds_mtu,
    ip_rcv_options,
    time_exceeded,
)
from pynetfilter.netfilter.par import Event, Par
from pynetfilter.netfilter.traverse import do_table
from pynetfilter.netfilter.verdicts import NAMES, NF_ACCEPT, NF_DROP, NF_QUEUE, NF_STOLEN
from pynetfilter.packet.model import IP_DF, IP_MF, IP_OFFSET

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Ruleset
    from pynetfilter.netfilter.host import Host
    from pynetfilter.packet.model import Packet

# Priorities of the built-in hook functions (include/uapi/linux/netfilter_ipv4.h).
PRI_DEFRAG, PRI_RAW, PRI_CONNTRACK, PRI_MANGLE, PRI_NAT_DST = -400, -300, -200, -150, -100
PRI_FILTER, PRI_SECURITY, PRI_NAT_SRC, PRI_CONFIRM = 0, 50, 100, 2**31 - 1
TABLE_PRIORITY = {"raw": PRI_RAW, "mangle": PRI_MANGLE, "filter": PRI_FILTER, "security": PRI_SECURITY}

# A hook function: (engine, packet, state) -> verdict; NF_ACCEPT continues with the next one.
HookFn = Callable[["Engine", "Packet", "HookState"], int]


@dataclass(slots=True)
class HookState:
    hook: Hook
    in_dev: str | None
    out_dev: str | None
    now: float
    trace: bool
    events: list[Event]
    path: list[str]


@dataclass(slots=True)
class Outcome:
    """What happened to one packet handed to the engine."""

    verdict: str  # "accept", "drop", "queue", "stolen"
    disposition: str  # "local" (delivered), "forward", "out" (sent from this host), "dropped", "queued"
    packet: Packet
    oif: str | None = None
    reason: str = ""  # why dropped: "rule" (a verdict), "policy", "no route", "invalid", ...
    events: list[Event] = field(default_factory=list)
    path: list[str] = field(default_factory=list)  # "hook:table:VERDICT" steps
    generated: list[Outcome] = field(default_factory=list)  # packets the kernel sent (REJECT...)


class Engine:
    def __init__(self, ruleset: Ruleset, host: Host, *, seed: int = 0, fastpath: bool = True) -> None:
        self.ruleset = ruleset
        # The compiled classifier (pynetfilter.fastpath) instead of the rule-by-rule interpreter:
        # the same verdicts, counters, traces and match state, at a cost that does not grow with N.
        self.fastpath = fastpath
        self.host = host
        self.rng = random.Random(seed)
        self.rule_states: dict[tuple[int, int], dict[str, Any]] = {}
        self.recent: dict[str, Any] = {}  # xt_recent lists by name
        self.hashlimit: dict[str, Any] = {}  # hashlimit tables by name
        # The host's ipsets and nfacct objects (pynetfilter.netfilter.objects), which a CLI puts on
        # the ruleset; every engine counts into its own copy.
        objs = getattr(ruleset, "objects", None)
        self.ipsets: dict[str, Any] = copy.deepcopy(objs.sets) if objs is not None else {}
        self.nfacct: dict[str, Any] = copy.deepcopy(objs.nfacct) if objs is not None else {}
        self.choices: Any = None  # a replay's source of the kernel's random choices
        self.rateest: dict[str, Any] = {}  # RATEEST estimators by name (netfilter.rateest)
        self.tee_duplicating = False  # a TEE copy is being sent
        self.extra_hooks: dict[Hook, list[tuple[int, str, HookFn]]] = {h: [] for h in Hook}
        self._hook_fns: dict[Hook, list[tuple[int, str, HookFn]]] = {}
        self._hook_run: dict[Hook, tuple[HookFn, ...]] = {}  # the same functions, bare: run_hook's loop
        self.conntrack_active = self.defrag_active = False
        self.conntrack: Any = None
        self.nat: Any = None
        self.defrag: Any = None
        self.local_defrag: Any = None  # ip_local_deliver's own reassembly
        self._generation = -1  # the ruleset generation the activation was computed for
        self._chain_needs: dict[Any, tuple[int, Any, int, int]] = {}
        self._activate()

    # --- set-up ---------------------------------------------------------------

    def _activate(self) -> None:
        """Switch conntrack and defragmentation on or off for the rules loaded now.

        Runs again whenever a table is replaced (the ruleset's generation moves): as in the
        kernel, a rule's checkentry takes conntrack and its destroy gives it back.  Switched
        off, the conntrack table is kept (its entries stay in the kernel's hash table until
        they time out) and is used again if a later rule switches conntrack back on.
        """
        self._generation = self.ruleset.generation
        self.conntrack_active, self.defrag_active = self._needs()
        self._hook_fns.clear()
        self._hook_run.clear()
        if self.conntrack_active and self.conntrack is None:
            from pynetfilter.netfilter.conntrack import Conntrack
            from pynetfilter.netfilter.nat import Nat

            self.conntrack = Conntrack(self)
            self.nat = Nat(self)
        if self.defrag_active and self.defrag is None:
            from pynetfilter.netfilter.defrag import Defrag

            self.defrag = Defrag(self)

    def refresh(self) -> None:
        """Catch up with ruleset changes made since the last packet (each hook does this itself)."""
        if self.ruleset.generation != self._generation:
            self._activate()

    def _needs(self) -> tuple[bool, bool]:
        """Conntrack/defrag are on while a loaded rule needs them: nf_ct_netns_get (which enables
        defrag too) or nf_defrag_ipv4_enable from the extension's checkentry, undone by its destroy.
        No table does so by itself: iptable_nat's hooks do nothing to a packet without conntrack,
        so a nat table without a NAT (or conntrack-using) rule counts nothing (kernel-recorded)."""
        # Per chain, cached by the chain object and its rule list: a change copies only the chains
        # it edits (copy-on-write), so after one command only those are scanned again; the rest
        # costs one dict lookup per chain.
        old = self._chain_needs
        new: dict[Any, tuple[int, Any, int, int]] = {}
        ct = defrag = 0
        for table in self.ruleset.tables.values():
            for chain in table.chains.values():
                rules = chain.rules
                got = old.get(chain)
                if got is None or got[0] != chain.serial or got[1] is not rules:
                    c = d = 0
                    for r in rules:
                        for ext in (*r.matches, r.target):
                            c |= bool(getattr(ext, "needs_conntrack", False))
                            d |= bool(getattr(ext, "needs_defrag", False))
                    got = (chain.serial, rules, c, d)
                new[chain] = got
                ct |= got[2]
                defrag |= got[3]
        self._chain_needs = new
        return bool(ct), bool(defrag or ct)

    def add_hook(self, hook: Hook, priority: int, name: str, fn: HookFn) -> None:
        """Register another hook function (IPVS) at *priority*."""
        self.extra_hooks[hook].append((priority, name, fn))
        self.extra_hooks[hook].sort(key=lambda x: x[0])
        self._hook_fns.clear()
        self._hook_run.clear()

    def _functions(self, hook: Hook) -> list[tuple[int, str, HookFn]]:
        """The hook's functions in priority order (computed once per hook and ruleset generation:
        this runs per packet, so it costs one attribute compare and one dict lookup)."""
        if self.ruleset.generation != self._generation:
            self._activate()
        fns = self._hook_fns.get(hook)
        if fns is None:
            fns = self._hook_fns[hook] = self._build_functions(hook)
            self._hook_run[hook] = tuple(fn for _prio, _name, fn in fns)
        return fns

    def _build_functions(self, hook: Hook) -> list[tuple[int, str, HookFn]]:
        fns: list[tuple[int, str, HookFn]] = []
        for name, prio in TABLE_PRIORITY.items():
            if name in self.ruleset.tables and hook in self.ruleset.tables[name].spec.hooks:
                fns.append((prio, name, _table_fn(name)))
        if self.conntrack_active:
            if hook in (Hook.PREROUTING, Hook.OUTPUT):
                fns.append((PRI_CONNTRACK, "conntrack", _conntrack_in))
            if hook in (Hook.INPUT, Hook.POSTROUTING):
                fns.append((PRI_CONFIRM, "confirm", _conntrack_confirm))
            if "nat" in self.ruleset.tables:
                prio = PRI_NAT_DST if hook in (Hook.PREROUTING, Hook.OUTPUT) else PRI_NAT_SRC
                if hook != Hook.FORWARD:
                    fns.append((prio, "nat", _nat_fn))
        if self.defrag_active and hook in (Hook.PREROUTING, Hook.OUTPUT):
            fns.append((PRI_DEFRAG, "defrag", _defrag_fn))
        fns.extend(self.extra_hooks[hook])
        fns.sort(key=lambda x: x[0])
        return fns

    # --- running tables and hooks --------------------------------------------

    def new_par(self, name: str, pkt: Packet, st: HookState) -> Par:
        """The Par for one traversal of table *name* (pynf trace's engine gives it an event list that
        renders each TRACE line the moment the rule matches, as the kernel logs it)."""
        # (all positional: this runs once per table per packet)
        return Par(st.hook, name, st.in_dev, st.out_dev, st.now, self.rng, self,
                   (pkt.frag_off & IP_OFFSET) * 8, pkt.ihl * 4, False, None, [], self.choices)

    def run_table(self, name: str, pkt: Packet, st: HookState) -> int:
        """Traverse table *name* at ``st.hook``; events and the path step are recorded in *st*."""
        table = self.ruleset.tables[name]
        par = self.new_par(name, pkt, st)
        verdict = (do_table_compiled if self.fastpath else do_table)(table, pkt, par, trace=st.trace)
        if par.events:
            st.events.extend(par.events)
        hook = st.hook
        try:
            step = _STEPS[hook][name][verdict] if type(verdict) is int else _step(hook, name, verdict)
        except KeyError:
            step = _step(hook, name, verdict)
        st.path.append(step)
        return verdict

    def run_hook(self, hook: Hook, pkt: Packet, st: HookState) -> int:
        st.hook = hook
        if self.ruleset.generation != self._generation:
            self._activate()
        run = self._hook_run.get(hook)
        if run is None:
            run = self._hook_run[hook] = tuple(fn for _prio, _name, fn in self._functions(hook))
        for fn in run:
            v = fn(self, pkt, st)
            if v != NF_ACCEPT:
                return v
        return NF_ACCEPT

    # --- entry points ----------------------------------------------------------

    def receive(self, pkt: Packet, iif: str, now: float, *, trace: bool = False,
                route: Any = None) -> Outcome:
        """A packet arriving on interface *iif* (ip_rcv): PREROUTING, routing, INPUT or FORWARD.

        *route*: the route the packet already carries (skb_dst), as a packet looped back over
        ``lo`` does: then there is no input route lookup (which would call it a martian).
        """
        pkt.meta.iif = iif
        st = HookState(Hook.PREROUTING, iif, None, now, trace, [], [])
        v = self.run_hook(Hook.PREROUTING, pkt, st)
        if v != NF_ACCEPT:
            return self._finish(v, pkt, st, None)
        if route is None:
            route = self.host.route_input(pkt, iif)
        if route.kind == "martian":  # ip_route_input failed: ip_rcv_finish drops, nothing compiled
            return self._finish(NF_DROP, pkt, st, None, reason=f"no route ({route.reason or route.kind})")
        if pkt.ihl > 5:
            bad = ip_rcv_options(self, pkt, route, st)
            if bad:
                return self._finish(NF_DROP, pkt, st, None, reason=bad)
        if route.kind == "local":
            st.in_dev, st.out_dev = iif, None
            if pkt.is_fragment:
                # ip_local_deliver reassembles before INPUT (conntrack's defrag did not, or is off).
                if self.local_defrag is None:
                    from pynetfilter.netfilter.defrag import Defrag

                    self.local_defrag = Defrag(self)
                st.hook = Hook.INPUT
                v = self.local_defrag.hook(pkt, st)
                if v != NF_ACCEPT:
                    return self._finish(v, pkt, st, None, ok="local")
            v = self.run_hook(Hook.INPUT, pkt, st)
            return self._finish(v, pkt, st, None, ok="local")
        if route.kind != "forward" or not self.host.ip_forward:
            ip_error(self, pkt, route, st)  # the route's input function: an ICMP error, or silence
            return self._finish(NF_DROP, pkt, st, None, reason=f"no route ({route.kind})")
        if pkt.meta.pkt_type != "host":
            return self._finish(NF_DROP, pkt, st, None, reason="not for this host (link layer)")
        if pkt.ttl <= 1:
            time_exceeded(self, pkt, route, st)
            return self._finish(NF_DROP, pkt, st, None, reason="ttl exceeded")
        # checked before FORWARD, on the undecremented TTL (only a DF datagram can exceed the MTU)
        if pkt.frag_off & IP_DF and ip_exceeds_mtu(self, pkt, route, st):
            return self._finish(NF_DROP, pkt, st, None, reason="fragmentation needed (DF, over the MTU)")
        pkt.ttl -= 1  # ip_forward decrements before the FORWARD hook
        oif = route.oif
        st.in_dev, st.out_dev = iif, oif
        pkt.meta.oif = oif
        v = self.run_hook(Hook.FORWARD, pkt, st)
        if v != NF_ACCEPT:
            return self._finish(v, pkt, st, oif)
        if pkt.ihl > 5:
            forward_options(self, pkt, route)  # ip_forward_finish
        # _postrouting(pkt, st, oif, ok="forward"), written out
        st.out_dev = oif
        v = self.run_hook(Hook.POSTROUTING, pkt, st)
        return self._finish(v, pkt, st, oif, ok="forward")

    def send(self, pkt: Packet, now: float, *, trace: bool = False, generated: bool = False,
             route: Any = None) -> Outcome:
        """A locally generated packet (ip_local_out): OUTPUT, re-routing, POSTROUTING.

        *generated*: a packet the kernel itself made (REJECT's reply); its source may be any
        address (the original's destination), so it is routed by destination only.
        """
        if route is None:  # (TEE's copy comes with the route to its gateway)
            route = self._route_out(pkt, generated)
        if route.kind not in ("local", "forward"):
            st = HookState(Hook.OUTPUT, None, None, now, trace, [], [])
            return self._finish(NF_DROP, pkt, st, None, reason=f"no route ({route.kind})")
        st = HookState(Hook.OUTPUT, None, route.oif, now, trace, [], [])
        pkt.meta.oif = route.oif
        before = (pkt.daddr, pkt.meta.mark, pkt.tos)
        v = self.run_hook(Hook.OUTPUT, pkt, st)
        if v != NF_ACCEPT:
            return self._finish(v, pkt, st, route.oif)
        if (pkt.daddr, pkt.meta.mark, pkt.tos) != before:  # ip_route_me_harder
            route = self._route_out(pkt, generated)
            if route.kind not in ("local", "forward"):
                return self._finish(NF_DROP, pkt, st, None, reason=f"no route ({route.kind})")
            st.out_dev = pkt.meta.oif = route.oif
        return self._postrouting(pkt, st, route.oif, ok="out")

    def _route_out(self, pkt: Packet, generated: bool) -> Any:
        if generated:
            return self.host.route_output_addr(pkt.daddr, 0, None, pkt.tos)
        return self.host.route_output(pkt)

    def _postrouting(self, pkt: Packet, st: HookState, oif: str | None, ok: str) -> Outcome:
        st.in_dev, st.out_dev = (st.in_dev if ok == "forward" else None), oif
        v = self.run_hook(Hook.POSTROUTING, pkt, st)
        return self._finish(v, pkt, st, oif, ok=ok)

    def _finish(self, v: int, pkt: Packet, st: HookState, oif: str | None, *, ok: str = "out",
                reason: str = "") -> Outcome:
        if v == NF_ACCEPT:
            out = Outcome("accept", ok, pkt, oif, "", st.events, st.path, [])
        elif v == NF_QUEUE:
            out = Outcome("queue", "queued", pkt, oif, "", st.events, st.path, [])
        elif v == NF_STOLEN:
            out = Outcome("stolen", "stolen", pkt, oif, "", st.events, st.path, [])
        else:
            out = Outcome("drop", "dropped", pkt, oif, reason or "rule", st.events, st.path, [])
        if not out.events:
            return out
        # Packets the kernel generated while this one was processed go out through OUTPUT.
        for ev in list(out.events):
            if ev.kind == "emit" and ev.packet is not None:
                # nf_skb_duplicated: TEE does not copy the copy it is sending
                self.tee_duplicating = ev.route is not None
                try:
                    out.generated.append(self.send(ev.packet, st.now, trace=st.trace, generated=True,
                                                   route=ev.route))
                finally:
                    self.tee_duplicating = False
        return out


def _vname(v: int) -> str:
    return NAMES.get(v, str(v))


# The path steps made so far, by hook, table and verdict: "FORWARD:filter:ACCEPT" is built once.
_STEPS: dict[Hook, dict[str, dict[int, str]]] = {}


def _step(hook: Hook, name: str, verdict: int) -> str:
    step = f"{hook.name}:{name}:{_vname(verdict)}"
    if type(hook) is Hook and type(verdict) is int:
        by_verdict = _STEPS.setdefault(hook, {}).setdefault(name, {})
        if len(by_verdict) < 64:
            by_verdict[verdict] = step
    return step


def _table_fn(name: str) -> HookFn:
    def fn(engine: Engine, pkt: Packet, st: HookState) -> int:
        return engine.run_table(name, pkt, st)

    fn.__name__ = f"table_{name}"
    return fn


# (The hook functions return ints already: no int() around them, they run for every packet.)
def _conntrack_in(engine: Engine, pkt: Packet, st: HookState) -> int:
    return engine.conntrack.in_hook(pkt, st)  # type: ignore[no-any-return]


def _conntrack_confirm(engine: Engine, pkt: Packet, st: HookState) -> int:
    ct = pkt.meta.ct
    if ct is None or ct.status & IPS_CONFIRMED:
        return NF_ACCEPT  # (confirm's own first test: nothing to insert, as for most packets)
    return engine.conntrack.confirm(pkt, st)  # type: ignore[no-any-return]


def _nat_fn(engine: Engine, pkt: Packet, st: HookState) -> int:
    return engine.nat.hook(pkt, st)  # type: ignore[no-any-return]


def _defrag_fn(engine: Engine, pkt: Packet, st: HookState) -> int:
    if not pkt.frag_off & (IP_MF | IP_OFFSET):
        return NF_ACCEPT  # (the defrag hook's own first test: not a fragment)
    return engine.defrag.hook(pkt, st)  # type: ignore[no-any-return]
