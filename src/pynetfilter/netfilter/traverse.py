"""Chain traversal: the kernel's ipt_do_table, rule by rule (the reference interpreter).

Theory of operation.  A packet enters a table at the built-in chain of its
hook.  Each rule is tried in order: the IP part first, then every match; a
rule that matches has its counters bumped (one packet, the packet's length in
bytes: skb->len, the whole IP datagram) and its target run.  A jump pushes the
return position on a stack, a goto does not; RETURN (or falling off the end of
a user chain) pops; the end of a built-in chain applies its policy and bumps
the policy counters.  A match may set ``par.hotdrop`` (a truncated header):
the packet is dropped at once.  Trace events use the kernel's TRACE words:
``table:chain:rule:N``, ``table:chain:return:N``, ``table:chain:policy:N``.

The fast path of a later release must give exactly these verdicts, counters
and traces; this module is the reference it is tested against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.ext.base import Extension
from pynetfilter.model.rule import ANY_IP, IpMatch, Jump, Verdict
from pynetfilter.netfilter.par import Event, Par
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP, XT_CONTINUE, XT_RETURN
from pynetfilter.packet.wire import length

if TYPE_CHECKING:
    from pynetfilter.model.rule import Rule
    from pynetfilter.model.ruleset import Chain, Table
    from pynetfilter.packet.model import Packet

_POLICY = {"ACCEPT": NF_ACCEPT, "DROP": NF_DROP}
_STANDARD = {"ACCEPT": NF_ACCEPT, "DROP": NF_DROP, "QUEUE": 3, "RETURN": XT_RETURN}


def iface_match(pattern: str, dev: str | None) -> bool:
    """ifname_compare_aligned: "" and "+" match anything; "eth+" is a prefix."""
    if not pattern or pattern == "+":
        return True
    name = dev or ""
    if pattern[-1] == "+":
        return name.startswith(pattern[:-1])
    return name == pattern


def ip_match(ip: IpMatch, pkt: Packet, in_dev: str | None, out_dev: str | None) -> bool:
    """ip_packet_match: addresses under masks, interfaces, protocol, fragment flag."""
    if ((pkt.saddr & ip.smsk) != ip.src) != ip.inv_src:
        return False
    if ((pkt.daddr & ip.dmsk) != ip.dst) != ip.inv_dst:
        return False
    if ip.iniface and iface_match(ip.iniface, in_dev) == ip.inv_in:
        return False
    if ip.outiface and iface_match(ip.outiface, out_dev) == ip.inv_out:
        return False
    if ip.proto and (pkt.proto != ip.proto) != ip.inv_proto:
        return False
    return not (ip.frag and (not pkt.later_fragment) != ip.inv_frag)


# skb->len: the counters add it at every rule that matches (cheap: no serializing).
packet_len = length


def trace_comment(rule: Rule, chain: Chain) -> str:
    """trace_packet's word for a matched rule: the kernel cannot tell an unconditional rule with a
    standard verdict (``-j ACCEPT``, ``-j RETURN``) from a chain's tail entry, so it calls it
    "policy" in a built-in chain and "return" in a user chain (verified against the kernel's TRACE)."""
    if type(rule.target) is Verdict and not rule.matches and rule.ip == ANY_IP:
        return "policy" if chain.policy is not None else "return"
    return "rule"


def do_table(table: Table, pkt: Packet, par: Par, trace: bool = False) -> int:
    """Run *pkt* through *table* from the built-in chain of ``par.hook``; return the verdict."""
    chain: Chain = table.chains[par.hook.name]
    base = chain
    rules = chain.rules
    stack: list[tuple[Chain, int]] = []
    i = 0
    in_dev, out_dev = par.in_dev, par.out_dev
    tname = table.name
    while True:
        if i >= len(rules):
            # The chain's tail entry: policy of a built-in chain, implicit RETURN of a user chain.
            if chain.policy is not None:
                chain.packets += 1
                chain.bytes += packet_len(pkt)
                if trace:
                    par.events.append(Event("trace", f"{tname}:{chain.name}:policy:{len(rules) + 1}"))
                return _POLICY[chain.policy]
            if trace:
                par.events.append(Event("trace", f"{tname}:{chain.name}:return:{len(rules) + 1}"))
            if not stack:
                # Reached by -g with nothing to return to: the kernel's underflow, the built-in
                # chain's policy (counted, and its verdict applies).
                chain = base
                rules, i = chain.rules, len(chain.rules)
                continue
            chain, i = stack.pop()
            rules = chain.rules
            continue
        rule = rules[i]
        i += 1
        if not ip_match(rule.ip, pkt, in_dev, out_dev):
            continue
        par.rule = rule
        matched = True
        for m in rule.matches:
            if not m.mt(pkt, par):
                matched = False
                break
        if par.hotdrop:
            return NF_DROP
        if not matched:
            continue
        # skb->len now: a target earlier in the table may have grown the packet (TCPMSS).
        rule.packets += 1
        rule.bytes += packet_len(pkt)
        if trace:
            par.events.append(Event("trace", f"{tname}:{chain.name}:{trace_comment(rule, chain)}:{i}"))
        t = rule.target
        if t is None:
            continue
        if type(t) is Jump:
            if not t.goto:
                stack.append((chain, i))
            chain = table.chains[t.chain]
            rules = chain.rules
            i = 0
            continue
        if type(t) is Verdict:
            v = _STANDARD[t.name]
        else:
            assert isinstance(t, Extension)
            v = t.tg(pkt, par)
            if par.hotdrop:
                return NF_DROP
            if v == XT_CONTINUE:
                continue
        if v == XT_RETURN:
            if stack:
                chain, i = stack.pop()
                rules = chain.rules
                continue
            # RETURN with nothing to return to (a built-in chain, or a chain reached by -g):
            # the built-in chain's policy decides.
            chain = base
            rules, i = chain.rules, len(chain.rules)
            continue
        return v
