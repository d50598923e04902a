"""nf_log_syslog's line format (netfilter/log.py); kernel lines are compared in tests/ext/eval."""

from __future__ import annotations

from pynetfilter.netfilter.log import LOG_MACDECODE, LOG_TCPSEQ, LOG_UID, format_line
from pynetfilter.packet.model import SYN, Packet, Tcp, Udp

C, S = 0x0AE92801, 0x0AE92901
MAC = bytes.fromhex("aacb14d1acbd1a12c85d20410800")


def test_output_has_no_mac_and_tcp_fields() -> None:
    pkt = Packet(C, S, 6, Tcp(1234, 80, seq=7, flags=SYN, window=100), id=5, frag_off=0x4000)
    line = format_line(pkt, "p: ", LOG_TCPSEQ, None, "r1")
    assert line == ("p: IN= OUT=r1 SRC=10.233.40.1 DST=10.233.41.1 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=5 DF "
                    "PROTO=TCP SPT=1234 DPT=80 SEQ=7 ACK=0 WINDOW=100 RES=0x00 SYN URGP=0 ")


def test_macdecode_mark_and_uid() -> None:
    pkt = Packet(C, S, 17, Udp(1, 2), payload=b"ab", tos=0xD0)
    pkt.meta.mac_header, pkt.meta.mark, pkt.meta.uid, pkt.meta.gid, pkt.meta.socket = MAC, 42, 0, 0, True
    line = format_line(pkt, "", LOG_MACDECODE | LOG_UID, "r0", "r1")
    assert line == ("IN=r0 OUT=r1 MACSRC=1a:12:c8:5d:20:41 MACDST=aa:cb:14:d1:ac:bd MACPROTO=0800 "
                    "SRC=10.233.40.1 DST=10.233.41.1 LEN=30 TOS=0x10 PREC=0xC0 TTL=64 ID=0 PROTO=UDP SPT=1 "
                    "DPT=2 LEN=10 UID=0 GID=0 MARK=0x2a ")


def test_later_fragment_has_no_ports() -> None:
    pkt = Packet(C, S, 17, None, payload=b"x" * 8, frag_off=0x2003)
    assert format_line(pkt, "", 0, None, "r1").endswith("MF FRAG:3 PROTO=UDP ")
