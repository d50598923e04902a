"""TCP window tracking (tcp_in_window of nf_conntrack_proto_tcp.c) and the definitions it shares.

Theory of operation.  Per direction conntrack remembers what the sender has sent (``td_end``),
the highest end the receiver's window allows (``td_maxend``), the largest window seen
(``td_maxwin``) and the highest ACK sent (``td_maxack``).  A segment is in window when its
sequence range intersects what the receiver can accept and its (S)ACK acknowledges data that
was seen, within MAXACKWINDOW; outside, it is INVALID (or ignored, for retransmissions and
overly delayed ACKs).  All arithmetic is modulo 2**32 with the kernel's before()/after().
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pynetfilter.netfilter.conntrack.entry import IP_CT_DIR_REPLY
from pynetfilter.packet.model import ACK, FIN, RST, SYN, Tcp

# enum tcp_conntrack
NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2 = range(10)
MAX, IGNORE, RETRANS, UNACK = 10, 11, 12, 13
NAMES = ("NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
         "TIME_WAIT", "CLOSE", "SYN_SENT2")

# enum tcp_bit_set: the row of the transition table a segment's flags select.
SYN_SET, SYNACK_SET, FIN_SET, ACK_SET, RST_SET, NONE_SET = range(6)

# ip_ct_tcp_state.flags / ip_ct_tcp.last_flags
F_WINDOW_SCALE, F_SACK_PERM, F_CLOSE_INIT, F_BE_LIBERAL = 0x01, 0x02, 0x04, 0x08
F_DATA_UNACKNOWLEDGED, F_MAXACK_SET, F_EXP_CHALLENGE_ACK, F_SIMULTANEOUS_OPEN = 0x10, 0x20, 0x40, 0x80

ACT_IGNORE, ACT_INVALID, ACT_ACCEPT = 0, 1, 2  # enum nf_ct_tcp_action
MAXACKWINCONST = 66000
M32 = 0xFFFFFFFF

BE_LIBERAL = 0  # net.netfilter.nf_conntrack_tcp_be_liberal


def before(a: int, b: int) -> bool:
    return ((a - b) & M32) >= 0x80000000


def after(a: int, b: int) -> bool:
    return ((b - a) & M32) >= 0x80000000


@dataclass(slots=True)
class Side:
    """struct ip_ct_tcp_state: what has been seen of one direction's sender."""

    td_end: int = 0
    td_maxend: int = 0
    td_maxwin: int = 0
    td_maxack: int = 0
    td_scale: int = 0
    flags: int = 0

    def reset(self) -> None:
        self.td_end = self.td_maxend = self.td_maxwin = self.td_maxack = self.td_scale = 0
        self.flags &= F_BE_LIBERAL


@dataclass(slots=True)
class TcpInfo:
    """struct ip_ct_tcp."""

    state: int = NONE
    seen: list[Side] = field(default_factory=lambda: [Side(), Side()])
    last_dir: int = 0
    last_index: int = NONE_SET
    last_seq: int = 0
    last_ack: int = 0
    last_end: int = 0
    last_win: int = 0
    last_wscale: int = 0
    last_flags: int = 0
    retrans: int = 0


def index_of(flags: int) -> int:
    """get_conntrack_index."""
    if flags & RST:
        return RST_SET
    if flags & SYN:
        return SYNACK_SET if flags & ACK else SYN_SET
    if flags & FIN:
        return FIN_SET
    return ACK_SET if flags & ACK else NONE_SET


def seq_plus_len(th: Tcp, datalen: int) -> int:
    """segment_seq_plus_len: the sequence number after this segment (SYN and FIN count one)."""
    return (th.seq + datalen + (1 if th.flags & SYN else 0) + (1 if th.flags & FIN else 0)) & M32


def parse_options(th: Tcp, side: Side) -> None:
    """tcp_options: window scale and SACK-permitted from a SYN's options."""
    opts = th.options
    if not opts:
        return
    side.td_scale = 0
    side.flags &= F_BE_LIBERAL
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:  # EOL
            return
        if kind == 1:  # NOP
            i += 1
            continue
        if n - i < 2:
            return
        size = opts[i + 1]
        if size < 2 or size > n - i:  # silly or partial option
            return
        if kind == 4 and size == 2:
            side.flags |= F_SACK_PERM
        elif kind == 3 and size == 3:
            side.td_scale = min(opts[i + 2], 14)
            side.flags |= F_WINDOW_SCALE
        i += size


def highest_sack(th: Tcp, sack: int) -> int:
    """tcp_sack: the highest right edge of the SACK blocks, if above *sack*."""
    opts = th.options
    if not opts or (len(opts) == 12 and opts[:4] == b"\x01\x01\x08\x0a"):  # timestamp only
        return sack
    i, n = 0, len(opts)
    while i < n:
        kind = opts[i]
        if kind == 0:
            return sack
        if kind == 1:
            i += 1
            continue
        if n - i < 2:
            return sack
        size = opts[i + 1]
        if size < 2 or size > n - i:
            return sack
        if kind == 5 and size >= 10 and (size - 2) % 8 == 0:
            for b in range(i + 2, i + size, 8):
                edge = int.from_bytes(opts[b + 4:b + 8], "big")
                if after(edge, sack):
                    sack = edge
            return sack
        i += size
    return sack


def _init_sender(sender: Side, receiver: Side, th: Tcp, end: int, win: int,
                 direction: int) -> None:
    sender.td_end = sender.td_maxend = end
    sender.td_maxwin = win or 1
    parse_options(th, sender)
    # RFC 1323: scaling only when both sides offered it.
    if direction == IP_CT_DIR_REPLY and not (
            sender.flags & F_WINDOW_SCALE and receiver.flags & F_WINDOW_SCALE):
        sender.td_scale = receiver.td_scale = 0


def log_invalid(sender: Side, action: int, why: str, reasons: list[str]) -> int:
    """nf_tcp_log_invalid: liberal senders get everything accepted."""
    if sender.flags & F_BE_LIBERAL or BE_LIBERAL:
        return ACT_ACCEPT
    reasons.append(why)
    return action


def in_window(info: TcpInfo, direction: int, index: int, th: Tcp, datalen: int, reasons: list[str]) -> int:
    """tcp_in_window: is the segment inside what both ends can have sent and acknowledged?

    (Every packet of a TCP connection comes here: before()/after() are written out inline,
    ``before(a, b)`` as ``(a - b) & M32 >= 0x80000000`` and ``after(a, b)`` as ``before(b, a)``.)"""
    seen = info.seen
    sender, receiver = seen[direction], seen[1 - direction]
    seq = th.seq
    ack = sack = th.ack_seq
    win_raw = win = th.window
    flags = th.flags
    end = (seq + datalen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & M32  # seq_plus_len
    if receiver.flags & F_SACK_PERM:
        sack = highest_sack(th, sack)
    if sender.td_maxwin == 0:
        if flags & SYN:
            _init_sender(sender, receiver, th, end, win, direction)
            if not flags & ACK:  # simultaneous open
                return ACT_ACCEPT
        else:
            sender.td_end = end
            swin = (win << sender.td_scale) & M32
            sender.td_maxwin = swin or 1
            sender.td_maxend = (end + sender.td_maxwin) & M32
            if receiver.td_maxwin == 0:
                receiver.td_end = receiver.td_maxend = sack
            elif sack == (receiver.td_end + 1) & M32:  # likely a keepalive's answer
                receiver.td_end = (receiver.td_end + 1) & M32
    elif flags & SYN and after(end, sender.td_end) and info.state in (SYN_SENT, SYN_RECV):
        # RFC 793: a reinitialised TCP uses higher sequence numbers: start over for this side.
        _init_sender(sender, receiver, th, end, win, direction)
        if direction == IP_CT_DIR_REPLY and not flags & ACK:
            return ACT_ACCEPT
    if not flags & ACK or flags & (ACK | RST) == ACK | RST and ack == 0:
        ack = sack = receiver.td_end
    if flags & RST and seq == 0 and info.state == SYN_SENT:  # RST answering a SYN
        seq = end = sender.td_end
    s_maxwin = sender.td_maxwin
    maxackwin = s_maxwin if s_maxwin > MAXACKWINCONST else MAXACKWINCONST
    r_end, r_maxwin = receiver.td_end, receiver.td_maxwin
    s_end, s_maxend = sender.td_end, sender.td_maxend
    if (seq - ((s_maxend + 1) & M32)) & M32 < 0x80000000:  # not before(seq, maxend + 1)
        overshot = (end - s_maxend + 1) & M32
        ack_ok = (((r_end - maxackwin - 1) & M32) - sack) & M32 >= 0x80000000
        in_recv = bool(r_maxwin) and (((s_end - r_maxwin - 1) & M32) - end) & M32 >= 0x80000000
        if (in_recv and ack_ok and overshot <= r_maxwin
                and (sack - ((r_end + 1) & M32)) & M32 >= 0x80000000):
            # Senders that overshoot the window: remember the data so its ACK is in window.
            sender.td_end = end
            sender.flags |= F_DATA_UNACKNOWLEDGED
            return log_invalid(sender, ACT_IGNORE, f"{overshot} bytes more than expected", reasons)
        return log_invalid(sender, ACT_INVALID, "SEQ is over upper bound (over the window of the receiver)",
                    reasons)
    if (sack - ((r_end + 1) & M32)) & M32 < 0x80000000:  # not before(sack, receiver end + 1)
        return log_invalid(sender, ACT_INVALID, "ACK is over upper bound (ACKed data not seen yet)", reasons)
    # receiver.td_maxwin and not after(end, sender end - receiver maxwin - 1)
    if r_maxwin and (((s_end - r_maxwin - 1) & M32) - end) & M32 < 0x80000000:
        return log_invalid(sender, ACT_IGNORE, "SEQ is under lower bound (already ACKed data retransmitted)",
                    reasons)
    if (((r_end - maxackwin - 1) & M32) - sack) & M32 < 0x80000000:  # not after(sack, end - maxackwin - 1)
        return log_invalid(sender, ACT_IGNORE, "ignored ACK under lower bound (possible overly delayed)",
                           reasons)
    if not flags & SYN:
        win = (win << sender.td_scale) & M32
    swin = (win + (sack - ack)) & M32
    if s_maxwin < swin:
        sender.td_maxwin = swin
    if (s_end - end) & M32 >= 0x80000000:  # after(end, sender.td_end)
        sender.td_end = end
        sender.flags |= F_DATA_UNACKNOWLEDGED
    if flags & ACK:
        if not sender.flags & F_MAXACK_SET:
            sender.td_maxack = ack
            sender.flags |= F_MAXACK_SET
        elif (sender.td_maxack - ack) & M32 >= 0x80000000:  # after(ack, sender.td_maxack)
            sender.td_maxack = ack
    if r_maxwin != 0 and (s_maxend - end) & M32 >= 0x80000000:  # after(end, sender.td_maxend)
        receiver.td_maxwin = (r_maxwin + end - s_maxend) & M32
    # after(sack + win, receiver.td_maxend - 1)
    if (((receiver.td_maxend - 1) & M32) - ((sack + win) & M32)) & M32 >= 0x80000000:
        receiver.td_maxend = (sack + win + (1 if win == 0 else 0)) & M32
    if ack == r_end:
        receiver.flags &= ~F_DATA_UNACKNOWLEDGED
    if index == ACK_SET:  # retransmission count
        if (info.last_dir == direction and info.last_seq == seq and info.last_ack == ack
                and info.last_end == end and info.last_win == win_raw):
            info.retrans += 1
        else:
            info.last_dir, info.last_seq, info.last_ack, info.last_end = direction, seq, ack, end
            info.last_win, info.retrans = win_raw, 0
    return ACT_ACCEPT
