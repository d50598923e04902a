"""``conntrack -L`` text (conntrack-tools 1.4 / libnetfilter_conntrack's default format) and a
JSON form of the table that ``pynf conntrack --state FILE`` reads and writes.

Theory of operation.  One line per live entry, fields in libnetfilter_conntrack's order:
protocol name padded to 8 and number, remaining timeout in whole seconds (rounded down, as
``nf_ct_expires / HZ``), the TCP or SCTP state (no SCTP vtags: conntrack-tools 1.4.7 prints
none), the original tuple (with ``packets= bytes=`` when
accounting is on), ``[UNREPLIED]`` until a reply was seen, the reply tuple, ``[ASSURED]``,
``mark=``, ``zone=`` (a zone of both directions; ``zone-orig=``/``zone-reply=`` inside the
tuples otherwise) and ``use=1``.  ``extended`` prefixes ``ipv4     2``.  The JSON state holds
each entry's tuples, status, mark, zone, counters, protocol state and absolute expiry, so a
table saved after one capture can be listed (or extended) later.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from pynetfilter.errors import PynfError
from pynetfilter.netfilter.conntrack.entry import (
    IPS_ASSURED,
    IPS_SEEN_REPLY,
    NF_CT_DEFAULT_ZONE_DIR,
    NF_CT_ZONE_DIR_ORIG,
    NF_CT_ZONE_DIR_REPL,
    Conn,
    Tuple,
)
from pynetfilter.netfilter.conntrack.sctp import NAMES as SCTP_NAMES
from pynetfilter.netfilter.conntrack.tcp_window import NAMES, Side, TcpInfo

PROTO_NAMES = {6: "tcp", 17: "udp", 136: "udplite", 1: "icmp", 58: "icmpv6", 132: "sctp", 47: "gre",
               33: "dccp"}
_PORTS = frozenset({6, 17, 136, 132, 33})


class StateError(PynfError):
    """A conntrack state file that cannot be read."""


def _ip(a: int) -> str:
    return str(ipaddress.IPv4Address(a))


def _tuple(t: Tuple) -> str:
    s = f"src={_ip(t.src)} dst={_ip(t.dst)} "
    if t.proto in _PORTS:
        s += f"sport={t.sport} dport={t.dport} "
    elif t.proto == 1:
        s += f"type={t.dport >> 8} code={t.dport & 0xFF} id={t.sport} "
    elif t.proto == 47:
        s += f"srckey=0x{t.sport:x} dstkey=0x{t.dport:x} "
    return s


def line(conn: Conn, now: float, *, extended: bool = False, acct: bool = False) -> str:
    """One entry as __snprintf_conntrack_default prints it."""
    p = conn.orig.proto
    out = "ipv4     2 " if extended else ""
    out += f"{PROTO_NAMES.get(p, 'unknown'):<8} {p} {max(int(conn.timeout - now), 0)} "
    tcp = conn.proto.get("tcp")
    if p == 6 and tcp is not None:
        out += f"{NAMES[tcp.state]} "
    elif p == 132 and "sctp" in conn.proto:
        out += f"{SCTP_NAMES[conn.proto['sctp']['state']]} "
    out += _tuple(conn.orig)
    if conn.zone and conn.zone_dir == NF_CT_ZONE_DIR_ORIG:
        out += f"zone-orig={conn.zone} "
    if acct:
        out += f"packets={conn.packets[0]} bytes={conn.bytes[0]} "
    if not conn.status & IPS_SEEN_REPLY:
        out += "[UNREPLIED] "
    out += _tuple(conn.reply)
    if conn.zone and conn.zone_dir == NF_CT_ZONE_DIR_REPL:
        out += f"zone-reply={conn.zone} "
    if acct:
        out += f"packets={conn.packets[1]} bytes={conn.bytes[1]} "
    if conn.status & IPS_ASSURED:
        out += "[ASSURED] "
    out += f"mark={conn.mark} "
    if conn.zone and conn.zone_dir == NF_CT_DEFAULT_ZONE_DIR:
        out += f"zone={conn.zone} "
    return out + "use=1"


def listing(conns: list[Conn], now: float, *, extended: bool = False, acct: bool = False) -> str:
    """``conntrack -L`` standard output (the "N flow entries" summary goes to stderr there)."""
    return "".join(line(c, now, extended=extended, acct=acct) + "\n" for c in conns)


# --- JSON state -------------------------------------------------------------------------

def _t2j(t: Tuple) -> list[Any]:
    return [_ip(t.src), _ip(t.dst), t.proto, t.sport, t.dport]


def _j2t(v: Any) -> Tuple:
    src, dst, proto, sport, dport = v
    return Tuple(int(ipaddress.IPv4Address(src)), int(ipaddress.IPv4Address(dst)), int(proto), int(sport),
                 int(dport))


def to_json(conns: list[Conn], now: float, acct: bool) -> str:
    entries = []
    for c in conns:
        e: dict[str, Any] = {"id": c.id, "orig": _t2j(c.orig), "reply": _t2j(c.reply), "status": c.status,
                             "mark": c.mark, "zone": c.zone, "zone_dir": c.zone_dir, "expires": c.timeout,
                             "packets": c.packets, "bytes": c.bytes}
        proto = {k: v for k, v in c.proto.items() if k != "tcp"}
        tcp = c.proto.get("tcp")
        if tcp is not None:
            proto["tcp"] = {k: getattr(tcp, k) for k in TcpInfo.__slots__ if k != "seen"}
            proto["tcp"]["seen"] = [{k: getattr(s, k) for k in Side.__slots__} for s in tcp.seen]
        e["proto"] = proto
        entries.append(e)
    return json.dumps({"pynf-conntrack": 1, "now": now, "acct": acct, "entries": entries}, indent=1) + "\n"


def from_json(text: str) -> tuple[list[Conn], float, bool]:
    """(entries, the clock when saved, accounting) from :func:`to_json` text."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("pynf-conntrack") != 1:
            raise StateError("not a pynf conntrack state (no \"pynf-conntrack\": 1)")
        conns = []
        for e in doc["entries"]:
            proto = dict(e.get("proto", {}))
            if "tcp" in proto:
                d = dict(proto["tcp"])
                seen = [Side(**s) for s in d.pop("seen")]
                proto["tcp"] = TcpInfo(seen=seen, **d)
            conns.append(Conn(_j2t(e["orig"]), _j2t(e["reply"]), zone=int(e["zone"]), status=int(e["status"]),
                              mark=int(e["mark"]), timeout=float(e["expires"]), id=int(e["id"]),
                              packets=list(e["packets"]), bytes=list(e["bytes"]), proto=proto,
                              zone_dir=int(e.get("zone_dir", NF_CT_DEFAULT_ZONE_DIR))))
        return conns, float(doc["now"]), bool(doc.get("acct", False))
    except StateError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise StateError(f"bad conntrack state: {type(e).__name__}: {e}") from None
