"""SCTP connection tracking (nf_conntrack_proto_sctp.c).

Theory of operation.  An association's entry keeps (``conn.proto["sctp"]``) its state, the
verification tag each direction's packets must carry (``vtag[dir]``, learnt from the INIT and
INIT ACK initiate tags, or from the first packet of an entry made by another chunk), which
directions have sent an INIT (``init``) and the heartbeat tag-failure memory.  A packet's
chunks are walked as the kernel walks them: a packet with no chunk, a zero-length chunk, a
COOKIE ECHO or COOKIE ACK that is not first, or an INIT / INIT ACK / SHUTDOWN COMPLETE bundled
after another chunk is INVALID.  A new entry cannot start with ABORT, SHUTDOWN COMPLETE or
COOKIE ACK, nor with a chunk the table has no transition for (DATA, SACK ...: "out of the
blue"); INIT must carry tag 0.  Unless the packet holds a chunk with its own tag rules (INIT,
SHUTDOWN COMPLETE, COOKIE ECHO, ABORT, SHUTDOWN ACK, HEARTBEAT, HEARTBEAT ACK) its tag must be
the direction's.  Each chunk then moves the state by :data:`TRANSITIONS` (chunk, direction,
state); DATA and the others leave it.  Reaching ESTABLISHED sets ASSURED.  The entry's timeout
is the new state's (sysctl defaults, :data:`TIMEOUTS`), except that a retransmitted INIT on a
closed entry and a HEARTBEAT on another path (a new tag) pass without renewing it.  A wrong
CRC32c makes a received packet INVALID (nf_conntrack_checksum=1, as ``ip_summed`` is NONE for
what arrives on veth); packets sent by the host are not checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_ORIGINAL,
    IP_CT_ESTABLISHED_REPLY,
    IPS_ASSURED,
    IPS_CONFIRMED,
)
from pynetfilter.packet.model import Sctp

if TYPE_CHECKING:
    from pynetfilter.netfilter.conntrack import Conntrack
    from pynetfilter.netfilter.conntrack.entry import Conn
    from pynetfilter.packet.model import Packet

# enum sctp_conntrack
NONE, CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED = 0, 1, 2, 3, 4
SHUTDOWN_SENT, SHUTDOWN_RECD, SHUTDOWN_ACK_SENT, HEARTBEAT_SENT, MAX = 5, 6, 7, 8, 9
NAMES = ("NONE", "CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTABLISHED", "SHUTDOWN_SENT", "SHUTDOWN_RECD",
         "SHUTDOWN_ACK_SENT", "HEARTBEAT_SENT")
# net.netfilter.nf_conntrack_sctp_timeout_*; NONE (a packet whose chunks changed nothing) takes CLOSED's.
TIMEOUTS = (10, 10, 3, 3, 210, 3, 3, 3, 30)

# Chunk types (RFC 9260 3.2) and the T bit of ABORT / SHUTDOWN COMPLETE.
DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK = 0, 1, 2, 3, 4, 5
ABORT, SHUTDOWN, SHUTDOWN_ACK = 6, 7, 8
ERROR, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN_COMPLETE = 9, 10, 11, 14
FLAG_T = 1
IPPROTO_SCTP = 132

_CL, _CW, _CE, _ES, _SS, _SR, _SA, _HS, _IV = (CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED, SHUTDOWN_SENT,
                                               SHUTDOWN_RECD, SHUTDOWN_ACK_SENT, HEARTBEAT_SENT, MAX)
# sctp_conntracks[dir][chunk] indexed by the current state NONE .. HEARTBEAT_SENT (kernel 6.x: an
# INIT leaves a new entry CLOSED, not COOKIE_WAIT; HEARTBEAT_ACKED is gone).  MAX means invalid.
_ORIG = {
    INIT: (_CL, _CL, _CW, _CE, _ES, _CL, _CL, _SA, _CW),
    INIT_ACK: (_CL, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _CL),
    ABORT: (_CL,) * 9,
    SHUTDOWN: (_CL, _CL, _CW, _CE, _SS, _SS, _SR, _SA, _CL),
    SHUTDOWN_ACK: (_SA, _CL, _CW, _CE, _ES, _SA, _SA, _SA, _SA),
    ERROR: (_CL, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _CL),
    COOKIE_ECHO: (_CL, _CL, _CE, _CE, _ES, _SS, _SR, _SA, _CL),
    COOKIE_ACK: (_CL, _CL, _CW, _ES, _ES, _SS, _SR, _SA, _CL),
    SHUTDOWN_COMPLETE: (_CL, _CL, _CW, _CE, _ES, _SS, _SR, _CL, _CL),
    HEARTBEAT: (_HS, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _HS),
    HEARTBEAT_ACK: (_CL, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _HS),
}
_REPLY = {
    INIT: (_IV, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _IV),
    INIT_ACK: (_IV, _CW, _CW, _CE, _ES, _SS, _SR, _SA, _IV),
    ABORT: (_IV, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _IV),
    SHUTDOWN: (_IV, _CL, _CW, _CE, _SR, _SS, _SR, _SA, _IV),
    SHUTDOWN_ACK: (_IV, _CL, _CW, _CE, _ES, _SA, _SA, _SA, _IV),
    ERROR: (_IV, _CL, _CW, _CL, _ES, _SS, _SR, _SA, _IV),
    COOKIE_ECHO: (_IV, _CL, _CE, _CE, _ES, _SS, _SR, _SA, _IV),
    COOKIE_ACK: (_IV, _CL, _CW, _ES, _ES, _SS, _SR, _SA, _IV),
    SHUTDOWN_COMPLETE: (_IV, _CL, _CW, _CE, _ES, _SS, _SR, _CL, _IV),
    HEARTBEAT: (_IV, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _HS),
    HEARTBEAT_ACK: (_IV, _CL, _CW, _CE, _ES, _SS, _SR, _SA, _ES),
}
TRANSITIONS = (_ORIG, _REPLY)
# Chunks whose tag is checked by their own rule, not against the direction's tag (Sec 8.5.1).
_OWN_TAG_RULE = frozenset({INIT, SHUTDOWN_COMPLETE, COOKIE_ECHO, ABORT, SHUTDOWN_ACK, HEARTBEAT,
                           HEARTBEAT_ACK})
ACCEPT, INVALID = 1, -1


def new_state(direction: int, state: int, chunk: int) -> int:
    """sctp_new_state: chunks the table does not know (DATA, SACK, ...) keep the state."""
    row = TRANSITIONS[direction].get(chunk)
    return state if row is None else row[state]


def chunks(sh: Sctp, tail: bytes) -> list[tuple[int, int, bytes]] | None:
    """The chunks as for_each_sctp_chunk finds them, each with the bytes from its value on to the
    end of the packet (INIT's header may be read past a short chunk); None for a zero length."""
    seg = b"".join(bytes((t, f)) + (4 + len(v)).to_bytes(2, "big") + v + bytes(-len(v) % 4)
                   for t, f, v in sh.chunks) + tail
    out, off = [], 0
    while off + 4 <= len(seg):
        length = int.from_bytes(seg[off + 2:off + 4], "big")
        if length == 0:
            return None
        out.append((seg[off], seg[off + 1], seg[off + 4:]))
        off += (length + 3) & ~3
    return out


def basic_checks(found: list[tuple[int, int, bytes]] | None) -> str:
    """do_basic_checks: why the chunk layout is invalid, or ""."""
    if found is None:
        return "zero-length chunk"
    if not found:
        return "no chunks"
    for i, (ctype, _f, _v) in enumerate(found[1:], 1):
        if ctype in (COOKIE_ACK, COOKIE_ECHO, INIT, INIT_ACK, SHUTDOWN_COMPLETE) or any(
                t in (INIT, INIT_ACK, SHUTDOWN_COMPLETE) for t, _g, _w in found[:i]):
            return "bad chunk combination"
    return ""


def _init_tag(value: bytes) -> int | None:
    """The initiate tag of an INIT / INIT ACK: the whole 16-byte header must be in the packet."""
    return int.from_bytes(value[:4], "big") if len(value) >= 16 else None


def _new(info: dict[str, Any], sh: Sctp, found: list[tuple[int, int, bytes]]) -> bool:
    """sctp_new: may this packet start an entry, and the tag it sets."""
    for ctype, _f, value in found:
        if new_state(IP_CT_DIR_ORIGINAL, NONE, ctype) in (NONE, MAX):
            return False
        if ctype == INIT:
            tag = _init_tag(value)
            if sh.vtag or tag is None:
                return False
            info["vtag"][1] = tag  # what the answers must carry
        elif ctype == HEARTBEAT:
            info["vtag"][0] = sh.vtag  # a second path of an association we have not seen
        else:
            info["vtag"][1] = sh.vtag  # out of the blue: the answer (ABORT) reflects the tag
    return True


def packet(ct: Conntrack, conn: Conn, pkt: Packet, ctinfo: int, now: float) -> tuple[int, str]:
    """nf_conntrack_sctp_packet: (ACCEPT | INVALID, why)."""
    sh = pkt.l4
    if not isinstance(sh, Sctp) or pkt.l4_partial:
        return INVALID, "short packet"
    if pkt.csum_residual and pkt.meta.iif is not None:
        return INVALID, "bad CRC"
    found = chunks(sh, pkt.payload)
    why = basic_checks(found)
    if why or found is None:
        return INVALID, why
    types = {c[0] for c in found}
    if not conn.status & IPS_CONFIRMED:
        if types & {ABORT, SHUTDOWN_COMPLETE, COOKIE_ACK}:
            return INVALID, "out of the blue ABORT, SHUTDOWN COMPLETE or COOKIE ACK"
        info = {"state": NONE, "vtag": [0, 0], "init": [0, 0], "hb_failed": False, "last_dir": 0}
        if not _new(info, sh, found):
            return INVALID, "cannot start an association"
        conn.proto["sctp"] = info
    info = conn.proto["sctp"]
    vtag, init = info["vtag"], info["init"]
    d = 0 if ctinfo < IP_CT_ESTABLISHED_REPLY else 1
    if not types & _OWN_TAG_RULE and sh.vtag != vtag[d]:
        return INVALID, "verification tag"
    old = new = NONE
    ignore = False
    for ctype, flags, value in found:
        if ctype == INIT:
            if sh.vtag:
                return INVALID, "INIT with a verification tag"
        elif ctype in (ABORT, SHUTDOWN_COMPLETE):
            # The T bit: the sender reflects the receiver's tag (it had no association).
            if sh.vtag != vtag[1 - d if flags & FLAG_T else d]:
                return INVALID, "verification tag"
        elif ctype == COOKIE_ECHO:
            if sh.vtag != vtag[d]:
                return INVALID, "verification tag"
        elif ctype == COOKIE_ACK:
            init[0] = init[1] = 0
        elif ctype in (HEARTBEAT, HEARTBEAT_ACK):
            if vtag[d] == 0:
                vtag[d] = sh.vtag
            elif sh.vtag != vtag[d]:
                if DATA in types or ignore:
                    return INVALID, "verification tag"
                if ctype == HEARTBEAT:
                    # Maybe another path of a restarted association: let it pass, unrenewed,
                    # and take the new tags if the answer comes back with one too.
                    info["hb_failed"], info["last_dir"] = True, d
                    ignore = True
                    continue
                if not info["hb_failed"] or info["last_dir"] == d:
                    return INVALID, "verification tag"
                info["hb_failed"] = False
                vtag[d], vtag[1 - d] = sh.vtag, 0
            else:
                info["hb_failed"] = False
        old = info["state"]
        new = new_state(d, old, ctype)
        if new == MAX:
            return INVALID, f"chunk {ctype} in {NAMES[old]}"
        if ctype == INIT:
            tag = _init_tag(value)
            if tag is None:
                return INVALID, "short INIT"
            if init[d] and init[1 - d]:
                init[1 - d] = 0
            init[d] = 1
            vtag[1 - d] = tag
            # A retransmitted INIT does not renew a closed entry: port reuse by a client (or a
            # NAT box) must not keep it, and its NAT binding, alive for ever.
            if new == CLOSED and old == CLOSED and conn.status & IPS_CONFIRMED:
                ignore = True
        elif ctype == INIT_ACK:
            tag = _init_tag(value)
            if tag is None:
                return INVALID, "short INIT ACK"
            peer = vtag[1 - d]
            if not init[1 - d] and peer and peer != tag:
                return INVALID, "INIT ACK tag"
            if init[d] and init[1 - d] and peer != tag:
                return INVALID, "INIT ACK tag (collision)"
            vtag[1 - d] = tag
        info["state"] = new
        if new != old and new == ESTABLISHED:
            conn.status |= IPS_ASSURED
    if ignore:
        return ACCEPT, "not renewed"  # nor counted: nf_ct_refresh_acct is skipped
    ct.refresh(conn, ctinfo, pkt, TIMEOUTS[new], now)
    return ACCEPT, ""


def state_name(conn: Conn) -> str | None:
    """The state conntrack -L prints for an SCTP entry."""
    info = conn.proto.get("sctp")
    return None if info is None else NAMES[info["state"]]
