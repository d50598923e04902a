"""Chain traversal over compiled chains: netfilter.traverse.do_table, trying only candidates.

The loop is the interpreter's, rule for rule (same counters, same TRACE words, same
jump/goto/RETURN/underflow handling): the one difference is where the next rule comes
from.  The interpreter takes the next rule of the chain; this takes the next candidate
(:meth:`CompiledChain.candidates`), skipping rules the interpreter would have tried
without a match and without side effects.  A jump pushes the candidate list and the place
in it; the packet's indexed fields do not change within a traversal, so a returned-to
chain's candidates are still right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.ext.base import Extension
from pynetfilter.fastpath.classifier import compiled
from pynetfilter.fastpath.keys import packet_dport
from pynetfilter.model.rule import Jump, Verdict
from pynetfilter.netfilter.par import Event, Par
from pynetfilter.netfilter.traverse import ip_match, packet_len, trace_comment
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_DROP, XT_CONTINUE, XT_RETURN

if TYPE_CHECKING:
    from pynetfilter.fastpath.classifier import CompiledChain
    from pynetfilter.model.ruleset import Chain, Table
    from pynetfilter.packet.model import Packet

_POLICY = {"ACCEPT": NF_ACCEPT, "DROP": NF_DROP}
_STANDARD = {"ACCEPT": NF_ACCEPT, "DROP": NF_DROP, "QUEUE": 3, "RETURN": XT_RETURN}


def do_table_compiled(table: Table, pkt: Packet, par: Par, trace: bool = False) -> int:
    """Run *pkt* through *table* from the built-in chain of ``par.hook``; return the verdict."""
    daddr, saddr, proto = pkt.daddr, pkt.saddr, pkt.proto
    dport = packet_dport(pkt)
    chain: Chain = table.chains[par.hook.name]
    base = chain
    cc: CompiledChain = compiled(chain)
    cand = cc.candidates(daddr, saddr, proto, dport)
    j = 0
    stack: list[tuple[Chain, CompiledChain, list[int], int]] = []
    in_dev, out_dev = par.in_dev, par.out_dev
    tname = table.name
    chains = table.chains
    while True:
        if j >= len(cand):
            # The chain's tail entry: policy of a built-in chain, implicit RETURN of a user chain.
            n = len(chain.rules)
            if chain.policy is not None:
                chain.packets += 1
                chain.bytes += packet_len(pkt)
                if trace:
                    par.events.append(Event("trace", f"{tname}:{chain.name}:policy:{n + 1}"))
                return _POLICY[chain.policy]
            if trace:
                par.events.append(Event("trace", f"{tname}:{chain.name}:return:{n + 1}"))
            if not stack:
                # Reached by -g with nothing to return to: the built-in chain's policy.
                chain, cc = base, compiled(base)
                cand, j = cc.keys, len(cc.keys)
                continue
            chain, cc, cand, j = stack.pop()
            continue
        k = cand[j]
        j += 1
        rule = cc.entries[k][0]
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
        rule.packets += 1
        rule.bytes += packet_len(pkt)
        if trace:
            par.events.append(Event("trace", f"{tname}:{chain.name}:{trace_comment(rule, chain)}:"
                                             f"{cc.number(k)}"))
        t = rule.target
        if t is None:
            continue
        if type(t) is Jump:
            if not t.goto:
                stack.append((chain, cc, cand, j))
            chain = chains[t.chain]
            cc = compiled(chain)
            cand = cc.candidates(daddr, saddr, proto, dport)
            j = 0
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
                chain, cc, cand, j = stack.pop()
                continue
            # RETURN with nothing to return to: the built-in chain's policy decides.
            chain, cc = base, compiled(base)
            cand, j = cc.keys, len(cc.keys)
            continue
        return v
