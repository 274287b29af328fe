"""parsers.link.decode_link on frames built with scapy (and by hand where scapy has no layer)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from scapy.config import conf
from scapy.contrib.mpls import MPLS
from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, LLC, SNAP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Dot3, Ether, Loopback
from scapy.layers.ppp import PPP, PPPoE
from scapy.packet import Packet

from parsers import link
from parsers.errors import ParseError
from parsers.link import decode_link

conf.verb = 0

MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
V4 = IP(src="10.1.2.3", dst="203.0.113.5") / UDP(sport=40000, dport=53) / b"payload"
V6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=40001, dport=443, flags="S")


def eth(*layers: Packet) -> Packet:
    pkt: Packet = Ether(**MACS)
    for layer in layers:
        pkt = pkt / layer
    return pkt


def scapy_case(linktype: int, pkt: Packet) -> tuple[int, bytes, int, int]:
    """Expected (ethertype, offset) from where scapy put the IP layer inside the frame."""
    raw = bytes(pkt)
    inner = pkt[IP] if IP in pkt else pkt[IPv6]
    ethertype = 0x0800 if isinstance(inner, IP) else 0x86DD
    return linktype, raw, ethertype, len(raw) - len(bytes(inner))


def nflog(family: int, payload: bytes, extra_tlvs: bool = True) -> tuple[bytes, int]:
    """An NFLOG frame (host byte order little-endian TLVs); returns it and the payload offset."""

    def tlv(ttype: int, value: bytes) -> bytes:
        raw = struct.pack("<HH", 4 + len(value), ttype) + value
        return raw + b"\x00" * (-len(raw) % 4)

    frame = bytes([family, 0]) + struct.pack("!H", 1)
    if extra_tlvs:
        frame += tlv(1, struct.pack("!HBx", 0x0800 if family == 2 else 0x86DD, 3))  # NFULA_PACKET_HDR
        frame += tlv(10, b"egress-drop\x00")  # NFULA_PREFIX: 16 bytes, not a multiple of 4 before padding
        frame += tlv(11, struct.pack("!I", 1000))  # NFULA_UID
    off = len(frame) + 4
    return frame + tlv(9, payload), off


def _nflog_case(family: int, pkt: Packet, extra: bool = True) -> tuple[int, bytes, int, int]:
    frame, off = nflog(family, bytes(pkt), extra)
    return 239, frame, 0x0800 if IP in pkt else 0x86DD, off


def _pktap(inner_linktype: int, inner: bytes, hlen: int = 108) -> bytes:
    return struct.pack("<III", hlen, 1, inner_linktype) + b"\x00" * (hlen - 12) + inner


CASES: dict[str, tuple[int, bytes, int, int]] = {
    "ether-ipv4": scapy_case(1, eth(V4)),
    "ether-ipv6": scapy_case(1, eth(V6)),
    "ether-8021q": scapy_case(1, eth(Dot1Q(vlan=100), V4)),
    "ether-qinq-88a8": scapy_case(1, eth(Dot1AD(vlan=10), Dot1Q(vlan=20), V6)),
    "ether-qinq-9100": scapy_case(1, Ether(type=0x9100, **MACS) / Dot1Q(vlan=7, type=0x8100) / Dot1Q(vlan=8) / V4),
    "ether-mpls-two-labels": scapy_case(1, eth(MPLS(label=16, s=0), MPLS(label=17, s=1), V4)),
    "ether-mpls-ipv6": scapy_case(1, eth(MPLS(label=3, s=1), V6)),
    "ether-vlan-mpls": scapy_case(1, eth(Dot1Q(vlan=5), MPLS(label=99, s=1), V4)),
    "ether-pppoe-ipv4": scapy_case(1, eth(PPPoE(sessionid=0x2A), PPP(proto=0x0021), V4)),
    "ether-pppoe-ipv6": scapy_case(1, eth(PPPoE(sessionid=0x2B), PPP(proto=0x0057), V6)),
    "ether-qinq-pppoe": scapy_case(1, eth(Dot1AD(vlan=1), Dot1Q(vlan=2), PPPoE(), PPP(proto=0x0021), V4)),
    "sll-ipv4": scapy_case(113, CookedLinux(pkttype=4, proto=0x0800) / V4),
    "sll-vlan": scapy_case(113, CookedLinux(proto=0x8100) / Dot1Q(vlan=3) / V4),
    "sll2-ipv6": scapy_case(276, CookedLinuxV2(proto=0x86DD) / V6),
    "sll2-ipv4": scapy_case(276, CookedLinuxV2(proto=0x0800) / V4),
    "raw101-ipv4": scapy_case(101, V4),
    "raw101-ipv6": scapy_case(101, V6),
    "raw12-ipv4": scapy_case(12, V4),
    "raw14-ipv6": scapy_case(14, V6),
    "raw228-ipv4": scapy_case(228, V4),
    "raw229-ipv6": scapy_case(229, V6),
    "null-le-inet": scapy_case(0, Loopback(type=2) / V4),
    "null-le-inet6-24": scapy_case(0, Loopback(type=24) / V6),
    "null-le-inet6-28": scapy_case(0, Loopback(type=28) / V6),
    "null-le-inet6-30": scapy_case(0, Loopback(type=30) / V6),
    "null-le-inet6-linux-10": scapy_case(0, Loopback(type=10) / V6),
    "null-be-inet": (0, struct.pack(">I", 2) + bytes(V4), 0x0800, 4),
    "null-be-inet6-30": (0, struct.pack(">I", 30) + bytes(V6), 0x86DD, 4),
    "null-be-inet6-24": (0, struct.pack(">I", 24) + bytes(V6), 0x86DD, 4),
    "loop-be-inet": (108, struct.pack(">I", 2) + bytes(V4), 0x0800, 4),
    "loop-be-inet6-28": (108, struct.pack(">I", 28) + bytes(V6), 0x86DD, 4),
    "nflog-ipv4": _nflog_case(2, V4),
    "nflog-ipv6": _nflog_case(10, V6),
    "nflog-unspec-family-ipv6": _nflog_case(0, V6),
    "nflog-payload-only": _nflog_case(2, V4, extra=False),
    "ppp-hdlc-framing": (9, b"\xff\x03\x00\x21" + bytes(V4), 0x0800, 4),
    "ppp-no-framing-ipv6": (9, b"\x00\x57" + bytes(V6), 0x86DD, 2),
    "ppp-compressed-protocol": (9, b"\x21" + bytes(V4), 0x0800, 1),
    "ppp-hdlc-50": (50, b"\xff\x03\x00\x57" + bytes(V6), 0x86DD, 4),
    "chdlc-ipv4": (104, b"\x0f\x00\x08\x00" + bytes(V4), 0x0800, 4),
    "80211-data": scapy_case(105, Dot11(type=2, subtype=0, addr1=MACS["dst"], addr2=MACS["src"]) / LLC() / SNAP() / V4),
    "80211-qos-4addr": scapy_case(
        105, Dot11(type=2, subtype=8, FCfield="to_DS+from_DS") / Dot11QoS() / LLC() / SNAP(code=0x86DD) / V6
    ),
    "radiotap-80211": scapy_case(127, RadioTap() / Dot11(type=2) / LLC() / SNAP() / V4),
    "pktap-ether": (258, _pktap(1, bytes(eth(V4))), 0x0800, 108 + 14),
}

NON_IP: dict[str, tuple[int, bytes, int, int]] = {
    "ether-arp": (1, bytes(eth(ARP())), 0x0806, 14),
    "ether-8023-llc": (1, bytes(Dot3(**MACS) / LLC() / (b"\x00" * 40)), 0, 14),
    "null-unknown-family": (0, struct.pack("<I", 7) + bytes(V4), 0, 4),
    "ppp-lcp": (9, b"\xff\x03\xc0\x21" + b"\x01" * 8, 0, 4),
    "pppoe-lcp": (1, bytes(eth(PPPoE(), PPP(proto=0xC021), b"\x01\x01\x00\x04")), 0, 22),
    "nflog-without-payload": (239, nflog(2, b"")[0][:-4], 0, len(nflog(2, b"")[0]) - 4),
}


def _on_prefix_for(linktype: int, frame: bytes, whole: tuple[int, int]) -> Callable[[int, object, object], None]:
    payload_tlv_end = whole[1]

    def on_prefix(i: int, got: object, _whole: object) -> None:
        if linktype == 239 and i < payload_tlv_end:
            # An NFLOG frame cut before its payload TLV is "a log entry without the packet".
            assert got == (0, i)
            return
        if linktype in (9, 50) and i == 1 and frame[0] == 0xFF:
            # A lone 0xff (the HDLC address byte) reads as a one-byte compressed protocol: not IP.
            assert got == (0, 1)
            return
        assert got == whole, f"{i}-byte prefix decoded as {got!r}, the whole frame as {whole!r}"

    return on_prefix


@pytest.mark.parametrize("case", sorted(CASES))
def test_decode_link(case: str, packet_check) -> None:
    linktype, frame, ethertype, offset = CASES[case]
    whole = packet_check(
        lambda d: decode_link(linktype, d),
        frame,
        on_prefix=_on_prefix_for(linktype, frame, (ethertype, offset)),
    )
    assert whole == (ethertype, offset)
    assert frame[offset] >> 4 == (4 if ethertype == 0x0800 else 6)
    assert linktype in link.SUPPORTED_LINKTYPES


@pytest.mark.parametrize("case", sorted(NON_IP))
def test_decode_link_non_ip(case: str) -> None:
    linktype, frame, ethertype, offset = NON_IP[case]
    assert decode_link(linktype, frame) == (ethertype, offset)


@pytest.mark.parametrize(
    ("linktype", "frame"),
    [
        pytest.param(147, bytes(V4), id="unsupported-dlt-user0"),
        pytest.param(
            1,
            bytes(
                Ether(**MACS)
                / (Dot1Q() / Dot1Q())
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / Dot1Q()
                / V4
            ),
            id="17-vlan-tags",
        ),
        pytest.param(1, bytes(eth(MPLS(s=0), MPLS(s=0))), id="mpls-without-bottom"),
        pytest.param(1, bytes(eth(MPLS(s=1))) + b"\x50" * 20, id="mpls-then-ip-version-5"),
        pytest.param(101, b"\x50" + bytes(V4)[1:], id="raw-ip-version-5"),
        pytest.param(101, b"", id="raw-empty"),
        pytest.param(239, b"\x02\x00\x00\x01" + struct.pack("<HH", 2, 9) + b"\x00" * 8, id="nflog-tlv-length-2"),
        pytest.param(239, b"\x00\x00\x00\x01" + struct.pack("<HH", 8, 9) + b"\x70" * 20, id="nflog-unspec-bad-version"),
        pytest.param(127, b"\x00\x00\x04\x00" + b"\x00" * 30, id="radiotap-length-below-8"),
        pytest.param(127, b"\x00\x00\xff\x00" + b"\x00" * 30, id="radiotap-length-past-frame"),
        pytest.param(258, _pktap(258, b"\x00" * 40), id="pktap-inside-pktap"),
        pytest.param(258, struct.pack("<III", 8, 1, 1) + b"\x00" * 20, id="pktap-length-below-12"),
    ],
)
def test_malformed_link_headers_raise(linktype: int, frame: bytes) -> None:
    with pytest.raises(ParseError) as info:
        decode_link(linktype, frame)
    assert info.value.layer == "link"


def test_sixteen_vlan_tags_are_walked() -> None:
    pkt = Ether(**MACS)
    for _ in range(15):
        pkt = pkt / Dot1Q(vlan=1)
    frame = bytes(pkt / V4)
    assert decode_link(1, frame) == (0x0800, 14 + 15 * 4)


def test_null_is_byte_order_independent_for_every_inet6_value() -> None:
    for family in (10, 24, 28, 30):
        for order in ("<", ">"):
            assert decode_link(0, struct.pack(order + "I", family) + bytes(V6)) == (0x86DD, 4)
    # LINKTYPE_LOOP is always network byte order: a little-endian 2 is not AF_INET there.
    assert decode_link(108, struct.pack("<I", 2) + bytes(V4)) == (0, 4)


def test_nflog_payload_offset_skips_tlv_padding() -> None:
    frame, off = nflog(2, bytes(V4))
    # The prefix TLV is 4 + 12 bytes: check the walk really used the padded length.
    assert frame[off - 4 : off] == struct.pack("<HH", 4 + len(bytes(V4)), 9)
    assert decode_link(239, frame) == (0x0800, off)


def test_80211_non_data_and_protected_frames_are_not_ip() -> None:
    beacon = bytes(RadioTap() / Dot11(type=0, subtype=8) / (b"\x00" * 40))
    assert decode_link(127, beacon)[0] == 0
    protected = bytes(Dot11(type=2, FCfield="protected") / (b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + bytes(V4)))
    assert decode_link(105, protected)[0] == 0
