"""IP options on the input path: compile, forward, echo (kernel data: tests/ext/eval log_formats and
reject_icmp_quote, tests/scenarios/ip-error*, where the same bytes are compared with the kernel's)."""

from __future__ import annotations

from pynetfilter.netfilter import ipopts
from pynetfilter.packet import wire
from pynetfilter.packet.model import Packet, Udp

RR2 = bytes.fromhex("070b04") + bytes(8) + b"\x00"  # Record Route, two empty slots, END
SPEC, OUT = 0x0AE92802, 0x0AE92902


def dgram(options: bytes) -> Packet:
    p = Packet(0x0AE92801, 0x0AE92901, 17, Udp(1, 2), b"opts", ihl=5 + len(options) // 4, ip_options=options)
    return wire.parse(wire.to_bytes(p))


def test_record_route_is_filled_on_input_and_the_checksum_left_stale() -> None:
    p = dgram(RR2)
    before = wire.to_bytes(p)
    opt, pp = ipopts.compile_options(p, SPEC, 0.0)
    assert pp is None and opt.rr == 20 and opt.rr_needaddr
    assert p.ip_options == bytes.fromhex("070b080ae928020000000000")
    after = wire.to_bytes(p)
    assert after[10:12] == before[10:12]  # what the kernel leaves until ip_forward_options
    assert ipopts.header_stale(p)


def test_forward_options_writes_the_outgoing_source_and_fixes_the_checksum() -> None:
    p = dgram(RR2)
    ipopts.compile_options(p, SPEC, 0.0)
    ipopts.forward_options(p, OUT)
    assert p.ip_options == bytes.fromhex("070b080ae929020000000000")
    assert not ipopts.header_stale(p)
    wire.parse(wire.to_bytes(p))  # a valid header again


def test_a_full_record_route_is_left_alone() -> None:
    full = bytes.fromhex("070b0c") + bytes(8) + b"\x00"
    p = dgram(full)
    opt, pp = ipopts.compile_options(p, SPEC, 0.0)
    assert pp is None and opt.rr and not opt.rr_needaddr and p.ip_options == full
    assert ipopts.echo_options(p) == (full, ipopts.IpOptions(optlen=12, rr=20))


def test_echo_takes_the_next_slot_and_build_fills_it() -> None:
    p = dgram(RR2)
    ipopts.compile_options(p, SPEC, 0.0)
    echoed = ipopts.echo_options(p)
    assert echoed is not None
    opts, dopt = echoed
    assert opts[2] == 12 and dopt.rr_needaddr
    assert ipopts.build_options(opts, dopt, SPEC, 0.0) == bytes.fromhex("070b0c0ae928020ae9280200")


def test_errors_point_at_the_bad_byte() -> None:
    assert ipopts.compile_options(dgram(bytes.fromhex("070b03") + bytes(9)), SPEC, 0.0)[1] == 22  # ptr < 4
    assert ipopts.compile_options(dgram(bytes.fromhex("07ff04") + bytes(9)), SPEC, 0.0)[1] == 20  # length
    assert ipopts.compile_options(dgram(RR2[:11] + b"\x07"), SPEC, 0.0)[1] == 31  # one byte left
    # A second Record Route.
    assert ipopts.compile_options(dgram(bytes.fromhex("070304070304") + bytes(2)), SPEC, 0.0)[1] == 23


def test_source_routes_are_recorded_for_the_drop() -> None:
    opt, pp = ipopts.compile_options(dgram(bytes.fromhex("8307040a0b0c0d00")), SPEC, 0.0)
    assert pp is None and opt.srr == 20


def test_timestamps() -> None:
    p = dgram(bytes.fromhex("440c0500") + bytes(8))  # time only, two slots
    opt, pp = ipopts.compile_options(p, SPEC, 3661.5)
    assert pp is None and opt.ts_needtime and p.ip_options[2] == 9
    assert int.from_bytes(p.ip_options[4:8], "big") == 3661500
    full = dgram(bytes.fromhex("440c0d10") + bytes(8))  # full, overflow 1
    ipopts.compile_options(full, SPEC, 0.0)
    assert full.ip_options[3] == 0x20
    worn = dgram(bytes.fromhex("440c0df0") + bytes(8))  # overflow counter at 15: parameter problem
    assert ipopts.compile_options(worn, SPEC, 0.0)[1] == 23
    addr = dgram(bytes.fromhex("44140501") + bytes(16))
    opt, _ = ipopts.compile_options(addr, SPEC, 1.0)
    assert opt.ts_needaddr and addr.ip_options[4:8] == SPEC.to_bytes(4, "big") and addr.ip_options[2] == 13


def test_padding_after_end_is_made_end() -> None:
    p = dgram(bytes.fromhex("01000101"))
    ipopts.compile_options(p, SPEC, 0.0)
    assert p.ip_options == bytes.fromhex("01000000")
