"""A fast path for ``-A CHAIN`` rules in iptables-save's own shape.

Theory of operation.  Real rulesets (an iptables-save dump, kube-proxy's
restore input) are hundreds of thousands of rules in one rigid shape: the IP
options, then ``-m NAME --opt value ...`` segments, then ``-j TARGET
--opt ...``.  For such a rule, getopt-style routing is trivial: each
``--opt`` belongs to the segment it stands in.  This module parses exactly
that shape and gives up (returns None) on anything else, leaving it to the
full parser in :mod:`pynetfilter.syntax.command`; so its answers are, by
construction, the full parser's answers (the test suite checks that on the
whole corpus).

What makes it fast: segments are parsed once per distinct text.  A match or
target instance is immutable, so ``-m tcp --dport 80`` seen 20,000 times is
parsed once and the same object is shared by every rule, which also bounds
memory.  IP parts are interned the same way.
"""

from __future__ import annotations

import re

from pynetfilter.errors import PynfError
from pynetfilter.ext import find_match, find_target
from pynetfilter.ext.base import Extension, Given, RuleContext, collect
from pynetfilter.ext.types import parse_iface, parse_ipv4_net
from pynetfilter.model.rule import IpMatch, Jump, Rule, Verdict
from pynetfilter.model.tables import STANDARD_VERDICTS

_IP_FLAGS = {"-s": "inv_src", "-d": "inv_dst", "-i": "inv_in", "-o": "inv_out", "-p": "inv_proto"}
_VERDICTS = {v: Verdict(v) for v in STANDARD_VERDICTS}
MAX_NAME = 28
_CACHE_LIMIT = 1 << 18
_SPACE = re.compile(r"\s", re.ASCII)
_GOOD_NAMES: set[str] = set()  # -j/-g names already checked for length and white space


class _Cache:
    """Interning caches shared by every parse (cleared when they grow too big)."""

    def __init__(self) -> None:
        self.ext: dict[tuple[object, ...], Extension] = {}
        self.ip: dict[tuple[str, ...], IpMatch] = {}
        self.net: dict[str, tuple[int, int]] = {}
        self.proto: dict[str, int] = {}  # -p value -> number

    def trim(self) -> None:
        for d in (self.ext, self.ip, self.net):
            if len(d) > _CACHE_LIMIT:
                d.clear()


CACHE = _Cache()


def _net(text: str) -> tuple[int, int]:
    v = CACHE.net.get(text)
    if v is None:
        v = parse_ipv4_net(text)
        CACHE.net[text] = v
    return v


def _ip(tokens: tuple[str, ...]) -> IpMatch | None:
    """The IP part from (flag, value, inverted) triples flattened; None to give up."""
    ip = CACHE.ip.get(tokens)
    if ip is not None:
        return ip
    from pynetfilter.syntax.words import parse_protocol

    fields: dict[str, object] = {}
    for k in range(0, len(tokens), 3):
        flag, value, inverted = tokens[k], tokens[k + 1], tokens[k + 2] == "!"
        if flag == "-s":
            fields["src"], fields["smsk"] = _net(value)
        elif flag == "-d":
            fields["dst"], fields["dmsk"] = _net(value)
        elif flag == "-i":
            fields["iniface"] = parse_iface(value)
        elif flag == "-o":
            fields["outiface"] = parse_iface(value)
        elif flag == "-p":
            proto = parse_protocol(value)
            if proto == 0 and inverted:
                return None
            fields["proto"] = proto
        elif flag == "-f":
            fields["frag"] = True
            fields["inv_frag"] = inverted
            continue
        if inverted:
            fields[_IP_FLAGS[flag]] = True
    ip = IpMatch(**fields)  # type: ignore[arg-type]
    CACHE.ip[tokens] = ip
    return ip


def _instance(cls: type[Extension], given: list[Given], table: str, ip: IpMatch) -> Extension:
    key = (cls, table, ip.proto, ip.inv_proto,
           tuple((g.opt.name, g.args, g.inverted, g.proto_then) for g in given))
    ext = CACHE.ext.get(key)
    if ext is None:
        ext = cls.parse(collect(cls, given), RuleContext(ip, table, ""))
        CACHE.ext[key] = ext
    return ext


def _proto(value: str, inverted: bool) -> tuple[int, bool]:
    key = value
    num = CACHE.proto.get(key)
    if num is None:
        from pynetfilter.syntax.words import parse_protocol

        num = parse_protocol(value)
        CACHE.proto[key] = num
    return num, inverted


def fast_rule(argv: list[str], table: str):  # type: ignore[no-untyped-def]
    """A Command for ``-A CHAIN <plain rule>``, or None to use the full parser."""
    from pynetfilter.syntax.command import Command
    from pynetfilter.syntax.words import _LONG

    n = len(argv)
    i = 0
    counters = None
    if n >= 3 and argv[0] == "--set-counters":
        pk, by = argv[1], argv[2]
        plain = pk.isascii() and pk.isdigit() and by.isascii() and by.isdigit()
        if not (plain and len(pk) < 19 and len(by) < 19):
            return None  # odd counters (C's wrapping and saturation): full parser
        counters = (int(argv[1]), int(argv[2]))
        i = 3
    if n < i + 2 or argv[i] != "-A":
        return None
    chain = argv[i + 1]
    if chain[:1] in ("-", "!", ""):
        return None
    i += 2
    ip_tokens: list[str] = []
    seen: set[str] = set()
    segs: list[tuple[type[Extension], list[Given]]] = []
    # The newest loaded extension: getopt gives an option name it has (exactly) to it.
    cur_cls: type[Extension] | None = None
    cur_given: list[Given] = []
    target_cls: type[Extension] | None = None
    target_given: list[Given] = []
    jump: str | None = None
    goto = False
    verdict: Verdict | None = None
    jump_name = ""
    proto_now = (0, False)  # the -p seen so far: what an option is parsed with
    try:
        while i < n:
            tok = argv[i]
            inverted = False
            if tok == "!":
                inverted = True
                i += 1
                if i >= n:
                    return None
                tok = argv[i]
            if tok[:2] == "--":
                name = tok[2:]
                if cur_cls is None or name in _LONG or "=" in name:
                    return None
                opt = cur_cls.option_names().get(name)
                if opt is None or opt.optional_arg:
                    return None
                i += 1
                if opt.nargs:
                    if i + opt.nargs > n:
                        return None
                    args = tuple(argv[i:i + opt.nargs])
                    if opt.nargs > 1 and any(a[:1] in ("-", "!") for a in args[1:]):
                        return None
                    if cur_cls.intrapositioned and args[0] == "!":
                        return None
                    i += opt.nargs
                else:
                    args = ()
                cur_given.append(Given(opt, args, inverted, tok, proto_now))
                continue
            if target_cls or jump or verdict:
                return None  # only the target's options may follow -j
            if tok in _IP_FLAGS or tok == "-f":
                if tok in seen:
                    return None
                seen.add(tok)
                if tok == "-f":
                    ip_tokens += (tok, "", "!" if inverted else "")
                    i += 1
                    continue
                if i + 1 >= n:
                    return None
                value = argv[i + 1]
                if tok in ("-s", "-d") and "," in value or not value:
                    return None
                if tok == "-p":
                    if any("A" <= c <= "Z" for c in value):
                        return None  # iptables lowercases -p's word first: the full parser does
                    proto_now = _proto(value, inverted)
                ip_tokens += (tok, value, "!" if inverted else "")
                i += 2
                continue
            if inverted or i + 1 >= n:
                return None
            if tok == "-m":
                mcls = find_match(argv[i + 1])
                if mcls is None:
                    return None
                cur_cls, cur_given = mcls, []
                segs.append((mcls, cur_given))
                i += 2
            elif tok in ("-j", "-g"):
                name = jump_name = argv[i + 1]
                if name not in _GOOD_NAMES:
                    wide = len(name.encode("utf-8", "surrogateescape"))
                    if not name or wide > MAX_NAME or _SPACE.search(name):
                        return None
                    if len(_GOOD_NAMES) > _CACHE_LIMIT:
                        _GOOD_NAMES.clear()
                    _GOOD_NAMES.add(name)
                i += 2
                if tok == "-g":
                    jump, goto = name, True
                elif name in _VERDICTS:
                    verdict = _VERDICTS[name]
                else:
                    tcls = find_target(name)
                    if tcls is None:
                        jump = name
                    else:
                        target_cls = cur_cls = tcls
                        cur_given = target_given
            else:
                return None
        if ("-o" in seen and chain in ("PREROUTING", "INPUT")) or \
                ("-i" in seen and chain in ("POSTROUTING", "OUTPUT")):
            return None  # do_parse refuses the interface by chain name: the full parser says so
        ip = _ip(tuple(ip_tokens))
        if ip is None:
            return None
        matches = tuple(_instance(c, g, table, ip) for c, g in segs)
        target: object = verdict
        if target_cls is not None:
            target = _instance(target_cls, target_given, table, ip)
        elif jump is not None:
            target = Jump(jump, goto)
    except PynfError:
        return None  # let the full parser produce its own error
    rule = Rule(ip, matches, target)  # type: ignore[arg-type]
    if counters:
        rule.packets, rule.bytes = counters
    cmd = Command(command="A", table=table, chain=chain, rules=[rule], jump=jump, goto=goto,
                  counters=counters, jumpto=jump_name)
    if len(CACHE.ext) > _CACHE_LIMIT or len(CACHE.ip) > _CACHE_LIMIT:
        CACHE.trim()
    return cmd
