"""IPv4 reassembly before conntrack, as nf_defrag_ipv4 does it (ip_defrag, inet_fragment).

Theory of operation.  The hook runs at priority -400 in PREROUTING and
OUTPUT.  A fragment is queued by (source, destination, IP id, protocol, defrag
user); the user is the hook (IP_DEFRAG_CONNTRACK_IN / _OUT), so a datagram's
incoming and outgoing fragments never mix.  While a datagram is incomplete its
fragments are NF_STOLEN.  The fragment that completes it becomes the whole
datagram: the same Packet object takes the first fragment's header (total
length, DF only when the largest fragment had DF, ECN bits combined) and
metadata (skb_morph copies the head's), keeps its own input interface, and the
hook returns NF_ACCEPT.

The queue's bookkeeping follows ip_frag_queue and inet_frag_queue_insert:

* a non-last fragment's end is rounded down to a multiple of 8; a fragment
  ending at its own offset, a last fragment (MF clear) ending before data
  already seen or disagreeing with an earlier last fragment, or data beyond
  the known end, discard the whole queue;
* fragments are kept in "runs" of contiguous fragments; a fragment lying
  entirely inside one run is a duplicate and only it is dropped; any other
  overlap discards the whole queue (RFC 5722 as Linux applies it to IPv4);
* ECN: Not-ECT mixed with ECT/CE fails the reassembly; CE with ECT sets CE;
* a queue lives 30 s (ipfrag_time) from its first fragment, on the engine's
  clock; expired queues that had their first fragment are listed in
  :attr:`Defrag.expired` (the kernel may answer those with ICMP "fragment
  reassembly time exceeded" when the datagram was for this host).

Not modelled: memory thresholds (ipfrag_high_thresh) and ipfrag_max_dist
(the peer-distance check); neither triggers on ordinary traffic.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_STOLEN
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_DF, IP_MF, IP_OFFSET, Packet

if TYPE_CHECKING:
    from pynetfilter.netfilter.pipeline import HookState

IPFRAG_TIME = 30.0  # net.ipv4.ipfrag_time
# ip_frag_ecn_table: bits are 1 << (tos & 3) of each fragment; 0xFF means "drop the datagram".
_NOT_ECT, _ECT_1, _ECT_0, _CE = 1, 2, 4, 8
_ECN_TABLE = {_CE | _ECT_0: 3, _CE | _ECT_1: 3, _CE | _ECT_0 | _ECT_1: 3}
for _bits in range(16):
    if _bits & _NOT_ECT and _bits & (_CE | _ECT_0 | _ECT_1):
        _ECN_TABLE[_bits] = 0xFF


@dataclass(slots=True)
class FragQueue:
    """One datagram being reassembled (struct ipq)."""

    key: tuple[int, int, int, int, str]
    created: float
    length: int = 0  # q.len: the datagram's payload length as far as known
    first_in: bool = False
    last_in: bool = False
    meat: int = 0  # payload bytes received
    ecn: int = 0
    max_size: int = 0  # largest fragment (header included)
    max_df_size: int = 0  # largest fragment that had DF
    runs: list[list[int]] = field(default_factory=list)  # [start, end] of contiguous fragments, sorted
    data: dict[int, bytes] = field(default_factory=dict)  # offset -> payload bytes
    head: Packet | None = None  # the offset-0 fragment


class Defrag:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.queues: dict[tuple[int, int, int, int, str], FragQueue] = {}
        self.expired: list[tuple[float, Packet]] = []  # (expiry time, first fragment) of timed-out queues
        self.stats = {"reasm_ok": 0, "reasm_fails": 0, "overlaps": 0, "duplicates": 0, "timeouts": 0}

    def expire(self, now: float) -> None:
        """Drop queues older than ipfrag_time (ip_expire)."""
        for key, q in list(self.queues.items()):
            if now - q.created >= IPFRAG_TIME:
                del self.queues[key]
                self.stats["timeouts"] += 1
                self.stats["reasm_fails"] += 1
                if q.first_in and q.head is not None:
                    self.expired.append((q.created + IPFRAG_TIME, q.head))

    def hook(self, pkt: Packet, st: HookState) -> int:
        """ipv4_conntrack_defrag: NF_STOLEN while a datagram is incomplete, NF_ACCEPT otherwise."""
        if pkt.meta.ct is not None or pkt.meta.untracked or not pkt.frag_off & (IP_MF | IP_OFFSET):
            return NF_ACCEPT
        self.expire(st.now)
        user = "out" if st.hook == Hook.OUTPUT else "in"
        key = (pkt.saddr, pkt.daddr, pkt.id, pkt.proto, user)
        q = self.queues.get(key)
        if q is None:
            q = self.queues[key] = FragQueue(key, st.now)
        return NF_ACCEPT if self._queue(q, pkt) else NF_STOLEN

    def _kill(self, q: FragQueue) -> bool:
        self.queues.pop(q.key, None)
        self.stats["reasm_fails"] += 1
        return False

    def _queue(self, q: FragQueue, pkt: Packet) -> bool:
        """ip_frag_queue; True when *pkt* has become the reassembled datagram."""
        raw = wire.to_bytes(pkt)
        hl = (raw[0] & 15) * 4
        body = raw[hl:]
        offset = (pkt.frag_off & IP_OFFSET) * 8
        end = offset + len(body)
        if not pkt.frag_off & IP_MF:
            if end < q.length or (q.last_in and end != q.length):
                return self._kill(q)
            q.last_in, q.length = True, end
        else:
            end &= ~7
            if end > q.length:
                if q.last_in:
                    return self._kill(q)
                q.length = end
        if end == offset:
            return self._kill(q)
        verdict = self._insert(q, offset, end)
        if verdict == "dup":
            self.stats["duplicates"] += 1
            return False
        if verdict == "overlap":
            self.stats["overlaps"] += 1
            return self._kill(q)
        q.data[offset] = body[:end - offset]
        q.meat += end - offset
        q.ecn |= 1 << (pkt.tos & 3)
        if offset == 0:
            q.first_in, q.head = True, pkt
        size = end - offset + hl
        q.max_size = max(q.max_size, size)
        if pkt.frag_off & IP_DF:
            q.max_df_size = max(q.max_df_size, size)
        if q.first_in and q.last_in and q.meat == q.length:
            return self._reassemble(q, pkt)
        return False

    @staticmethod
    def _insert(q: FragQueue, offset: int, end: int) -> str:
        """inet_frag_queue_insert: "ok", "dup" (inside one run) or "overlap"."""
        runs = q.runs
        if not runs or runs[-1][1] < end:  # the common case: past everything queued so far
            if runs and offset < runs[-1][1]:
                return "overlap"
            if runs and offset == runs[-1][1]:
                runs[-1][1] = end
            else:
                runs.append([offset, end])
            return "ok"
        for i, (start, stop) in enumerate(runs):
            if end <= start:
                runs.insert(i, [offset, end])  # a run of its own, even when it touches a neighbour
                return "ok"
            if offset < stop:
                return "dup" if offset >= start and end <= stop else "overlap"
        raise AssertionError("unreachable: the last run ends at or after end")

    def _reassemble(self, q: FragQueue, pkt: Packet) -> bool:
        """ip_frag_reasm: *pkt* becomes the datagram with the first fragment's header."""
        del self.queues[q.key]
        ecn = _ECN_TABLE.get(q.ecn, 0)
        if ecn == 0xFF:
            self.stats["reasm_fails"] += 1
            return False
        head = q.head
        assert head is not None
        payload = b"".join(q.data[off] for off in sorted(q.data))
        whole = Packet(head.saddr, head.daddr, head.proto, None, payload, head.tos | ecn, head.id,
                       IP_DF if q.max_df_size == q.max_size else 0, head.ttl, ip_options=head.ip_options)
        new = wire.parse(wire.to_bytes(whole))
        meta = dataclasses.replace(head.meta, iif=pkt.meta.iif)  # before pkt (maybe the head) changes
        for f in dataclasses.fields(Packet):
            setattr(pkt, f.name, getattr(new, f.name))
        pkt.meta = meta
        self.stats["reasm_ok"] += 1
        return True
