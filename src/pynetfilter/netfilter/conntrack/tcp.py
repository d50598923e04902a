"""TCP connection tracking: the kernel's state table and window tracking (nf_conntrack_proto_tcp.c).

Theory of operation.  Each connection keeps a :class:`TcpInfo` (``conn.proto["tcp"]``): the
state (NONE ... SYN_SENT2), and per direction what has been seen of the sender (``td_end``:
highest sequence sent, ``td_maxend``: highest acceptable end, ``td_maxwin``: largest window,
``td_maxack``, window scale, flags).  A segment is first checked for a header the kernel calls
malformed (truncated, an invalid flag combination: INVALID), a new entry is initialised from
its first segment (a SYN, or with ``nf_conntrack_tcp_loose=1`` any ACK-carrying segment,
picked up mid-stream with liberal window checking), then the transition
``TCP_CONNTRACKS[dir][flags][state]`` gives the new state; "ignore" and "invalid" outcomes,
RST validation and the window check ``tcp_in_window`` decide whether the segment counts.
Sequence numbers are 32-bit and compared with the kernel's before()/after() wrap-around.
Defaults are the kernel's: loose=1, be_liberal=0, ignore_invalid_rst=0, max_retrans=3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynetfilter.netfilter.conntrack.entry import (
    IP_CT_DIR_ORIGINAL,
    IP_CT_DIR_REPLY,
    IPS_ASSURED,
    IPS_CONFIRMED,
    IPS_FIXED_TIMEOUT,
    IPS_SEEN_REPLY,
    Conn,
)
from pynetfilter.netfilter.conntrack.tcp_window import (
    ACK_SET,
    ACT_IGNORE,
    ACT_INVALID,
    CLOSE,
    CLOSE_WAIT,
    ESTABLISHED,
    F_BE_LIBERAL,
    F_CLOSE_INIT,
    F_DATA_UNACKNOWLEDGED,
    F_EXP_CHALLENGE_ACK,
    F_MAXACK_SET,
    F_SACK_PERM,
    F_SIMULTANEOUS_OPEN,
    F_WINDOW_SCALE,
    FIN_SET,
    FIN_WAIT,
    IGNORE,
    LAST_ACK,
    M32,
    MAX,
    NAMES,
    NONE,
    NONE_SET,
    RETRANS,
    RST_SET,
    SYN_RECV,
    SYN_SENT,
    SYN_SENT2,
    SYN_SET,
    SYNACK_SET,
    TIME_WAIT,
    UNACK,
    Side,
    TcpInfo,
    before,
    in_window,
    index_of,
    parse_options,
    seq_plus_len,
)
from pynetfilter.packet.model import ACK, FIN, PSH, RST, SYN, URG, Tcp

if TYPE_CHECKING:
    from pynetfilter.netfilter.conntrack import Conntrack
    from pynetfilter.packet.model import Packet

# Default timeouts in seconds (net.netfilter.nf_conntrack_tcp_timeout_*); NONE is the "new" one.
TIMEOUTS = {NONE: 120, SYN_SENT: 120, SYN_RECV: 60, ESTABLISHED: 432000, FIN_WAIT: 120,
            CLOSE_WAIT: 60, LAST_ACK: 30, TIME_WAIT: 120, CLOSE: 10, SYN_SENT2: 120,
            RETRANS: 300, UNACK: 300}
MAX_RETRANS = 3
LOOSE = 1
IGNORE_INVALID_RST = 0

sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2, sIV, sIG = (
    NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2,
    MAX, IGNORE)

# tcp_conntracks[dir][index][old state] (columns: sNO sSS sSR sES sFW sCW sLA sTW sCL sS2)
TCP_CONNTRACKS = (
    (  # ORIGINAL
        (sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2),  # syn
        (sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR),  # synack
        (sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV),  # fin
        (sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV),  # ack
        (sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL),  # rst
        (sIV,) * 10,  # none
    ),
    (  # REPLY
        (sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2),  # syn
        (sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR),  # synack
        (sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV),  # fin
        (sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG),  # ack
        (sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL),  # rst
        (sIV,) * 10,  # none
    ),
)

# tcp_valid_flags: FIN/SYN/RST/ACK/URG combinations that are not malformed (PSH, ECE, CWR ignored).
VALID_FLAGS = frozenset({SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK,
                         ACK | URG})

ACCEPT, INVALID, REPEAT = 1, -1, -4  # NF_ACCEPT, -NF_ACCEPT (invalid), -NF_REPEAT


def error(pkt: Packet) -> str:
    """tcp_error: why the header is malformed, or "" (checksums are not verified: see README)."""
    th = pkt.l4
    if not isinstance(th, Tcp):
        return "truncated packet"
    if th.doff * 4 < 20 or len(th.options) < th.doff * 4 - 20:
        return "truncated packet"
    if (th.flags & ~(0x40 | 0x80 | PSH) & 0xFF) not in VALID_FLAGS:
        return "invalid tcp flag combination"
    return ""


def new(conn: Conn, th: Tcp, datalen: int) -> str:
    """tcp_new: initialise a new entry from its first segment; a reason if it cannot start one."""
    new_state = TCP_CONNTRACKS[0][index_of(th.flags)][NONE]
    if new_state >= MAX:
        return "invalid new"
    info = TcpInfo()
    s0 = info.seen[0]
    s0.td_end = seq_plus_len(th, datalen)
    s0.td_maxwin = th.window or 1
    if new_state == SYN_SENT:
        s0.td_maxend = s0.td_end
        parse_options(th, s0)
    elif not LOOSE:
        return "picking up connections is off"
    else:
        # Mid-stream pickup: history is lost, so assume SACK and check windows liberally.
        s0.td_maxend = (s0.td_end + s0.td_maxwin) & M32
        s0.flags = info.seen[1].flags = F_SACK_PERM | F_BE_LIBERAL
    info.last_index = NONE_SET
    conn.proto["tcp"] = info
    return ""


def _established(conn: Conn, info: TcpInfo) -> bool:
    """nf_conntrack_tcp_established."""
    return info.state == ESTABLISHED and bool(conn.status & IPS_ASSURED)


def _handle_invalid(ct: Conntrack, conn: Conn, info: TcpInfo, direction: int, index: int,
                    now: float) -> None:
    """nf_tcp_handle_invalid: an out-of-window FIN/RST answering one shortens an assured entry."""
    if not conn.status & IPS_ASSURED or conn.status & IPS_FIXED_TIMEOUT or index not in (RST_SET, FIN_SET):
        return
    if info.last_dir != direction and info.last_index in (FIN_SET, RST_SET):
        expires = conn.timeout - now
        if expires >= 120 and expires > TIMEOUTS[UNACK]:
            conn.timeout = now + TIMEOUTS[UNACK]
    else:
        info.last_index, info.last_dir = index, direction


def packet(ct: Conntrack, conn: Conn, pkt: Packet, ctinfo: int, now: float) -> tuple[int, str]:
    """nf_conntrack_tcp_packet: (ACCEPT | INVALID | REPEAT, why)."""
    th = pkt.l4
    if th.__class__ is not Tcp:
        why = error(pkt)
        if why:
            return INVALID, why
        assert isinstance(th, Tcp)
    else:  # error() for the common header, written out
        doff4 = th.doff * 4
        if doff4 < 20 or len(th.options) < doff4 - 20:
            return INVALID, "truncated packet"
        if (th.flags & ~(0x40 | 0x80 | PSH) & 0xFF) not in VALID_FLAGS:
            return INVALID, "invalid tcp flag combination"
    datalen = len(pkt.payload)
    if not conn.status & IPS_CONFIRMED:
        why = new(conn, th, datalen)
        if why:
            return INVALID, why
    proto = conn.proto
    try:
        info: TcpInfo = proto.tcp
    except AttributeError:
        info = proto["tcp"]
    old_state = info.state
    direction = 0 if ctinfo < 3 else 1
    flags = th.flags
    # get_conntrack_index
    if flags & RST:
        index = RST_SET
    elif flags & SYN:
        index = SYNACK_SET if flags & ACK else SYN_SET
    elif flags & FIN:
        index = FIN_SET
    else:
        index = ACK_SET if flags & ACK else NONE_SET
    new_state = TCP_CONNTRACKS[direction][index][old_state]
    skip_window = False
    if new_state != ESTABLISHED:  # (none of the special cases below is ESTABLISHED's)
        other = info.seen[1 - direction]
        reopen = new_state == SYN_SENT and old_state >= TIME_WAIT
        if reopen and ((info.seen[direction].flags | other.flags) & F_CLOSE_INIT
                       or (info.last_dir == direction and info.last_index == RST_SET)):
            # Reopening a closed/aborted connection: delete it and look the packet up again.
            ct.kill(conn)
            return REPEAT, "reopened"
        if reopen or new_state == IGNORE:
            if (index == SYNACK_SET and info.last_index == SYN_SET and info.last_dir != direction
                    and th.ack_seq == info.last_end):
                # This SYN/ACK answers a SYN we ignored: both ends are in sync, we get in sync.
                old_state, new_state = SYN_SENT, SYN_RECV
                last = info.seen[info.last_dir]
                last.td_end = last.td_maxend = info.last_end
                last.td_maxwin = info.last_win or 1
                last.td_scale = info.last_wscale
                info.last_flags &= ~F_EXP_CHALLENGE_ACK
                last.flags = info.last_flags
                info.seen[direction].reset()
            else:
                info.last_index, info.last_dir, info.last_seq = index, direction, th.seq
                info.last_end = seq_plus_len(th, datalen)
                info.last_win = th.window
                if index == SYN_SET and direction == IP_CT_DIR_ORIGINAL:
                    seen = Side()
                    info.last_flags = info.last_wscale = 0
                    parse_options(th, seen)
                    if seen.flags & F_WINDOW_SCALE:
                        info.last_flags |= F_WINDOW_SCALE
                        info.last_wscale = seen.td_scale
                    if seen.flags & F_SACK_PERM:
                        info.last_flags |= F_SACK_PERM
                    if old_state == LAST_ACK:
                        info.last_flags |= F_EXP_CHALLENGE_ACK
                if old_state == SYN_SENT and index == ACK_SET and direction == IP_CT_DIR_REPLY:
                    info.last_ack = th.ack_seq
                ct.count("ignore")
                return ACCEPT, f"packet (index {index}) in dir {direction} ignored, state {NAMES[old_state]}"
        elif new_state == MAX:
            return INVALID, f"packet (index {index}) in dir {direction} invalid, state {NAMES[old_state]}"
        elif new_state == TIME_WAIT:
            if (old_state == LAST_ACK and index == ACK_SET and info.last_dir != direction
                    and info.last_index == SYN_SET and info.last_flags & F_EXP_CHALLENGE_ACK):
                info.last_flags &= ~F_EXP_CHALLENGE_ACK
                return ACCEPT, "challenge-ack ignored"
        elif new_state == SYN_SENT2:
            info.last_flags |= F_SIMULTANEOUS_OPEN
        elif new_state == SYN_RECV:
            if direction == IP_CT_DIR_REPLY and index == ACK_SET and info.last_flags & F_SIMULTANEOUS_OPEN:
                new_state = ESTABLISHED
        elif new_state == CLOSE and index == RST_SET:
            new_state, skip_window, why = _rst(conn, info, th, direction, old_state, new_state)
            if why:
                return INVALID, why
    if not skip_window:
        reasons: list[str] = []
        res = in_window(info, direction, index, th, datalen, reasons)
        if res == ACT_IGNORE:
            ct.count("ignore")
            return ACCEPT, reasons[0] if reasons else ""
        if res == ACT_INVALID:
            _handle_invalid(ct, conn, info, direction, index, now)
            return INVALID, reasons[0]
    # In-window segment.
    info.last_index, info.last_dir = index, direction
    info.state = new_state
    if old_state != new_state and new_state == FIN_WAIT:
        info.seen[direction].flags |= F_CLOSE_INIT
    sides = info.seen
    sflags = sides[0].flags | sides[1].flags
    timeouts = TIMEOUTS
    state_timeout = timeouts[new_state]
    if info.retrans >= MAX_RETRANS and state_timeout > timeouts[RETRANS]:
        timeout = timeouts[RETRANS]
    elif index == RST_SET:
        timeout = timeouts[CLOSE]
    elif sflags & F_DATA_UNACKNOWLEDGED and state_timeout > timeouts[UNACK]:
        timeout = timeouts[UNACK]
    elif info.last_win == 0 and state_timeout > timeouts[RETRANS]:
        timeout = timeouts[RETRANS]
    else:
        timeout = state_timeout
    if not conn.status & IPS_SEEN_REPLY:
        if th.flags & RST:
            # Only a RST came back: no connection was ever established, forget it at once.
            ct.account(conn, ctinfo, pkt)
            ct.kill(conn)
            return ACCEPT, ""
        if index == SYN_SET and old_state == SYN_SENT:
            return ACCEPT, ""  # a retransmitted SYN does not renew the timeout
        if new_state == ESTABLISHED and timeout > TIMEOUTS[UNACK]:
            timeout = TIMEOUTS[UNACK]  # picked up mid-stream, never answered
    elif (not conn.status & IPS_ASSURED and old_state in (SYN_RECV, ESTABLISHED)
          and new_state == ESTABLISHED):
        conn.status |= IPS_ASSURED
    ct.refresh(conn, ctinfo, pkt, timeout, now)
    return ACCEPT, ""


def _rst(conn: Conn, info: TcpInfo, th: Tcp, direction: int, old_state: int,
         new_state: int) -> tuple[int, bool, str]:
    """The CLOSE transition of a RST: (new state, skip the window check, why it is invalid)."""
    if old_state in (FIN_WAIT, LAST_ACK, TIME_WAIT, CLOSE, CLOSE_WAIT):  # tcp_can_early_drop
        return new_state, True, ""
    other = info.seen[1 - direction]
    if other.flags & F_MAXACK_SET and info.last_index != SYN_SET:
        seq = th.seq
        if seq == 0 and not _established(conn, info):
            return new_state, False, ""  # most likely the answer to a SYN we let through
        if before(seq, other.td_maxack) and not IGNORE_INVALID_RST:
            return new_state, False, "invalid rst"
        if not _established(conn, info) or seq == other.td_maxack:
            return new_state, False, ""
        if info.last_index == ACK_SET and info.last_dir == direction and seq == info.last_end:
            return new_state, False, ""  # a RST right after data in the same direction
        new_state = old_state  # inexact RST: keep the state for a possible challenge ACK
    if ((conn.status & IPS_SEEN_REPLY and info.last_index == SYN_SET)
            or (not conn.status & IPS_ASSURED and info.last_index == ACK_SET)) \
            and th.ack_seq == info.last_end:
        return new_state, True, ""  # RST answering a SYN or ACK we let through unchecked
    if old_state == SYN_SENT and info.last_index == ACK_SET and info.last_dir == IP_CT_DIR_REPLY \
            and th.seq == info.last_ack:
        return new_state, True, ""  # RST for a challenge ACK
    return new_state, False, ""
