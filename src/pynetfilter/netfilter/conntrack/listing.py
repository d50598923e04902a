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
import math
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


def _int(v: Any, what: str, hi: int) -> int:
    if type(v) is not int or not 0 <= v <= hi:
        raise StateError(f"{what}: expected an integer 0..{hi}, got {json.dumps(v)[:40]}")
    return v


def _j2t(v: Any) -> Tuple:
    if not isinstance(v, list) or len(v) != 5 or not all(isinstance(a, str) for a in v[:2]):
        raise StateError("a tuple: expected [src, dst, proto, sport, dport]")
    src, dst, proto, sport, dport = v
    return Tuple(int(ipaddress.IPv4Address(src)), int(ipaddress.IPv4Address(dst)), _int(proto, "proto", 255),
                 _int(sport, "sport", 0xFFFF), _int(dport, "dport", 0xFFFF))


_U32 = 0xFFFFFFFF
_PROTO_KEYS = {"tcp", "sctp", "stream_ts", "nat_masq_oif"}  # what the protocols keep in conn.proto


def _proto_state(e: dict[str, Any], l4proto: int) -> dict[str, Any]:
    """An entry's protocol state, checked: what each protocol reads must be there, well typed."""
    proto = e.get("proto", {})
    if not isinstance(proto, dict) or not set(proto) <= _PROTO_KEYS:
        raise StateError(f"proto: expected an object with keys among {sorted(_PROTO_KEYS)}")
    proto = dict(proto)
    if (l4proto == 6) != ("tcp" in proto):
        raise StateError("proto: a TCP entry keeps its \"tcp\" state, and only a TCP entry")
    if "tcp" in proto:
        d = proto["tcp"]
        if not isinstance(d, dict) or set(d) != set(TcpInfo.__slots__):
            raise StateError(f"proto.tcp: expected the keys {sorted(TcpInfo.__slots__)}")
        seen = d["seen"]
        if not isinstance(seen, list) or len(seen) != 2 or \
                not all(isinstance(s, dict) and set(s) == set(Side.__slots__) for s in seen):
            raise StateError(f"proto.tcp.seen: expected two objects with the keys {sorted(Side.__slots__)}")
        sides = [Side(**{k: _int(v, f"proto.tcp.seen.{k}", _U32) for k, v in s.items()}) for s in seen]
        fields = {k: _int(v, f"proto.tcp.{k}", _U32) for k, v in d.items() if k != "seen"}
        info = TcpInfo(seen=sides, **fields)
        if info.state >= len(NAMES):
            raise StateError(f"proto.tcp.state: expected 0..{len(NAMES) - 1}")
        proto["tcp"] = info
    if "sctp" in proto:
        s = proto["sctp"]
        keys = {"state", "vtag", "init", "hb_failed", "last_dir"}  # conntrack/sctp.py's association
        if l4proto != 132 or not isinstance(s, dict) or set(s) != keys:
            raise StateError(f"proto.sctp: an SCTP entry's state with the keys {sorted(keys)}")
        if _int(s["state"], "proto.sctp.state", 255) >= len(SCTP_NAMES) or type(s["hb_failed"]) is not bool \
                or _int(s["last_dir"], "proto.sctp.last_dir", 1) < 0:
            raise StateError(f"proto.sctp: state 0..{len(SCTP_NAMES) - 1}, hb_failed a boolean")
        for k in ("vtag", "init"):
            if type(s[k]) is not list or len(s[k]) != 2:
                raise StateError(f"proto.sctp.{k}: expected two integers")
            for v in s[k]:
                _int(v, f"proto.sctp.{k}", _U32)
    if "stream_ts" in proto and not _finite(proto["stream_ts"]):
        raise StateError("proto.stream_ts: expected a finite number")
    if "nat_masq_oif" in proto and not isinstance(proto["nat_masq_oif"], str):
        raise StateError("proto.nat_masq_oif: expected an interface name")
    return proto


def _finite(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


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
        if not isinstance(doc.get("entries"), list) or not _finite(doc.get("now")):
            raise StateError('expected "now" (a finite number) and "entries" (a list)')
        for n, e in enumerate(doc["entries"], start=1):
            try:
                if not isinstance(e, dict):
                    raise StateError("expected an object")
                orig, reply = _j2t(e["orig"]), _j2t(e["reply"])
                if orig.proto != reply.proto:
                    raise StateError("orig, reply: expected tuples of one protocol")
                packets, byts = e["packets"], e["bytes"]
                pairs = type(packets) is list and type(byts) is list and len(packets) == 2 == len(byts)
                if not pairs:
                    raise StateError("packets, bytes: expected two counters each")
                if not _finite(e["expires"]):
                    raise StateError("expires: expected a finite number")
                conns.append(Conn(orig, reply, zone=_int(e["zone"], "zone", 0xFFFF),
                                  status=_int(e["status"], "status", _U32),
                                  mark=_int(e["mark"], "mark", _U32),
                                  timeout=float(e["expires"]), id=_int(e["id"], "id", _U32),
                                  packets=[_int(x, "packets", 2**64 - 1) for x in packets],
                                  bytes=[_int(x, "bytes", 2**64 - 1) for x in byts],
                                  proto=_proto_state(e, orig.proto),
                                  zone_dir=_int(e.get("zone_dir", NF_CT_DEFAULT_ZONE_DIR), "zone_dir", 3)))
            except StateError as err:
                raise StateError(f"entry {n}: {err}") from None
        return conns, float(doc["now"]), doc.get("acct", False) is True
    except StateError:
        raise
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise StateError(f"bad conntrack state: {type(e).__name__}: {str(e)[:80]}") from None
