"""Packets and a clock for conntrack unit tests."""

from __future__ import annotations

from pynetfilter.model.tables import Hook
from pynetfilter.netfilter.conntrack import Conntrack
from pynetfilter.netfilter.pipeline import HookState
from pynetfilter.packet.model import ACK, Icmp, Packet, Tcp, Udp

A, B = 0x0AE94701, 0x0AE94702  # 10.233.71.1, 10.233.71.2


def tcp(src: int, dst: int, sport: int, dport: int, flags: int, seq: int = 0, ack: int = 0,
        data: bytes = b"", win: int = 1000) -> Packet:
    return Packet(src, dst, 6, Tcp(sport, dport, seq, ack, 5, flags, win), data)


def udp(src: int, dst: int, sport: int, dport: int, data: bytes = b"x") -> Packet:
    return Packet(src, dst, 17, Udp(sport, dport, 8 + len(data)), data)


def icmp(src: int, dst: int, type_: int, code: int = 0, rest: int = 0, inner: Packet | None = None) -> Packet:
    return Packet(src, dst, 1, Icmp(type_, code, 0, rest, inner))


def through(ct: Conntrack, pkt: Packet, now: float, incoming: bool = True) -> Packet:
    """One packet through conntrack in and confirm, as received (or sent) by the host."""
    st = HookState(Hook.PREROUTING if incoming else Hook.OUTPUT, None, None, now, False, [], [])
    ct.in_hook(pkt, st)
    st.hook = Hook.INPUT if incoming else Hook.POSTROUTING
    ct.confirm(pkt, st)
    return pkt


def handshake(ct: Conntrack, now: float = 0.0, sport: int = 1000) -> None:
    through(ct, tcp(A, B, sport, 80, 0x02, seq=100), now)
    through(ct, tcp(B, A, 80, sport, 0x12, seq=500, ack=101), now, incoming=False)
    through(ct, tcp(A, B, sport, 80, ACK, seq=101, ack=501), now)


__all__ = ["A", "B", "tcp", "udp", "icmp", "through", "handshake"]
