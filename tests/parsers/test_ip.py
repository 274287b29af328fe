"""parsers.ip against scapy-built IPv4/IPv6 packets (options, fragments, extension header chains)."""

from __future__ import annotations

import dataclasses
import socket

import pytest
from scapy.config import conf
from scapy.layers.inet import IP, TCP, UDP, IPOption_Router_Alert, IPOption_RR
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    RouterAlert,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from parsers.errors import ParseError
from parsers.ip import IPPacket, decode_ipv4, decode_ipv6

conf.verb = 0

MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


def _upper(pkt: Packet) -> bytes:
    """The bytes after every IP-layer header, according to scapy."""
    layer = pkt
    while layer.payload and not isinstance(layer.payload, (TCP, UDP, Raw)):
        layer = layer.payload
    return bytes(layer.payload)


def _cut_ok(i: int, got: IPPacket, whole: IPPacket) -> None:
    """A packet cut by the snap length keeps its header fields and a prefix of its payload."""
    assert got.snapped, f"{i}-byte prefix parsed without snapped=True"
    assert whole.payload.startswith(got.payload)
    assert dataclasses.replace(got, payload=whole.payload, snapped=whole.snapped) == whole


def _expected_v4(ip: IP) -> dict[str, object]:
    return {
        "version": 4,
        "src": socket.inet_aton(ip.src),
        "dst": socket.inet_aton(ip.dst),
        "proto": ip.proto,
        "payload": bytes(ip.payload),
        "frag_id": ip.id,
        "frag_offset": ip.frag * 8,
        "more_fragments": bool(ip.flags.MF),
        "snapped": False,
        "ttl": ip.ttl,
    }


IPV4: dict[str, Packet] = {
    "udp": IP(src="10.0.0.1", dst="198.51.100.2", ttl=63, id=4321) / UDP(sport=5353, dport=53) / (b"q" * 30),
    "tcp-options-in-ip": IP(src="10.0.0.1", dst="198.51.100.2", options=[IPOption_RR(routers=["1.2.3.4"])])
    / TCP(dport=443),
    "router-alert": IP(src="192.0.2.1", dst="224.0.0.22", proto=2, options=[IPOption_Router_Alert()]) / b"igmp",
    "first-fragment": IP(src="10.9.8.7", dst="10.1.1.1", id=77, flags="MF") / UDP(dport=53) / (b"x" * 64),
    "middle-fragment": IP(src="10.9.8.7", dst="10.1.1.1", id=77, flags="MF", frag=185, proto=17) / (b"y" * 64),
    "last-fragment": IP(src="10.9.8.7", dst="10.1.1.1", id=77, frag=370, proto=17) / (b"z" * 10),
    "df-set": IP(src="10.0.0.1", dst="10.0.0.2", flags="DF") / TCP(flags="S"),
}


@pytest.mark.parametrize("case", sorted(IPV4))
def test_ipv4_three_ways(case: str, packet_check) -> None:
    built = IPV4[case]
    raw = bytes(built)
    ip = IP(raw)
    got = packet_check(decode_ipv4, raw, on_prefix=_cut_ok)
    assert dataclasses.asdict(got) == _expected_v4(ip)
    assert got.is_fragment == (ip.frag != 0 or bool(ip.flags.MF))


@pytest.mark.parametrize("case", sorted(IPV4))
def test_ipv4_in_padded_ethernet_frame(case: str) -> None:
    frame = bytes(Ether(**MACS) / IPV4[case])
    padded = frame + b"\x00" * max(0, 60 - len(frame)) + b"\xde\xad\xbe\xef"  # padding + an FCS
    got = decode_ipv4(padded, 14)
    assert got.payload == bytes(IP(frame[14:]).payload)
    assert not got.snapped


def test_ipv4_snapped_packet() -> None:
    raw = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / UDP() / (b"a" * 100))
    got = decode_ipv4(raw[:60])
    assert got.snapped and got.payload == raw[20:60]


def test_ipv4_total_length_zero_takes_what_was_captured() -> None:
    raw = bytearray(bytes(IP(src="10.0.0.1", dst="10.0.0.2") / TCP() / (b"seg" * 500)))
    raw[2:4] = b"\x00\x00"  # TSO on the capturing host
    got = decode_ipv4(bytes(raw))
    assert got.payload == bytes(raw[20:]) and not got.snapped


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(bytes(IPv6()), id="version-6"),
        pytest.param(b"\x44" + bytes(IP())[1:], id="ihl-16"),
        pytest.param(b"\x46" + bytes(IP())[1:], id="options-cut"),
        pytest.param(bytes(IP())[:2] + b"\x00\x13" + bytes(IP())[4:], id="total-below-ihl"),
        pytest.param(b"", id="empty"),
    ],
)
def test_ipv4_malformed_raises(raw: bytes) -> None:
    with pytest.raises(ParseError) as info:
        decode_ipv4(raw)
    assert info.value.layer == "ipv4"


def _v6(*ext: Packet, upper: Packet | None = None) -> Packet:
    pkt: Packet = IPv6(src="2001:db8::a", dst="2001:db8:1::b", hlim=17)
    for layer in ext:
        pkt = pkt / layer
    return pkt / (upper if upper is not None else UDP(sport=5000, dport=53) / b"question")


IPV6: dict[str, Packet] = {
    "plain-udp": _v6(),
    "plain-tcp": _v6(upper=TCP(dport=443, flags="S")),
    "hbh-dest-frag": _v6(
        IPv6ExtHdrHopByHop(options=[RouterAlert()]),
        IPv6ExtHdrDestOpt(),
        IPv6ExtHdrFragment(id=0xCAFEBABE, offset=0, m=1),
    ),
    "hbh-dest-frag-nonfirst": _v6(
        IPv6ExtHdrHopByHop(),
        IPv6ExtHdrDestOpt(),
        IPv6ExtHdrFragment(id=0x1234, offset=181, m=0, nh=17),
        upper=Raw(b"tail of a fragmented datagram"),
    ),
    "routing-then-dest": _v6(IPv6ExtHdrRouting(addresses=["2001:db8::99"]), IPv6ExtHdrDestOpt()),
    "ah": _v6(AH(nh=17, payloadlen=4, spi=0x100, seq=1, icv=b"\x00" * 12)),
    "hbh-ah-dest": _v6(
        IPv6ExtHdrHopByHop(), AH(nh=60, payloadlen=4, spi=7, icv=b"\x11" * 12), IPv6ExtHdrDestOpt(nh=6), upper=TCP()
    ),
    "no-next-header": IPv6(src="::1", dst="::1", nh=59) / Raw(b"ignored bytes"),
}


def _expected_v6(built: Packet) -> dict[str, object]:
    """From the packet as built (scapy does not dissect past AH): the Next Header byte of the last
    extension header and the bytes after it."""
    ip = built[IPv6]
    frag = built.getlayer(IPv6ExtHdrFragment)
    last = ip
    while last.payload and not isinstance(last.payload, (TCP, UDP, Raw)):
        last = last.payload
    raw_last = bytes(last)
    return {
        "version": 6,
        "src": socket.inet_pton(socket.AF_INET6, ip.src),
        "dst": socket.inet_pton(socket.AF_INET6, ip.dst),
        "proto": raw_last[6] if last is ip else raw_last[0],
        "payload": bytes(last.payload),
        "frag_id": frag.id if frag else 0,
        "frag_offset": frag.offset * 8 if frag else 0,
        "more_fragments": bool(frag.m) if frag else False,
        "snapped": False,
        "ttl": ip.hlim,
    }


@pytest.mark.parametrize("case", sorted(IPV6))
def test_ipv6_three_ways(case: str, packet_check) -> None:
    raw = bytes(IPV6[case])
    got = packet_check(decode_ipv6, raw, on_prefix=_cut_ok)
    assert dataclasses.asdict(got) == _expected_v6(IPV6[case])
    if AH not in IPV6[case]:  # scapy's own dissection agrees where it can follow the chain
        assert got.payload == _upper(IPv6(raw))


def test_ipv6_in_padded_frame_at_offset() -> None:
    frame = bytes(Ether(**MACS) / IPV6["hbh-dest-frag"]) + b"\x00" * 20
    got = decode_ipv6(frame, 14)
    assert got.payload == _upper(IPV6["hbh-dest-frag"])
    assert (got.proto, got.frag_id, got.more_fragments) == (17, 0xCAFEBABE, True)


def test_ipv6_payload_length_zero_takes_what_was_captured() -> None:
    raw = bytearray(bytes(_v6()))
    raw[4:6] = b"\x00\x00"
    got = decode_ipv6(bytes(raw))
    assert got.payload == bytes(raw[40:]) and not got.snapped


def test_ipv6_snapped_inside_payload() -> None:
    raw = bytes(_v6(IPv6ExtHdrDestOpt(), upper=UDP() / (b"p" * 200)))
    got = decode_ipv6(raw[:100])
    assert got.snapped and got.proto == 17 and got.payload == raw[48:100]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(bytes(IP()) * 2, id="version-4"),
        pytest.param(bytes(IPv6(nh=60, plen=4)) + b"\x11\x00\x00\x00", id="dest-opts-cut-by-plen"),
        pytest.param(bytes(IPv6(nh=0)) + b"\x11\x05" + b"\x00" * 6, id="hbh-length-runs-past-packet"),
        pytest.param(bytes(IPv6(nh=44)) + b"\x11\x00", id="fragment-header-cut"),
        pytest.param(bytes(IPv6(nh=51)) + b"\x11\x09" + b"\x00" * 6, id="ah-length-runs-past-packet"),
        pytest.param(bytes(IPv6(nh=60, plen=33 * 8)) + (b"\x3c\x00" + b"\x00" * 6) * 33, id="extension-chain-too-long"),
        pytest.param(bytes(IPv6())[:39], id="header-cut"),
    ],
)
def test_ipv6_malformed_raises(raw: bytes) -> None:
    with pytest.raises(ParseError) as info:
        decode_ipv6(raw)
    assert info.value.layer == "ipv6"
