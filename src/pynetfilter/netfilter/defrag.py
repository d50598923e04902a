"""IPv4 reassembly before conntrack, as nf_defrag_ipv4 does it (ip_defrag, inet_fragment), bounded.

Theory of operation.  The hook runs at priority -400 in PREROUTING and
OUTPUT.  A fragment is queued by (source, destination, IP id, protocol, defrag
user); the user is the hook (IP_DEFRAG_CONNTRACK_IN / _OUT), so a datagram's
incoming and outgoing fragments never mix.  While a datagram is incomplete its
fragments are NF_STOLEN (so is a fragment the kernel drops: ip_defrag consumed
it).  The fragment that completes it becomes the whole datagram: the same
Packet object takes the first fragment's header (total length, DF only when
the largest fragment had DF, ECN bits combined) and metadata (skb_morph copies
the head's), keeps its own input interface, and the hook returns NF_ACCEPT.

The queue's bookkeeping follows ip_frag_queue and inet_frag_queue_insert:

* a non-last fragment's end is rounded down to a multiple of 8; a fragment
  ending at its own offset, a last fragment (MF clear) ending before data
  already seen or disagreeing with an earlier last fragment, or data beyond
  the known end, discard the whole queue;
* fragments are kept in "runs" of contiguous fragments; a fragment lying
  entirely inside one run is a duplicate and only it is dropped; any other
  overlap discards the whole queue (RFC 5722 as Linux applies it to IPv4);
* ECN: Not-ECT mixed with ECT/CE fails the reassembly; CE with ECT sets CE;
* a datagram longer than 65,535 bytes fails when its last piece arrives
  (ip_frag_reasm's "Oversized IP packet": no earlier check in 6.18, recorded).

Bounds (6.x; recorded by tools/record_defrag.py, tests/netfilter/kernel/defrag.json):

* memory: a queue costs sizeof(struct ipq) (200 bytes) and each queued fragment
  its skb's truesize (:func:`truesize`); while the namespace's total is above
  ipfrag_high_thresh (4 MiB) every fragment is dropped before it finds its
  queue.  Nothing prunes down to ipfrag_low_thresh since Linux 4.17 (the
  setting is kept, unused);
* time: a queue lives ipfrag_time (30 s) from its first fragment or its last
  restart.  Queues sit in an OrderedDict in the order their timers were armed,
  which is their expiry order, so expiry costs O(1) per queue; expired queues
  that had their first fragment are listed in :attr:`Defrag.expired` (the kernel
  may answer those with ICMP "fragment reassembly time exceeded" when the
  datagram was for this host), the last EXPIRED_KEPT of them;
* distance: a queue that sees more than ipfrag_max_dist (64) fragments from its
  source (to any datagram) between two of its own is emptied and starts again
  with the new one (ip_frag_too_far, ip_frag_reinit).

The namespace's fragment memory, counters and per-source fragment counts
(struct fqdir, the IP MIB, inet_peer) are shared by the engine's Defrag users.
Counters, by the IP MIB names of /proc/net/snmp: ``reasm_reqds`` (ReasmReqds),
``reasm_ok`` (ReasmOKs), ``reasm_fails`` (ReasmFails), ``timeouts``
(ReasmTimeout), ``overlaps`` (ReasmOverlaps); ``duplicates`` is ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.par import Event
from pynetfilter.netfilter.verdicts import NF_ACCEPT, NF_STOLEN
from pynetfilter.packet import wire
from pynetfilter.packet.model import IP_DF, IP_MF, IP_OFFSET, Packet

if TYPE_CHECKING:
    from pynetfilter.netfilter.pipeline import HookState

# net.ipv4.ipfrag_* defaults (ipv4_frags_init_net, as /proc/sys/net/ipv4/ipfrag_* read on 6.18).
IPFRAG_TIME = 30.0
IPFRAG_HIGH_THRESH = 4 * 1024 * 1024
IPFRAG_LOW_THRESH = 3 * 1024 * 1024
IPFRAG_MAX_DIST = 64
IPQ_SIZE = 200  # sizeof(struct ipq): what a queue adds to the fragment memory (recorded)
IP_MAX_LEN = 65535
EXPIRED_KEPT = 256
SNMP_NAMES = {"ReasmReqds": "reasm_reqds", "ReasmOKs": "reasm_ok", "ReasmFails": "reasm_fails",
              "ReasmTimeout": "timeouts", "ReasmOverlaps": "overlaps"}

# ip_frag_ecn_table: bits are 1 << (tos & 3) of each fragment; 0xFF means "drop the datagram".
_NOT_ECT, _ECT_1, _ECT_0, _CE = 1, 2, 4, 8
_ECN_TABLE = {_CE | _ECT_0: 3, _CE | _ECT_1: 3, _CE | _ECT_0 | _ECT_1: 3}
for _bits in range(16):
    if _bits & _NOT_ECT and _bits & (_CE | _ECT_0 | _ECT_1):
        _ECN_TABLE[_bits] = 0xFF


def truesize(length: int) -> int:
    """skb->truesize of a received *length*-byte datagram: what sock_alloc_send_skb gives a frame
    on a veth (data: length + LL_RESERVED_SPACE 16 + 15, cache-aligned, plus the 320-byte shared
    info; the 576-byte small-head cache or a power-of-two kmalloc; plus the 256-byte sk_buff).
    Other drivers allocate otherwise; the recording pins this one (832, 1280, 2304 bytes)."""
    data = ((length + 31 + 63) & ~63) + 320
    head = 576 if data <= 576 else 1 << (data - 1).bit_length()
    return head + 256


@dataclass(slots=True)
class FragQueue:
    """One datagram being reassembled (struct ipq)."""

    key: tuple[int, int, int, int, str]
    created: float
    expires: float = 0.0  # the queue's timer: ipfrag_time after its first fragment or restart
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
    mem: int = 0  # truesize of the queued fragments
    rid: int = 0  # the source's fragment count at this queue's last fragment (ip_frag_too_far)


@dataclass(slots=True)
class FragDir:
    """struct fqdir and what goes with it: one per network namespace (engine)."""

    high_thresh: int = IPFRAG_HIGH_THRESH
    low_thresh: int = IPFRAG_LOW_THRESH  # unused since Linux 4.17, kept as the sysctl is
    timeout: float = IPFRAG_TIME
    max_dist: int = IPFRAG_MAX_DIST
    mem: int = 0  # frag_mem_limit: queues and queued fragments
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("reasm_reqds", "reasm_ok", "reasm_fails", "overlaps", "duplicates", "timeouts"), 0))
    # inet_peer's rid per source: [fragments seen, live queues]; a source goes with its last
    # queue (only differences within one queue's life matter, so nothing is lost).
    peers: dict[int, list[int]] = field(default_factory=dict)

    def snmp(self) -> dict[str, int]:
        """The counters by their /proc/net/snmp (and netstat) names."""
        return {name: self.stats[key] for name, key in SNMP_NAMES.items()}


class Defrag:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        fqdir = getattr(engine, "ipv4_frags", None)
        if fqdir is None:
            fqdir = FragDir()
            # The namespace's: ip_local_deliver's reassembly shares it (without an engine, or with
            # one that keeps no extra state, it is this Defrag's own).
            with contextlib.suppress(AttributeError):
                engine.ipv4_frags = fqdir
        self.fqdir: FragDir = fqdir
        self.stats = fqdir.stats
        self.queues: OrderedDict[tuple[int, int, int, int, str], FragQueue] = OrderedDict()  # expiry order
        self.expired: list[tuple[float, Packet]] = []  # (expiry time, first fragment) of timed-out queues

    @property
    def mem(self) -> int:
        return self.fqdir.mem

    def expire(self, now: float) -> None:
        """ip_expire for every queue whose timer has run out (the oldest are first)."""
        queues = self.queues
        while queues:
            q = next(iter(queues.values()))
            if q.expires > now:
                return
            self._destroy(q)
            self.stats["timeouts"] += 1
            self.stats["reasm_fails"] += 1
            if q.first_in and q.head is not None:
                self.expired.append((q.expires, q.head))
                if len(self.expired) > 2 * EXPIRED_KEPT:
                    del self.expired[:-EXPIRED_KEPT]

    def hook(self, pkt: Packet, st: HookState) -> int:
        """ipv4_conntrack_defrag: NF_STOLEN while a datagram is incomplete, NF_ACCEPT otherwise."""
        if pkt.meta.ct is not None or pkt.meta.untracked or not pkt.frag_off & (IP_MF | IP_OFFSET):
            return NF_ACCEPT
        now = st.now
        self.expire(now)
        fqdir = self.fqdir
        self.stats["reasm_reqds"] += 1
        if not fqdir.high_thresh or fqdir.mem > fqdir.high_thresh:
            # inet_frag_find finds no queue over the limit: ip_defrag drops the fragment
            self.stats["reasm_fails"] += 1
            self._note(st, f"defrag: fragment memory {fqdir.mem} > ipfrag_high_thresh {fqdir.high_thresh}:"
                           " fragment dropped")
            return NF_STOLEN
        user = "out" if st.hook == Hook.OUTPUT else "in"
        key = (pkt.saddr, pkt.daddr, pkt.id, pkt.proto, user)
        q = self.queues.get(key)
        if q is None:
            q = self.queues[key] = FragQueue(key, now, now + fqdir.timeout)
            fqdir.mem += IPQ_SIZE
            peer = fqdir.peers.setdefault(pkt.saddr, [0, 0])
            peer[1] += 1
        return NF_ACCEPT if self._queue(q, pkt, st) else NF_STOLEN

    @staticmethod
    def _note(st: HookState, text: str) -> None:
        if getattr(st, "trace", False):
            st.events.append(Event("note", text))

    def _destroy(self, q: FragQueue) -> None:
        """inet_frag_kill and inet_frag_destroy: the queue and its fragments' memory go."""
        if self.queues.pop(q.key, None) is None:
            return
        fqdir = self.fqdir
        fqdir.mem -= q.mem + IPQ_SIZE
        q.mem = 0
        peer = fqdir.peers.get(q.key[0])
        if peer is not None:
            peer[1] -= 1
            if peer[1] <= 0:
                del fqdir.peers[q.key[0]]

    def _kill(self, q: FragQueue) -> bool:
        self._destroy(q)
        self.stats["reasm_fails"] += 1
        return False

    def _too_far(self, q: FragQueue, now: float) -> None:
        """ip_frag_too_far and ip_frag_reinit: more than max_dist fragments from the source since
        this queue's last one empty it; its timer starts again (so it moves to the back)."""
        fqdir = self.fqdir
        if not fqdir.max_dist:
            return
        peer = fqdir.peers[q.key[0]]
        start = q.rid
        peer[0] += 1
        q.rid = peer[0]
        if not q.runs or q.rid - start <= fqdir.max_dist:
            return
        self.stats["reasm_fails"] += 1
        fqdir.mem -= q.mem
        q.mem = q.length = q.meat = q.ecn = q.max_size = q.max_df_size = 0
        q.first_in = q.last_in = False
        q.runs, q.data, q.head = [], {}, None
        q.expires = now + fqdir.timeout
        self.queues.move_to_end(q.key)

    def _queue(self, q: FragQueue, pkt: Packet, st: HookState) -> bool:
        """ip_frag_queue; True when *pkt* has become the reassembled datagram."""
        self._too_far(q, st.now)
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
        size = truesize(len(raw))
        q.mem += size
        self.fqdir.mem += size
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
            return self._reassemble(q, pkt, st)
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

    def _reassemble(self, q: FragQueue, pkt: Packet, st: HookState) -> bool:
        """ip_frag_reasm: *pkt* becomes the datagram with the first fragment's header."""
        self._destroy(q)  # ipq_kill first: whatever follows, the queue is gone
        ecn = _ECN_TABLE.get(q.ecn, 0)
        if ecn == 0xFF:
            self.stats["reasm_fails"] += 1
            return False
        head = q.head
        assert head is not None
        if head.ihl * 4 + q.length > IP_MAX_LEN:
            self.stats["reasm_fails"] += 1  # "Oversized IP packet from %pI4"
            self._note(st, f"defrag: oversized IP packet ({head.ihl * 4 + q.length} bytes): dropped")
            return False
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
