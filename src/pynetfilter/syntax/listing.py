"""``iptables -L`` (with -n -v -x --line-numbers) and ``iptables -S`` output, in iptables' layout.

Names come from the host's files only (no DNS): without -n, an all-addresses
mask prints as ``anywhere`` and an address as its /etc/hosts or /etc/networks
name when it has one, else numerically, as iptables prints it when no
resolver answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.ext.base import Extension
from pynetfilter.ext.types import fmt_ipv4, mask_to_cidr
from pynetfilter.model.rule import Jump, Rule, Verdict, proto_to_name
from pynetfilter.syntax.names import ipv4_to_anyname

if TYPE_CHECKING:
    from pynetfilter.model.ruleset import Chain, Table
    from pynetfilter.syntax.command import Command


def print_num(n: int, exact: bool) -> str:
    """xtables_print_num in the table layout."""
    if exact:
        return f"{n:8d} "
    if n <= 99999:
        return f"{n:5d} "
    for unit in "KMGT":
        n = ((n + 500) % 2**64) // 1000  # uint64 arithmetic, as in C
        if n <= 9999 or unit == "T":
            return f"{n:4d}{unit} "
    raise AssertionError


def _num_notable(n: int, exact: bool) -> str:
    if exact or n <= 99999:
        return f"{n} "
    for unit in "KMGT":
        n = ((n + 500) % 2**64) // 1000
        if n <= 9999 or unit == "T":
            return f"{n}{unit} "
    raise AssertionError


def _addr(addr: int, mask: int, numeric: bool) -> str:
    if mask == 0 and not numeric:
        return "anywhere"
    cidr = mask_to_cidr(mask)
    name = None if numeric else ipv4_to_anyname(addr)
    if cidr == 32:
        suffix = ""
    elif cidr == -1:
        suffix = "/" + fmt_ipv4(mask)
    else:
        suffix = f"/{cidr}"
    return (name or fmt_ipv4(addr)) + suffix


def target_name(rule: Rule) -> str:
    t = rule.target
    if t is None:
        return ""
    if isinstance(t, Verdict):
        return t.name
    if isinstance(t, Jump):
        return t.chain
    return t.real_name or t.name


def _header(table: Table, chain: Chain, cmd: Command) -> str:
    verbose, exact = cmd.verbose > 0, cmd.exact
    out = [f"Chain {chain.name}"]
    if chain.builtin:
        out.append(f" (policy {chain.policy}")
        if verbose:
            out.append(" " + _num_notable(chain.packets, exact) + "packets, ")
            out.append(_num_notable(chain.bytes, exact) + "bytes")
        out.append(")\n")
    else:
        out.append(f" ({table.references(chain.name)} references)\n")
    if cmd.line_numbers:
        out.append(f"{'num':<4s} ")
    if verbose:
        if not exact:
            out.append(f"{'pkts':>5s} {'bytes':>5s} ")
        else:
            out.append(f"{'pkts':>8s} {'bytes':>10s} ")
    out.append(f"{'target':<9s} ")
    out.append(" prot opt")
    if verbose:
        out.append(f" {'in':<6s} {'out':<6s} ")
    out.append(f" {'source':<19s} ")
    out.append(f" {'destination':<19s} ")
    out.append("\n")
    return "".join(out)


def format_rule(rule: Rule, num: int, cmd: Command) -> str:
    numeric, verbose, exact = cmd.numeric, cmd.verbose > 0, cmd.exact
    ip = rule.ip
    out: list[str] = []
    if cmd.line_numbers:
        out.append(f"{num:<4d} ")
    if verbose:
        if exact:
            out.append(f"{rule.packets:8d} {rule.bytes:8d} ")
        else:
            out.append(print_num(rule.packets, False) + print_num(rule.bytes, False))
    out.append(f"{target_name(rule):<9s} ")
    out.append("!" if ip.inv_proto else " ")
    pname = proto_to_name(ip.proto, numeric)
    # "%-4s " as print_rule_details; with -n always the number
    out.append(f"{ip.proto:<4d} " if numeric or not pname else f"{pname:<4s} ")
    out.append(("!" if ip.inv_frag else "-") + ("f" if ip.frag else "-") + " ")
    if verbose:
        any_if = "*" if numeric else "any"
        i = ("!" if ip.inv_in else "") + (ip.iniface or any_if)
        o = ("!" if ip.inv_out else "") + (ip.outiface or any_if)
        out.append(f" {i:<6s} {o:<6s} ")
    out.append("!" if ip.inv_src else " ")
    out.append(f"{_addr(ip.src, ip.smsk, numeric):<19s} ")
    out.append("!" if ip.inv_dst else " ")
    out.append(f"{_addr(ip.dst, ip.dmsk, numeric):<19s} ")
    if isinstance(rule.target, Jump) and rule.target.goto:
        out.append("[goto] ")
    for m in rule.matches:
        out.append(m.describe(numeric))
    t = rule.target
    if isinstance(t, Extension):
        out.append(t.describe(numeric))
    out.append("\n")
    return "".join(out)


def list_table(table: Table, cmd: Command) -> str:
    chains = [table.chain(cmd.chain)] if cmd.chain else table.ordered_chains()
    out: list[str] = []
    for n, chain in enumerate(chains):
        if n:
            out.append("\n")
        if cmd.rulenum is None:
            out.append(_header(table, chain, cmd))
        for i, r in enumerate(chain.rules, start=1):
            if cmd.rulenum is not None and i != cmd.rulenum:
                continue
            out.append(format_rule(r, i, cmd))
    return "".join(out)


def list_rules(table: Table, cmd: Command) -> str:
    """iptables -S: -P/-N lines, then -A lines (``-c p b`` before the target with -v)."""
    chains = [table.chain(cmd.chain)] if cmd.chain else table.ordered_chains()
    verbose = cmd.verbose > 0
    out: list[str] = []
    if cmd.rulenum is None:
        for c in chains:
            if c.builtin:
                extra = f" -c {c.packets} {c.bytes}" if verbose else ""
                out.append(f"-P {c.name} {c.policy}{extra}\n")
            else:
                out.append(f"-N {c.name}\n")
    for c in chains:
        for i, r in enumerate(c.rules, start=1):
            if cmd.rulenum is not None and i != cmd.rulenum:
                continue
            if verbose:
                text = Rule(r.ip, r.matches, None).save_spec()
                tail = Rule(r.ip, (), r.target).save_spec()[len(r.ip.save()):]
                out.append(f"-A {c.name}{text} -c {r.packets} {r.bytes}{tail}\n")
            else:
                out.append(f"-A {c.name}{r.save_spec()}\n")
    return "".join(out)


def format_rule_line(rule: Rule) -> str:
    """print_firewall_line: the one-line form ``-v`` prints for each rule -A/-I/-D/-C/-R handles."""
    ip = rule.ip
    out = [target_name(rule) + " "]
    out.append("!" if ip.inv_proto else " ")
    pname = proto_to_name(ip.proto, True)
    out.append(f"{pname} " if pname else f"{ip.proto} ")
    out.append("opt " + ("!" if ip.inv_frag else "-") + ("f" if ip.frag else "-") + " ")
    out.append("in " + ("!" if ip.inv_in else "") + (ip.iniface or "*") + " ")
    out.append("out " + ("!" if ip.inv_out else "") + (ip.outiface or "*") + " ")
    out.append(("!" if ip.inv_src else " ") + _addr(ip.src, ip.smsk, True) + " ")
    out.append(("!" if ip.inv_dst else " ") + "-> " + _addr(ip.dst, ip.dmsk, True))
    out.append("  ")
    if isinstance(rule.target, Jump) and rule.target.goto:
        out.append("[goto] ")
    for m in rule.matches:
        out.append(m.describe(True))
    if isinstance(rule.target, Extension):
        out.append(rule.target.describe(True))
    out.append("\n")
    return "".join(out)
