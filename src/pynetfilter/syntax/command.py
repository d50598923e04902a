"""The iptables command line: argv in, a :class:`Command` (with its rules) out.

Theory of operation.  This mirrors iptables 1.8.9's do_parse(): getopt_long
over an option table that grows as extensions load.  Core options come first,
then the options of each loaded extension, the most recently loaded first, so
an option name two extensions share goes to the newer one; long options may be
abbreviated to any unique prefix, as getopt_long allows.  A "!" word inverts
the next option.  An option no loaded extension knows makes iptables load the
match named by ``-p`` (``-p tcp --dport 80`` becomes ``-p tcp -m tcp --dport
80``) and try again.  When argv is used up, every extension instance parses
its collected options with the rule's final IP part in view; then the
addresses are parsed and the command/option combination is checked against
iptables' table of legal combinations.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from pynetfilter.errors import ParameterProblem
from pynetfilter.ext import MATCHES, find_match, find_target
from pynetfilter.ext.base import Extension, Given, Opt, RuleContext, collect
from pynetfilter.ext.types import (
    parse_uint,
    try_uint,
)
from pynetfilter.model.rule import IpMatch, Jump, Rule, Verdict, proto_to_name
from pynetfilter.model.suggest import did_you_mean
from pynetfilter.model.tables import STANDARD_VERDICTS
from pynetfilter.syntax.words import (
    _INVERTIBLE,
    _LEGAL,
    _LONG,
    _RULE_CMDS,
    _SHORT,
    COMMANDS,
    LONG_OPTS,
    MAX_NAME,
    OPTFLAGS,
    _check_name,
    _rulenum,
    assert_valid_chain_name,
    parse_addresses,
    parse_protocol,
    sscanf_i,
    sscanf_llu,
)


@dataclass
class ExtUse:
    """One loaded extension instance (a -m or the -j target) and its options so far."""

    cls: type[Extension]
    given: list[Given] = field(default_factory=list)
    implicit: bool = False


@dataclass
class Command:
    """A parsed iptables invocation."""

    command: str = ""  # the command letter: A, I, D, ... ("" when iptables-restore ignores the line)
    table: str = "filter"
    table_given: bool = False
    chain: str | None = None
    rulenum: int | None = None
    newname: str | None = None  # -E target name, -P policy
    numeric: bool = False
    verbose: int = 0
    exact: bool = False
    line_numbers: bool = False
    zero_too: bool = False  # -L/-S with -Z
    zero_num: bool = False  # ... with -Z CHAIN RULENUM: zero only that rule
    counters: tuple[int, int] | None = None
    rules: list[Rule] = field(default_factory=list)
    jump: str | None = None  # -j/-g name not resolved to an extension (a chain, checked later)
    goto: bool = False
    jumpto: str = ""  # the -j/-g name as given (a chain of that name wins over an extension)
    wait: int | None = None  # -w: None when not given, -1 without seconds
    wait_interval: bool = False  # -W given (iptables 1.8.9 ignores it, and says so)


class CommandParser:
    """One run of do_parse over argv.  ``in_restore`` as when called by iptables-restore."""

    def __init__(self, argv: list[str], *, in_restore: bool = False, default_table: str = "filter"):
        self.argv = argv
        self.in_restore = in_restore
        self.cmd = Command(table=default_table)
        self.cmds: set[str] = set()
        self.invert = False
        self.uses: list[ExtUse] = []  # matches in order
        self.target: ExtUse | None = None
        self.verdict: Verdict | None = None
        self.options: set[str] = set()
        self.invflags: set[str] = set()
        self.shost: str | None = None
        self.dhost: str | None = None
        self.ip: dict[str, object] = {}
        self.proto_text: str | None = None
        self.proto_used = False
        self.jumpto = ""
        self.policy: str | None = None
        self.wait: int | None = None
        self.wait_interval = False
        self.leftover = False
        self.i = 0
        self._load_seq: dict[int, int] = {}
        self._seq = 0

    # --- option resolution --------------------------------------------------

    def _ext_order(self) -> list[ExtUse]:
        """Loaded extensions, most recently loaded first (xtables_merge_options)."""
        order = list(self.uses)
        if self.target is not None:
            order.append(self.target)
        order.sort(key=lambda u: -self._load_seq[id(u)])
        return order

    def _resolve_long(self, name: str) -> tuple[str, object] | None:
        """getopt_long lookup: exact name first (core, then extensions newest first), else prefix."""
        if name in _LONG:
            return ("core", _LONG[name])
        order = self._ext_order()
        for use in order:
            opt = use.cls.option_names().get(name)
            if opt is not None:
                return ("ext", (use, opt))
        found: dict[tuple[object, ...], tuple[str, object]] = {}
        for long, letter, has_arg in LONG_OPTS:
            if long.startswith(name):
                found.setdefault(("core", letter), ("core", (letter, has_arg)))
        for use in order:
            for oname, opt in use.cls.option_names().items():
                if oname.startswith(name):
                    found.setdefault(("ext", id(use), opt.name), ("ext", (use, opt)))
        if len(found) == 1:
            return next(iter(found.values()))
        if len(found) > 1:
            longs = sorted({long for long, _l, _a in LONG_OPTS if long.startswith(name)})
            raise ParameterProblem(f'unknown option "--{name}": ambiguous, expected one of its longer names'
                                   + (f" ({', '.join('--' + n for n in longs)})" if longs else ""))
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

    def _next(self) -> str:
        tok = self.argv[self.i]
        self.i += 1
        return tok

    # --- main loop ----------------------------------------------------------

    def parse(self) -> Command:
        argv = self.argv
        while self.i < len(argv):
            tok = argv[self.i]
            self.i += 1
            if tok == "--":
                self.leftover = self.i < len(argv)
                break
            if tok.startswith("--"):
                name, eq, val = tok[2:].partition("=")
                done = self._long(tok, name, val if eq else None)
            elif tok.startswith("-") and len(tok) > 1:
                done = self._shorts(tok)
            else:
                if tok == "!":
                    if self.invert:
                        raise ParameterProblem("multiple consecutive ! not allowed")
                    self.invert = True
                    continue
                raise ParameterProblem(f'Bad argument "{tok}": expected an option')
            if done:
                return self.cmd
        return self._finish()

    def _shorts(self, tok: str) -> bool:
        j = 1
        while j < len(tok):
            letter = tok[j]
            j += 1
            has_arg = _SHORT.get(letter)
            if has_arg is None or letter in "b" or letter == ":":
                self._unknown(f"-{letter}")
            rest = tok[j:]
            if has_arg == 0:
                if self._core(letter, None, None):
                    return True
                continue
            if has_arg == 1:
                if rest:
                    arg, whole = rest, tok
                else:
                    arg = self._take_arg(f"-{letter}", None)
                    whole = arg
                return self._core(letter, arg, whole)
            return self._core(letter, rest or None, tok if rest else None)
        return False

    def _unknown(self, spelled: str) -> None:
        # command_default: an unknown option first loads the -p protocol's match (which cannot
        # know a short or core option either), then fails.
        raise ParameterProblem(f'unknown option "{spelled}"')

    def _long(self, tok: str, name: str, attached: str | None) -> bool:
        hit = self._resolve_long(name)
        if hit is None:
            hit = self._load_proto_for(tok, name)
        kind, what = hit
        if kind == "core":
            letter, has_arg = what  # type: ignore[misc]
            if has_arg == 0:
                if attached is not None:
                    raise ParameterProblem(f'option "--{name}" doesn\'t allow an argument')
                return self._core(letter, None, None)
            if has_arg == 1:
                arg = self._take_arg(tok, attached)
                return self._core(letter, arg, tok if attached is not None else arg)
            return self._core(letter, attached, tok if attached is not None else None)
        use, opt = what  # type: ignore[misc]
        args: list[str] = []
        if opt.nargs:
            if opt.optional_arg:
                if attached is not None:
                    args.append(attached)
                elif self._has_arg():
                    args.append(self._next())
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
                    args.append(self._next())
        elif attached is not None:
            raise ParameterProblem(f'option "{tok}" doesn\'t allow an argument')
        # iptables parses each option as it meets it: record the -p seen so far (DNAT's ports need it).
        proto_then = (int(self.ip.get("proto", 0)), "p" in self.invflags)  # type: ignore[call-overload]
        use.given.append(Given(opt, tuple(args), self.invert, "--" + name, proto_then))
        self.invert = False
        return False

    def _load_proto_for(self, tok: str, name: str) -> tuple[str, object]:
        """command_default(): an unknown option loads the -p protocol's match, once."""
        if self.proto_text is not None:
            proto_name: str | None = self.proto_text
            num = try_uint(self.proto_text, 0, 255)
            if num is not None:
                proto_name = proto_to_name(num, numeric="n" in self.options)
            cls = find_match(proto_name) if proto_name else None
            loaded = any(u.cls is cls for u in self.uses)
            if cls is not None and (not loaded or not self.proto_used):
                self.proto_used = True
                self._add_use(ExtUse(cls, implicit=True))
                hit = self._resolve_long(name)
                if hit is not None:
                    return hit
        raise ParameterProblem(f'unknown option "{tok}"{self._suggest(name)}')

    def _suggest(self, name: str) -> str:
        """" (did you mean --x?)" from the options of what is loaded, or of -m NAME hints."""
        known = [long for long, _l, _a in LONG_OPTS]
        for use in self._ext_order():
            known += list(use.cls.option_names())
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if close:
            return f" (did you mean --{close[0]}?)"
        return ": expected an option of the loaded matches and target"

    def _add_use(self, use: ExtUse) -> None:
        self._seq += 1
        self._load_seq[id(use)] = self._seq
        if issubclass(use.cls, Extension) and use.cls.kind == "target":
            self.target = use
        else:
            self.uses.append(use)

    def _set_option(self, letter: str, inverted: bool) -> None:
        shown = "j" if letter == "g" else letter
        if letter == "g":
            letter = "j"
        if letter in self.options:
            raise ParameterProblem(f"multiple -{shown} flags not allowed")
        self.options.add(letter)
        if inverted:
            if letter not in _INVERTIBLE:
                raise ParameterProblem(f"cannot have ! before -{shown}")
            self.invflags.add(letter)

    def _add_command(self, new: str, others: set[str], inverted: bool) -> None:
        if inverted:
            raise ParameterProblem(f"unexpected '!' flag before -{new}")
        clash = self.cmds - others
        if clash:
            old = sorted(clash)[0][0]
            raise ParameterProblem(f"Cannot use -{new} with -{old}: expected one command")
        self.cmds.add(new)

    def _command(self, letter: str, arg: str | None, inverted: bool) -> None:
        cmd = self.cmd
        if letter in ("L", "S"):
            self._add_command(letter, {"Z", "ZN"}, inverted)
        elif letter == "Z":
            self._add_command("Z", {"L", "S"}, inverted)
        else:
            if letter == "N":
                assert_valid_chain_name(str(arg))
            self._add_command(letter, set(), inverted)
        if letter in "ACRIEPN":
            cmd.chain = arg
        elif letter in "LSFZX":
            if arg is not None:
                cmd.chain = arg
            elif self._has_arg():
                cmd.chain = self._next()
        if letter == "D":
            cmd.chain = arg
            if self._has_arg():
                cmd.rulenum = _rulenum(self._next())
                self.cmds = {"DN"}
        elif letter == "R":
            if not self._has_arg():
                raise ParameterProblem("-R requires a rule number")
            cmd.rulenum = _rulenum(self._next())
        elif letter == "I":
            cmd.rulenum = _rulenum(self._next()) if self._has_arg() else 1
        elif letter in ("L", "S"):
            if self._has_arg():
                cmd.rulenum = _rulenum(self._next())
        elif letter == "Z":
            if self._has_arg():
                cmd.rulenum = _rulenum(self._next())
                self.cmds = {"ZN"}
        elif letter == "E":
            if not self._has_arg():
                raise ParameterProblem("-E requires old-chain-name and new-chain-name")
            cmd.newname = self._next()
        elif letter == "P":
            if not self._has_arg():
                raise ParameterProblem("-P requires a chain and a policy")
            self.policy = cmd.newname = self._next()

    def _core(self, letter: str, arg: str | None, whole: str | None) -> bool:
        """One core option; *arg* is getopt's optarg, *whole* iptables' argv[optind - 1].

        Returns True when the command line ends here (-V, -h).
        """
        inverted = self.invert
        self.invert = False
        cmd = self.cmd
        if letter in ("V", "h"):
            cmd.command = letter
            return True
        if letter in COMMANDS:
            self._command(letter, arg, inverted)
            return False
        ip = self.ip
        if letter == "p":
            self._set_option("p", inverted)
            text = str(whole).lower()
            proto = parse_protocol(text)
            if proto == 0 and inverted:
                raise ParameterProblem("rule would never match protocol")
            self.proto_text = text
            ip["proto"] = proto
        elif letter == "s":
            self._set_option("s", inverted)
            self.shost = whole
        elif letter == "d":
            self._set_option("d", inverted)
            self.dhost = whole
        elif letter in "io":
            if arg == "":
                raise ParameterProblem(f"Empty interface is likely to be undesired: -{letter} needs a name")
            self._set_option(letter, inverted)
            name = str(whole)
            if len(name.encode("utf-8", "surrogateescape")) >= 16:
                raise ParameterProblem(f'interface name "{name}" must be shorter than IFNAMSIZ (15)')
            ip["iniface" if letter == "i" else "outiface"] = name
        elif letter == "f":
            self._set_option("f", inverted)
            ip["frag"] = True
        elif letter == "j":
            self._set_option("j", inverted)
            self._set_jump(_check_name(str(whole), "target"), goto=False)
        elif letter == "g":
            self._set_option("g", inverted)
            self._set_jump(_check_name(str(arg), "target"), goto=True)
        elif letter == "m":
            if inverted:
                raise ParameterProblem("unexpected ! flag before --match")
            cls = find_match(str(arg))
            if cls is None:
                hint = did_you_mean(str(arg), MATCHES) or ": expected a known match extension"
                raise ParameterProblem(f'Couldn\'t load match "{arg}": No such file or directory{hint}')
            self._add_use(ExtUse(cls))
        elif letter == "t":
            if inverted:
                raise ParameterProblem("unexpected ! flag before --table")
            if self.in_restore:
                raise ParameterProblem("The -t option cannot be used in iptables-restore")
            cmd.table = str(arg)
            cmd.table_given = True
        elif letter == "v":
            if cmd.verbose == 0:
                self._set_option("v", inverted)
            cmd.verbose += 1
        elif letter in "nx0":
            self._set_option(letter, inverted)
        elif letter == "c":
            self._set_option("c", inverted)
            pcnt = str(arg)
            comma = pcnt.find(",", 1)
            bcnt = pcnt[comma + 1:] if comma >= 0 else None
            if bcnt is None and self._has_arg():
                bcnt = self._next()
            if bcnt is None:
                raise ParameterProblem("-c requires packet and byte counter")
            pk, by = sscanf_llu(pcnt), sscanf_llu(bcnt)
            if pk is None:
                raise ParameterProblem(f'-c packet counter not numeric: "{pcnt}"')
            if by is None:
                raise ParameterProblem(f'-c byte counter not numeric: "{bcnt}"')
            cmd.counters = (pk, by)
        elif letter in "wW":
            if self.in_restore:
                raise ParameterProblem(f"You cannot use `-{letter}' from iptables-restore")
            text = arg
            if text is None and self._has_arg():
                text = self._next()
            if letter == "w":
                self.wait = -1
                if text is not None:
                    secs = sscanf_i(text)
                    if secs is None:
                        raise ParameterProblem(f'wait seconds not numeric: "{text}"')
                    self.wait = secs
            else:
                if text is None:
                    raise ParameterProblem("wait interval value required")
                usec = sscanf_llu(text)
                if usec is not None and usec > 999999:
                    raise ParameterProblem(f"too long usec wait {usec} > 999999 usec")
                if usec is None:
                    raise ParameterProblem(f'wait interval not numeric: "{text}"')
                self.wait_interval = True
        elif letter == "6":
            if self.in_restore:
                # iptables-restore ignores a line meant for ip6tables-restore.
                self.cmd = Command(table=cmd.table)
                return True
            raise ParameterProblem("-6 is for ip6tables: this is the IPv4 version of iptables")
        # -M and -4 have no effect here.
        return False

    def _set_jump(self, name: str, goto: bool) -> None:
        cmd = self.cmd
        self.jumpto = name
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
        if cmd.table == "nat" and (self.policy == "DROP" or self.jumpto == "DROP"):
            raise ParameterProblem('the "nat" table is not intended for filtering: DROP is inhibited')
        if self.wait_interval and not self.wait:
            raise ParameterProblem("--wait-interval only makes sense with --wait")
        cmd.wait, cmd.wait_interval = self.wait, self.wait_interval
        ip = self.ip
        base = IpMatch(**ip, **self._invflags())  # type: ignore[arg-type]
        ctx = RuleContext(base, cmd.table, cmd.chain or "")
        matches = tuple(u.cls.parse(collect(u.cls, u.given), ctx) for u in self.uses)
        target: object = self.verdict
        if self.target is not None:
            target = self.target.cls.parse(collect(self.target.cls, self.target.given), ctx)
        elif cmd.jump is not None:
            target = Jump(cmd.jump, cmd.goto)
        if self.leftover:
            raise ParameterProblem("unknown arguments found on commandline")
        if not self.cmds:
            raise ParameterProblem("no command specified: expected -A, -I, -D, -R, -L, -S, -F, -N, ...")
        if self.invert:
            raise ParameterProblem("nothing appropriate following !: expected an option after it")
        rule_cmd = bool(self.cmds & set(_RULE_CMDS))
        shost = self.shost if self.shost is not None or not rule_cmd else "0.0.0.0/0"
        dhost = self.dhost if self.dhost is not None or not rule_cmd else "0.0.0.0/0"
        srcs = parse_addresses(shost) if shost is not None else []
        dsts = parse_addresses(dhost) if dhost is not None else []
        if (len(srcs) > 1 or len(dsts) > 1) and self.invflags & {"s", "d"}:
            raise ParameterProblem("! not allowed with multiple source or destination IP addresses")
        if "R" in self.cmds and (len(srcs) != 1 or len(dsts) != 1):
            raise ParameterProblem("Replacement rule does not specify a unique address")
        self._generic_opt_check()
        if cmd.chain is not None and len(cmd.chain.encode("utf-8", "surrogateescape")) > MAX_NAME:
            raise ParameterProblem(f'chain name "{cmd.chain}" too long (must be under {MAX_NAME + 1} chars)')
        if self.cmds & {"A", "D", "DN", "C", "I", "R"}:
            if cmd.chain in ("PREROUTING", "INPUT") and "o" in self.options:
                raise ParameterProblem(f"Can't use -o with {cmd.chain}")
            if cmd.chain in ("POSTROUTING", "OUTPUT") and "i" in self.options:
                raise ParameterProblem(f"Can't use -i with {cmd.chain}")
        self._set_command()
        cmd.jumpto = self.jumpto
        if rule_cmd:
            for s, sm in srcs:
                for d, dm in dsts:
                    rip = IpMatch(**{**ip, **self._invflags(), "src": s, "smsk": sm,  # type: ignore[arg-type]
                                     "dst": d, "dmsk": dm})
                    rule = Rule(rip, matches, target)  # type: ignore[arg-type]
                    if cmd.counters:
                        rule.packets, rule.bytes = cmd.counters
                    cmd.rules.append(rule)
        return cmd

    def _invflags(self) -> dict[str, bool]:
        names = {"s": "inv_src", "d": "inv_dst", "p": "inv_proto", "i": "inv_in", "o": "inv_out",
                 "f": "inv_frag"}
        return {names[f]: True for f in self.invflags}

    def _generic_opt_check(self) -> None:
        for n, opt in enumerate(OPTFLAGS):
            if opt not in self.options:
                continue
            legal = 0
            for c in self.cmds:
                if _LEGAL[c][n] != "x":
                    legal = 1
                elif legal == 0:
                    legal = -1
            if legal == -1:
                raise ParameterProblem(f'Illegal option "-{opt}" with this command')

    def _set_command(self) -> None:
        cmd, cmds = self.cmd, self.cmds
        cmd.numeric = "n" in self.options
        cmd.exact = "x" in self.options
        cmd.line_numbers = "0" in self.options
        for main in ("L", "S"):
            if main in cmds:
                cmd.command = main
                cmd.zero_too = bool(cmds & {"Z", "ZN"})
                cmd.zero_num = "ZN" in cmds
                return
        (only,) = cmds
        cmd.command = {"DN": "D", "ZN": "Z"}.get(only, only)


def append_command(table: str, chain: str, rule: Rule, jump: str | None, goto: bool,
                   counters: tuple[int, int] | None, jumpto: str) -> Command:
    """``Command(command="A", ...)`` for one parsed rule, built without the dataclass's
    __init__ (the fast path makes one per restore line): the fields left at their default
    read the class's default."""
    cmd = _new_command(Command)
    cmd.command = "A"
    cmd.table = table
    cmd.chain = chain
    cmd.rules = [rule]
    cmd.jump = jump
    cmd.jumpto = jumpto
    if goto:
        cmd.goto = goto
    if counters is not None:
        cmd.counters = counters
    return cmd


_new_command = Command.__new__


def parse_command(argv: list[str], *, in_restore: bool = False, default_table: str = "filter") -> Command:
    if in_restore:
        # Saved rules take the fast path (same answers, see syntax/fastparse.py).
        from pynetfilter.syntax.fastparse import fast_rule

        fast = fast_rule(argv, default_table)
        if fast is not None:
            return fast
    return CommandParser(argv, in_restore=in_restore, default_table=default_table).parse()


__all__ = ["Command", "CommandParser", "Opt", "parse_command", "parse_protocol", "parse_uint"]
