"""Packets: the model netfilter works on and its wire format."""

from pynetfilter.packet.model import Icmp, Meta, Packet, Sctp, Tcp, Udp
from pynetfilter.packet.wire import PacketError, length, parse, parse_inner, to_bytes

__all__ = ["Icmp", "Meta", "Packet", "PacketError", "Sctp", "Tcp", "Udp", "length", "parse", "parse_inner",
           "to_bytes"]
