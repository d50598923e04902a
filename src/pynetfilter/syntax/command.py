"""The iptables command line: argv in, a :class:`Command` (with its rules) out.

Theory of operation.  This mirrors iptables' do_parse(): getopt_long over an
option table that grows as extensions load.  Core options come first, then
the options of each loaded extension, the most recently loaded first, so an
option name two extensions share goes to the newer one; long options may be
abbreviated to any unique prefix, as getopt_long allows.  A "!" inverts the
next option.  An option no loaded extension knows makes iptables load the
match named by ``-p`` (``-p tcp --dport 80`` becomes ``-p tcp -m tcp --dport
80``) and try again.  When argv is used up, every extension instance parses
its collected options with the rule's final IP part in view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext import find_match, find_target
from pynetfilter.ext.base import Extension, Given, Opt, RuleContext, collect
from pynetfilter.ext.types import (
    parse_iface,
    parse_ipv4_nets,
    parse_uint,
    protocol_by_name,
    strtoul,
    try_uint,
)
from pynetfilter.model.rule import CHAIN_PROTO_NUMBERS, CHAIN_PROTOS, IpMatch, Jump, Rule, Verdict, proto_to_name
from pynetfilter.model.tables import STANDARD_VERDICTS

# Commands (short letter -> long name); the letter is the command's identity.
COMMANDS = {
    "A": "append", "C": "check", "D": "delete", "I": "insert", "R": "replace", "L": "list",
    "S": "list-rules", "F": "flush", "Z": "zero", "N": "new-chain", "X": "delete-chain",
    "E": "rename-chain", "P": "policy", "V": "version", "h": "help",
}
# Core options: letter -> (long name, aliases, takes argument, may be inverted)
CORE = {
    "s": ("source", ("src",), True, True),
    "d": ("destination", ("dst",), True, True),
    "p": ("protocol", (), True, True),
    "i": ("in-interface", (), True, True),
    "o": ("out-interface", (), True, True),
    "f": ("fragment", ("fragments",), False, True),
    "j": ("jump", (), True, False),
    "g": ("goto", (), True, False),
    "m": ("match", (), True, False),
    "t": ("table", (), True, False),
    "n": ("numeric", (), False, False),
    "v": ("verbose", (), False, False),
    "x": ("exact", (), False, False),
    "c": ("set-counters", (), True, False),
    "w": ("wait", (), False, False),
    "W": ("wait-interval", (), True, False),
    "M": ("modprobe", (), True, False),
    "4": ("ipv4", (), False, False),
    "6": ("ipv6", (), False, False),
    "0": ("line-numbers", (), False, False),
}
# Long names of the core table in getopt order (commands first, as iptables' original_opts).
_CORE_LONG: list[tuple[str, str]] = [(name, letter) for letter, name in COMMANDS.items()]
for _letter, (_name, _aliases, _arg, _inv) in CORE.items():
    _CORE_LONG.append((_name, _letter))
    _CORE_LONG.extend((a, _letter) for a in _aliases)
_CORE_LONG_NAMES = dict(_CORE_LONG)
# Short options that take an argument (required), and those whose argument is optional.
_SHORT_REQ = set("ADRINEPCsdpiojgmtcWM")
_SHORT_OPT = set("LSFZXhw")
MAX_NAME = 28  # XT_EXTENSION_MAXNAMELEN - 1: longest chain or target name


@dataclass
class ExtUse:
    """One loaded extension instance (a -m or the -j target) and its options so far."""

    cls: type[Extension]
    given: list[Given] = field(default_factory=list)
    implicit: bool = False


@dataclass
class Command:
    """A parsed iptables invocation."""

    command: str = ""  # the command letter: A, I, D, ...
    table: str = "filter"
    table_given: bool = False
    chain: str | None = None
    rulenum: int | None = None
    newname: str | None = None  # -E target name, -P policy
    numeric: bool = False
    verbose: int = 0
    exact: bool = False
    line_numbers: bool = False
    zero_too: bool = False  # -L -Z together
    counters: tuple[int, int] | None = None
    rules: list[Rule] = field(default_factory=list)
    jump: str | None = None  # -j/-g name not resolved to an extension (a chain, checked later)
    goto: bool = False


def _rulenum(tok: str) -> int:
    v = try_uint(tok, 1, 2**31 - 1, base=10)
    if v is None:
        raise ParameterProblem(f'Invalid rule number "{tok}": expected a positive number')
    return v


def _check_name(name: str, what: str) -> str:
    if len(name) < 1:
        raise ParameterProblem(f"Invalid {what} name (too short)")
    if len(name) > MAX_NAME:
        raise ParameterProblem(f'Invalid {what} name "{name}" ({MAX_NAME} chars max)')
    if any(c.isspace() for c in name):
        raise ParameterProblem(f'Invalid {what} name "{name}": expected no white space')
    return name


def parse_protocol(text: str) -> int:
    """xtables_parse_protocol: a number 0-255, a protocols-database name, or "all"."""
    low = text.lower()
    v = try_uint(low, 0, 255)
    if v is not None:
        return v
    if low == "all":
        return 0
    num = protocol_by_name(low)
    if num is None:
        num = CHAIN_PROTO_NUMBERS.get(low)
    if num is None:
        raise ParameterProblem(f'unknown protocol "{text}" specified: expected a protocol name or number')
    return num


class CommandParser:
    """One run of do_parse over argv.  ``in_restore`` forbids -t as iptables-restore does."""

    def __init__(self, argv: list[str], *, in_restore: bool = False, default_table: str = "filter"):
        self.argv = argv
        self.in_restore = in_restore
        self.cmd = Command(table=default_table)
        self.invert = False
        self.uses: list[ExtUse] = []  # matches in order
        self.target: ExtUse | None = None
        self.verdict: Verdict | None = None
        self.srcs: list[tuple[int, int]] | None = None
        self.dsts: list[tuple[int, int]] | None = None
        self.ip: dict[str, object] = {}
        self.seen_core: set[str] = set()
        self.proto_text: str | None = None
        self.proto_used = False
        self.i = 0

    # --- option resolution --------------------------------------------------

    def _ext_order(self) -> list[ExtUse]:
        """Loaded extensions, most recently loaded first (xtables_merge_options)."""
        order = list(self.uses)
        if self.target is not None:
            order.append(self.target)
        order.sort(key=lambda u: -self._load_seq[id(u)])
        return order

    _load_seq: dict[int, int]

    def _resolve_long(self, name: str) -> tuple[str, object] | None:
        """getopt_long lookup: exact name first (core, then extensions newest first), else prefix."""
        if name in _CORE_LONG_NAMES:
            return ("core", _CORE_LONG_NAMES[name])
        order = self._ext_order()
        for use in order:
            opt = use.cls.option_names().get(name)
            if opt is not None:
                return ("ext", (use, opt))
        found: dict[tuple[object, ...], tuple[str, object]] = {}
        for long, letter in _CORE_LONG:
            if long.startswith(name):
                found.setdefault(("core", letter), ("core", letter))
        for use in order:
            for oname, opt in use.cls.option_names().items():
                if oname.startswith(name):
                    found.setdefault(("ext", id(use), opt.name), ("ext", (use, opt)))
        if len(found) == 1:
            return next(iter(found.values()))
        if len(found) > 1:
            raise ParameterProblem(f'option "--{name}" is ambiguous: expected one of its longer names')
        return None

    def _take_arg(self, spelled: str, attached: str | None) -> str:
        if attached is not None:
            return attached
        if self.i >= len(self.argv):
            raise ParameterProblem(f'option "{spelled}" requires an argument')
        tok = self.argv[self.i]
        self.i += 1
        return tok

    def _has_arg(self) -> bool:
        """xs_has_arg: the next word exists and starts with neither "-" nor "!"."""
        return self.i < len(self.argv) and self.argv[self.i][:1] not in ("-", "!")

    # --- main loop ----------------------------------------------------------

    def parse(self) -> Command:
        self._load_seq = {}
        self._seq = 0
        argv = self.argv
        while self.i < len(argv):
            tok = argv[self.i]
            self.i += 1
            if tok == "!":
                if self.invert:
                    raise ParameterProblem("multiple consecutive ! not allowed")
                self.invert = True
                continue
            if tok.startswith("--") and len(tok) > 2:
                name, eq, val = tok[2:].partition("=")
                self._long(tok, name, val if eq else None)
            elif tok.startswith("-") and len(tok) > 1 and tok != "--":
                self._shorts(tok)
            else:
                raise ParameterProblem(f'Bad argument "{tok}": expected an option')
        if self.invert:
            raise ParameterProblem('"!" at the end: expected an option after it')
        return self._finish()

    def _shorts(self, tok: str) -> None:
        j = 1
        while j < len(tok):
            letter = tok[j]
            j += 1
            if letter not in COMMANDS and letter not in CORE:
                raise ParameterProblem(f'unknown option "-{letter}"')
            attached = tok[j:] or None
            if letter in _SHORT_REQ:
                arg = self._take_arg(f"-{letter}", attached)
                self._core(letter, f"-{letter}", arg)
                return
            if letter in _SHORT_OPT:
                self._core(letter, f"-{letter}", attached)
                if attached is not None:
                    return
                continue
            self._core(letter, f"-{letter}", None)

    def _long(self, tok: str, name: str, attached: str | None) -> None:
        hit = self._resolve_long(name)
        if hit is None:
            hit = self._load_proto_for(tok, name)
        kind, what = hit
        if kind == "core":
            letter = str(what)
            arg: str | None
            if letter in _SHORT_REQ:
                arg = self._take_arg(tok, attached)
            else:
                arg = attached
            self._core(letter, "--" + name, arg)
            return
        use, opt = what  # type: ignore[misc]
        args: list[str] = []
        if opt.nargs:
            if opt.optional_arg:
                if attached is not None:
                    args.append(attached)
                elif self._has_arg():
                    args.append(argv_next(self))
            else:
                args.append(self._take_arg(tok, attached))
                if use.cls.intrapositioned and opt.invert and args[0] == "!":
                    # xtables_check_inverse: "--opt ! value" (deprecated, still accepted)
                    if self.invert:
                        raise ParameterProblem("Multiple `!' flags not allowed")
                    self.invert = True
                    args[0] = self._take_arg(tok, None)
                for _ in range(opt.nargs - 1):
                    if not self._has_arg():
                        raise ParameterProblem(f'option "{tok}" requires {opt.nargs} arguments')
                    args.append(argv_next(self))
        elif attached is not None:
            raise ParameterProblem(f'option "{tok}" doesn\'t allow an argument')
        use.given.append(Given(opt, tuple(args), self.invert, "--" + name))
        self.invert = False

    def _load_proto_for(self, tok: str, name: str) -> tuple[str, object]:
        """command_default(): an unknown option loads the -p protocol's match, once."""
        if self.proto_text is not None:
            proto_name = self.proto_text
            num = try_uint(proto_name, 0, 255)
            if num is not None:
                proto_name = CHAIN_PROTOS.get(num) or proto_to_name(num) or proto_name
            cls = find_match(proto_name)
            loaded = any(u.cls is cls for u in self.uses)
            if cls is not None and (not loaded or not self.proto_used):
                self.proto_used = True
                self._add_use(ExtUse(cls, implicit=True))
                hit = self._resolve_long(name)
                if hit is not None:
                    return hit
        raise ParameterProblem(f'unknown option "{tok}"')

    def _add_use(self, use: ExtUse) -> None:
        self._seq += 1
        self._load_seq[id(use)] = self._seq
        if issubclass(use.cls, Extension) and use.cls.kind == "target":
            self.target = use
        else:
            self.uses.append(use)

    def _set_core(self, letter: str, inverted: bool) -> None:
        invertible = CORE[letter][3] if letter in CORE else False
        if inverted and not invertible:
            raise ParameterProblem(f'cannot have ! before -{letter}')
        if letter in self.seen_core and letter not in "mvc":
            raise ParameterProblem(f"multiple -{letter} flags not allowed")
        self.seen_core.add(letter)

    def _command(self, letter: str) -> None:
        cmd = self.cmd
        if cmd.command and not ({cmd.command, letter} == {"L", "Z"}):
            raise ParameterProblem(f"Cannot use -{letter} with -{cmd.command}: expected one command")
        if cmd.command == "L" and letter == "Z" or cmd.command == "Z" and letter == "L":
            cmd.zero_too = True
            cmd.command = "L"
            return
        cmd.command = letter

    def _core(self, letter: str, spelled: str, arg: str | None) -> None:
        inverted = self.invert
        self.invert = False
        cmd = self.cmd
        if letter in COMMANDS:
            if inverted:
                raise ParameterProblem(f"cannot have ! before -{letter}")
            self._command(letter)
            if letter in "ADRICNXFZLSEP":
                chain = arg
                if chain is None and letter in "LSFZX" and self._has_arg():
                    chain = argv_next(self)
                if chain is not None:
                    cmd.chain = chain
                if letter == "N" and chain is not None:
                    _check_name(chain, "chain")
                if letter in "LSZ" and self._has_arg() and cmd.chain is not None:
                    cmd.rulenum = _rulenum(argv_next(self))
                if letter == "D" and self._has_arg():
                    cmd.rulenum = _rulenum(argv_next(self))
                if letter == "I":
                    cmd.rulenum = _rulenum(argv_next(self)) if self._has_arg() else 1
                if letter == "R":
                    if not self._has_arg():
                        raise ParameterProblem("-R requires a rule number")
                    cmd.rulenum = _rulenum(argv_next(self))
                if letter == "E":
                    if not self._has_arg():
                        raise ParameterProblem("-E requires old-chain-name and new-chain-name")
                    cmd.newname = argv_next(self)
                if letter == "P":
                    if not self._has_arg():
                        raise ParameterProblem("-P requires a chain and a policy")
                    cmd.newname = argv_next(self)
            return
        self._set_core(letter, inverted)
        ip = self.ip
        assert arg is not None or letter in "fnvx4w60"
        if letter == "s":
            self.srcs = parse_ipv4_nets(str(arg))
            ip["inv_src"] = inverted
        elif letter == "d":
            self.dsts = parse_ipv4_nets(str(arg))
            ip["inv_dst"] = inverted
        elif letter == "p":
            proto = parse_protocol(str(arg))
            if proto == 0 and inverted:
                raise ParameterProblem("rule would never match protocol")
            self.proto_text = str(arg).lower()
            ip["proto"] = proto
            ip["inv_proto"] = inverted
        elif letter == "i":
            ip["iniface"] = parse_iface(str(arg))
            ip["inv_in"] = inverted
        elif letter == "o":
            ip["outiface"] = parse_iface(str(arg))
            ip["inv_out"] = inverted
        elif letter == "f":
            ip["frag"] = True
            ip["inv_frag"] = inverted
        elif letter in "jg":
            name = _check_name(str(arg), "target")
            self._set_jump(name, goto=letter == "g")
        elif letter == "m":
            if inverted:
                raise ParameterProblem("unexpected ! flag before --match")
            cls = find_match(str(arg))
            if cls is None:
                raise ParameterProblem(f'Couldn\'t load match "{arg}": expected a known match extension')
            self._add_use(ExtUse(cls))
        elif letter == "t":
            if self.in_restore:
                raise ParameterProblem("The -t option cannot be used in iptables-restore")
            if str(arg) not in ("raw", "mangle", "nat", "filter", "security"):
                raise ParameterProblem(
                    f'can\'t initialize iptables table "{arg}": expected raw, mangle, nat, filter or security'
                )
            cmd.table = str(arg)
            cmd.table_given = True
        elif letter == "n":
            cmd.numeric = True
        elif letter == "v":
            cmd.verbose += 1
        elif letter == "x":
            cmd.exact = True
        elif letter == "0":
            cmd.line_numbers = True
        elif letter == "c":
            pk = strtoul(str(arg), 10)
            if pk is None or pk[1] != "":
                raise ParameterProblem(f'-c packet counter not numeric: "{arg}"')
            if not self._has_arg():
                raise ParameterProblem("-c requires packet and byte counter")
            b = argv_next(self)
            bt = strtoul(b, 10)
            if bt is None or bt[1] != "":
                raise ParameterProblem(f'-c byte counter not numeric: "{b}"')
            cmd.counters = (pk[0], bt[0])
        # -w, -W, -M, -4 are accepted and have no effect here.

    def _set_jump(self, name: str, goto: bool) -> None:
        cmd = self.cmd
        if goto:
            cmd.jump, cmd.goto = name, True
            return
        if name in STANDARD_VERDICTS:
            self.verdict = Verdict(name)
            return
        cls = find_target(name)
        if cls is None:
            cmd.jump = name  # a chain, resolved against the table later
            return
        self._add_use(ExtUse(cls))

    # --- end of argv --------------------------------------------------------

    def _finish(self) -> Command:
        cmd = self.cmd
        if not cmd.command:
            raise ParameterProblem("no command specified: expected -A, -I, -D, -R, -L, -S, -F, -N, ...")
        ip = self.ip
        base = IpMatch(**ip)  # type: ignore[arg-type]
        if cmd.command in "ACDIR" and not (cmd.command == "D" and cmd.rulenum is not None):
            ctx = RuleContext(base, cmd.table, cmd.chain or "")
            matches = tuple(u.cls.parse(collect(u.cls, u.given), ctx) for u in self.uses)
            target: object = self.verdict
            if self.target is not None:
                target = self.target.cls.parse(collect(self.target.cls, self.target.given), ctx)
            elif cmd.jump is not None:
                target = Jump(cmd.jump, cmd.goto)
            srcs = self.srcs or [(0, 0)]
            dsts = self.dsts or [(0, 0)]
            for s, sm in srcs:
                for d, dm in dsts:
                    rip = base
                    if self.srcs is not None or self.dsts is not None:
                        rip = IpMatch(**{**ip, "src": s, "smsk": sm, "dst": d, "dmsk": dm})  # type: ignore[arg-type]
                    rule = Rule(rip, matches, target)  # type: ignore[arg-type]
                    if cmd.counters:
                        rule.packets, rule.bytes = cmd.counters
                    cmd.rules.append(rule)
        elif self.uses or self.target or self.verdict or ip:
            raise ParameterProblem(f"rule options are not allowed with -{cmd.command}")
        return cmd


def argv_next(p: CommandParser) -> str:
    tok = p.argv[p.i]
    p.i += 1
    return tok


def parse_command(argv: list[str], *, in_restore: bool = False, default_table: str = "filter") -> Command:
    return CommandParser(argv, in_restore=in_restore, default_table=default_table).parse()


__all__ = ["Command", "CommandParser", "Opt", "parse_command", "parse_protocol", "parse_uint"]
