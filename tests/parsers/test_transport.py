"""parsers.transport: TCP/UDP headers and ICMP(v6) errors with their quoted 5-tuple, against scapy."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from scapy.config import conf
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
    IPv6ExtHdrHopByHop,
)
from scapy.packet import Packet

from parsers.errors import ParseError
from parsers.transport import ICMPError, TCPSegment, UDPDatagram, decode_icmp, decode_tcp, decode_udp

conf.verb = 0

TCP_CASES: dict[str, Packet] = {
    "syn-with-options": TCP(
        sport=51515,
        dport=443,
        seq=0xFFFFFFF0,
        flags="S",
        window=64240,
        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)],
    ),
    "psh-ack-data": TCP(sport=80, dport=40000, seq=1000, ack=2000, flags="PA", window=501) / b"HTTP/1.1 200 OK\r\n",
    "fin-ack": TCP(sport=1, dport=2, flags="FA"),
    "rst": TCP(sport=3, dport=4, flags="R", seq=5),
    "all-flags": TCP(flags="FSRPAUEC", urgptr=9) / b"x",
}


@pytest.mark.parametrize("case", sorted(TCP_CASES))
def test_tcp(case: str, packet_check) -> None:
    raw = bytes(TCP_CASES[case])
    view = TCP(raw)
    hlen = view.dataofs * 4

    def on_prefix(i: int, got: TCPSegment, whole: TCPSegment) -> None:
        assert i >= hlen  # TCP has no length field: a cut segment just carries less payload
        assert dataclasses.replace(got, payload=whole.payload) == whole
        assert got.payload == whole.payload[: i - hlen]

    got = packet_check(
        decode_tcp,
        raw,
        on_prefix=on_prefix,
        same=lambda a, b: dataclasses.replace(a, payload=b.payload) == b and a.payload.startswith(b.payload),
    )
    assert (got.sport, got.dport, got.seq, got.ack, got.window) == (
        view.sport,
        view.dport,
        view.seq,
        view.ack,
        view.window,
    )
    assert got.flags == int(view.flags) & 0xFF
    assert got.payload == bytes(view.payload)


def test_tcp_data_offset_below_five_raises() -> None:
    raw = bytearray(bytes(TCP()))
    raw[12] = 0x40
    with pytest.raises(ParseError):
        decode_tcp(bytes(raw))


UDP_CASES: dict[str, Packet] = {
    "dns-query": UDP(sport=53000, dport=53) / (b"\x12\x34" + b"\x00" * 30),
    "empty": UDP(sport=1, dport=2),
    "quic": UDP(sport=443, dport=60000) / (b"\xc3" + b"\x00" * 1199),
}


@pytest.mark.parametrize("case", sorted(UDP_CASES))
def test_udp(case: str, packet_check) -> None:
    raw = bytes(UDP_CASES[case])
    view = UDP(raw)

    def on_prefix(i: int, got: UDPDatagram, whole: UDPDatagram) -> None:
        # Shorter than its length field: snapped, take what we have.
        assert i >= 8 and (got.sport, got.dport) == (whole.sport, whole.dport)
        assert got.payload == raw[8:i]

    got = packet_check(decode_udp, raw, on_prefix=on_prefix)
    assert (got.sport, got.dport, got.payload) == (view.sport, view.dport, bytes(view.payload))


def test_udp_length_zero_takes_everything() -> None:
    raw = bytearray(bytes(UDP(sport=9, dport=10) / b"jumbo"))
    raw[4:6] = b"\x00\x00"
    assert decode_udp(bytes(raw) + b"++").payload == b"jumbo++"


@pytest.mark.parametrize("length", [1, 7])
def test_udp_length_below_header_raises(length: int) -> None:
    raw = bytearray(bytes(UDP() / b"abc"))
    raw[4:6] = length.to_bytes(2, "big")
    with pytest.raises(ParseError):
        decode_udp(bytes(raw))


def _quoted(inner: Packet) -> tuple[bytes, bytes, int, int, int]:
    ip = inner[IP] if IP in inner else inner[IPv6]
    fam = socket.AF_INET if isinstance(ip, IP) else socket.AF_INET6
    l4 = inner[TCP] if TCP in inner else inner[UDP]
    proto = 6 if isinstance(l4, TCP) else 17
    return socket.inet_pton(fam, ip.src), socket.inet_pton(fam, ip.dst), proto, l4.sport, l4.dport


INNER_UDP = IP(src="10.0.0.5", dst="192.0.2.53", id=9) / UDP(sport=33333, dport=53) / (b"d" * 40)
INNER_TCP = IP(src="10.0.0.5", dst="198.51.100.80") / TCP(sport=44444, dport=8080, flags="S")
INNER6_TCP = IPv6(src="2001:db8::5", dst="2001:db8:f::443") / TCP(sport=50505, dport=443, flags="S")
INNER6_UDP_HBH = IPv6(src="fd00::1", dst="fd00::2") / IPv6ExtHdrHopByHop() / UDP(sport=1111, dport=2222) / b"x"

ICMP_CASES: dict[str, tuple[int, bytes, Packet, int, int, bool]] = {
    # name: (version, icmp bytes, quoted packet, type, code, unreachable)
    "port-unreachable-udp": (4, bytes(ICMP(type=3, code=3) / bytes(INNER_UDP)[:28]), INNER_UDP, 3, 3, True),
    "port-unreachable-udp-long-quote": (4, bytes(ICMP(type=3, code=3) / bytes(INNER_UDP)), INNER_UDP, 3, 3, True),
    "admin-prohibited-tcp": (4, bytes(ICMP(type=3, code=13) / bytes(INNER_TCP)[:28]), INNER_TCP, 3, 13, True),
    "time-exceeded-tcp": (4, bytes(ICMP(type=11, code=0) / bytes(INNER_TCP)[:28]), INNER_TCP, 11, 0, False),
    "param-problem-udp": (4, bytes(ICMP(type=12, code=0) / bytes(INNER_UDP)[:28]), INNER_UDP, 12, 0, False),
    "v6-unreachable-tcp": (6, bytes(ICMPv6DestUnreach(code=1) / bytes(INNER6_TCP)), INNER6_TCP, 1, 1, True),
    "v6-port-unreachable-udp-hbh": (
        6,
        bytes(ICMPv6DestUnreach(code=4) / bytes(INNER6_UDP_HBH)),
        INNER6_UDP_HBH,
        1,
        4,
        True,
    ),
    "v6-too-big-tcp": (6, bytes(ICMPv6PacketTooBig(mtu=1280) / bytes(INNER6_TCP)), INNER6_TCP, 2, 0, False),
    "v6-time-exceeded": (6, bytes(ICMPv6TimeExceeded() / bytes(INNER6_TCP)), INNER6_TCP, 3, 0, False),
    "v6-param-problem": (6, bytes(ICMPv6ParamProblem(code=1, ptr=40) / bytes(INNER6_TCP)), INNER6_TCP, 4, 1, False),
}


@pytest.mark.parametrize("case", sorted(ICMP_CASES))
def test_icmp_error_quotes_the_flow(case: str, packet_check) -> None:
    version, raw, inner, itype, code, unreachable = ICMP_CASES[case]
    assert (raw[0], raw[1]) == (itype, code)

    def on_prefix(i: int, got: ICMPError, whole: ICMPError) -> None:
        # The quote needs only the inner IP header and the four port bytes; a cut after them is fine.
        assert got == whole

    got = packet_check(lambda d: decode_icmp(d, version), raw, on_prefix=on_prefix)
    src, dst, proto, sport, dport = _quoted(inner)
    assert got == ICMPError(version, itype, code, unreachable, src, dst, proto, sport, dport)


def test_icmp_quoting_a_non_first_fragment_has_no_ports() -> None:
    frag = IP(src="10.0.0.5", dst="192.0.2.9", proto=17, frag=100, flags="MF") / (b"\xab" * 8)
    got = decode_icmp(bytes(ICMP(type=3, code=3) / bytes(frag)), 4)
    assert got is not None and (got.quoted_proto, got.quoted_sport, got.quoted_dport) == (17, 0, 0)


def test_icmp_quoting_other_protocol_has_no_ports() -> None:
    inner = IP(src="10.0.0.5", dst="192.0.2.9", proto=47) / (b"\x00" * 8)
    got = decode_icmp(bytes(ICMP(type=3, code=2) / bytes(inner)), 4)
    assert got is not None and (got.quoted_proto, got.quoted_sport, got.quoted_dport) == (47, 0, 0)


@pytest.mark.parametrize(
    ("version", "raw"),
    [
        (4, bytes(ICMP(type=8) / b"ping")),
        (4, bytes(ICMP(type=0) / b"pong")),
        (4, bytes(ICMP(type=5, code=1) / bytes(INNER_UDP)[:28])),  # redirect: not an error we pin on a flow
        (6, bytes(ICMPv6EchoRequest() / b"ping")),
        (6, b"\x87\x00\x00\x00" + b"\x00" * 20),  # neighbour solicitation
    ],
)
def test_non_error_icmp_is_none(version: int, raw: bytes) -> None:
    assert decode_icmp(raw, version) is None


@pytest.mark.parametrize(
    ("version", "raw"),
    [
        (4, bytes(ICMP(type=3, code=3)) + bytes(IPv6())),  # ICMPv4 quoting an IPv6 header
        (6, bytes(ICMPv6DestUnreach()) + bytes(INNER_UDP)),  # ICMPv6 quoting an IPv4 header
        (4, bytes(ICMP(type=3, code=3)) + bytes(INNER_UDP)[:22]),  # ports cut
        (4, b"\x03\x03\x00"),
    ],
)
def test_bad_quotes_raise(version: int, raw: bytes) -> None:
    with pytest.raises(ParseError) as info:
        decode_icmp(raw, version)
    assert info.value.layer == ("icmp" if version == 4 else "icmpv6")
