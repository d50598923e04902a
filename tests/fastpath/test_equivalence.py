"""Property tests: the compiled fast path (``Engine(fastpath=True)``) is the interpreter, observably.

Each example loads one random ruleset twice (two independent ``Ruleset`` loads of the same
iptables-restore text) and builds two engines on the same host with the same seed, one with
``fastpath=False`` (netfilter.traverse.do_table, the reference) and one with ``fastpath=True``.
A random stream of packets goes through both, with the clock moving forward by random amounts and,
in some examples, random iptables commands and ``--noflush`` restores applied to both rulesets
between packets.  After every packet the two Outcomes must be equal (verdict, disposition, reason,
oif, the packet's bytes and skb metadata, events with their emitted packets, the path, the
generated packets' outcomes, recursively), and so must the rule and policy counters and the
engines' random state; before every ruleset change and at the end, the state of the stateful
matches and targets (per-rule state by table/chain/rule/extension position, recent lists,
hashlimit tables, ipsets, conntrack and NAT tables, fragment queues) must be equal too.

The rulesets come from a vocabulary aimed at what a classifier could get wrong: jumps, gotos
and RETURN through user chains reached from several hooks, prefixes of every length (negated,
and non-contiguous masks), interface names and wildcards, protocols by name and number, ``-f``,
single ports, ranges and multiport (negated too), marks set mid-chain and matched later,
conntrack states, and the matches and targets with state (statistic, limit, hashlimit, recent,
quota, connlimit, connbytes, SET) or with side effects (LOG, REJECT, NAT, MARK, CONNMARK,
NFQUEUE).  The large examples are the kube-proxy shape (hundreds of ``-d VIP/32 -p tcp --dport P
-j KUBE-SVC-x`` rules, statistic to endpoint chains that DNAT) and walls of rules sharing ports
with different prefixes.  Most packets are aimed: built from a rule of the ruleset (inside or
just outside its prefixes and port ranges, through a hook its chain is reached from), since random
packets pass few rules' IP parts.  A failure prints the ruleset and the packet stream as it was
fed, packet bytes included.  The harness itself is tested: changed state, changed outcomes and
engines that are wrong on purpose must each be reported.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import enum
import functools
import itertools
import random
import struct
import traceback
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from pynetfilter.errors import PynfError
from pynetfilter.model.rule import Rule
from pynetfilter.model.ruleset import Chain, Ruleset, Table
from pynetfilter.netfilter import objects as nf_objects
from pynetfilter.netfilter.conntrack.entry import Conn
from pynetfilter.netfilter.host import Host
from pynetfilter.netfilter.pipeline import Engine, Outcome
from pynetfilter.packet import wire
from pynetfilter.packet.model import (
    ACK,
    FIN,
    IP_DF,
    IP_MF,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    PSH,
    RST,
    SYN,
    URG,
    Icmp,
    Packet,
    Tcp,
    Udp,
)
from tests.fuzzing import examples

# --------------------------------------------------------------------------- strategies, cached

# A ruleset takes hundreds of draws; building a new strategy object for each (validating it,
# labelling it) would cost as much again as the draw itself.


@functools.lru_cache(maxsize=4096)  # bounded: streams sample each ruleset's own addresses
def _one(items: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(items)


def one(items: Iterable[Any]) -> st.SearchStrategy[Any]:
    return _one(tuple(items))


@functools.cache
def ints(lo: int, hi: int | None = None) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


BOOL = st.booleans()


# --------------------------------------------------------------------------- the host

# A router: a LAN, an uplink with the default route, a server/pod network, a tunnel.  Its own
# addresses make INPUT and OUTPUT paths; the unreachable route and the small-MTU link make the IP
# stack's own ICMP errors; 10.96.0.0/12 (service VIPs) is routed out of the uplink unless DNAT
# sends it elsewhere.
HOST_TEXT = """
iface eth0 mtu 1500
iface eth1 mtu 1500
iface eth2 mtu 1400
iface wg0 mtu 1420
addr eth0 10.0.0.1/24
addr eth1 192.168.1.1/24
addr eth2 10.1.0.1/24
addr wg0 172.16.0.1/24
route default via 192.168.1.254
route 10.2.0.0/16 via 10.1.0.254
route unreachable 10.9.0.0/16
"""
IFACES = ("eth0", "eth1", "eth2", "wg0")

# Two ipsets for -m set and -j SET; the initval is fixed so both loads hash alike.
OBJECTS_TEXT = (
    "#ipset create s1 hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1234abcd\n"
    "#ipset add s1 10.0.0.7\n"
    "#ipset add s1 8.8.8.8\n"
    "#ipset create s2 hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 30 bucketsize 12 "
    "initval 0x0badcafe\n"
)


def ip(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def fmt(addr: int) -> str:
    return ".".join(str(addr >> s & 0xFF) for s in (24, 16, 8, 0))


LAN = [ip(a) for a in ("10.0.0.2", "10.0.0.3", "10.0.0.7", "10.0.0.100")]
WAN = [ip(a) for a in ("192.168.1.254", "192.168.1.50", "8.8.8.8", "1.1.1.1", "93.184.216.34")]
PODS = [ip(a) for a in ("10.1.0.5", "10.1.0.6", "10.1.0.7", "10.2.3.4")]
TUNNEL = [ip(a) for a in ("172.16.0.2", "172.16.0.9")]
LOCAL = [ip(a) for a in ("10.0.0.1", "192.168.1.1", "10.1.0.1", "172.16.0.1", "127.0.0.1")]
VIPS = [ip(a) for a in ("10.96.0.1", "10.96.0.10", "10.96.0.11", "10.96.12.7")]
ODD = [ip(a) for a in ("10.0.0.255", "255.255.255.255", "224.0.0.1", "0.0.0.0", "10.9.1.1")]
REMOTE = LAN + WAN + PODS + TUNNEL
ADDRS = REMOTE + LOCAL + VIPS + ODD
PORTS = (22, 53, 80, 443, 1024, 3000, 8080, 40000, 65535)


def home(addr: int) -> str:
    """The interface a packet from *addr* arrives on when nobody spoofs."""
    for pool, dev in ((LAN, "eth0"), (PODS, "eth2"), (TUNNEL, "wg0")):
        if addr in pool:
            return dev
    return "eth1"


# --------------------------------------------------------------------------- rulesets

TABLE_HOOKS = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
}
NO_IN = frozenset({"OUTPUT", "POSTROUTING"})  # hooks where a packet has no input device
NO_OUT = frozenset({"PREROUTING", "INPUT"})  # ... and no output device


@dataclass
class RulesetSpec:
    """A generated ruleset: its text, and what the stream and update strategies aim at."""

    text: str
    chains: dict[str, list[str]]  # table -> chain names (built-in first)
    reach: dict[tuple[str, str], frozenset[str]]  # (table, chain) -> hooks that reach it
    addrs: list[int]  # addresses the rules name (for packets that hit them)
    ports: list[int]
    hits: list[tuple[int, int]] = dataclasses.field(default_factory=list)  # (address, port) pairs

    def rules(self) -> list[tuple[str, str, Rule]]:
        """(table, chain, rule) of every rule, loaded once (aimed_packets picks among them)."""
        got: list[tuple[str, str, Rule]] | None = self.__dict__.get("_rules")
        if got is None:
            try:
                rs = load(self.text)
            except PynfError:
                rs = Ruleset()
            got = [(t.name, c.name, r) for t in rs.tables.values() for c in t.chains.values()
                   for r in c.rules]
            self.__dict__["_rules"] = got
        return got

    def __repr__(self) -> str:
        return f"RulesetSpec(text='''\\\n{self.text}''')"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # Hypothesis prints the failing example so
        p.text(repr(self))


class RuleGen:
    """Draws rule texts for one ruleset: the vocabulary, and the hooks each chain is reached from.

    The kernel (and iptables) refuse some combinations; the generator avoids those it can see
    (targets outside their table or hooks, -i/-o where a built-in chain has no such device, port
    options without a port protocol), so that few examples are thrown away.
    """

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.serial = itertools.count(1)
        self.addrs: list[int] = []
        self.ports: list[int] = []

    # --- pieces ---------------------------------------------------------------

    def addr(self) -> int:
        return self.draw(one(ADDRS))

    def prefix(self) -> str:
        d = self.draw
        a = self.addr()
        self.addrs.append(a)
        form = d(one(["32", "32", "24", "16", "8", "0", "any", "mask"]))
        if form == "any":
            plen = d(ints(0, 32))
        elif form == "mask":  # a non-contiguous mask, which iptables takes in dotted form
            mask = d(one([0xFFFF00FF, 0xFF00FF00, 0xFFFFFFFE, 0x00FFFFFF, 0xF0F0F0F0]))
            return f"{fmt(a & mask)}/{fmt(mask)}"
        else:
            plen = int(form)
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        return f"{fmt(a & mask)}/{plen}"

    def port(self) -> int:
        p = self.draw(st.one_of(one(PORTS), ints(0, 65535)))
        self.ports.append(p)
        return p

    def port_spec(self) -> str:
        d = self.draw
        kind = d(one(["one", "one", "one", "one", "range", "open"]))
        if kind == "one":
            return str(self.port())
        a, b = sorted((self.port(), self.port()))
        if kind == "open":
            return d(one([f"{a}:", f":{b}"]))
        return f"{a}:{b}"

    def multiport_item(self) -> str:
        if self.draw(ints(0, 2)):
            return str(self.port())
        a, b = sorted((self.port(), self.port()))
        return f"{a}:{b}" if a < b else str(a)  # multiport refuses a range of one port

    def bang(self, p: int = 4) -> str:
        """"! " one time in *p*."""
        return "! " if self.draw(ints(0, p - 1)) == p - 1 else ""

    def mark(self) -> str:
        d = self.draw
        v = d(one([0, 1, 2, 3, 0x4000, 0xFF, 0x10001]))
        if d(BOOL):
            return f"{v:#x}/{d(one([0xFF, 0x3, 0x4000, 0xFFFF0000, 0xFFFFFFFF])):#x}"
        return f"{v:#x}"

    # --- the IP part ----------------------------------------------------------

    def ip_part(self, hooks: frozenset[str], builtin: bool) -> tuple[str, str | None]:
        """The rule's ipt_ip words and the protocol its matches may assume (tcp, udp, icmp)."""
        d = self.draw
        words: list[str] = []
        if d(ints(0, 2)) == 2:
            words.append(f"{self.bang()}-s {self.prefix()}")
        if d(ints(0, 2)) == 2:
            words.append(f"{self.bang()}-d {self.prefix()}")
        # iptables refuses -i in a built-in OUTPUT/POSTROUTING chain and -o in PREROUTING/INPUT;
        # a user chain takes both whatever reaches it (there the device is simply absent).
        if d(ints(0, 3)) == 3 and not (builtin and hooks & NO_IN):
            words.append(f"{self.bang()}-i {d(one([*IFACES, 'eth+', 'e+', 'wg+', 'lo']))}")
        if d(ints(0, 3)) == 3 and not (builtin and hooks & NO_OUT):
            words.append(f"{self.bang()}-o {d(one([*IFACES, 'eth+', 'eth1', 'wg+']))}")
        proto: str | None = None
        p = d(one(["", "", "tcp", "tcp", "tcp", "udp", "udp", "icmp", "all", "6", "17", "1",
                               "47"]))
        if p:
            neg = self.bang(6) if p != "all" else ""  # iptables: "! -p all" would never match
            words.append(f"{neg}-p {p}")
            if not neg:
                proto = {"6": "tcp", "17": "udp", "1": "icmp"}.get(p, p)
        if d(ints(0, 11)) == 11:
            words.append(f"{self.bang(2)}-f")
        return " ".join(words), proto if proto in ("tcp", "udp", "icmp") else None

    # --- matches --------------------------------------------------------------

    def match(self, proto: str | None, hooks: frozenset[str], builtin: bool) -> str:
        d = self.draw
        kinds = ["mark", "comment", "conntrack", "state", "iprange", "addrtype", "statistic", "limit",
                 "hashlimit", "recent", "quota", "connlimit", "connbytes", "set", "length", "ttl",
                 "connmark"]
        if proto in ("tcp", "udp"):
            kinds += ["port", "port", "port", "port", "multiport", "multiport"]
        if proto == "icmp":
            kinds += ["icmp", "icmp"]
        kind = d(one(kinds))
        if kind == "port":
            assert proto is not None
            return self.port_match(proto)
        if kind == "multiport":
            items = ",".join(self.multiport_item() for _ in range(d(ints(1, 4))))
            which = d(one(["--dports", "--dports", "--sports", "--ports"]))
            return f"-m multiport {self.bang()}{which} {items}"
        if kind == "icmp":
            t = d(one(["echo-request", "echo-reply", "8", "0", "3", "3/3", "3/4", "11", "any"]))
            return f"-m icmp {self.bang()}--icmp-type {t}"
        if kind == "mark":
            return f"-m mark {self.bang()}--mark {self.mark()}"
        if kind == "connmark":
            return f"-m connmark {self.bang()}--mark {self.mark()}"
        if kind == "comment":
            return f'-m comment --comment "c{next(self.serial)} kube svc"'
        if kind == "conntrack":
            states = d(st.lists(one(["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED",
                                                 "SNAT", "DNAT"]), min_size=1, max_size=3, unique=True))
            out = f"-m conntrack {self.bang()}--ctstate {','.join(states)}"
            if d(ints(0, 3)) == 3:
                out += f" --ctstatus {d(one(['ASSURED', 'SEEN_REPLY', 'CONFIRMED']))}"
            if d(ints(0, 4)) == 4:
                out += f" --ctdir {d(one(['ORIGINAL', 'REPLY']))}"
            return out
        if kind == "state":
            states = d(st.lists(one(["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"]),
                                min_size=1, max_size=3, unique=True))
            return f"-m state {self.bang()}--state {','.join(states)}"
        if kind == "iprange":
            a, b = sorted((self.addr(), self.addr()))
            which = d(one(["--src-range", "--dst-range"]))
            return f"-m iprange {self.bang()}{which} {fmt(a)}-{fmt(b)}"
        if kind == "addrtype":
            t = d(one(["LOCAL", "UNICAST", "BROADCAST", "MULTICAST", "UNREACHABLE"]))
            out = f"-m addrtype {self.bang()}{d(one(['--src-type', '--dst-type']))} {t}"
            # --limit-iface-in/out: refused in a built-in chain of a hook without that device.
            if builtin and d(ints(0, 3)) == 3:
                if not hooks & NO_IN:
                    out += " --limit-iface-in"
                elif not hooks & NO_OUT:
                    out += " --limit-iface-out"
            return out
        if kind == "statistic":
            if d(BOOL):
                p = d(st.one_of(one(["0", "0.1", "0.25", "0.5", "0.75", "1"]),
                                st.floats(0, 1).map(lambda x: f"{x:.6f}")))
                return f"-m statistic --mode random {self.bang()}--probability {p}"
            every = d(ints(1, 5))
            return (f"-m statistic --mode nth {self.bang()}--every {every} "
                    f"--packet {d(ints(0, every - 1))}")
        if kind == "limit":
            rate = f"{d(ints(1, 10))}/{d(one(['second', 'minute', 'hour']))}"
            return f"-m limit --limit {rate} --limit-burst {d(ints(1, 5))}"
        if kind == "hashlimit":
            name = d(one(["h0", "h1"]))
            mode = {"h0": "srcip", "h1": "srcip,dstport"}[name] if d(ints(0, 3)) else "dstip"
            how = d(one(["--hashlimit-upto", "--hashlimit-above"]))
            return (f"-m hashlimit {how} {d(ints(1, 10))}/sec --hashlimit-burst "
                    f"{d(ints(1, 4))} --hashlimit-mode {mode} --hashlimit-name {name}")
        if kind == "recent":
            op = d(one(["--set", "--set", "--rcheck", "--update", "--remove"]))
            out = f"-m recent {self.bang(6)}{op} --name {d(one(['r0', 'r1']))}"
            out += d(one(["", " --rsource", " --rdest"]))
            if op in ("--rcheck", "--update"):
                if d(BOOL):
                    out += f" --seconds {d(one([1, 5, 60]))}"
                if d(ints(0, 2)) == 2:
                    out += f" --hitcount {d(ints(1, 4))}"
            return out
        if kind == "quota":
            return f"-m quota {self.bang()}--quota {d(one([0, 60, 100, 1000, 100000]))}"
        if kind == "connlimit":
            how = d(one(["--connlimit-above", "--connlimit-upto"]))
            return (f"-m connlimit {how} {d(ints(0, 3))} --connlimit-mask "
                    f"{d(one([32, 24, 0]))} {d(one(['--connlimit-saddr', '--connlimit-daddr']))}")
        if kind == "connbytes":
            a = d(ints(0, 6))
            rng = f"{a}:{a + d(ints(0, 400))}" if d(BOOL) else str(a)
            return (f"-m connbytes {self.bang()}--connbytes {rng} --connbytes-dir "
                    f"{d(one(['original', 'reply', 'both']))} --connbytes-mode "
                    f"{d(one(['packets', 'bytes', 'avgpkt']))}")
        if kind == "set":
            if d(BOOL):
                return f"-m set {self.bang()}--match-set s1 {d(one(['src', 'dst']))}"
            return f"-m set {self.bang()}--match-set s2 {d(one(['src,src', 'dst,dst']))}"
        if kind == "length":
            a = d(one([0, 20, 40, 60, 100, 576, 1500]))
            return f"-m length {self.bang()}--length {a}:{a + d(one([0, 20, 100, 2000]))}"
        assert kind == "ttl"
        return f"-m ttl --ttl-{d(one(['eq', 'gt', 'lt']))} {d(one([1, 2, 63, 64]))}"

    def port_match(self, proto: str) -> str:
        """-m tcp/-m udp: mostly a destination port (one, a range, negated), sometimes a source
        port, TCP flags."""
        d = self.draw
        opts = []
        if d(ints(0, 3)):
            opts.append(f"{self.bang(3)}--dport {self.port_spec()}")
        if d(ints(0, 2)) == 2:
            opts.append(f"{self.bang()}--sport {self.port_spec()}")
        if proto == "tcp" and d(ints(0, 3)) == 3:
            opts.append(d(one(["--syn", "! --syn", "--tcp-flags SYN,ACK SYN", "--tcp-flags ALL NONE",
                               "--tcp-flags RST RST", "! --tcp-flags FIN,SYN,RST,ACK ACK"])))
        return f"-m {proto} " + " ".join(opts)

    # --- targets --------------------------------------------------------------

    def target(self, table: str, hooks: frozenset[str], proto: str | None) -> str:
        """An extension target valid in *table* for every hook in *hooks* (empty: not reached)."""
        d = self.draw
        ported = proto in ("tcp", "udp")
        kinds = ["LOG", "LOG", "MARK", "MARK", "CONNMARK", "NFQUEUE"]
        if table == "filter":
            kinds += ["REJECT", "REJECT", "REJECT", "SET"]
        if table == "mangle":
            kinds += ["SET"]
        if table == "nat":
            if hooks <= {"PREROUTING", "OUTPUT"}:
                kinds += ["DNAT", "DNAT", "DNAT", "REDIRECT"]
            if hooks <= {"POSTROUTING", "INPUT"}:
                kinds += ["SNAT", "SNAT"]
            if hooks <= {"POSTROUTING"}:
                kinds += ["MASQUERADE", "MASQUERADE"]
        if table == "raw":
            kinds += ["CT", "TRACE"]
        kind = d(one(kinds))
        if kind == "LOG":
            extra = d(one(["", "", " --log-level 4", " --log-tcp-sequence", " --log-tcp-options",
                                       " --log-ip-options", " --log-uid"]))
            # The prefix names the rule, so the event lists say which rule logged.
            return f'-j LOG --log-prefix "L{next(self.serial)} "{extra}'
        if kind == "MARK":
            op = d(one(["--set-mark", "--set-xmark", "--or-mark", "--and-mark", "--xor-mark"]))
            v = self.mark() if op in ("--set-mark", "--set-xmark") else f"{d(one([1, 2, 0x4000])):#x}"
            return f"-j MARK {op} {v}"
        if kind == "CONNMARK":
            return "-j CONNMARK " + d(one(["--set-mark 0x1", "--set-mark 0x4000/0x4000",
                                                       "--save-mark", "--restore-mark",
                                                       "--restore-mark --mask 0xff"]))
        if kind == "NFQUEUE":
            return "-j NFQUEUE " + d(one(["--queue-num 3", "--queue-num 0 --queue-bypass",
                                                      "--queue-balance 1:3"]))
        if kind == "REJECT":
            withs = ["", "icmp-net-unreachable", "icmp-host-unreachable", "icmp-port-unreachable",
                     "icmp-proto-unreachable", "icmp-admin-prohibited", "icmp-host-prohibited"]
            if proto == "tcp":
                withs += ["tcp-reset", "tcp-reset"]
            w = d(one(withs))
            return f"-j REJECT --reject-with {w}" if w else "-j REJECT"
        if kind == "SET":
            return d(one(["-j SET --add-set s1 src", "-j SET --del-set s1 src",
                                      "-j SET --add-set s2 dst,dst --exist --timeout 5",
                                      "-j SET --add-set s2 src,dst"]))
        if kind == "DNAT":
            to = fmt(d(one(PODS + LOCAL[:3] + LAN[:1])))
            if ported and d(BOOL):
                p = self.port()
                to += f":{p}" if d(BOOL) else f":{p}-{min(65535, p + d(ints(0, 5)))}"
            return f"-j DNAT --to-destination {to}"
        if kind == "REDIRECT":
            return f"-j REDIRECT --to-ports {self.port()}" if ported and d(BOOL) else "-j REDIRECT"
        if kind == "SNAT":
            to = fmt(d(one(LOCAL[:4])))
            if ported and d(BOOL):
                to += d(one([":1000-1010", ":40000", ":1-65535"]))
            return f"-j SNAT --to-source {to}" + d(one(["", "", " --random"]))
        if kind == "MASQUERADE":
            if ported and d(BOOL):
                return "-j MASQUERADE --to-ports 20000-20010"
            return "-j MASQUERADE" + d(one(["", " --random"]))
        if kind == "CT":
            return "-j CT --notrack"
        assert kind == "TRACE"
        return "-j TRACE"

    def rule(self, table: str, chain: str, hooks: frozenset[str], builtin: bool, kind: str,
             dest: str | None) -> str:
        """One rule's words after ``-A CHAIN``; *kind* says what its target is (the chain layout
        was drawn first, so *hooks* is known)."""
        d = self.draw
        if kind in ("jump", "goto") and d(ints(0, 2)) != 2:
            # Jumps mostly unconditional or on the protocol alone, so that user chains are
            # entered (a jump as specific as other rules would seldom be taken).
            return f"-p {d(one(['tcp', 'udp']))} {'-g' if kind == 'goto' else '-j'} {dest}" \
                if d(BOOL) else f"{'-g' if kind == 'goto' else '-j'} {dest}"
        ip_words, proto = self.ip_part(hooks, builtin)
        words = [ip_words] if ip_words else []
        # Where the port match goes: first (the indexable shape), last, after other matches that
        # may have state (so those must run for every port), or nowhere in particular.
        where = d(ints(0, 3)) if proto in ("tcp", "udp") else 0
        if where == 1:
            assert proto is not None
            words.append(self.port_match(proto))
        for _ in range(d(one([0, 0, 0, 1, 1, 1, 2, 3]))):
            words.append(self.match(proto, hooks, builtin))
        if where == 2:
            assert proto is not None
            words.append(self.port_match(proto))
        if kind == "jump":
            words.append(f"-j {dest}")
        elif kind == "goto":
            words.append(f"-g {dest}")
        elif kind == "return":
            words.append("-j RETURN")
        elif kind == "accept":
            words.append("-j ACCEPT")
        elif kind == "drop":  # the nat table refuses DROP
            words.append("-j RETURN" if table == "nat" else "-j DROP")
        elif kind == "ext":
            words.append(self.target(table, hooks, proto))
        return " ".join(words)


def _reach(chains: list[str], edges: dict[str, set[str]],
           builtins: Iterable[str]) -> dict[str, frozenset[str]]:
    """The hooks each chain is reached from (jumps and gotos alike): the kernel checks a rule's
    target against those (mark_source_chains), so the generator picks targets valid for all."""
    reach: dict[str, set[str]] = {c: set() for c in chains}
    for b in builtins:
        todo = [b]
        while todo:
            c = todo.pop()
            if b in reach[c]:
                continue
            reach[c].add(b)
            todo.extend(edges.get(c, ()))
    return {c: frozenset(h) for c, h in reach.items()}


# What a rule does; the first is what a shrunk example falls back to (no target: counting only).
KINDS = ["none", "accept", "drop", "return", "jump", "jump", "goto", "ext", "ext", "ext", "ext"]


@st.composite
def small_rulesets(draw: st.DrawFn) -> RulesetSpec:
    """Up to four tables, a few user chains each (jumps only forward: the kernel refuses loops),
    up to 30 rules a chain, mostly none to a dozen."""
    gen = RuleGen(draw)
    tables = draw(st.lists(one(["filter", "nat", "mangle", "raw"]), min_size=1, max_size=4,
                           unique=True))
    if "filter" not in tables and draw(BOOL):
        tables.append("filter")
    out: list[str] = []
    chains_of: dict[str, list[str]] = {}
    reach_of: dict[tuple[str, str], frozenset[str]] = {}
    for table in tables:
        builtins = list(TABLE_HOOKS[table])
        users = [f"U{i}" for i in range(draw(ints(0, 3)))]
        chains = builtins + users
        # The layout first: how many rules each chain has, what kind of target each has, where
        # each jump goes; then the reach; then the rules, whose targets depend on it.
        layout: dict[str, list[tuple[str, str | None]]] = {}
        edges: dict[str, set[str]] = {}
        for c in chains:
            later = users[users.index(c) + 1:] if c in users else users
            # Empty, a handful of rules, a dozen (a classifier indexes chains past a few rules:
            # short ones it may try in order), now and then up to 30.
            size = draw(ints(0, 9))
            n = 0 if size < 3 else draw(ints(1, 4)) if size < 6 else draw(ints(5, 12)) if size < 9 \
                else draw(ints(13, 30))
            rows: list[tuple[str, str | None]] = []
            for _ in range(n):
                kind = draw(one(KINDS))
                dest = None
                if kind in ("jump", "goto"):
                    if not later:
                        kind = "ext"
                    else:
                        dest = draw(one(later))
                        edges.setdefault(c, set()).add(dest)
                rows.append((kind, dest))
            layout[c] = rows
        reach = _reach(chains, edges, builtins)
        out.append(f"*{table}")
        for c in builtins:
            # A DROP policy early on (raw, mangle) would leave the later tables little to see.
            drops = {"nat": 0, "filter": 3, "mangle": 12, "raw": 12}[table]
            policy = "DROP" if drops and draw(ints(0, drops - 1)) == drops - 1 else "ACCEPT"
            out.append(f":{c} {policy} [0:0]")
        out.extend(f":{c} - [0:0]" for c in users)
        for c in chains:
            for kind, dest in layout[c]:
                out.append(f"-A {c} {gen.rule(table, c, reach[c], c in builtins, kind, dest)}".rstrip())
            reach_of[(table, c)] = reach[c]
        out.append("COMMIT")
        chains_of[table] = chains
    return RulesetSpec("\n".join(out) + "\n", chains_of, reach_of, gen.addrs, gen.ports)


def _kube(r: random.Random, services: int) -> tuple[list[str], list[tuple[int, int]]]:
    """kube-proxy's nat table: KUBE-SERVICES matching each VIP:port, statistic over endpoints,
    endpoint chains that mark for masquerade and DNAT."""
    lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":POSTROUTING ACCEPT [0:0]", ":KUBE-MARK-MASQ - [0:0]", ":KUBE-POSTROUTING - [0:0]",
             ":KUBE-SERVICES - [0:0]"]
    rules = ["-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
             "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
             "-A POSTROUTING -j KUBE-POSTROUTING",
             "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
             "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
             "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
             "-A KUBE-POSTROUTING -j MASQUERADE --random-fully"]
    hits: list[tuple[int, int]] = []
    for s in range(services):
        vip = ip("10.96.0.0") + r.randrange(0, 4096)
        port = r.choice([80, 443, 53, 8080, r.randrange(1, 65536)])
        proto = "udp" if port == 53 and r.random() < 0.5 else "tcp"
        hits.append((vip, port))
        svc = f"KUBE-SVC-{s:04X}"
        lines.append(f":{svc} - [0:0]")
        rules.append(f"-A KUBE-SERVICES -d {fmt(vip)}/32 -p {proto} -m comment --comment \"ns/svc{s}\" "
                     f"-m {proto} --dport {port} -j {svc}")
        n = r.choice([1, 1, 2, 3])
        for e in range(n):
            sep = f"KUBE-SEP-{s:04X}{e}"
            lines.append(f":{sep} - [0:0]")
            left = n - e
            if left > 1:
                rules.append(f"-A {svc} -m statistic --mode random --probability {1 / left:.11f} -j {sep}")
            else:
                rules.append(f"-A {svc} -j {sep}")
            pod = ip("10.1.0.0") + r.choice([5, 6, 7, 8, 9])
            rules.append(f"-A {sep} -s {fmt(pod)}/32 -j KUBE-MARK-MASQ")
            rules.append(f"-A {sep} -p {proto} -m {proto} -j DNAT --to-destination {fmt(pod)}:{8000 + e}")
    rules.append("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j RETURN")
    return [*lines, *rules, "COMMIT"], hits


def _wall(r: random.Random, n: int, chain: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Many rules in one chain sharing ports and destinations under different prefixes, with a
    mark set part way that later rules look at, and a few stateful rules among them."""
    rules: list[str] = []
    ports = [r.choice(PORTS) for _ in range(4)]
    dsts = [r.choice(ADDRS) for _ in range(6)]
    for i in range(n):
        p = r.choice(ports)
        shape = r.randrange(10)
        plen = r.choice([32, 24, 24, 16, 8, 27])
        # Sources the streams send from, under prefixes of several lengths (now and then negated).
        src = f"{fmt(r.choice(REMOTE + LOCAL) & (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)}/{plen}"
        src = ("! " if r.randrange(8) == 0 else "") + src
        dst = fmt(r.choice(dsts))
        proto = r.choice(["tcp", "tcp", "udp"])
        # Mostly targets that let the packet go on, so that it meets many of the rules.
        tgt = r.choice(["-j ACCEPT", "-j DROP", "-j RETURN", f'-j LOG --log-prefix "W{i} "',
                        f'-j LOG --log-prefix "W{i} "', f'-j LOG --log-prefix "W{i} "',
                        "-j MARK --set-mark 0x2", "-j MARK --set-mark 0x0", "", "", ""])
        if shape < 3:
            rules.append(f"-A {chain} -d {dst}/32 -p {proto} -m {proto} --dport {p} {tgt}")
        elif shape < 5:
            rules.append(f"-A {chain} -s {src} -p {proto} -m {proto} --dport {p} {tgt}")
        elif shape == 5:
            rules.append(f"-A {chain} -s {src} -p {proto} -m {proto} ! --dport {p} {tgt}")
        elif shape == 6:
            hi = min(65535, p + r.randrange(100))
            rules.append(f"-A {chain} -p {proto} -m {proto} --dport {p}:{hi} {tgt}")
        elif shape == 7:
            rules.append(f"-A {chain} -m mark --mark 0x2 -p {proto} -m {proto} --dport {p} {tgt}")
        elif shape == 8 and r.randrange(2):
            # A stateful match before the port match: it runs (and counts, or draws) for every
            # packet reaching the rule, whatever its port, so the rule cannot be skipped by port.
            first = r.choice(["statistic --mode nth --every 3 --packet 1", "quota --quota 300",
                              "statistic --mode random --probability 0.5", "recent --set --name r0"])
            rules.append(f"-A {chain} -p {proto} -m {first} -m {proto} --dport {p} {tgt}")
        elif shape == 8:
            rules.append(f"-A {chain} -d {dst}/{r.choice([32, 24, 16])} -p {proto} -m {proto} --dport {p} "
                         f"-m statistic --mode nth --every {r.randrange(1, 4)} --packet 0 {tgt}")
        else:
            stateful = r.choice(["limit --limit 2/sec", "quota --quota 500"])
            rules.append(f"-A {chain} -s {src} -m {stateful} {tgt}")
    return [r.rstrip() for r in rules], [(d, p) for d in dsts for p in ports]


@st.composite
def large_rulesets(draw: st.DrawFn) -> RulesetSpec:
    """The kube-proxy nat table or a wall of a few hundred rules in a filter chain (built from a
    drawn seed: each rule drawn by Hypothesis would make the examples slow and no easier to read),
    plus a small random ruleset around it."""
    small = draw(small_rulesets())
    r = random.Random(draw(ints(0, 2**32 - 1)))
    shape = draw(one(["kube", "wall"]))
    text = small.text
    chains = dict(small.chains)
    reach = dict(small.reach)
    if shape == "kube":
        lines, hits = _kube(r, draw(one([40, 120, 250])))
        # The kube nat table replaces the small one's nat table (if any).
        text = _drop_table(text, "nat") + "\n".join(lines) + "\n"
        names = [ln[1:].split()[0] for ln in lines if ln.startswith(":")]
        chains["nat"] = names
        portals = frozenset({"PREROUTING", "OUTPUT"})
        reach.update({("nat", c): frozenset({"POSTROUTING"}) if c == "KUBE-POSTROUTING" else portals
                      for c in names})
        for h in TABLE_HOOKS["nat"]:
            reach[("nat", h)] = frozenset({h})
    else:
        n = draw(one([120, 300]))
        lines, hits = _wall(r, n, "WALL")
        jump = ["-A FORWARD -j WALL", "-A INPUT -j WALL"]
        block = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:WALL - [0:0]\n"
        block += "\n".join(jump + lines) + "\nCOMMIT\n"
        text = _drop_table(text, "filter") + block
        chains["filter"] = ["INPUT", "FORWARD", "OUTPUT", "WALL"]
        reach.update({("filter", h): frozenset({h}) for h in TABLE_HOOKS["filter"]})
        reach[("filter", "WALL")] = frozenset({"INPUT", "FORWARD"})
    return RulesetSpec(text, chains, reach, small.addrs, small.ports, hits)


def _drop_table(text: str, table: str) -> str:
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line == f"*{table}":
            skipping = True
        if not skipping:
            out.append(line)
        if skipping and line == "COMMIT":
            skipping = False
    return "".join(x + "\n" for x in out)


# --------------------------------------------------------------------------- packet streams


def _flags(f: int) -> str:
    return "".join(c for bit, c in ((SYN, "S"), (ACK, "."), (FIN, "F"), (RST, "R"), (PSH, "P"), (URG, "U"))
                   if f & bit) or "none"


def describe(data: bytes) -> str:
    """One line for a datagram, as tcpdump would say it (failure reports)."""
    try:
        p = wire.parse(data)
    except PynfError as e:
        return f"<not a datagram: {e}>"
    head = f"{fmt(p.saddr)} > {fmt(p.daddr)}"
    l4 = p.l4
    if isinstance(l4, Tcp):
        what = (f"tcp {fmt(p.saddr)}:{l4.sport} > {fmt(p.daddr)}:{l4.dport} [{_flags(l4.flags)}] "
                f"seq {l4.seq} ack {l4.ack_seq}")
    elif isinstance(l4, Udp):
        what = f"udp {fmt(p.saddr)}:{l4.sport} > {fmt(p.daddr)}:{l4.dport}"
    elif isinstance(l4, Icmp):
        what = f"icmp {head} type {l4.type} code {l4.code}" + (" (quotes a datagram)" if l4.inner else "")
    else:
        what = f"proto {p.proto} {head} (no transport header)"
    extra = []
    if p.frag_off & (IP_MF | 0x1FFF):
        extra.append(f"frag off {(p.frag_off & 0x1FFF) * 8}{' MF' if p.frag_off & IP_MF else ''}")
    if p.ttl != 64:
        extra.append(f"ttl {p.ttl}")
    return f"{what} len {len(data)}" + (f" ({', '.join(extra)})" if extra else "")


@dataclass(frozen=True)
class Flow:
    """A connection the stream plays a handshake and traffic on (client and server ends)."""

    proto: int
    client: int
    cport: int
    server: int
    sport: int
    client_at: str  # interface, or "local" (the host itself opens it)
    server_at: str

    def __repr__(self) -> str:
        name = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_ICMP: "icmp"}[self.proto]
        return (f"{name} {fmt(self.client)}:{self.cport} ({self.client_at}) <-> "
                f"{fmt(self.server)}:{self.sport} ({self.server_at})")


@dataclass(frozen=True)
class Step:
    """One thing the stream does.  ``kind``:

    * ``packet``: ``data`` (a datagram) arrives on ``where`` (an interface) or is sent by the host
      (``where == "local"``);
    * ``frags``: ``frags`` (fragments of one datagram) arrive one after the other;
    * ``sweep``: ``frags`` holds packets to the rules' ports and their neighbours, fed in turn;
    * ``flow``: the next packet of ``flow``'s conversation (handshake, data, FIN or RST), from the
      side ``arg`` says (0 client, 1 server, 2 whichever is next);
    * ``reply``: the answer to an earlier packet as it left (after NAT): ``arg`` counts back;
    * ``error``: an ICMP error quoting an earlier packet as it left, from where it went;
    * ``command`` / ``restore``: an iptables command / a --noflush restore, applied to both.
    """

    kind: str
    dt: float = 0.0
    where: str = ""
    data: bytes = b""
    frags: tuple[bytes, ...] = ()
    flow: Flow | None = None
    arg: int = 0
    trace: bool = False
    text: str = ""

    def __repr__(self) -> str:
        t = " trace" if self.trace else ""
        if self.kind == "packet":
            return f"+{self.dt}s {self.where}{t}: {describe(self.data)}"
        if self.kind == "frags":
            return f"+{self.dt}s {self.where}{t}: fragments " + " | ".join(describe(f) for f in self.frags)
        if self.kind == "sweep":
            return f"+{self.dt}s {self.where}{t}: sweep " + " | ".join(describe(f) for f in self.frags)
        if self.kind == "flow":
            return f"+{self.dt}s flow {self.flow} side {self.arg}{t}"
        if self.kind in ("reply", "error"):
            return f"+{self.dt}s {self.kind} to the packet {self.arg} back ({self.text}){t}"
        return f"{self.kind}: {self.text!r}"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class Stream(list):  # type: ignore[type-arg]
    """Steps, shown one a line in Hypothesis' falsifying example."""

    def __repr__(self) -> str:
        return "Stream([\n" + "".join(f"  {s!r},\n" for s in self) + "])"


DT = one([0.0, 0.0, 0.0, 0.001, 0.01, 0.1, 0.3, 1.0, 2.0, 5.0, 31.0, 61.0, 130.0, 700.0])


@st.composite
def datagrams(draw: st.DrawFn, spec: RulesetSpec, local: bool) -> Packet:
    """A datagram of any kind: addresses of every kind (and those the rules name), the ports the
    rules name, TCP flag combinations, ICMP queries and errors, TTL 1, DF, options, truncated
    transport headers."""
    pool = one(ADDRS)
    named = one(spec.addrs) if spec.addrs else pool
    src = draw(one(LOCAL[:4])) if local else draw(st.one_of(one(REMOTE), pool, named))
    dst = draw(st.one_of(pool, named, one(VIPS)))
    named_port = one(spec.ports) if spec.ports else one(PORTS)
    ports = st.one_of(named_port, named_port, one(PORTS), ints(0, 65535))  # the rules' ports, mostly
    kind = draw(one(["tcp", "tcp", "tcp", "tcp", "udp", "udp", "udp", "icmp", "icmperr", "other", "short"]))
    payload = draw(one([b"", b"", b"hello", bytes(100), bytes(1300), bytes(1450)]))
    pkt = Packet(src, dst, IPPROTO_TCP, None, payload, id=draw(ints(0, 65535)),
                 ttl=draw(one([64, 64, 64, 1, 2, 255])), tos=draw(one([0, 0, 0x10])),
                 frag_off=draw(one([0, 0, IP_DF, IP_DF])))
    if kind == "tcp":
        flags = draw(st.one_of(one([SYN, SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST, RST | ACK]),
                               ints(0, 0xFF)))
        opts = draw(one([b"", b"", bytes([2, 4, 5, 180])]))
        pkt.l4 = Tcp(draw(ports), draw(ports), draw(ints(0, 2**32 - 1)), draw(ints(0, 2**32 - 1)),
                     5 + len(opts) // 4, flags, 64240, options=opts)
    elif kind == "udp":
        pkt.proto, pkt.l4 = IPPROTO_UDP, Udp(draw(ports), draw(ports))
    elif kind == "icmp":
        pkt.proto = IPPROTO_ICMP
        pkt.l4 = Icmp(draw(one([8, 8, 0, 13])), 0, rest=draw(ints(0, 2**32 - 1)))
    elif kind == "icmperr":
        inner = Packet(dst, src, IPPROTO_UDP, Udp(draw(ports), draw(ports)), b"abcd")
        pkt.proto = IPPROTO_ICMP
        pkt.l4 = Icmp(draw(one([3, 3, 11, 4, 12])), draw(one([0, 1, 3, 4, 13])),
                      inner=inner)
        pkt.payload = b""
    elif kind == "other":
        pkt.proto = draw(one([47, 50, 132, 0]))
    else:  # a transport header cut short: the tcp/udp/icmp matches hotdrop it, conntrack calls it INVALID
        pkt.proto = draw(one([IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP]))
        pkt.payload = bytes(draw(ints(0, 7)))
    if draw(ints(0, 15)) == 15:
        pkt.ip_options = draw(one([bytes([1, 1, 1, 0]), bytes([7, 7, 4]) + bytes(4),
                                               bytes([148, 4, 0, 0])]))
    if spec.hits and isinstance(pkt.l4, Tcp | Udp) and draw(BOOL):
        # An address and port a large chain's rules name together (a kube service, say).
        pkt.daddr, pkt.l4.dport = draw(one(spec.hits))
    return pkt


@st.composite
def fragment_trains(draw: st.DrawFn, spec: RulesetSpec) -> tuple[bytes, ...]:
    """A datagram cut into fragments at 8-byte boundaries, in order, reversed, or with one lost."""
    pkt = draw(datagrams(spec, local=False))
    if pkt.l4 is None or isinstance(pkt.l4, Icmp) and pkt.l4.inner is not None:
        pkt.proto, pkt.l4 = IPPROTO_UDP, Udp(draw(one(PORTS)), draw(one(PORTS)))
    pkt.payload = bytes(draw(one([40, 300, 1600])))
    pkt.frag_off = 0
    whole = wire.to_bytes(pkt)
    hl = (whole[0] & 15) * 4
    body = whole[hl:]
    cuts = sorted({c * 8 for c in draw(st.lists(ints(1, max(1, len(body) // 8 - 1)), min_size=1,
                                                max_size=3))} - {0, len(body)})
    if not cuts:
        cuts = [8]
    bounds = [0, *cuts, len(body)]
    frags: list[bytes] = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        more = IP_MF if i < len(bounds) - 2 else 0
        head = bytearray(whole[:hl])
        struct.pack_into("!HH", head, 2, hl + b - a, struct.unpack_from("!H", head, 4)[0])
        struct.pack_into("!H", head, 6, more | a // 8)
        head[10:12] = b"\0\0"
        s = sum(struct.unpack(f"!{hl // 2}H", bytes(head)))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        struct.pack_into("!H", head, 10, ~s & 0xFFFF)
        frags.append(bytes(head) + body[a:b])
    order = draw(one(["in order", "in order", "reversed", "one lost"]))
    if order == "reversed":
        frags.reverse()
    elif order == "one lost" and len(frags) > 1:
        del frags[draw(ints(0, len(frags) - 1))]
    return tuple(frags)


@st.composite
def flows(draw: st.DrawFn, spec: RulesetSpec) -> Flow:
    proto = draw(one([IPPROTO_TCP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP]))
    where = draw(one(["in", "in", "out", "forward", "forward", "forward"]))
    named = one(spec.addrs) if spec.addrs else one(ADDRS)
    port = st.one_of(one(PORTS), one(spec.ports) if spec.ports else ints(1, 65535))
    if where == "out":  # the host opens it
        client, client_at = draw(one(LOCAL[:4])), "local"
        server = draw(st.one_of(one(REMOTE), one(VIPS), named))
        server_at = home(server)
    else:
        client = draw(one(REMOTE))
        client_at = draw(one([home(client)] * 4 + list(IFACES)))
        if where == "in":
            server, server_at = draw(one(LOCAL[:4])), "local"
        else:
            server = draw(st.one_of(one(REMOTE), one(VIPS), named))
            server_at = home(server)
    sport = draw(port)
    if spec.hits and where != "in" and draw(BOOL):
        server, sport = draw(one(spec.hits))
        server_at = home(server)
    return Flow(proto, client, draw(ints(1024, 65535)), server, sport, client_at, server_at)


NTH = "%N%"  # a rule number in a command, chosen when it runs (see Pair.update)


def commands(draw: st.DrawFn, spec: RulesetSpec, gen: RuleGen) -> Step:
    """An iptables command on one of the ruleset's chains (or a new one).  Rule numbers are
    picked when the command runs, among the chain's rules then, so that few are refused; some
    still are (a loop, a chain in use, a missing chain), which both rulesets must refuse alike."""
    table = draw(one(sorted(spec.chains)))
    chains = spec.chains[table]
    builtins = TABLE_HOOKS[table]
    users = [c for c in chains if c not in builtins] + ["N0"]
    op = draw(one(["-A", "-A", "-I", "-I", "-I", "-I", "-D", "-D", "-R", "-R", "-R", "-F", "-Z",
                               "-N", "-X", "-P", "-E", "-L", "restore", "restore", "restore-all"]))
    if op in ("-X", "-E"):
        chain = draw(one(users))
    elif op == "-P":
        chain = draw(one(builtins))
    else:
        chain = draw(one([*chains, "N0"]))
    builtin = chain in builtins
    hooks = spec.reach.get((table, chain), frozenset({chain}) if builtin else frozenset())

    def a_rule() -> str:
        kind = draw(one(KINDS))
        dest = draw(one(users)) if kind in ("jump", "goto") else None
        return gen.rule(table, chain, hooks, builtin, kind, dest)

    t = f"-t {table} "
    pick = draw(ints(0, 2**16))
    if op == "-A":
        text = f"{t}-A {chain} {a_rule()}"
    elif op == "-I":
        text = f"{t}-I {chain} {NTH} {a_rule()}" if draw(ints(0, 3)) else f"{t}-I {chain} {a_rule()}"
    elif op == "-D":
        text = f"{t}-D {chain} {NTH}"
    elif op == "-R":
        text = f"{t}-R {chain} {NTH} {a_rule()}"
    elif op == "-F":
        text = f"{t}-F {chain}" if draw(BOOL) else f"{t}-F"
    elif op == "-Z":
        text = f"{t}-Z {chain}" if draw(BOOL) else f"{t}-Z"
    elif op == "-N":
        text = f"{t}-N N0"
    elif op == "-X":
        text = f"{t}-X {chain}"
    elif op == "-P":
        text = f"{t}-P {chain} {'ACCEPT' if table == 'nat' else draw(one(['ACCEPT', 'DROP']))}"
    elif op == "-E":  # renaming keeps the jumps to the chain (they follow it)
        text = f"{t}-E {chain} {'N1' if chain == 'N0' else 'N0'}"
    elif op == "-L":
        text = f"{t}-L {chain} -n -v -x --line-numbers" + draw(one(["", " -Z"]))
    elif op == "restore-all":
        # The table as it is, saved with its counters and restored whole: every rule a new object.
        return Step("restore-all", text=table)
    else:
        # iptables-restore --noflush: the declared chain is flushed (or made) and refilled.
        rules = "".join(f"-A {chain} {a_rule()}\n" for _ in range(draw(ints(0, 3))))
        policy = "ACCEPT" if table == "nat" else draw(one(["ACCEPT", "DROP"]))
        head = f":{chain} {policy} [0:0]\n" if builtin else f":{chain} - [0:0]\n"
        return Step("restore", text=f"*{table}\n{head}{rules}COMMIT\n")
    return Step("command", text=text, arg=pick, where=f"{table}:{chain}")


def _near(draw: st.DrawFn, lo: int, hi: int, inverted: bool) -> int:
    """A port the range [lo, hi] (negated or not) lets through, mostly (an end, or the first one
    past an end), or now and then one it does not."""
    inside = [p for p in (lo, hi, (lo + hi) // 2) if 0 <= p <= 65535]
    outside = [p for p in (lo - 1, hi + 1) if 0 <= p <= 65535] or inside
    keep = draw(ints(0, 3)) != 3
    return draw(one(outside if inverted == keep else inside))


def _in_prefix(draw: st.DrawFn, net: int, mask: int, inverted: bool, pool: list[int]) -> int:
    """An address that a ``-s/-d net/mask`` (negated or not) lets through, mostly, or just not;
    the bits the mask leaves free from an address of *pool*."""
    other = draw(one(pool))
    inside = (net & mask) | (other & ~mask & 0xFFFFFFFF)
    outside = inside ^ (mask & -mask) if mask else inside  # the lowest masked bit flipped
    keep = draw(ints(0, 3)) != 3
    return (outside if inverted else inside) if keep else (inside if inverted else outside)


@st.composite
def aimed_packets(draw: st.DrawFn, spec: RulesetSpec) -> tuple[str, bytes]:
    """A packet made to reach one of the rules: through a hook the rule's chain is reached from
    (delivered to the host, forwarded, or sent by it), its addresses inside (or just outside) the
    rule's prefixes, its protocol, ports at an edge of the rule's port ranges, the input
    interface it names.  Random packets pass few rules' IP parts; these meet the rules, and
    the rules indexed beside them."""
    rules = spec.rules()
    if not rules:
        return "eth0", wire.to_bytes(Packet(LAN[0], WAN[2], IPPROTO_UDP, Udp(40000, 53)))
    table, chain, rule = rules[draw(ints(0, len(rules) - 1))]
    hooks = sorted(spec.reach.get((table, chain), ())) or [chain if chain in TABLE_HOOKS[table]
                                                           else "FORWARD"]
    hook = draw(one(hooks))
    local = hook in ("OUTPUT", "POSTROUTING") and (hook == "OUTPUT" or draw(BOOL))  # POSTROUTING: either
    ip_ = rule.ip
    if ip_.smsk:
        src = _in_prefix(draw, ip_.src, ip_.smsk, ip_.inv_src, LOCAL[:4] if local else REMOTE)
    else:
        src = draw(one(LOCAL[:4] if local else REMOTE))
    if ip_.dmsk:
        pool = LOCAL[:4] if hook == "INPUT" else REMOTE + VIPS
        dst = _in_prefix(draw, ip_.dst, ip_.dmsk, ip_.inv_dst, pool)
    else:  # INPUT wants one of the host's addresses, FORWARD any other
        dst = draw(one(LOCAL[:4] if hook == "INPUT" else REMOTE + VIPS))
    proto = ip_.proto if ip_.proto and not ip_.inv_proto else draw(one([IPPROTO_TCP, IPPROTO_UDP]))
    pm = next((m for m in rule.matches if type(m).__name__ in ("Tcp", "Udp")), None)
    if pm is not None:
        inv = int(getattr(pm, "invflags", 0))
        spts, dpts = pm.spts, pm.dpts  # type: ignore[attr-defined]
        sport = _near(draw, *spts, bool(inv & 1)) if spts != (0, 65535) else draw(ints(1024, 65535))
        dport = _near(draw, *dpts, bool(inv & 2))  # (INV_SRCPT, INV_DSTPT are 1, 2 for tcp and udp)
    else:
        sport, dport = draw(ints(1024, 65535)), draw(one(spec.ports or list(PORTS)))
    if proto == IPPROTO_TCP:
        l4: Any = Tcp(sport, dport, draw(ints(0, 2**32 - 1)), 0, 5,
                      draw(one([SYN, ACK, SYN | ACK, ACK | PSH, FIN | ACK, RST])), 64240)
    elif proto == IPPROTO_UDP:
        l4 = Udp(sport, dport)
    elif proto == IPPROTO_ICMP:
        l4 = Icmp(draw(one([8, 0, 3])), 0, rest=sport)
    else:
        l4 = None
    pkt = Packet(src, dst, proto, l4, b"aimed", id=draw(ints(0, 65535)))
    if ip_.frag and not ip_.inv_frag:  # -f: a later fragment (no transport header)
        pkt.l4, pkt.frag_off, pkt.payload = None, 3, bytes(24)
    if local:
        return "local", wire.to_bytes(pkt)
    name = ip_.iniface
    where = home(src)
    if name and not ip_.inv_in:
        where = next((i for i in IFACES if (i.startswith(name[:-1]) if name.endswith("+") else i == name)),
                     where)
    return where, wire.to_bytes(pkt)


@st.composite
def port_sweeps(draw: st.DrawFn, spec: RulesetSpec) -> tuple[str, tuple[bytes, ...]]:
    """One packet to each port the rules name and to its neighbours (from one source to one
    destination): both sides of every port boundary the rules draw, single ports, range ends
    and negations alike, through whichever chains the packets reach."""
    where = draw(one([*IFACES, "local"]))
    src = draw(one(LOCAL[:4])) if where == "local" else draw(one(REMOTE))
    if where != "local" and draw(ints(0, 2)):
        where = home(src)
    dst = draw(st.one_of(one(spec.addrs) if spec.addrs else one(ADDRS), one(ADDRS)))
    named = list(spec.ports)
    if spec.hits and draw(BOOL):
        dst = draw(one(spec.hits))[0]
        named += [p for a, p in spec.hits if a == dst]
    ports = sorted({q for p in named for q in (p - 1, p, p + 1) if 0 <= q <= 65535})
    step = len(ports) // 24 + 1  # at most about 24 packets
    ports = ports[draw(ints(0, step - 1))::step]
    tcp = draw(BOOL)
    out = []
    for i, port in enumerate(ports):
        l4: Any = Tcp(40000 + i, port, i, 0, 5, SYN, 64240) if tcp else Udp(40000 + i, port)
        out.append(wire.to_bytes(Packet(src, dst, IPPROTO_TCP if tcp else IPPROTO_UDP, l4, id=i)))
    return where, tuple(out)


@st.composite
def streams(draw: st.DrawFn, spec: RulesetSpec, *, updates: bool, trace: bool | None,
            max_steps: int = 30) -> Stream:
    """Packets with the clock moving on: random ones, ones aimed at a rule (alone or in volleys),
    sweeps over the rules' ports, fragment trains, conversations (TCP handshakes and data, UDP,
    ICMP echo), replies to and ICMP errors about packets that left; with *updates*, ruleset
    changes among them.  *trace*: every packet traced (True), none (False), or each at random
    (None)."""
    fl = draw(st.lists(flows(spec), min_size=1, max_size=4))
    gen = RuleGen(draw)
    out = Stream()
    kinds = ["packet", "packet", "aimed", "aimed", "volley", "volley", "flow", "flow", "flow", "reply",
             "reply", "error", "frags", "sweep"]
    if updates:
        kinds += ["command", "command", "command"]
    for _ in range(draw(ints(3, max_steps))):
        kind = draw(one(kinds))
        tr = draw(ints(0, 3)) == 3 if trace is None else trace
        dt = draw(DT)
        if kind == "packet":
            where = draw(one([*IFACES, "local"]))
            pkt = draw(datagrams(spec, local=where == "local"))
            if where != "local" and draw(ints(0, 2)):
                where = home(pkt.saddr)
            out.append(Step("packet", dt, where, wire.to_bytes(pkt), trace=tr))
        elif kind == "frags":
            out.append(Step("frags", dt, draw(one(IFACES)), frags=draw(fragment_trains(spec)), trace=tr))
        elif kind == "aimed":
            where, data = draw(aimed_packets(spec))
            out.append(Step("packet", dt, where, data, trace=tr))
        elif kind == "sweep":
            where, packets = draw(port_sweeps(spec))
            out.append(Step("sweep", dt, where, frags=packets, trace=tr))
        elif kind == "volley":  # several aimed packets, each on its own way in
            for _ in range(draw(ints(2, 10))):
                where, data = draw(aimed_packets(spec))
                out.append(Step("packet", dt, where, data, trace=tr))
                dt = 0.0
        elif kind == "flow":
            out.append(Step("flow", dt, flow=draw(one(fl)), arg=draw(one([2, 2, 2, 0, 1])),
                            trace=tr))
        elif kind in ("reply", "error"):
            back = draw(ints(1, 4))
            how = draw(one(["ok", "ok", "ok", "rst"])) if kind == "reply" else \
                draw(one(["port", "frag", "ttl", "host"]))
            out.append(Step(kind, dt, arg=back, trace=tr, text=how))
        else:
            out.append(commands(draw, spec, gen))
    return out


# --------------------------------------------------------------------------- normalizing state


class Mismatch(AssertionError):
    """The fast path and the interpreter differ."""


# Objects a snapshot refers to but does not own: the engine and ruleset machinery (compared on
# their own), the host (static), callables.  Their content is not state of the match or entry.
_OPAQUE: tuple[type, ...] = (Engine, Ruleset, Table, Chain, Host, random.Random, types.FunctionType,
                             types.MethodType, types.BuiltinFunctionType, types.ModuleType, type)


class Normalizer:
    """Plain, comparable data for netfilter state: no object ids, no identity.

    A Rule becomes its position (table, chain, index; "detached" if no longer in the ruleset);
    a conntrack entry reached from elsewhere (a packet's skb, connlimit's list, NAT's bysource)
    becomes its id and tuples (the entries themselves are compared once, in full).  Mappings keep
    their order (recent lists are LRU-ordered dicts); objects become their type name and fields.
    """

    def __init__(self, ruleset: Ruleset) -> None:
        self.where: dict[int, tuple[str, str, int]] = {}
        for table in ruleset.tables.values():
            for chain in table.chains.values():
                for i, rule in enumerate(chain.rules):
                    self.where[id(rule)] = (table.name, chain.name, i + 1)
        self._active: set[int] = set()

    def rule_position(self, rule: Rule) -> tuple[str, str, int] | None:
        return self.where.get(id(rule))

    def __call__(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, bool | int | str | bytes):
            return obj
        if isinstance(obj, float):
            return ("float", repr(obj))
        if isinstance(obj, enum.Enum):
            return (type(obj).__name__, obj.name)
        if isinstance(obj, Conn):
            return ("conn", obj.id, tuple(obj.orig), tuple(obj.reply))
        if isinstance(obj, Rule):
            return ("rule", self.rule_position(obj) or ("detached", obj.save_spec()))
        if isinstance(obj, _OPAQUE):
            return ("opaque", type(obj).__name__)
        key = id(obj)
        if key in self._active:
            return ("cycle", type(obj).__name__)
        self._active.add(key)
        try:
            return self._container(obj)
        finally:
            self._active.discard(key)

    def _container(self, obj: Any) -> Any:
        if isinstance(obj, Mapping):
            return ("map", type(obj).__name__, tuple((self(k), self(v)) for k, v in obj.items()))
        if isinstance(obj, set | frozenset):
            return ("set", tuple(sorted((self(x) for x in obj), key=repr)))
        if isinstance(obj, list | tuple):
            return tuple(self(x) for x in obj)
        names: list[str] = []
        for klass in type(obj).__mro__:
            names.extend(s for s in getattr(klass, "__slots__", ()) if s not in names and s != "__weakref__")
        if dataclasses.is_dataclass(obj):
            names.extend(f.name for f in dataclasses.fields(obj) if f.name not in names)
        names.extend(k for k in getattr(obj, "__dict__", {}) if k not in names)
        fields_: list[tuple[str, Any]] = []
        for n in names:
            try:
                v = getattr(obj, n)
            except AttributeError:
                continue
            fields_.append((n, self(v)))
        if not names:  # no fields to compare: its repr, unless that is only its address
            text = repr(obj)
            return ("object", type(obj).__name__, "" if " at 0x" in text else text)
        return ("object", type(obj).__name__, tuple(fields_))


def packet_state(pkt: Packet, norm: Normalizer) -> dict[str, Any]:
    """A packet as it left: its bytes and its skb metadata (mark, conntrack entry, queue...)."""
    try:
        data: Any = wire.to_bytes(pkt).hex()
    except (struct.error, ValueError, OverflowError) as e:  # fields that are no datagram: compare those
        data = ("unwritable", type(e).__name__, norm(pkt))
    return {"bytes": data, "meta": norm(pkt.meta)}


def outcome_state(out: Outcome, norm: Normalizer) -> dict[str, Any]:
    return {
        "verdict": out.verdict,
        "disposition": out.disposition,
        "oif": out.oif,
        "reason": out.reason,
        "packet": packet_state(out.packet, norm),
        "events": [{"kind": e.kind, "text": e.text,
                    "packet": None if e.packet is None else packet_state(e.packet, norm),
                    "route": norm(e.route)} for e in out.events],
        "path": list(out.path),
        "generated": [outcome_state(g, norm) for g in out.generated],
    }


def conntrack_state(engine: Engine, norm: Normalizer) -> Any:
    ct = engine.conntrack
    if ct is None:
        return None
    entries = []
    for c in sorted(ct.table, key=lambda c: c.id):
        entries.append({"id": c.id, "orig": tuple(c.orig), "reply": tuple(c.reply), "zone": c.zone,
                        "status": c.status, "mark": c.mark, "secmark": c.secmark, "timeout": norm(c.timeout),
                        "helper": c.helper, "master": norm(c.master), "proto": norm(c.proto),
                        "labels": c.labels, "packets": c.packets, "bytes": c.bytes})
    t = ct.table
    return {"entries": entries, "stats": norm(ct.stats), "invalid": norm(ct.invalid), "next_id": ct.next_id,
            "acct": ct.acct, "count": len(t), "max": t.max, "buckets": t.buckets, "next_gc": norm(t.next_gc),
            "gc_early_drop": t.gc_early_drop}


def rule_states(engine: Engine, norm: Normalizer) -> list[tuple[Any, Any]]:
    """engine.rule_states keyed by (table, chain, rule number, extension position) instead of ids.

    State of a rule no longer in the ruleset is left out: no packet can reach it again (a rule
    once deleted never comes back; -A and restores make new Rule objects), so keeping or freeing
    it is not observable.  State owned by something that is not one of the rule's extensions
    (a compiled copy, say) is kept under that object's description, so it shows as a difference.
    """
    out: list[tuple[Any, Any]] = []
    for key, state in engine.rule_states.items():
        if "_pin" not in state:  # not made by Par.rule_state: shown as it is, so it differs
            out.append((("unpinned", repr(key)), norm(state)))
            continue
        rule, owner = state["_pin"]
        pos = norm.rule_position(rule)
        if pos is None:
            continue
        exts = [*rule.matches, rule.target]
        at = next((i for i, x in enumerate(exts) if x is owner), None)
        which: Any = at if at is not None else ("foreign", type(owner).__name__, norm(owner))
        body = {k: norm(v) for k, v in state.items() if k != "_pin"}
        out.append(((*pos, which), body))
    out.sort(key=lambda kv: repr(kv[0]))
    return out


def engine_state(engine: Engine) -> dict[str, Any]:
    """Everything the stateful matches and targets keep, and the connection tables."""
    norm = Normalizer(engine.ruleset)
    return {
        "rule_states": rule_states(engine, norm),
        "recent": norm(engine.recent),
        "hashlimit": norm(engine.hashlimit),
        "ipsets": norm(engine.ipsets),
        "nfacct": norm(engine.nfacct),
        "rateest": norm(engine.rateest),
        "conntrack": conntrack_state(engine, norm),
        "nat": None if engine.nat is None else norm(engine.nat.bysource),
        "defrag": None if engine.defrag is None else norm(engine.defrag.queues),
        "defrag_expired": None if engine.defrag is None else norm(engine.defrag.expired),
        "local_defrag": None if engine.local_defrag is None else norm(engine.local_defrag.queues),
        "active": (engine.conntrack_active, engine.defrag_active),
    }


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """Where two plain structures first differ (a path like ``events[2].text``), or None."""
    if type(a) is not type(b):
        return path or "(top)", a, b
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}", a.get(k, "<missing>"), b.get(k, "<missing>")
            d = first_difference(a[k], b[k], f"{path}.{k}" if path else str(k))
            if d:
                return d
        return None
    if isinstance(a, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})", a[len(b):], b[len(a):]
        return None
    return None if a == b else (path or "(top)", a, b)


def _clip(v: Any, n: int = 600) -> str:
    s = repr(v)
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def compare(what: str, ref: Any, fast: Any, render: Callable[[Any], str] | None = None) -> None:
    """Raise Mismatch naming the first difference (and, with *render*, showing both sides whole:
    one missing event shifts every later index, which the first difference alone hides)."""
    d = first_difference(ref, fast)
    if d is not None:
        path, a, b = d
        msg = f"{what} differ at {path}:\n    interpreter: {_clip(a)}\n    fast path:   {_clip(b)}"
        if render is not None:
            msg += f"\n  interpreter's:\n{render(ref)}\n  fast path's:\n{render(fast)}"
        raise Mismatch(msg)


def render_outcome(o: Any, indent: str = "    ") -> str:
    """An outcome_state in a few lines: verdict, path, events (emitted packets as tcpdump says)."""
    if not isinstance(o, dict):
        return f"{indent}{o!r}"
    lines = [f"{indent}{o['verdict']} {o['disposition']} oif={o['oif']} reason={o['reason']!r} "
             f"path={' '.join(o['path'])}"]
    for e in o["events"]:
        pkt = e["packet"]
        what = describe(bytes.fromhex(pkt["bytes"])) if pkt and isinstance(pkt["bytes"], str) else ""
        lines.append(f"{indent}  {e['kind']}: {e['text'][:150]}{'  ' + what if what else ''}")
    lines.extend(render_outcome(g, indent + "  generated: ") for g in o["generated"])
    return "\n".join(lines)


# --------------------------------------------------------------------------- running a stream


def _saved(engine: Engine) -> list[str]:
    """iptables-save -c's lines (rule and policy counters): a difference names its line."""
    return engine.ruleset.save(counters=True, header=False).splitlines()

EngineFactory = Callable[[Ruleset, Host, int], Engine]


def _fast(rs: Ruleset, host: Host, seed: int) -> Engine:
    return Engine(rs, host, seed=seed, fastpath=True)


def load(text: str) -> Ruleset:
    """One independent load of *text*, with the ipsets its rules may name."""
    objs = nf_objects.load(OBJECTS_TEXT, now=0.0)
    rs = Ruleset()
    rs.ipsets = objs.names()
    rs.restore_saved(text)
    rs.objects = objs  # type: ignore[attr-defined]  # the engine takes its sets from here
    return rs


@dataclass
class Left:
    """A packet as it left the host (or was delivered): what replies and ICMP errors answer."""

    data: bytes
    oif: str | None
    disposition: str


class Pair:
    """The interpreter and the fast path, fed the same steps and compared after each."""

    def __init__(self, text: str, seed: int = 0, make_fast: EngineFactory = _fast,
                 trace_all: bool = False) -> None:
        self.text = text
        self.seed = seed
        self.ref = Engine(load(text), Host.from_file(HOST_TEXT), seed=seed, fastpath=False)
        self.fast = make_fast(load(text), Host.from_file(HOST_TEXT), seed)
        self.now = 1000.0
        self.log: list[str] = []  # the stream as fed, for the failure report
        self.left: list[Left] = []
        self.flow_state: dict[Flow, dict[str, int]] = {}
        self.trace_all = trace_all
        self.seq = random.Random(seed ^ 0x5EED)  # reply sequence numbers (the same for both engines)

    # --- the report -------------------------------------------------------------

    def fail(self, why: str) -> None:
        fed = "\n".join(f"  {i:3}  {line}" for i, line in enumerate(self.log))
        raise Mismatch(
            f"{why}\n\nengines: Engine(load(RULESET), Host.from_file(HOST_TEXT), seed={self.seed}, "
            f"fastpath=False / True) (tests/fastpath/test_equivalence.py); then, in order "
            f"(t = the engine clock; each packet is wire.parse(bytes.fromhex(HEX))):\n{fed}\n\n"
            f"RULESET:\n{self.text}") from None

    def check(self, what: str, ref: Any, fast: Any, render: Callable[[Any], str] | None = None) -> None:
        try:
            compare(what, ref, fast, render)
        except Mismatch as e:
            self.fail(str(e))

    # --- feeding ----------------------------------------------------------------

    def feed(self, where: str, data: bytes, trace: bool) -> Outcome | None:
        """One datagram through both engines; the outcomes, counters and rng compared."""
        trace = trace or self.trace_all
        verb = "send" if where == "local" else f"receive {where}"
        self.log.append(f"t={self.now:.3f} {verb}{' trace' if trace else ''}: {describe(data)}  {data.hex()}")
        results: list[Any] = []
        outcomes: list[Outcome | None] = []
        for engine in (self.ref, self.fast):
            try:
                pkt = wire.parse(data)
            except PynfError:
                return None  # ip_rcv drops it before netfilter: nothing to compare
            try:
                if where == "local":
                    out = engine.send(pkt, self.now, trace=trace)
                else:
                    out = engine.receive(pkt, where, self.now, trace=trace)
            except PynfError as e:
                results.append(("refused", type(e).__name__, str(e)))
                outcomes.append(None)
                continue
            except Exception as e:  # a bug; which engine, and the stream that led there
                who = "the interpreter itself (not a fast path difference)" if engine is self.ref \
                    else "the fast path"
                self.fail(f"{who} raised {e!r}:\n{traceback.format_exc()}")
            results.append(outcome_state(out, Normalizer(engine.ruleset)))
            outcomes.append(out)
        self.check("outcomes", results[0], results[1], render_outcome)
        self.check("counters", _saved(self.ref), _saved(self.fast))
        if self.ref.rng.getstate() != self.fast.rng.getstate():
            self.fail("random state differs: the two engines drew different randomness "
                      "(a statistic/NAT draw made by one and not the other)")
        out = outcomes[0]
        if out is not None and out.verdict == "accept":
            with contextlib.suppress(struct.error, ValueError):  # no datagram to answer
                self.left.append(Left(wire.to_bytes(out.packet), out.oif, out.disposition))
        return out

    def check_state(self, when: str) -> None:
        self.check(f"match and connection state ({when})", engine_state(self.ref), engine_state(self.fast))

    def step(self, s: Step) -> None:
        self.now += s.dt
        if s.kind == "packet":
            self.feed(s.where, s.data, s.trace)
        elif s.kind in ("frags", "sweep"):
            for f in s.frags:
                self.feed(s.where, f, s.trace)
        elif s.kind == "flow":
            assert s.flow is not None
            where, data = self.flow_packet(s.flow, s.arg)
            self.feed(where, data, s.trace)
        elif s.kind in ("reply", "error"):
            made = self.answer(s)
            if made is not None:
                self.feed(*made, s.trace)
        elif s.kind in ("command", "restore", "restore-all"):
            self.update(s)
        else:  # pragma: no cover - the strategy makes no other kind
            raise AssertionError(s.kind)

    def update(self, s: Step) -> None:
        """The same change to both rulesets: both take it, or both refuse it with the same words."""
        self.check_state(f"before the {s.kind} {s.text!r}")
        text = s.text
        if NTH in text:  # a rule number among the chain's rules now (or one past them for -I)
            table, chain = s.where.split(":")
            t = self.ref.ruleset.tables.get(table)
            have = t.chains.get(chain) if t is not None else None
            n = (len(have.rules) if have is not None else 0) + (" -I " in text)
            text = text.replace(NTH, str(1 + s.arg % max(1, n)))
        results = []
        for engine in (self.ref, self.fast):
            rs = engine.ruleset
            try:
                if s.kind == "command":
                    res: Any = ("ok", rs.apply(text))
                elif s.kind == "restore":
                    rs.restore(s.text, noflush=True)
                    res = ("ok", "")
                else:  # the table as it is now, reloaded whole with its counters (iptables-save -c | restore)
                    rs.restore(rs.save(counters=True, table=s.text, header=False), counters=True)
                    res = ("ok", "")
            except PynfError as e:
                res = ("refused", type(e).__name__, str(e))
            results.append(res)
        self.log.append(f"{s.kind} {text!r} -> {results[0][0]}")
        self.check(f"results of {s.kind} {text!r}", results[0], results[1])
        self.check("rulesets after the change", _saved(self.ref), _saved(self.fast))

    # --- packets that depend on what happened -----------------------------------

    def flow_packet(self, f: Flow, side: int) -> tuple[str, bytes]:
        """The conversation's next packet: TCP's handshake, data both ways, then FIN or RST; UDP
        and ICMP echo back and forth.  *side* 2 alternates (client first)."""
        s = self.flow_state.get(f)
        if s is None:  # the packet number, and each side's next sequence number
            s = self.flow_state[f] = {"n": 0, "c": self.seq.randrange(2**32), "s": self.seq.randrange(2**32)}
        n = s["n"]
        s["n"] += 1
        from_server = (n % 2 == 1) if side == 2 else side == 1
        src, dst, sp, dp = (f.server, f.client, f.sport, f.cport) if from_server else \
            (f.client, f.server, f.cport, f.sport)
        where = f.server_at if from_server else f.client_at
        me, peer = ("s", "c") if from_server else ("c", "s")
        if f.proto == IPPROTO_TCP:
            payload = b""
            if n == 0:
                flags = SYN
            elif n == 1:
                flags = SYN | ACK if from_server else SYN
            elif n < 8:
                flags, payload = (ACK, b"") if n == 2 else (ACK | PSH, b"data" * (n % 3))
            elif n < 10:
                flags = FIN | ACK
            else:
                flags = RST | ACK
            seq, ack = s[me], s[peer]
            if flags & SYN:
                s[me] = (s[me] + 1) & 0xFFFFFFFF
            s[me] = (s[me] + len(payload) + (1 if flags & FIN else 0)) & 0xFFFFFFFF
            l4: Any = Tcp(sp, dp, seq, ack if flags & ACK else 0, 5, flags, 64240)
            pkt = Packet(src, dst, IPPROTO_TCP, l4, payload, id=n, frag_off=IP_DF)
        elif f.proto == IPPROTO_UDP:
            pkt = Packet(src, dst, IPPROTO_UDP, Udp(sp, dp), b"q" * n, id=n)
        else:
            echo = Icmp(0 if from_server else 8, 0, rest=f.cport << 16 | n)
            pkt = Packet(src, dst, IPPROTO_ICMP, echo, b"ping", id=n)
        return where, wire.to_bytes(pkt)

    def answer(self, s: Step) -> tuple[str, bytes] | None:
        """A reply to, or an ICMP error about, a packet that left earlier (as it left, after NAT):
        it comes back where that one went (or from the host, for a packet delivered to it)."""
        if not self.left:
            return None
        prev = self.left[-min(s.arg, len(self.left))]
        try:
            p = wire.parse(prev.data)
        except PynfError:
            return None
        if prev.disposition == "local":
            where = "local"
        elif prev.oif in IFACES:
            where = prev.oif
        else:
            return None
        if s.kind == "error":
            typ, code = {"port": (3, 3), "frag": (3, 4), "ttl": (11, 0), "host": (3, 1)}[s.text]
            src = p.daddr if typ == 3 and code == 3 else (ip("192.168.1.254") if where == "eth1" else p.daddr)
            if where == "local":
                src = p.daddr if p.daddr in LOCAL else LOCAL[0]
            quoted = wire.parse_inner(prev.data[: (prev.data[0] & 15) * 4 + 8])
            err = Packet(src, p.saddr, IPPROTO_ICMP, Icmp(typ, code, rest=1400 if s.text == "frag" else 0,
                                                            inner=quoted), b"", id=7)
            return where, wire.to_bytes(err)
        l4 = p.l4
        if isinstance(l4, Tcp):
            if s.text == "rst":
                r: Any = Tcp(l4.dport, l4.sport, l4.ack_seq, 0, 5, RST)
            elif l4.flags & SYN and not l4.flags & ACK:
                isn = self.seq.randrange(2**32)
                r = Tcp(l4.dport, l4.sport, isn, (l4.seq + 1) & 0xFFFFFFFF, 5, SYN | ACK, 64240)
            else:
                r = Tcp(l4.dport, l4.sport, l4.ack_seq, (l4.seq + len(p.payload)) & 0xFFFFFFFF, 5, ACK, 64240)
        elif isinstance(l4, Udp):
            r = Udp(l4.dport, l4.sport)
        elif isinstance(l4, Icmp) and l4.type == 8:
            r = Icmp(0, 0, rest=l4.rest)
        else:
            r = None
        reply = Packet(p.daddr, p.saddr, p.proto, r, p.payload if r is None else b"r", id=p.id ^ 0xFFFF,
                       frag_off=IP_DF)
        return where, wire.to_bytes(reply)

    def finish(self) -> None:
        self.check_state("at the end")
        if self.ref.rng.getstate() != self.fast.rng.getstate():
            self.fail("random state differs at the end")
        self.check("counters at the end", _saved(self.ref), _saved(self.fast))
        for e in (self.ref, self.fast):
            if e.conntrack is not None:
                e.conntrack.table.expire(self.now)  # listing() does this itself; done alike for both
        ref_ct = self.ref.conntrack.listing(self.now, extended=True) if self.ref.conntrack else ""
        fast_ct = self.fast.conntrack.listing(self.now, extended=True) if self.fast.conntrack else ""
        self.check("conntrack -L", ref_ct, fast_ct)


def run(spec_text: str, stream: Iterable[Step], *, seed: int = 0, make_fast: EngineFactory = _fast,
        trace_all: bool = False) -> Pair:
    pair = Pair(spec_text, seed, make_fast, trace_all)
    for s in stream:
        pair.step(s)
    pair.finish()
    return pair


# --------------------------------------------------------------------------- the properties

def _loadable(spec: RulesetSpec) -> None:
    """Throw away (and count) a ruleset the kernel would refuse: the generator keeps these rare."""
    try:
        load(spec.text)
    except PynfError as e:
        event(f"ruleset refused: {str(e).split(':')[0][:60]}")  # --hypothesis-show-statistics counts
        assume(False)


@examples(120)
@given(st.data(), small_rulesets(), ints(0, 2**32 - 1))
def test_fast_path_equals_interpreter(data: st.DataObject, spec: RulesetSpec, seed: int) -> None:
    _loadable(spec)
    stream = data.draw(streams(spec, updates=False, trace=None), label="stream")
    run(spec.text, stream, seed=seed)


@examples(100)
@given(st.data(), small_rulesets(), ints(0, 2**32 - 1))
def test_fast_path_follows_ruleset_updates(data: st.DataObject, spec: RulesetSpec, seed: int) -> None:
    _loadable(spec)
    stream = data.draw(streams(spec, updates=True, trace=None), label="stream")
    run(spec.text, stream, seed=seed)


@examples(40)
@given(st.data(), small_rulesets())
def test_fast_path_traces_equal_interpreter(data: st.DataObject, spec: RulesetSpec) -> None:
    """With trace=True on every packet: each TRACE line (table:chain:rule:N, return, policy) the
    same, for the packets the kernel generates (REJECT's replies) too."""
    _loadable(spec)
    stream = data.draw(streams(spec, updates=data.draw(BOOL), trace=True, max_steps=20),
                       label="stream")
    run(spec.text, stream, trace_all=True)


@examples(20)
@given(st.data(), large_rulesets(), ints(0, 2**32 - 1))
def test_fast_path_equals_interpreter_on_large_chains(data: st.DataObject, spec: RulesetSpec,
                                                      seed: int) -> None:
    _loadable(spec)
    stream = data.draw(streams(spec, updates=data.draw(BOOL), trace=None, max_steps=40),
                       label="stream")
    run(spec.text, stream, seed=seed)


# --------------------------------------------------------------------------- the harness can fail

# A fixed scenario with every kind of state the comparison covers: statistic (nth and random),
# quota, limit, hashlimit, recent, connlimit, connbytes, SET's ipset, conntrack, NAT, a REJECT.
STATEFUL = """*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 9 -j CT --notrack
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVC - [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j SVC
-A SVC -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.1.0.5:8080
-A SVC -p tcp -j DNAT --to-destination 10.1.0.6:8080
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CHK - [0:0]
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -j CHK
-A FORWARD -p tcp -m tcp --dport 8080 -j ACCEPT
-A FORWARD -p udp -j REJECT
-A CHK -m statistic --mode nth --every 3 --packet 0 -j LOG --log-prefix "nth "
-A CHK -m quota --quota 5000 -m limit --limit 2/sec --limit-burst 2 -j LOG --log-prefix "lim "
-A CHK -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 1 --hashlimit-mode srcip --hashlimit-name hx \
-j RETURN
-A CHK -m recent --set --name seen --rsource
-A CHK -m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr -j DROP
-A CHK -m connbytes --connbytes 0:100000 --connbytes-dir both --connbytes-mode bytes \
-j SET --add-set s2 dst,dst
-A CHK -m statistic --mode random --probability 0.3 -j LOG --log-prefix "rnd "
COMMIT
"""


def _stateful_stream() -> Stream:
    """SYNs from two LAN hosts to the service VIP (DNAT, then forwarded), their replies, UDP that
    REJECT answers, UDP past conntrack; in steps small enough for the limits to matter."""
    steps = Stream()
    for i, src in enumerate(("10.0.0.2", "10.0.0.3", "10.0.0.2", "10.0.0.3", "10.0.0.2")):
        syn = Packet(ip(src), ip("10.96.0.10"), IPPROTO_TCP, Tcp(40000 + i, 80, 1000 * i, 0, 5, SYN, 64240))
        steps.append(Step("packet", 0.2, "eth0", wire.to_bytes(syn), trace=True))
        steps.append(Step("reply", 0.1, arg=1, text="ok", trace=True))
    udp = Packet(ip("10.0.0.2"), ip("8.8.8.8"), IPPROTO_UDP, Udp(5353, 53), b"query")
    steps.append(Step("packet", 0.3, "eth0", wire.to_bytes(udp), trace=True))
    notrack = Packet(ip("10.0.0.3"), ip("10.1.0.5"), IPPROTO_UDP, Udp(5353, 9), b"x")
    steps.append(Step("packet", 0.3, "eth0", wire.to_bytes(notrack)))
    return steps


def _stateful_pair(make_fast: EngineFactory = _fast) -> Pair:
    return run(STATEFUL, _stateful_stream(), seed=7, make_fast=make_fast)


def test_stateful_scenario_equal() -> None:
    """The fixed scenario passes with the real fast path, and makes every kind of state the
    mutation tests below change (so none of them passes for lack of state)."""
    pair = _stateful_pair()
    state = engine_state(pair.fast)
    kinds = {k for _pos, body in state["rule_states"] for k in body}
    assert {"count", "quota", "credit", "groups"} <= kinds, kinds
    assert len(pair.fast.recent["seen"].entries) == 2
    assert pair.fast.hashlimit["hx"].entries
    assert pair.fast.ipsets["s2"].elements
    assert len(pair.fast.conntrack.entries()) >= 5


def _rule_state(engine: Engine, key: str) -> dict[str, Any]:
    for state in engine.rule_states.values():
        if key in state:
            return state
    raise AssertionError(f"no rule state with {key!r}")


def _move_state(engine: Engine) -> None:
    """The nth counter filed under another rule (the right value in the wrong place)."""
    chk = engine.ruleset.tables["filter"].chains["CHK"]
    for key, state in list(engine.rule_states.items()):
        if "count" in state:
            _rule, owner = state["_pin"]
            del engine.rule_states[key]
            state["_pin"] = (chk.rules[1], owner)
            engine.rule_states[(id(chk.rules[1]), id(owner))] = state
            return
    raise AssertionError("no nth state")


def _recent_reorder(engine: Engine) -> None:
    entries = engine.recent["seen"].entries
    first = next(iter(entries))
    entries[first] = entries.pop(first)  # the same entries, another LRU order


def _bump(state: dict[str, Any], key: str, by: int) -> None:
    state[key] += by


def _first_conn(engine: Engine) -> Conn:
    return engine.conntrack.entries()[0]


MUTATIONS: dict[str, Callable[[Engine], None]] = {
    "nth counter": lambda e: _bump(_rule_state(e, "count"), "count", 1),
    "quota left": lambda e: _bump(_rule_state(e, "quota"), "quota", -1),
    "limit credit": lambda e: _bump(_rule_state(e, "credit"), "credit", 1),
    "connlimit list": lambda e: _rule_state(e, "groups")["groups"].clear(),
    "state moved to another rule": _move_state,
    "recent stamp": lambda e: next(iter(e.recent["seen"].entries.values())).stamps.__setitem__(0, 1),
    "recent entry gone": lambda e: e.recent["seen"].entries.pop(next(iter(e.recent["seen"].entries))),
    "recent LRU order": _recent_reorder,
    "hashlimit credit": lambda e: setattr(next(iter(e.hashlimit["hx"].entries.values())), "credit", 12345),
    "ipset element": lambda e: e.ipsets["s2"].elements.clear(),
    "conntrack mark": lambda e: setattr(_first_conn(e), "mark", 9),
    "conntrack timeout": lambda e: setattr(_first_conn(e), "timeout", _first_conn(e).timeout + 0.5),
    "conntrack counters": lambda e: _first_conn(e).account(1, 40),
    "nat bysource": lambda e: e.nat.bysource.clear(),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_state_comparison_sees_a_changed_value(name: str) -> None:
    pair = _stateful_pair()
    pair.check_state("unchanged")  # equal before the change...
    MUTATIONS[name](pair.fast)
    with pytest.raises(Mismatch):  # ...and not after it
        pair.check_state(f"after changing the {name}")


def _outcome_pair() -> tuple[Outcome, Outcome, Normalizer]:
    """One packet's outcome with events, a path and a generated REJECT reply, twice."""
    pair = Pair(STATEFUL, seed=7, trace_all=True)
    for s in _stateful_stream()[:-2]:
        pair.step(s)
    udp = wire.to_bytes(Packet(ip("10.0.0.2"), ip("8.8.8.8"), IPPROTO_UDP, Udp(5353, 53), b"query"))
    out = pair.feed("eth0", udp, True)
    assert out is not None and out.generated and len(out.events) >= 3 and out.path
    return out, copy.deepcopy(out), Normalizer(pair.ref.ruleset)


OUTCOME_MUTATIONS: dict[str, Callable[[Outcome], None]] = {
    "verdict": lambda o: setattr(o, "verdict", "accept"),
    "reason": lambda o: setattr(o, "reason", "policy"),
    "trace line": lambda o: setattr(o.events[1], "text", o.events[1].text + "x"),
    "event order": lambda o: o.events.insert(0, o.events.pop(1)),
    "event lost": lambda o: o.events.pop(),
    "path": lambda o: o.path.append("FORWARD:filter:DROP"),
    "packet ttl": lambda o: setattr(o.packet, "ttl", o.packet.ttl - 1),
    "packet mark": lambda o: setattr(o.packet.meta, "mark", 1),
    "generated bytes": lambda o: setattr(o.generated[0].packet, "tos", 0x10),
    "generated events": lambda o: o.generated[0].events.clear(),
}


@pytest.mark.parametrize("name", sorted(OUTCOME_MUTATIONS))
def test_outcome_comparison_sees_a_change(name: str) -> None:
    a, b, norm = _outcome_pair()
    compare("outcomes", outcome_state(a, norm), outcome_state(b, norm))
    OUTCOME_MUTATIONS[name](b)
    with pytest.raises(Mismatch):
        compare("outcomes", outcome_state(a, norm), outcome_state(b, norm))


# Engines that are wrong the ways a compiled classifier could be: the harness must catch each.


class _DrawsMore(Engine):
    """Consumes randomness the interpreter does not (a statistic match run out of turn)."""

    def run_table(self, name: str, pkt: Packet, st_: Any) -> int:
        v = super().run_table(name, pkt, st_)
        if name == "filter":
            self.rng.random()
        return v


class _NoTrace(Engine):
    """Leaves out the filter table's TRACE lines."""

    def run_table(self, name: str, pkt: Packet, st_: Any) -> int:
        if name != "filter":
            return super().run_table(name, pkt, st_)
        trace, st_.trace = st_.trace, False
        try:
            return super().run_table(name, pkt, st_)
        finally:
            st_.trace = trace


class _Miscounts(Engine):
    """Counts a byte too many on a rule it passed."""

    def run_table(self, name: str, pkt: Packet, st_: Any) -> int:
        v = super().run_table(name, pkt, st_)
        if name == "filter" and st_.hook.name == "FORWARD":
            self.ruleset.tables["filter"].chains["CHK"].rules[-1].bytes += 1
        return v


class _ForgetsState(Engine):
    """Starts every traversal with fresh per-rule state (a compiled copy's own, say)."""

    def run_table(self, name: str, pkt: Packet, st_: Any) -> int:
        self.rule_states.clear()
        return super().run_table(name, pkt, st_)


@pytest.mark.parametrize("mutant", [_DrawsMore, _NoTrace, _Miscounts, _ForgetsState])
def test_harness_catches_a_wrong_fast_path(mutant: type[Engine]) -> None:
    def make(rs: Ruleset, host: Host, seed: int) -> Engine:
        return mutant(rs, host, seed=seed, fastpath=False)

    with pytest.raises(Mismatch) as info:
        _stateful_pair(make)
    text = str(info.value)
    assert "RULESET:\n*raw" in text and "receive eth0" in text  # the report has the reproduction


def test_few_rulesets_are_refused() -> None:
    """The generator's rulesets load: the properties above assume() away refused ones, and a
    high refusal rate would waste their examples (or hide a vocabulary that never loads)."""
    seen = {"loaded": 0, "refused": 0}

    @examples(100)
    @given(small_rulesets())
    def sample(spec: RulesetSpec) -> None:
        try:
            load(spec.text)
            seen["loaded"] += 1
        except PynfError:
            seen["refused"] += 1

    sample()
    total = seen["loaded"] + seen["refused"]
    assert total and seen["refused"] <= total // 20, seen
