"""What every extension module provides, and the generic option-table engine.

Theory of operation.  An extension is a frozen dataclass: its class carries
the declarative part (name, option table, the kernel's table/hook/protocol
restrictions) and its instances are configured matches or targets, holding
exactly what the kernel would store in the rule blob.  Saving prints from
that canonical data, so ``--or-mark 0x4000`` saves as ``--set-xmark
0x4000/0x4000`` just as iptables-save does.

Parsing is split as in libxtables: the rule parser routes each ``--option``
(with its ``!``) to the extension instance that owns it; this module's
:func:`collect` enforces the option table (argument count, inversion,
repetition, exclusions, mandatory options); the extension's ``parse`` then
only handles meaning.  ``check`` is the kernel's checkentry, run once at
table-load time with the rule's context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Self

from pynetfilter.errors import KernelRefusal, ParameterProblem

if TYPE_CHECKING:
    from pynetfilter.model.rule import IpMatch
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet


@dataclass(frozen=True, slots=True)
class Opt:
    """One ``--option`` of an extension's option table (xt_option_entry)."""

    name: str
    nargs: int = 1  # 0: a flag; 1 or 2 arguments
    invert: bool = False  # may be preceded by "!"
    multi: bool = False  # may be given more than once
    mandatory: bool = False
    excl: tuple[str, ...] = ()  # options that may not be combined with this one
    aliases: tuple[str, ...] = ()
    optional_arg: bool = False  # nargs=1 but the argument may be omitted (getopt ::)


@dataclass(slots=True)
class Given:
    """An option as it appeared on the command line."""

    opt: Opt
    args: tuple[str, ...]
    inverted: bool
    spelled: str  # the option as written, e.g. "--dpo"
    # The rule's -p protocol (number, inverted) when the option was parsed: iptables
    # parses an option as it meets it, so "-j DNAT --to-destination :80 -p tcp" sees no -p.
    proto_then: tuple[int, bool] = (0, False)

    @property
    def value(self) -> str:
        return self.args[0] if self.args else ""


class Options:
    """The options given to one extension instance, in order."""

    __slots__ = ("ext", "items", "_by_name")

    def __init__(self, ext: str, items: list[Given]) -> None:
        self.ext = ext
        self.items = items
        self._by_name: dict[str, Given] = {}
        for g in items:
            self._by_name[g.opt.name] = g

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Given | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Given:
        return self._by_name[name]

    def all(self, name: str) -> list[Given]:
        return [g for g in self.items if g.opt.name == name]

    def names(self) -> list[str]:
        return [g.opt.name for g in self.items]


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What an extension may look at while parsing: the rule's IP part and place.

    parse() must depend only on its options, ``proto``/``proto_inverted`` and
    ``table``: the fast path shares one parsed instance among all rules with
    the same option text, protocol and table.
    """

    ip: IpMatch
    table: str
    chain: str

    @property
    def proto(self) -> int:
        return self.ip.proto

    @property
    def proto_inverted(self) -> bool:
        return self.ip.inv_proto


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the kernel's checkentry sees: the rule, its table and reaching hooks."""

    ip: IpMatch
    table: str
    hook_mask: int  # hooks from which the rule is reachable (0 for unreachable chains)
    matches: tuple[Match, ...] = ()  # the rule's matches (xt_TCPMSS's checkentry looks for a SYN match)
    # The ipsets that exist (name -> family "inet", "inet6" or "unspec"), for -m set's lookup.
    ipsets: Mapping[str, str] = field(default_factory=dict)
    # The rate estimators that exist (made by -j RATEEST rules), for -m rateest's lookup.
    estimators: frozenset[str] = frozenset()


class Extension:
    """Declarative part shared by matches and targets."""

    __slots__ = ()

    kind: ClassVar[str] = "extension"
    name: ClassVar[str] = ""
    options: ClassVar[tuple[Opt, ...]] = ()
    # Kernel restrictions (struct xt_match / xt_target):
    table: ClassVar[str | None] = None  # only valid in this table
    hooks: ClassVar[int] = 0  # allowed hook mask; 0 means every hook
    proto: ClassVar[int] = 0  # the rule must say "-p <proto>" (not inverted)
    # Old-style (non-x6) libxt parsers also accept "--opt ! value" for invertible options.
    intrapositioned: ClassVar[bool] = False
    # The name the kernel stores when ``name`` is an iptables alias (-j NOTRACK is CT); -L prints it.
    real_name: ClassVar[str | None] = None

    # Option lookup tables, built once per class by _index().
    _opt_index: ClassVar[dict[str, Opt]]

    @classmethod
    def option_names(cls) -> dict[str, Opt]:
        idx = cls.__dict__.get("_opt_index")
        if idx is None:
            idx = {}
            for o in cls.options:
                idx[o.name] = o
                for a in o.aliases:
                    idx[a] = o
            cls._opt_index = idx
        return idx

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Self:
        raise NotImplementedError

    def save(self) -> str:
        """Save text after ``-m name``/``-j NAME``: each option with a leading space."""
        return ""

    def describe(self, numeric: bool) -> str:
        """The text ``iptables -L`` prints for this extension (after the addresses)."""
        return ""

    def exact_save(self) -> str | None:
        """Options that parse back to exactly this instance, where :meth:`save` loses something
        the kernel keeps (iptables-save's own text is lossy there); None when save() is exact."""
        return None

    # True for extensions that look up kernel objects while iptables parses the rule.
    resolves: ClassVar[bool] = False

    def resolve(self, ipsets: Mapping[str, str]) -> None:
        """iptables' own lookups of kernel objects at parse time (an ipset by name):
        raise ParameterProblem when the object does not exist."""

    def check(self, ctx: CheckContext) -> None:
        """The kernel's checkentry: raise KernelRefusal for a rule it refuses."""

    # True for extensions whose checkentry rewrites the blob the kernel then keeps (and
    # iptables-save prints, and -D/-C compare against): see stored().
    rewrites: ClassVar[bool] = False

    def stored(self) -> Self:
        """The extension as the kernel keeps it once checkentry passed (only when rewrites)."""
        return self

    @classmethod
    def kernel_check(cls, self: Extension, ctx: CheckContext) -> None:
        """xt_check_match/xt_check_target: the generic table/hook/proto checks, then check()."""
        what = f"{cls.name} {cls.kind}"
        if cls.table is not None and ctx.table != cls.table:
            raise KernelRefusal(f"{what}: only valid in table {cls.table}, not {ctx.table}")
        if cls.hooks and ctx.hook_mask & ~cls.hooks:
            from pynetfilter.model.tables import hooks_of

            used = "/".join(h.name for h in hooks_of(ctx.hook_mask))
            allowed = "/".join(h.name for h in hooks_of(cls.hooks))
            raise KernelRefusal(f"{what}: used from hooks {used}, but only usable from {allowed}")
        if cls.proto and (ctx.ip.proto != cls.proto or ctx.ip.inv_proto):
            raise KernelRefusal(f"{what}: only valid for protocol {cls.proto}")
        self.check(ctx)


class Match(Extension):
    __slots__ = ()
    kind: ClassVar[str] = "match"
    # The pipeline needs conntrack (and defragmentation) when a loaded rule uses this
    # extension, as the kernel enables them from the extension's checkentry.
    needs_conntrack: ClassVar[bool] = False
    needs_defrag: ClassVar[bool] = False

    def mt(self, pkt: Packet, par: Par) -> bool:
        """The kernel's match function: does *pkt* match?  May set ``par.hotdrop``."""
        raise NotImplementedError(f"-m {self.name}: evaluation not implemented")


class Target(Extension):
    __slots__ = ()
    kind: ClassVar[str] = "target"
    needs_conntrack: ClassVar[bool] = False
    needs_defrag: ClassVar[bool] = False

    def tg(self, pkt: Packet, par: Par) -> int:
        """The kernel's target function: act on *pkt*, return a verdict (netfilter.verdicts)."""
        raise NotImplementedError(f"-j {self.name}: evaluation not implemented")


def collect(cls: type[Extension], items: list[Given]) -> Options:
    """Enforce the declarative option table; return the options for parse()."""
    seen: dict[str, Given] = {}
    for g in items:
        o = g.opt
        if g.inverted and not o.invert:
            raise ParameterProblem(f'{cls.name}: option "--{o.name}" cannot be inverted')
        if o.name in seen and not o.multi:
            raise ParameterProblem(f'{cls.name}: option "--{o.name}" can only be used once.')
        seen[o.name] = g
    # xtables_options_fcheck: the table in order; each option's own absence, then its exclusions
    # (so a clash names the option of the two that comes first in the table).
    for o in cls.options:
        if o.name not in seen:
            if o.mandatory:
                raise ParameterProblem(f'{cls.name}: option "--{o.name}" must be specified')
            continue
        for other in cls.options:
            if other is not o and other.name in o.excl and other.name in seen:
                raise ParameterProblem(
                    f'{cls.name}: option "--{o.name}" cannot be used together with "--{other.name}".'
                )
    return Options(cls.name, items)


def refuse(msg: str) -> ParameterProblem:
    return ParameterProblem(msg)
