"""nfacct objects (nfnetlink_acct): named packet and byte counters that ``-m nfacct`` adds to.

``nfacct list`` prints one object a line, in creation order::

    { pkts = 00000000000000000012, bytes = 00000000000000003456 } = web;

:func:`load` reads that text; :func:`dump` writes it.  Objects with a quota
(``nfacct add NAME --quota``) print more fields; they are refused here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pynetfilter.errors import PynfError

NAME_MAX = 32  # NFACCT_NAME_MAX, with the terminating NUL
_LINE = re.compile(r"\{ pkts = (\d+), bytes = (\d+) \} = (.+);", re.ASCII)


class NfacctError(PynfError):
    """Bad ``nfacct list`` text."""


@dataclass(slots=True)
class NfAcct:
    name: str
    pkts: int = 0
    bytes: int = 0


def load(text: str) -> dict[str, NfAcct]:
    objs: dict[str, NfAcct] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _LINE.fullmatch(line.strip())
        if m is None:
            raise NfacctError(f'nfacct line {n}: expected "{{ pkts = N, bytes = N }} = NAME;", '
                              f'got "{line.strip()}"')
        name = m.group(3)
        if len(name) > NAME_MAX - 1:
            raise NfacctError(f'nfacct line {n}: name "{name}" is longer than {NAME_MAX - 1} characters')
        if name in objs:
            raise NfacctError(f'nfacct line {n}: object "{name}" given twice')
        objs[name] = NfAcct(name, int(m.group(1)), int(m.group(2)))
    return objs


def dump(objs: dict[str, NfAcct]) -> str:
    return "".join(f"{{ pkts = {o.pkts:020d}, bytes = {o.bytes:020d} }} = {o.name};\n" for o in objs.values())
