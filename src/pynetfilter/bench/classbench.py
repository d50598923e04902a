"""ClassBench rule sets as iptables rules, and packets that hit them.

ClassBench (Taylor and Turner) is the packet-classification literature's benchmark: synthetic rule
sets from the statistics of real ACL, firewall and IP-chain seed sets, one rule a line, highest
priority first::

    @SRC/PLEN  DST/PLEN  SPORT_LO : SPORT_HI  DPORT_LO : DPORT_HI  PROTO/MASK  FLAGS/MASK   (tab-separated)

Conversion, rule k (0-based) to the k+1-th rule of the filter table's FORWARD chain (policy ACCEPT):

* ``-s SRC/PLEN -d DST/PLEN``, each left out when its prefix length is 0 (iptables-save leaves a
  /0 out too; the kernel compares nothing either way);
* PROTO/MASK 0x06/0xFF and 0x11/0xFF: ``-p tcp -m tcp`` / ``-p udp -m udp`` with ``--sport LO:HI``
  and ``--dport LO:HI`` (one port when LO == HI), each left out when it is 0:65535; any other
  protocol with mask 0xFF: ``-p NUMBER``; mask 0x00 (any protocol): no ``-p``.  A port range on a
  rule without TCP or UDP could not be written (iptables needs ``-p tcp``/``udp`` for ports) and is
  refused with the line number; none of the shipped sets has one (every such rule is 0:65535);
* FLAGS/MASK is dropped: it is not TCP's flags byte in any one encoding across the sets, and the
  classifier papers ignore it too;
* the target alternates, ``-j ACCEPT`` for even k and ``-j DROP`` for odd k, so both verdicts
  occur at every depth; which rule classified a packet is read from the rule counters or trace.

Packets: for a sampled rule, a datagram inside its fields (addresses drawn inside both prefixes,
ports inside both ranges, its protocol, or TCP for "any").  Its first match is that rule, or an
earlier one that overlaps it (:func:`covers` says which).  Samples are spread evenly over the set,
so first matches happen at every depth.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from pynetfilter.netfilter.host import fmt4, ip4
from pynetfilter.packet.model import ACK, Icmp, Packet, Tcp, Udp

TCP, UDP, ICMP = 6, 17, 1
_LINE = re.compile(r"@(\S+)/(\d+)\s+(\S+)/(\d+)\s+(\d+) : (\d+)\s+(\d+) : (\d+)\s+"
                   r"0x([0-9a-fA-F]+)/0x([0-9a-fA-F]+)")
_PROTO_NAME = {TCP: "tcp", UDP: "udp", ICMP: "icmp"}


class ClassBenchError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CbRule:
    src: int
    splen: int
    dst: int
    dplen: int
    sport: tuple[int, int]
    dport: tuple[int, int]
    proto: int  # 0: any protocol
    line: int


def _mask(plen: int) -> int:
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0


def parse(text: str) -> list[CbRule]:
    """The rules of a ClassBench file, in priority order."""
    rules = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            raise ClassBenchError(f"line {n}: not a ClassBench rule: {line[:60]!r}")
        s, sp, d, dp, slo, shi, dlo, dhi, proto, pmask = m.groups()
        splen, dplen = int(sp), int(dp)
        p = int(proto, 16) if int(pmask, 16) == 0xFF else 0
        rule = CbRule(ip4(s) & _mask(splen), splen, ip4(d) & _mask(dplen), dplen,
                      (int(slo), int(shi)), (int(dlo), int(dhi)), p, n)
        if p not in (TCP, UDP) and (rule.sport != (0, 65535) or rule.dport != (0, 65535)):
            raise ClassBenchError(f"line {n}: port ranges on a rule without -p tcp/udp cannot be written")
        rules.append(rule)
    return rules


def _ports(opt: str, rng: tuple[int, int]) -> str:
    if rng == (0, 65535):
        return ""
    lo, hi = rng
    return f" {opt} {lo}" if lo == hi else f" {opt} {lo}:{hi}"


def to_iptables(rule: CbRule, k: int, chain: str = "FORWARD") -> str:
    """The ``-A`` line of rule *k* (0-based)."""
    out = [f"-A {chain}"]
    if rule.splen:
        out.append(f" -s {fmt4(rule.src)}/{rule.splen}")
    if rule.dplen:
        out.append(f" -d {fmt4(rule.dst)}/{rule.dplen}")
    if rule.proto:
        name = _PROTO_NAME.get(rule.proto, str(rule.proto))
        out.append(f" -p {name}")
        if rule.proto in (TCP, UDP):
            ports = _ports("--sport", rule.sport) + _ports("--dport", rule.dport)
            if ports:
                out.append(f" -m {name}{ports}")
    out.append(" -j ACCEPT" if k % 2 == 0 else " -j DROP")
    return "".join(out)


def restore_text(rules: list[CbRule]) -> str:
    """iptables-restore input: the filter table, every rule in FORWARD (policy ACCEPT)."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [to_iptables(r, k) for k, r in enumerate(rules)]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def covers(rule: CbRule, saddr: int, daddr: int, proto: int, sport: int | None, dport: int | None) -> bool:
    """Whether *rule* matches those header fields (our own reading of the rule, independent of the
    interpreter: the tests use it to tell an overlap from a wrong first match)."""
    if (saddr & _mask(rule.splen)) != rule.src or (daddr & _mask(rule.dplen)) != rule.dst:
        return False
    if rule.proto and rule.proto != proto:
        return False
    if rule.proto in (TCP, UDP):
        assert sport is not None and dport is not None
        return rule.sport[0] <= sport <= rule.sport[1] and rule.dport[0] <= dport <= rule.dport[1]
    return True


def packet_for(rule: CbRule, rnd: random.Random) -> Packet:
    """A datagram inside *rule*'s fields."""
    saddr = rule.src | (rnd.getrandbits(32) & ~_mask(rule.splen) & 0xFFFFFFFF)
    daddr = rule.dst | (rnd.getrandbits(32) & ~_mask(rule.dplen) & 0xFFFFFFFF)
    proto = rule.proto or TCP
    sport, dport = rnd.randint(*rule.sport), rnd.randint(*rule.dport)
    payload = b"\0" * 32
    if proto == TCP:
        return Packet(saddr, daddr, proto, Tcp(sport, dport, 1, 1, flags=ACK, window=1024), payload)
    if proto == UDP:
        return Packet(saddr, daddr, proto, Udp(sport, dport, 8 + len(payload)), payload)
    if proto == ICMP:
        return Packet(saddr, daddr, proto, Icmp(8, 0, rest=0x10001), payload)
    return Packet(saddr, daddr, proto, None, payload)  # GRE, ESP, AH...: no header we parse


def ports_of(pkt: Packet) -> tuple[int | None, int | None]:
    l4 = pkt.l4
    if isinstance(l4, Tcp | Udp):
        return l4.sport, l4.dport
    return None, None


def sample(rules: list[CbRule], count: int, seed: int = 1) -> list[tuple[int, Packet]]:
    """(k, packet inside rule k) for *count* rules spread evenly over the whole set."""
    rnd = random.Random(seed)
    count = min(count, len(rules))
    picks = [(i * len(rules)) // count for i in range(count)]
    return [(k, packet_for(rules[k], rnd)) for k in picks]
