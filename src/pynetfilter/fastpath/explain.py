"""The compiled form in words (``pynf explain-compiled``): subtables, buckets, and each rule's key.

    *nat
    chain KUBE-SERVICES: 1002 rules, 2 subtables (one probe each)
      subtable dst/32 proto dport: 1001 rules in 1001 buckets (largest 1)
      subtable any: 1 rule in 1 bucket (largest 1)

With a chain named, every rule follows with the key it is filed under, e.g.
``   1  dst 10.96.0.1/32 tcp dport 443  -A KUBE-SERVICES -d 10.96.0.1/32 ...``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.ext.types import fmt_ipv4
from pynetfilter.fastpath.classifier import LINEAR, CompiledChain, compiled
from pynetfilter.fastpath.keys import rule_key
from pynetfilter.model.rule import proto_to_name

if TYPE_CHECKING:
    from pynetfilter.fastpath.keys import Key, Shape
    from pynetfilter.model.ruleset import Chain, Ruleset


def shape_words(shape: Shape) -> str:
    dlen, slen, proto, port = shape
    words = []
    if dlen:
        words.append(f"dst/{dlen}")
    if slen:
        words.append(f"src/{slen}")
    if proto:
        words.append("proto")
    if port:
        words.append("dport")
    return " ".join(words) or "any"


def key_words(shape: Shape, key: Key) -> str:
    dlen, slen, proto, port = shape
    words = []
    if dlen:
        words.append(f"dst {fmt_ipv4(key[0])}/{dlen}")
    if slen:
        words.append(f"src {fmt_ipv4(key[1])}/{slen}")
    if proto:
        words.append(proto_to_name(key[2], numeric=True) or str(key[2]))
    if port:
        words.append(f"dport {key[3]}")
    return " ".join(words) or "any"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def explain_chain(chain: Chain, cc: CompiledChain, rules: bool = False) -> list[str]:
    n = len(cc.rules)
    if n <= LINEAR:
        head = f"chain {chain.name}: {_plural(n, 'rule')}, tried in order (not indexed up to {LINEAR})"
    else:
        head = (f"chain {chain.name}: {_plural(n, 'rule')}, {_plural(len(cc.probes), 'subtable')} "
                "(one probe each)")
    out = [head]
    if n > LINEAR:
        for st in cc.probes:
            sizes = [len(b) for b in st.buckets.values()]
            out.append(f"  subtable {shape_words(st.shape)}: {_plural(sum(sizes), 'rule')} in "
                       f"{_plural(len(sizes), 'bucket')} (largest {max(sizes)})")
    if rules:
        for i, r in enumerate(cc.rules, 1):
            shape, key = rule_key(r)
            out.append(f"  {i:>4}  {key_words(shape, key):<36}  {r.save(chain.name)}")
    return out


def explain(rs: Ruleset, table: str | None = None, chain: str | None = None) -> str:
    """The compiled form of every chain (or of one table / one chain, with its rules' keys)."""
    out: list[str] = []
    for t in reversed(rs.tables.values()):  # iptables-save's table order
        if table is not None and t.name != table:
            continue
        chains = t.ordered_chains()
        if chain is not None:
            chains = [c for c in chains if c.name == chain]
            if not chains:
                continue
        out.append(f"*{t.name}")
        for c in chains:
            out.extend(explain_chain(c, compiled(c), rules=chain is not None))
    return "".join(line + "\n" for line in out)
