"""Rules iptables-save's text cannot carry, kept exactly in state files.

iptables accepts values its own save text cannot give back: a newline in a
comment or an interface name (``-i $'e\\n1'``), a space, tab or double quote
in a value printed bare (``-i 'e 1'``, ``--hashlimit-name 'h 1'``).
iptables-save prints them as they are, and the text then reads back as
something else, or fails.  A state file must give back what was accepted, so
such a rule is written as two lines::

    #pynf-exact [0:0] ["-i", "e\\n1", "-j", "ACCEPT"]
    -A INPUT --pynf-exact-rule-above

The first holds the rule's words as JSON (every byte kept, undecodable ones as
surrogates); the second stands where the rule goes and makes iptables-restore
fail loudly on the block rather than load something else.  pynetfilter reads
the pair back as the rule.  Detecting such rules costs a substring test per
string value; only the rare rules it flags are re-parsed to be sure.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING

from pynetfilter.errors import PynfError
from pynetfilter.ext.types import save_string

if TYPE_CHECKING:
    from pynetfilter.model.rule import Rule

MARK = "#pynf-exact "
PLACEHOLDER = "--pynf-exact-rule-above"
_BREAKS_WORDS = frozenset(' \t"')  # add_param_to_argv() splits or groups at these outside quotes
_COUNTERS = re.compile(r"\[([0-9]+):([0-9]+)\] ")


_FIELDS: dict[type, tuple[str, ...]] = {}  # field names per part class (dataclasses.fields is slow)


def _strings(part: object, empty: bool = False) -> list[tuple[str, str]]:
    """The part's string values (with *empty*, the empty ones too)."""
    names = _FIELDS.get(type(part))
    if names is None:
        is_dc = dataclasses.is_dataclass(part)
        names = _FIELDS[type(part)] = tuple(f.name for f in dataclasses.fields(part)) if is_dc else ()
    out = []
    for name in names:
        v = getattr(part, name, None)
        if isinstance(v, str) and (v or empty):
            out.append((name, v))
    return out


def _lossy(part: object) -> bool:
    exact = getattr(part, "exact_save", None)
    return exact is not None and exact() is not None


def _render(rule: Rule) -> str:
    """Rule.save_spec, with each extension's exact_save() where its save() loses something."""
    from pynetfilter.model.rule import Jump, Verdict

    out = [rule.ip.save()]
    for m in rule.matches:
        out.append(f" -m {m.name}{m.exact_save() or m.save()}")
    t = rule.target
    if isinstance(t, Verdict | Jump):
        out.append(t.save())
    elif t is not None:
        out.append(f" -j {t.name}{t.exact_save() or t.save()}")
    return "".join(out)


def _any_iface(part: object) -> bool:
    """``-i +``: kept as "+" by the kernel (and compared so by -D/-C), not printed by iptables-save."""
    return getattr(part, "iniface", None) == "+" or getattr(part, "outiface", None) == "+"


def _bare_empty(part: object, text: str) -> bool:
    """An empty value printed bare (``--physdev-in  -j``): the next word would take its place.
    (A double blank alone is no sign: libxt_nfacct prints ``--nfacct-name  NAME``.)"""
    return (text.endswith(" ") or "  " in text) and any(not v for _, v in _strings(part, True))


def _suspect(value: str, text: str) -> bool:
    if "\n" in value:
        return True
    # Printed quoted (xtables_save_string) a value reads back whole; printed bare it does not.
    return not _BREAKS_WORDS.isdisjoint(value) and save_string(value)[1:] not in text


def needs_exact(rule: Rule, memo: dict[int, bool], texts: dict[int, str]) -> bool:
    """Whether the rule's save text might not read back as the rule.

    *texts* holds each part's save text by id() (as Rule.save_spec leaves it);
    *memo* keeps each part's answer, since rules share parts.
    """
    parts: list[object] = [rule.ip, *rule.matches]
    if rule.target is not None:
        parts.append(rule.target)
    for p in parts:
        got = memo.get(id(p))
        if got is None:
            text = texts.get(id(p), "")
            got = memo[id(p)] = _bare_empty(p, text) or any(_suspect(v, text) for _, v in _strings(p)) \
                or _any_iface(p) or _lossy(p)
        if got:
            return True
    return False


def _parse_words(words: list[str], chain: str, table: str) -> Rule | None:
    from pynetfilter.syntax.command import parse_command

    try:
        cmd = parse_command(["-A", chain, *words], in_restore=True, default_table=table)
    except PynfError:
        return None
    return cmd.rules[0] if len(cmd.rules) == 1 else None


def _same(parsed: Rule | None, rule: Rule) -> bool:
    if parsed is None:
        return False
    if parsed == rule:
        return True
    stored = [m.stored() if m.rewrites else m for m in parsed.matches]
    t = parsed.target
    if t is not None and getattr(t, "rewrites", False):
        t = t.stored()  # type: ignore[union-attr]
    return (parsed.ip, tuple(stored), t) == rule.spec()


def _part_text(part: object) -> str:
    from pynetfilter.model.rule import IpMatch

    save = getattr(part, "save", None)
    if isinstance(part, IpMatch) or save is None:
        return part.save() if isinstance(part, IpMatch) else ""
    return str(save())


def exact_words(rule: Rule, chain: str, table: str) -> list[str]:
    """Words that parse back to *rule* exactly (after ``-A CHAIN``).

    Each string value that might not survive the save text is swapped for a
    plain token, the rule is rendered, split into words, and the tokens are
    swapped back; the result is parsed again and must give the same rule.
    """
    from pynetfilter.model.rule import IpMatch
    from pynetfilter.model.rule import Rule as RuleClass
    from pynetfilter.syntax.restore import split_params

    swaps: dict[str, str] = {}

    def swapped(part: object) -> object:
        changes = {}
        # An empty interface matches any and is not printed; other empty values may print bare.
        empty = not isinstance(part, IpMatch) and _bare_empty(part, _part_text(part))
        for name, v in _strings(part, empty):
            if not v or v == "+" and name in ("iniface", "outiface") or "\n" in v \
                    or not _BREAKS_WORDS.isdisjoint(v):
                token = f"PYNFEXACT{len(swaps)}X"
                swaps[token] = v
                changes[name] = token
        if not changes:
            return part
        try:
            return dataclasses.replace(part, **changes)  # type: ignore[type-var]
        except (TypeError, ValueError):
            return part

    stand_in = RuleClass(swapped(rule.ip), tuple(swapped(m) for m in rule.matches),  # type: ignore[arg-type]
                         swapped(rule.target) if rule.target is not None else None)  # type: ignore[arg-type]
    words = split_params(_render(stand_in))
    for i, w in enumerate(words):
        for token, v in swaps.items():
            if token in w:
                w = w.replace(token, v)
        words[i] = w
    if not _same(_parse_words(words, chain, table), rule):
        raise PynfError(f"chain {chain}: a rule whose values iptables-save cannot print "
                        f"({rule.save_spec().strip()[:60]}...) could not be kept exactly")
    return words


def exact_lines(rule: Rule, chain: str, table: str, counters: bool) -> str:
    """The two state lines of a rule iptables-save's text cannot carry."""
    prefix = f"[{rule.packets}:{rule.bytes}] " if counters else ""
    return (f"{MARK}{prefix}{json.dumps(exact_words(rule, chain, table))}\n"
            f"-A {chain} {PLACEHOLDER}")


def read_mark(line: str) -> tuple[tuple[str, str] | None, list[str]]:
    """A ``#pynf-exact`` line's counters and words (raises PynfError when malformed)."""
    body = line[len(MARK):]
    counters = None
    m = _COUNTERS.match(body)
    if m is not None:
        counters, body = (m.group(1), m.group(2)), body[m.end():]
    try:
        words = json.loads(body)
    except ValueError:
        raise PynfError("#pynf-exact: expected a JSON list of the rule's words") from None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise PynfError("#pynf-exact: expected a JSON list of the rule's words")
    return counters, words
