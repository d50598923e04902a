"""ipset's commands on a dict of sets: create, add, del, test, destroy, flush, rename, swap, list, save,
restore, version; with ipset's words, refusals and exit statuses.

Theory of operation.  :class:`Session` holds the sets (name -> IpSet, in the
kernel's index order: a new set takes the first free index, as ``ipset
list`` shows) and a clock.  :meth:`Session.run` takes ipset's argv (global
options ``-exist``/``-!``, ``-output``/``-o``, ``-quiet``/``-q``,
``-sorted``/``-s``, ``-name``/``-n``, ``-terse``/``-t``, ``-resolve``/``-r``
anywhere) and returns (status, stdout, stderr) as ipset prints them.
References (what ``destroy`` and ``rename`` check, and ``list`` prints) come
from a callable the caller gives: the iptables rules naming each set; list:set
memberships are added here.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

from pynetfilter.netfilter import ipset_elem as E
from pynetfilter.netfilter import ipset_ipmac
from pynetfilter.netfilter import ipset_types as T
from pynetfilter.netfilter.ipset import IpSet
from pynetfilter.netfilter.ipset_hash import Layout
from pynetfilter.netfilter.ipset_print import list_sets, save_sets

COMMANDS = {"create": "create", "n": "create", "add": "add", "a": "add", "del": "del", "d": "del",
            "test": "test", "t": "test", "destroy": "destroy", "x": "destroy", "list": "list",
            "l": "list", "save": "save", "s": "save", "restore": "restore", "r": "restore",
            "flush": "flush", "f": "flush", "rename": "rename", "e": "rename", "swap": "swap",
            "w": "swap", "version": "version", "v": "version"}
FLAGS = {"-exist": "exist", "-!": "exist", "-quiet": "quiet", "-q": "quiet", "-sorted": "sorted",
         "-s": "sorted", "-name": "name", "-n": "name", "-terse": "terse", "-t": "terse",
         "-resolve": "resolve", "-r": "resolve"}
_ARGS = {"create": 2, "add": 2, "del": 2, "test": 2, "rename": 2, "swap": 2, "destroy": 0, "flush": 0,
         "list": 0, "save": 0, "restore": 0, "version": 0}
_NTH = ("", "second ")


def _nothing(name: str) -> int:
    return 0


class Session:
    def __init__(self, sets: dict[str, IpSet], *, now: float = 0.0,
                 rule_refs: Callable[[str], int] = _nothing, rng: random.Random | None = None) -> None:
        self.sets = sets
        self.now = now
        self.rule_refs = rule_refs
        self.rng = rng or random.Random()
        self.fractional = False  # timeouts with a fraction of a second (state files)
        # The kernel's set array: a new set takes the first free index (None: a hole).
        self.index: list[str | None] = list(sets)

    def _sync(self) -> None:
        while self.index and self.index[-1] is None:
            self.index.pop()
        old = self.sets
        fresh = {n: old[n] for n in self.index if n is not None}
        old.clear()
        old.update(fresh)

    def refs(self, name: str) -> int:
        lists = sum(1 for s in self.sets.values() if s.type == "list:set" and name in s.members)
        return self.rule_refs(name) + lists

    def _get(self, name: str) -> IpSet:
        s = self.sets.get(name)
        if s is None:
            raise T.IpsetError("The set with the given name does not exist")
        return s

    # --- the command line ---------------------------------------------------------------

    def run(self, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        """One ipset invocation: (exit status, stdout, stderr)."""
        flags: set[str] = set()
        try:
            out = self._run(argv, stdin, flags)
        except T.IpsetError as e:
            if "quiet" in flags and not e.usage:
                return e.status, "", ""
            prefix = "" if e.bare else f"{T.PROG}: "
            return e.status, "", f"{prefix}{e.text}\n" + (f"{T.TRY_HELP}\n" if e.usage else "")
        return 0, *out

    def _run(self, argv: list[str], stdin: str, flags: set[str]) -> tuple[str, str]:
        words: list[str] = []
        output = ""
        i = 0
        while i < len(argv):
            w = argv[i]
            if w in FLAGS:
                flags.add(FLAGS[w])
            elif w in ("-o", "-output"):
                if i + 1 >= len(argv):
                    raise T.usage_error(f"Missing mandatory argument of option `{w[1:]}'")
                output = argv[i + 1]
                if output not in ("plain", "save"):
                    if output == "xml":
                        raise T.IpsetError("pynf: -output xml is not supported (plain and save are)")
                    raise T.syntax(f"unknown output mode '{output}'")
                i += 1
            else:
                words.append(w)
            i += 1
        if not words:
            raise T.usage_error("No command specified.")
        cmd = COMMANDS.get(words[0])
        if cmd is None:
            raise T.usage_error(f"No command specified: unknown argument {words[0]}")
        return self.command(cmd, words[1:], flags, output, stdin)

    def command(self, cmd: str, args: list[str], flags: set[str], output: str = "",
                stdin: str = "") -> tuple[str, str]:
        need = _ARGS[cmd]
        for n in range(need):
            if len(args) <= n:
                raise T.usage_error(f"Missing {_NTH[n]}mandatory argument to command {cmd}")
        if cmd == "create":
            self.create(args, "exist" in flags)
            return "", ""
        if cmd in ("add", "del", "test"):
            return self.adt(cmd, args, flags)
        if cmd not in ("rename", "swap") and len(args) > 1:
            raise T.usage_error(f"Unknown argument {args[1]}")
        if len(args) > need and cmd in ("rename", "swap"):
            raise T.usage_error(f"Unknown argument {args[need]}")
        if cmd == "destroy":
            self.destroy(args[0] if args else None)
        elif cmd == "flush":
            for s in ([self._get(args[0])] if args else list(self.sets.values())):
                s.flush()
        elif cmd == "rename":
            self.rename(args[0], args[1])
        elif cmd == "swap":
            self.swap(args[0], args[1])
        elif cmd in ("list", "save"):
            # The kernel dumps all sets in two passes, list:set sets last (so a restore works).
            names = [args[0]] if args else sorted(self.sets, key=lambda n: self.sets[n].type == "list:set")
            sets = [self._get(n) for n in names]
            mode = output or ("save" if cmd == "save" else "plain")
            if mode == "save":
                return save_sets(sets, self.now), ""
            return list_sets(sets, self.now, self.refs, "name" in flags, "terse" in flags), ""
        elif cmd == "restore":
            return self.restore(stdin, flags)
        elif cmd == "version":
            return "ipset v7.17, protocol version: 7\n", ""
        return "", ""

    # --- commands -------------------------------------------------------------------------

    def create(self, args: list[str], exist: bool) -> None:
        name, typ = args[0], args[1]
        if len(name) > T.MAXNAMELEN - 1:
            raise T.syntax(f"setname '{name}' is longer than {T.MAXNAMELEN - 1} characters")
        if typ in T.ABSENT:
            raise T.IpsetError("Kernel error received: set type not supported")
        t = T.TYPES.get(typ)
        if t is None:
            raise T.syntax(f"typename '{typ}' is unknown")
        s = IpSet(name, typ)
        s.cidrs = [[] for _ in t.dims]
        hashsize = 1024
        cidr: int | None = None
        initval: int | None = None
        opts = args[2:]
        if "family" in t.create:
            self._family(s, opts)
        i = 0
        while i < len(opts):
            o = opts[i]
            valued = o not in ("counters", "comment", "skbinfo", "forceadd", "-4", "-6")
            allowed = o in t.create or o in ("timeout", "counters", "comment", "skbinfo")
            if not allowed:
                raise T.usage_error(f"Unknown argument: `{o}'")
            if valued and i + 1 >= len(opts):
                raise T.usage_error(f"Missing mandatory argument of option `{o}'")
            v = opts[i + 1] if valued else ""
            if o in ("family", "-4", "-6"):  # read before the rest (_family)
                i += 2 if valued else 1
                continue
            if o in s.options:
                raise T.syntax(f"{o} already specified")
            s.options[o] = v
            if o == "hashsize":
                hashsize = max(64, T.number(v, 0, 0xFFFFFFFF))
            elif o == "maxelem":
                s.maxelem = T.number(v, 0, 0xFFFFFFFF)
            elif o == "bucketsize":
                s.bucketsize = min(12, max(2, T.number(v, 1, 255) + 1 & ~1))
            elif o == "initval":
                initval = T.number(v, 0, 0xFFFFFFFF)
            elif o == "netmask":
                top = s.bits if typ.startswith("hash:") else 32
                try:
                    s.netmask = T.number(v, 1, top)
                except T.IpsetError as e:
                    raise T.IpsetError(f"{e.text}\nSyntax error: netmask is out of the inclusive range "
                                       f"of 1-{top}") from None
            elif o == "timeout":
                s.timeout = T.number(v, 0, T.MAX_TIMEOUT)
            elif o == "size":
                s.size = max(4, T.number(v, 0, 0xFFFFFFFF))
            elif o == "range" and typ == "bitmap:ip,mac":
                first, last, cidr = ipset_ipmac.create_range(v)
                s.range = (first, last)
            elif o == "range":
                s.range = self._range(typ, v)
            else:
                setattr(s, o, True)
            i += 2 if valued else 1
        if typ.startswith("bitmap:") and "range" not in s.options:
            raise T.usage_error("Mandatory option `range' is missing")
        if typ == "bitmap:ip,mac":
            ipset_ipmac.check_range(s.range[0], s.range[1], cidr)
        if s.family == "inet6" and "netmask" not in s.options:
            s.netmask = 128
        if typ.startswith("hash:"):
            s.initval = self.rng.getrandbits(32) if initval is None else initval
            s.layout = Layout(typ, max(0, (hashsize - 1).bit_length()), s.initval, s.dsize, s.bucketsize,
                              s.bits // 8)
        old = self.sets.get(name)
        if old is not None:
            # ip_set_create compares the type, not the family: an inet set "exists" as inet6
            if exist and old.type == s.type and _same_set(old, s):
                return
            raise T.IpsetError("Set cannot be created: set with the same name already exists")
        self.sets[name] = s
        if None in self.index:
            self.index[self.index.index(None)] = name
        else:
            self.index.append(name)
        self._sync()

    @staticmethod
    def _family(s: IpSet, opts: list[str]) -> None:
        """ipset reads the family (``family NAME``, ``-4``, ``-6``: one option) before the other
        create options, so a netmask may precede it."""
        given = False
        for i, o in enumerate(opts):
            if o not in ("family", "-4", "-6"):
                continue
            v = opts[i + 1] if o == "family" and i + 1 < len(opts) else ""
            if given:
                raise T.syntax(f"{o} already specified")
            if o == "family" and v not in ("inet", "ipv4", "inet6", "ipv6"):
                if not v:
                    raise T.usage_error("Missing mandatory argument of option `family'")
                raise T.syntax(f"unknown inet family {v}")
            s.family = "inet6" if o == "-6" or v in ("inet6", "ipv6") else "inet"
            s.options["family"] = s.family
            given = True

    @staticmethod
    def _range(typ: str, text: str) -> tuple[int, int]:
        if typ == "bitmap:port":
            lo_s, dash, hi_s = text.partition("-")
            lo, hi = T.port(lo_s), T.port(hi_s) if dash else T.port(lo_s)
            return (min(lo, hi), max(lo, hi))
        first, last, _ = T.addr_range(text)
        return first, last

    def destroy(self, name: str | None) -> None:
        victims = [self._get(name)] if name is not None else list(self.sets.values())
        if any(self.refs(s.name) for s in victims):
            raise T.IpsetError("Set cannot be destroyed: it is in use by a kernel component")
        for s in victims:
            self.index[self.index.index(s.name)] = None
        self._sync()

    def rename(self, old: str, new: str) -> None:
        s = self._get(old)
        if self.refs(old):
            raise T.IpsetError("Set cannot be renamed: it is in use by another system")
        if new in self.sets:
            raise T.IpsetError("Set cannot be renamed: a set with the new name already exists")
        s.name = new
        self.sets[new] = s
        self.index[self.index.index(old)] = new
        self._sync()
        for other in self.sets.values():
            if other.type == "list:set" and old in other.members:
                other.members = [new if m == old else m for m in other.members]
                other.elements = {((new,) if k == (old,) else k): e for k, e in other.elements.items()}

    def swap(self, a: str, b: str) -> None:
        x = self._get(a)
        y = self.sets.get(b)
        if y is None:
            raise T.IpsetError("Sets cannot be swapped: the second set does not exist")
        if x.type != y.type or x.family != y.family:  # ip_set_swap: one error for both
            raise T.IpsetError("The sets cannot be swapped: their type does not match")
        # The kernel swaps the sets behind the names: references stay with the names.
        x.name, y.name = b, a
        self.sets[a], self.sets[b] = y, x

    def adt(self, cmd: str, args: list[str], flags: set[str]) -> tuple[str, str]:
        from pynetfilter.netfilter.ipset_adt import adt

        return adt(self, cmd, args, flags)

    def restore(self, text: str, flags: set[str]) -> tuple[str, str]:
        """ipset restore: commands one a line; consecutive add/del of one set go to the kernel as
        one batch, which a later syntax error in the batch cancels."""
        out: list[str] = []
        batch: tuple[str, str] | None = None
        snapshot: tuple[dict[str, IpSet], list[str | None]] | None = None
        for n, line in enumerate(text.splitlines(), 1):
            words = E.shell_words(line)
            if not words or words[0].startswith("#") or words[0] == "COMMIT":
                continue
            cmd = COMMANDS.get(words[0])
            key = (cmd or "", words[1] if len(words) > 1 else "")
            if cmd in ("add", "del") and key != batch:
                batch, snapshot = key, copy.deepcopy((self.sets, self.index))
            try:
                if cmd is None:
                    raise T.usage_error(f"No command specified: unknown argument {words[0]}")
                if cmd == "restore":
                    raise T.usage_error("Command restore is invalid in restore mode.")
                o, _ = self.command(cmd, words[1:], flags)
                out.append(o)
                if cmd not in ("add", "del"):  # the pending batch went to the kernel before this
                    batch, snapshot = None, None
            except T.IpsetError as e:
                if snapshot is not None and (e.usage or e.text.startswith("Syntax error")):
                    self.sets.clear()
                    self.sets.update(snapshot[0])
                    self.index = snapshot[1]
                if not e.usage:
                    e.text = f"Error in line {n}: {e.text}"
                e.out = "".join(out)  # type: ignore[attr-defined]
                raise
        return "".join(out), ""

    def load_save(self, text: str) -> None:
        """``ipset save`` text: create and add lines only."""
        for n, line in enumerate(text.splitlines(), 1):
            try:
                words = E.shell_words(line)
                if not words or words[0].startswith("#"):
                    continue
                if words[0] not in ("create", "add"):
                    raise T.IpsetError(f'expected "create NAME TYPE ..." or "add NAME ELEMENT ...", '
                                       f'got "{line.strip()}"')
                self.command(words[0], words[1:], set())
            except T.IpsetError as e:
                raise e.at_line(n) from None
        for s in self.sets.values():
            for m in s.members:
                if m not in self.sets:
                    raise T.IpsetError(f'list:set {s.name}: member set "{m}" does not exist')


def _same_set(a: IpSet, b: IpSet) -> bool:
    """mtype_same_set: what -exist compares (not hashsize, initval, family)."""
    return (a.maxelem, a.timeout, _bitmask(a), a.counters, a.comment, a.skbinfo, a.range, a.size) == \
        (b.maxelem, b.timeout, _bitmask(b), b.counters, b.comment, b.skbinfo, b.range, b.size)


def _bitmask(s: IpSet) -> int:
    """hash:ip's 128-bit bitmask as the kernel stores it: all ones, an inet netmask in its first
    32 bits only (so inet /32 equals inet6 /128, and inet6 /32 equals neither)."""
    if s.family == "inet6":
        return T.mask(s.netmask, 128)
    return T.mask(s.netmask) << 96 | (1 << 96) - 1

