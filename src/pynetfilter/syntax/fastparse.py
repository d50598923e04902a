"""A fast path for ``-A CHAIN`` rules in iptables-save's own shape.

Theory of operation.  Real rulesets (an iptables-save dump, kube-proxy's
restore input) are hundreds of thousands of rules in one rigid shape: the IP
options, then ``-m NAME --opt value ...`` segments, then ``-j TARGET
--opt ...``.  For such a rule, getopt-style routing is trivial: each
``--opt`` belongs to the segment it stands in.  This module parses exactly
that shape and gives up (returns None) on anything else, leaving it to the
full parser in :mod:`pynetfilter.syntax.command`; so its answers are, by
construction, the full parser's answers (the test suite checks that on the
whole corpus, and tests/syntax/test_fastparse_equivalence.py on generated
kube-proxy rulesets).  Errors always come from the full parser.

Two entry points: :func:`fast_line` reads a restore line's text directly
(iptables-restore's input), :func:`fast_rule` an argv already split.

What makes fast_line fast: a line is cut into its segments with string
methods (C speed), not word by word.  The cuts are at " -m ", " -j " and
" -g "; a cut is sound when it stands outside quotes (every piece then holds
an even number of quotes) and when each piece's options take exactly the
words of the piece (then the word after a cut is where getopt looks for an
option, so "-m" there is the option, not some option's argument).  Each
distinct segment text is split into words and routed once; its match or
target instance is parsed once per table and protocol and shared by every
rule with that text (instances are immutable), which also bounds memory.
IP parts are interned the same way.  Values that change from rule to rule
(addresses, DNAT destinations) have readers for their canonical spelling;
anything else goes the slow, exact way.
"""

from __future__ import annotations

import dataclasses
import re
import socket

from pynetfilter.errors import PynfError
from pynetfilter.ext import find_match, find_target
from pynetfilter.ext.base import Extension, Given, Opt, RuleContext, collect
from pynetfilter.ext.types import parse_iface, parse_ipv4_net, prefix_mask
from pynetfilter.model.rule import ANY_IP, IpMatch, Jump, Rule, Verdict
from pynetfilter.model.tables import STANDARD_VERDICTS
from pynetfilter.syntax.words import _LONG, parse_protocol

_IP_FLAGS = {"-s": "inv_src", "-d": "inv_dst", "-i": "inv_in", "-o": "inv_out", "-p": "inv_proto"}
_VERDICTS = {v: Verdict(v) for v in STANDARD_VERDICTS}
MAX_NAME = 28
_CACHE_LIMIT = 1 << 18
_SPACE = re.compile(r"\s", re.ASCII)
_GOOD_NAMES: set[str] = set()  # -j/-g names already checked for length and white space
_NO_PROTO = (0, False)
# Set to False to send every rule to the full parser (the equivalence tests compare both).
ENABLED = True


class _ExtCache(dict):  # type: ignore[type-arg]
    """The extension instances; clearing them (an extension's outside data changed) clears
    every cache that holds instances too."""

    def clear(self) -> None:
        super().clear()
        CACHE.seg.clear()
        CACHE.tgt.clear()


class _Cache:
    """Interning caches shared by every parse (cleared when they grow too big)."""

    def __init__(self) -> None:
        self.ext: dict[tuple[object, ...], Extension] = _ExtCache()
        self.ip: dict[tuple[str, ...], IpMatch] = {}
        self.net: dict[str, tuple[int, int]] = {}
        self.proto: dict[str, int] = {}  # -p value -> number
        # fast_line: segment text -> its words routed (False: not a plain segment).
        self.seg: dict[str, _Seg | bool] = {}
        self.tgt: dict[str, _Plain | _Tgt | bool] = {}  # -j text, or a newline and the -g text
        self.pre: dict[str, _Pre | bool] = {}  # the IP options before the first -m

    def trim(self) -> None:
        for d in (self.ext, self.ip, self.net, self.seg, self.tgt, self.pre):
            if len(d) > _CACHE_LIMIT:
                d.clear()


CACHE = _Cache()

_PREFIXES = {str(b): prefix_mask(b) for b in range(33)}
_inet_pton = socket.inet_pton
_AF_INET = socket.AF_INET


def _maker(cls: type, params: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A constructor of *cls* (a frozen dataclass with slots and no __post_init__) taking the
    fields *params*, the others at their defaults.  It fills the slots directly: the object is
    the one ``cls(**params)`` makes, for half the price of a frozen dataclass's __init__
    (one per unique rule part: an endpoint's address, a DNAT destination)."""
    fields = dataclasses.fields(cls)
    names = [p.partition("=")[0] for p in params]
    assert set(names) <= {f.name for f in fields} and not hasattr(cls, "__post_init__")
    ns: dict[str, object] = {"new": cls.__new__, "cls": cls}
    body = []
    args = []
    for k, f in enumerate(fields):
        ns[f"set{k}"] = getattr(cls, f.name).__set__
        if f.default is not dataclasses.MISSING:
            ns[f"default{k}"] = f.default
        if f.name in names:
            # "name=_": a keyword-only parameter, the field's default when not given
            args.append(f"{f.name}=default{k}" if f"{f.name}=_" in params else f.name)
            body.append(f"    set{k}(obj, {f.name})")
        else:
            assert f.default is not dataclasses.MISSING, f.name
            body.append(f"    set{k}(obj, default{k})")
    keywords = [a for a in args if "=" in a]
    sig = ", ".join([a for a in args if "=" not in a] + (["*", *keywords] if keywords else []))
    code = f"def make({sig}):\n    obj = new(cls)\n" + "\n".join(body) + "\n    return obj\n"
    exec(code, ns)  # noqa: S102  (as dataclasses makes __init__)
    return ns["make"]


_ip_src = _maker(IpMatch, ("src", "smsk"))
_ip_dst = _maker(IpMatch, ("dst", "dmsk"))
_ip_any = _maker(IpMatch, tuple(f"{f.name}=_" for f in dataclasses.fields(IpMatch)))  # keywords


def _quick_net(text: str) -> tuple[int, int] | None:
    """``a.b.c.d[/len]`` in canonical spelling (what inet_pton reads, a plain prefix length);
    None for any other spelling (parse_ipv4_net reads those)."""
    addr, slash, bits = text.partition("/")
    mask = _PREFIXES.get(bits) if slash else 0xFFFFFFFF
    if mask is None or not addr.isascii():
        return None
    try:
        value = int.from_bytes(_inet_pton(_AF_INET, addr), "big")
    except (OSError, ValueError):
        return None
    return value & mask, mask


def _net(text: str) -> tuple[int, int]:
    v = CACHE.net.get(text)
    if v is None:
        v = _quick_net(text) or parse_ipv4_net(text)
        CACHE.net[text] = v
    return v


def _ip(tokens: tuple[str, ...]) -> IpMatch | None:
    """The IP part from (flag, value, inverted) triples flattened; None to give up."""
    ip = CACHE.ip.get(tokens)
    if ip is not None:
        return ip
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
            proto = _proto(value, inverted)[0]
            if proto == 0 and inverted:
                return None
            fields["proto"] = proto
        elif flag == "-f":
            fields["frag"] = True
            fields["inv_frag"] = inverted
            continue
        if inverted:
            fields[_IP_FLAGS[flag]] = True
    ip = _ip_any(**fields)
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
        num = parse_protocol(value)
        CACHE.proto[key] = num
    return num, inverted


def _good_name(name: str) -> bool:
    """xt_parse_target's checks on a -j/-g name (and what getopt could take for an option)."""
    if name in _GOOD_NAMES:
        return True
    if not name or name[0] in "-!" or len(name.encode("utf-8", "surrogateescape")) > MAX_NAME \
            or _SPACE.search(name):
        return False
    if len(_GOOD_NAMES) > _CACHE_LIMIT:
        _GOOD_NAMES.clear()
    _GOOD_NAMES.add(name)
    return True


def fast_rule(argv: list[str], table: str):  # type: ignore[no-untyped-def]
    """A Command for ``-A CHAIN <plain rule>``, or None to use the full parser."""
    from pynetfilter.syntax.command import Command

    if not ENABLED:
        return None
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
    if chain[:1] in ("-", "!", "") or len(chain.encode("utf-8", "surrogateescape")) > MAX_NAME:
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
    proto_now = _NO_PROTO  # the -p seen so far: what an option is parsed with
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
                if tok in ("-i", "-o") and not value.isascii():
                    return None  # IFNAMSIZ counts bytes: the full parser says so
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
                if not _good_name(name) or (name == "DROP" and table == "nat"):
                    return None  # the full parser refuses DROP in nat
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


# --- fast_line: a restore line's text, segment by segment ---------------------------

# The rule's -p as fast_line carries it: number * 2 + inverted (0: none).
def _code(proto: tuple[int, bool]) -> int:
    return proto[0] * 2 + proto[1]


def _uncode(code: int) -> tuple[int, bool]:
    return code >> 1, bool(code & 1)


# A routed option: (option, arguments, inverted, as spelled, after the segment's own -p).
_Item = tuple[Opt, tuple[str, ...], bool, str, bool]


class _Seg:
    """A ``-m NAME ...`` segment's words routed: its options, and the IP options among them."""

    __slots__ = ("cls", "items", "tokens", "flags", "proto", "insts")

    def __init__(self, cls: type[Extension], items: list[_Item], tokens: tuple[str, ...],
                 flags: frozenset[str], proto: int) -> None:
        self.cls = cls
        self.items = items
        self.tokens = tokens  # IP options: (flag, value, "!" or "") flattened
        self.flags = flags
        self.proto = proto  # the segment's own -p (coded), or -1
        # (table, -p before the segment, the rule's -p) -> the instance
        self.insts: dict[tuple[str, int, int], Extension] = {}

    def instance(self, table: str, before: int, final: int, ip: IpMatch) -> Extension:
        cls = self.cls
        then = _uncode(before)
        own = _uncode(self.proto) if self.proto >= 0 else then
        # Segments differing only in their IP options (kube-proxy's "-m tcp -p tcp -d VIP
        # --dport 80") share the instance: _instance's key, made without the Given objects.
        key = (cls, table, ip.proto, ip.inv_proto,
               tuple([(o.name, a, inv, own if after else then) for o, a, inv, _sp, after in self.items]))
        ext = CACHE.ext.get(key)
        if ext is None:
            given = [Given(o, a, inv, sp, own if after else then) for o, a, inv, sp, after in self.items]
            ext = cls.parse(collect(cls, given), RuleContext(ip, table, ""))
            CACHE.ext[key] = ext
        self.insts[table, before, final] = ext
        return ext


class _Tgt:
    """The words after ``-j``/``-g``: a verdict, a chain, or a target extension and its options."""

    __slots__ = ("name", "target", "jump", "cls", "items", "insts")

    def __init__(self, name: str, target: object, jump: str | None, cls: type[Extension] | None,
                 items: list[_Item]) -> None:
        self.name = name
        self.target = target  # Verdict or Jump (None for an extension)
        self.jump = jump  # Command.jump: a chain name not resolved to an extension
        self.cls = cls
        self.items = items
        self.insts: dict[tuple[str, int], Extension] = {}

    def instance(self, table: str, proto: int, ip: IpMatch) -> Extension:
        cls = self.cls
        assert cls is not None
        then = _uncode(proto)
        given = [Given(o, a, inv, sp, then) for o, a, inv, sp, _ in self.items]
        ext = _instance(cls, given, table, ip)
        self.insts[table, proto] = ext
        return ext


def _words(text: str) -> list[str]:
    """add_param_to_argv's words of a piece with single spaces, no tab and no backslash."""
    if '"' in text:
        from pynetfilter.syntax.restore import split_params

        return split_params(text)
    return text.split(" ")


def _options(cls: type[Extension], words: list[str], ip_ok: bool
             ) -> tuple[list[_Item], list[str], set[str], tuple[int, bool] | None] | None:
    """Route words[1:] to *cls* (the newest loaded extension) as getopt would; IP options too
    when *ip_ok*.  None when a word is anything else, or an option lacks its arguments."""
    items: list[_Item] = []
    tokens: list[str] = []
    flags: set[str] = set()
    proto: tuple[int, bool] | None = None
    n = len(words)
    i = 1
    names = cls.option_names()
    while i < n:
        tok = words[i]
        inverted = False
        if tok == "!":
            inverted = True
            i += 1
            if i >= n:
                return None
            tok = words[i]
        if tok[:2] == "--":
            name = tok[2:]
            if name in _LONG or "=" in name:
                return None
            opt = names.get(name)
            if opt is None or opt.optional_arg:
                return None
            i += 1
            if opt.nargs:
                if i + opt.nargs > n:
                    return None
                args = tuple(words[i:i + opt.nargs])
                if opt.nargs > 1 and any(a[:1] in ("-", "!") for a in args[1:]):
                    return None
                if cls.intrapositioned and args[0] == "!":
                    return None
                i += opt.nargs
            else:
                args = ()
            items.append((opt, args, inverted, tok, proto is not None))
            continue
        if not ip_ok or not (tok in _IP_FLAGS or tok == "-f") or tok in flags:
            return None
        flags.add(tok)
        if tok == "-f":
            tokens += (tok, "", "!" if inverted else "")
            i += 1
            continue
        if i + 1 >= n:
            return None
        value = words[i + 1]
        if not value or (tok in ("-s", "-d") and "," in value) or \
                (tok in ("-i", "-o") and not value.isascii()):
            return None
        if tok == "-p":
            if any("A" <= c <= "Z" for c in value):
                return None  # iptables lowercases -p's word first: the full parser does
            try:
                proto = _proto(value, inverted)
            except PynfError:
                return None
        tokens += (tok, value, "!" if inverted else "")
        i += 2
    return items, tokens, flags, proto


# What an IP piece (the IP options before the first -m) gives: (tokens, flags, -p coded,
# its IP part when no segment adds IP options).
_Pre = tuple[tuple[str, ...], frozenset[str], int, IpMatch]
_ADDR_FLAGS = {"-s": frozenset({"-s"}), "-d": frozenset({"-d"})}


def _pre_entry(text: str) -> _Pre | bool:
    """The IP options before the first -m (*text* starts with a space); False when not plain."""
    if len(CACHE.pre) > _CACHE_LIMIT:
        CACHE.trim()
    words = _words(text[1:])
    entry: _Pre | bool = False
    try:
        if len(words) == 2 and words[0] in _ADDR_FLAGS and (net := _quick_net(words[1])) is not None:
            # The usual "-s ADDR" (kube-proxy's endpoint rules): one of a kind, made directly.
            flag, value = words
            ip = _ip_src(net[0], net[1]) if flag == "-s" else _ip_dst(net[0], net[1])
            entry = ((flag, value, ""), _ADDR_FLAGS[flag], 0, ip)
        else:
            got = _options(Extension, ["", *words], True)
            if got is not None:
                _items, toks, fl, pr = got
                tokens = tuple(toks)
                found = _ip(tokens)
                if found is not None:
                    entry = (tokens, frozenset(fl), _code(pr or _NO_PROTO), found)
    except PynfError:
        pass
    CACHE.pre[text] = entry
    return entry


def _seg_entry(text: str) -> _Seg | bool:
    """A ``-m`` segment (the text after "-m "); False when not plain."""
    if len(CACHE.seg) > _CACHE_LIMIT:
        CACHE.trim()
    words = _words(text)
    cls = find_match(words[0])
    entry: _Seg | bool = False
    if cls is not None:
        got = _options(cls, words, True)
        if got is not None:
            items, tokens, flags, proto = got
            entry = _Seg(cls, items, tuple(tokens), frozenset(flags), -1 if proto is None else _code(proto))
    CACHE.seg[text] = entry
    return entry


def _jump(name: str, goto: bool) -> Jump:
    """Jump(name, goto), without the frozen dataclass's __init__ (one per chain of a ruleset)."""
    j = _new_jump(Jump)
    _set_chain(j, name)
    _set_goto(j, goto)
    return j


_new_jump = Jump.__new__
_set_chain = Jump.__dict__["chain"].__set__  # type: ignore[attr-defined]
_set_goto = Jump.__dict__["goto"].__set__  # type: ignore[attr-defined]

# A target entry: (name as given, Verdict/Jump/instance, Command.jump, an extension's class or None)
# for a target parsed once for all; a _Tgt for an extension with options, parsed per table and -p.
_Plain = tuple[str, object, "str | None", "type[Extension] | None"]


def _tgt_entry(key: str, table: str, proto: int) -> _Plain | _Tgt | bool:
    """The words after -j (*key* is the text) or -g (*key* is a newline, then the text).
    *table* and *proto*: the rule's, for a target not worth keeping (made for this rule)."""
    if len(CACHE.tgt) > _CACHE_LIMIT:
        CACHE.trim()
    goto = key[0] == "\n"
    text = key[1:] if goto else key
    entry: _Plain | _Tgt | bool = False
    if " " not in text and '"' not in text:
        # A bare name.  Its checks (xt_parse_target): no white space (the line has no tab or
        # newline, and \v \f \r are not printable), at most 28 bytes.
        name = text
        if name[0] not in "-!" and len(name) <= MAX_NAME and name.isascii() and name.isprintable():
            if goto:
                entry = (name, _jump(name, True), name, None)
            elif name in _VERDICTS:
                entry = (name, _VERDICTS[name], None, None)
            else:
                cls = find_target(name)
                if cls is None:
                    entry = (name, _jump(name, False), name, None)
                else:
                    got = _options(cls, [name], False)
                    if got is not None:
                        entry = _Tgt(name, None, None, cls, got[0])
    else:
        words = _words(text)
        name = words[0]
        if not goto and _good_name(name) and name not in _VERDICTS:
            cls = find_target(name)
            if cls is not None:
                if len(words) == 3 and words[1] == "--to-destination" and \
                        (dnat := _quick_dnat(cls, words[2], proto)) is not None:
                    # A DNAT destination: different in every endpoint rule, not worth keeping.
                    return (name, dnat, None, cls)
                got = _options(cls, words, False)
                if got is not None:
                    entry = _Tgt(name, None, None, cls, got[0])
    CACHE.tgt[key] = entry
    return entry


# -j DNAT --to-destination a.b.c.d:port, different in every kube-proxy endpoint rule.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DNAT_TO = re.compile(rf"({_OCTET}(?:\.{_OCTET}){{3}}):(0|[1-9][0-9]{{0,4}})\Z")


def _quick_dnat(cls: type[Extension], value: str, proto: int) -> Extension | None:
    """What DNAT's parse gives for ``--to-destination a.b.c.d:port`` (canonical spelling, a
    protocol with ports: *proto* coded); None for anything else."""
    quick = _DNAT_QUICK.get(cls)
    if quick is None:
        quick = _DNAT_QUICK[cls] = _dnat_quick(cls)
    if quick is False:
        return None
    make, flags, port_protos = quick  # type: ignore[misc]
    m = _DNAT_TO.match(value)
    if m is None or proto >> 1 not in port_protos:
        return None
    port = int(m.group(2))
    if port > 65535:
        return None
    addr = int.from_bytes(_inet_pton(_AF_INET, m.group(1)), "big")
    return make(flags, addr, addr, port, port)  # type: ignore[no-any-return]


def _dnat_quick(cls: type[Extension]) -> tuple[object, int, frozenset[int]] | bool:
    """For -j DNAT's class (libxt_NAT's revision with base ports): its maker, the flags of an
    address and a port, and the protocols with ports.  False for any other target."""
    from pynetfilter.ext import _nat

    if cls.name != "DNAT" or not issubclass(cls, _nat.NatTarget) or cls.no_offset or not cls.has_base:
        return False
    make = _maker(cls, ("flags", "min_ip", "max_ip", "min_port", "max_port"))
    return make, _nat.MAP_IPS | _nat.PROTO_SPECIFIED, frozenset(_nat.PORT_PROTOS)


_DNAT_QUICK: dict[type, tuple[object, int, frozenset[int]] | bool] = {}




# "[packets:bytes] " as iptables-save -c writes it (other spellings: the full path's strtok reading).
_PREFIX = re.compile(r"\[([0-9]{1,18}):([0-9]{1,18})\] (?=-A )")


def fast_line(raw: str, table: str, announced: set[str] | None = None, counters: bool = False):  # type: ignore[no-untyped-def]
    """The Command of a restore line (its text as restore_blocks keeps it: no newline but a
    last one), or None to split it into words and use the full parser.  *announced*: chains
    declared in the input named like a target extension; *counters*: iptables-restore -c."""
    if not ENABLED:
        return None
    ctrs = None
    if raw[:3] != "-A ":
        m = _PREFIX.match(raw)
        if m is None:
            return None
        if counters:
            ctrs = (int(m.group(1)), int(m.group(2)))
        raw = raw[m.end():]
    if raw[-1] == "\n":
        raw = raw[:-1]
    if "  " in raw or "\t" in raw or "\\" in raw or "\n" in raw or raw[-1] == " ":
        return None
    if len(raw) > 255 and (len(raw) > 480 or not raw.isascii()):
        return None  # might reach add_argv's limits (words, bytes in a word): the full path checks
    sp = raw.find(" ", 3)
    chain = raw[3:sp]
    if sp < 0 or chain[0] in "-!" or len(chain) > 28 or not chain.isascii():  # 28: MAX_NAME
        return None
    body = raw[sp:]
    j = body.find(" -j ")
    goto = False
    if " -g " in body:
        if j >= 0:
            return None
        j, goto = body.find(" -g "), True
    if j >= 0:
        parts = body[:j].split(" -m ")
        tgt_key = "\n" + body[j + 4:] if goto else body[j + 4:]
    else:
        parts, tgt_key = body.split(" -m "), ""
    if '"' in raw and (raw.count('"') & 1 or '"' in chain or any(p.count('"') & 1 for p in parts)):
        return None  # a cut inside quotes (each piece has an even number of them when none is)
    cache = CACHE
    p0 = parts[0]
    proto = 0
    flags: frozenset[str] | None = None
    if p0:
        pe = cache.pre.get(p0)
        if pe is None:
            pe = _pre_entry(p0)
        if pe is False:
            return None
        tokens, flags, proto, ip = pe  # type: ignore[misc]
    else:
        tokens, ip = (), ANY_IP
    try:
        if len(parts) > 1:
            segs = []
            ip_seg = False
            for text in parts[1:]:
                se = cache.seg.get(text)
                if se is None:
                    se = _seg_entry(text)
                if se is False:
                    return None
                segs.append((se, proto))
                if se.tokens:  # type: ignore[union-attr]
                    sf = se.flags  # type: ignore[union-attr]
                    if flags is not None and flags & sf:
                        return None  # an IP option given twice: the full parser says so
                    flags = flags | sf if flags is not None else sf
                    tokens = tokens + se.tokens  # type: ignore[union-attr]
                    if se.proto >= 0:  # type: ignore[union-attr]
                        proto = se.proto  # type: ignore[union-attr]
                    ip_seg = True
            if ip_seg:
                ip = cache.ip.get(tokens)
                if ip is None:
                    ip = _ip(tokens)
                    if ip is None:
                        return None
            found = []
            for se, before in segs:
                ext = se.insts.get((table, before, proto))
                if ext is None:
                    ext = se.instance(table, before, proto, ip)
                found.append(ext)
            matches = tuple(found)
        else:
            matches = ()
        if flags is not None and (("-o" in flags and chain in ("PREROUTING", "INPUT"))
                                  or ("-i" in flags and chain in ("POSTROUTING", "OUTPUT"))):
            return None  # do_parse refuses the interface by chain name: the full parser says so
        if tgt_key:
            te = cache.tgt.get(tgt_key)
            if te is None:
                te = _tgt_entry(tgt_key, table, proto)
            if te is False:
                return None
            if type(te) is tuple:
                name, target, jump, tcls = te
                if tcls is not None and announced and name in announced:
                    return None  # a chain named like the extension: the full parser knows
                if name == "DROP" and table == "nat":
                    return None  # the full parser refuses it
            else:
                name = te.name  # type: ignore[union-attr]
                if announced and name in announced:
                    return None  # a chain named like the extension: the full parser knows
                target = te.insts.get((table, proto))  # type: ignore[union-attr]
                if target is None:
                    target = te.instance(table, proto, ip)  # type: ignore[union-attr]
                jump = None
        else:
            name, target, jump = "", None, None
    except PynfError:
        return None  # let the full parser produce its own error
    rule = Rule(ip, matches, target)  # type: ignore[arg-type]
    if ctrs:
        rule.packets, rule.bytes = ctrs
    return append_command(table, chain, rule, jump, goto, ctrs, name)


from pynetfilter.syntax.command import append_command  # noqa: E402  (command imports this module lazily)
