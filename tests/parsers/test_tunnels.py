"""parsers.tunnels: GRE (incl. ERSPAN, PPTP), VXLAN, Geneve, GTP-U, L2TP and Teredo against scapy."""

from __future__ import annotations

import struct

import pytest
from scapy.config import conf
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
from scapy.contrib.geneve import GENEVE
from scapy.contrib.gtp import GTP_U_Header
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import GRE, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet

from parsers.errors import ParseError
from parsers.tunnels import (
    TEREDO_FIRST_OCTETS,
    decode_geneve,
    decode_gre,
    decode_gtpu,
    decode_l2tp,
    decode_vxlan,
    teredo_offset,
)

conf.verb = 0

MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
V4 = IP(src="10.244.1.5", dst="93.184.216.34") / UDP(sport=1234, dport=53) / b"inner"
V6 = IPv6(src="fd00::5", dst="2001:db8::80") / UDP(sport=1234, dport=443) / b"inner6"


def _inner_offset(pkt: Packet) -> tuple[int, int]:
    inner = pkt[IP] if IP in pkt else pkt[IPv6]
    return (0x0800 if isinstance(inner, IP) else 0x86DD), len(bytes(pkt)) - len(bytes(inner))


GRE_CASES: dict[str, Packet] = {
    "plain-ipv4": GRE(proto=0x0800) / V4,
    "key-and-seq-ipv6": GRE(key_present=1, key=0xABCD, seqnum_present=1, sequence_number=9, proto=0x86DD) / V6,
    "checksum": GRE(chksum_present=1, proto=0x0800) / V4,
    "teb": GRE(proto=0x6558) / Ether(**MACS) / V4,
    "erspan-ii": GRE(proto=0x88BE, seqnum_present=1) / ERSPAN_II(session_id=3) / Ether(**MACS) / V4,
    "erspan-iii": GRE(proto=0x22EB, seqnum_present=1) / ERSPAN_III(session_id=3) / Ether(**MACS) / V6,
}


@pytest.mark.parametrize("case", sorted(GRE_CASES))
def test_gre(case: str, packet_check) -> None:
    pkt = GRE_CASES[case]
    raw = bytes(pkt)
    ethertype, total_off = _inner_offset(pkt)

    def on_prefix(i: int, got: tuple[int, int, bytes], whole: tuple[int, int, bytes]) -> None:
        assert got[:2] == whole[:2]

    got = packet_check(decode_gre, raw, on_prefix=on_prefix, same=lambda a, b: a[:2] == b[:2])
    et, off, buf = got
    assert et == ethertype
    # For Ethernet payloads the offset is relative to the returned inner frame.
    assert buf[off:] == raw[total_off:]
    if Ether in pkt:
        assert buf == bytes(pkt[Ether])


def test_pptp_enhanced_gre_with_ppp() -> None:
    ppp = b"\xff\x03\x00\x21" + bytes(V4)
    # Flags: key (always set in PPTP), sequence, acknowledgment (0x0080), version 1.
    raw = struct.pack("!HHHHII", 0x3081, 0x880B, len(ppp), 7, 100, 99) + ppp
    assert decode_gre(raw) == (0x0800, 16 + 4, raw)
    no_hdlc = struct.pack("!HHHHI", 0x3001, 0x880B, 0, 7, 100) + b"\x00\x57" + bytes(V6)
    assert decode_gre(no_hdlc) == (0x86DD, 12 + 2, no_hdlc)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00",
        b"\xb0\x00\x08\x00" + b"\x00" * 8,
        bytes(GRE(proto=0x6558)) + b"\x00" * 5,
        b"\x30\x81\x88\x0b" + b"\x00" * 12,
    ],
)
def test_gre_cut_raises(raw: bytes) -> None:
    with pytest.raises(ParseError):
        decode_gre(raw)


def test_vxlan(packet_check) -> None:
    pkt = VXLAN(vni=4096) / Ether(**MACS) / V4
    raw = bytes(pkt)
    got = packet_check(
        decode_vxlan,
        raw,
        on_prefix=lambda i, g, w: None if g == raw[8:i] else pytest.fail(f"{i}: {g!r}"),
        same=lambda a, b: a.startswith(b),
    )
    assert got == bytes(pkt[Ether])


@pytest.mark.parametrize(
    "pkt",
    [
        pytest.param(GENEVE(vni=5, proto=0x6558) / Ether(**MACS) / V4, id="teb"),
        pytest.param(GENEVE(vni=5, proto=0x0800, optionlen=2, options=b"\x01\x02\x03\x04" * 2) / V4, id="ipv4-options"),
        pytest.param(GENEVE(vni=5, proto=0x86DD) / V6, id="ipv6"),
    ],
)
def test_geneve(pkt: Packet) -> None:
    raw = bytes(pkt)
    ethertype, total_off = _inner_offset(pkt)
    et, off, buf = decode_geneve(raw)
    assert et == ethertype and buf[off:] == raw[total_off:]
    with pytest.raises(ParseError):
        decode_geneve(raw[: 8 + (raw[0] & 0x3F) * 4 - 1])


@pytest.mark.parametrize(
    "pkt",
    [
        pytest.param(GTP_U_Header(teid=0x1234) / V4, id="plain"),
        pytest.param(GTP_U_Header(teid=0x1234, S=1, seq=77) / V6, id="with-sequence"),
    ],
)
def test_gtpu(pkt: Packet) -> None:
    raw = bytes(pkt)
    assert decode_gtpu(raw) == _inner_offset(pkt)[1]


def test_gtpu_with_extension_header() -> None:
    # E flag, next extension type 0x85 (PDU session container), one 4-byte extension, then no more.
    inner = bytes(V4)
    raw = struct.pack("!BBHI", 0x34, 0xFF, 8 + len(inner), 1) + b"\x00\x00\x00\x85" + b"\x01\x00\x09\x00" + inner
    assert decode_gtpu(raw) == 16


@pytest.mark.parametrize(
    "raw",
    [
        b"\x30\xff\x00",
        b"\x30\x01\x00\x00\x00\x00\x00\x01",  # echo request, not a G-PDU
        b"\x50\xff\x00\x00\x00\x00\x00\x01",  # GTPv2
        struct.pack("!BBHI", 0x34, 0xFF, 0, 1) + b"\x00\x00\x00\x85" + b"\x00",  # extension of length 0
    ],
)
def test_gtpu_malformed_raises(raw: bytes) -> None:
    with pytest.raises(ParseError):
        decode_gtpu(raw)


def test_l2tp_data_and_control() -> None:
    ip = bytes(V4)
    plain = struct.pack("!HHH", 0x0002, 1, 2) + b"\xff\x03\x00\x21" + ip
    assert decode_l2tp(plain) == (0x0800, 10)
    with_len_seq = struct.pack("!HHHHHH", 0x4802, 0, 1, 2, 3, 4) + b"\x00\x57" + bytes(V6)
    assert decode_l2tp(with_len_seq) == (0x86DD, 14)
    with_offset = struct.pack("!HHHH", 0x0202, 1, 2, 3) + b"pad" + b"\x00\x21" + ip
    assert decode_l2tp(with_offset) == (0x0800, 8 + 3 + 2)
    assert decode_l2tp(struct.pack("!HHHHHH", 0xC802, 12, 1, 0, 0, 0)) is None
    with pytest.raises(ParseError):
        decode_l2tp(struct.pack("!HHH", 0x0003, 1, 2) + b"\x00\x21")


def test_teredo_offset() -> None:
    v6 = bytes(IPv6(src="2001:0:4136:e378:8000:63bf:3fff:fdd2", dst="2001:db8::1") / UDP() / b"x")
    assert teredo_offset(v6) == 0
    origin = b"\x00\x00" + b"\x9c\x3f" + b"\xc0\x00\x02\x01"
    assert teredo_offset(origin + v6) == 8
    assert teredo_offset(bytes(V4)) is None
    assert teredo_offset(v6 + b"junk") is None  # the payload length must fit exactly


def test_teredo_first_octets_are_the_only_ones_that_can_match() -> None:
    """The engine calls teredo_offset only for datagrams starting with one of TEREDO_FIRST_OCTETS:
    every other first octet must fail it, and each of those octets must be able to pass."""
    v6 = bytes(IPv6(src="2001:0:4136:e378:8000:63bf:3fff:fdd2", dst="2001:db8::1") / UDP() / b"x")
    origin = b"\x00\x00" + b"\x9c\x3f" + b"\xc0\x00\x02\x01"
    auth = b"\x00\x01\x00\x00" + bytes(9)
    matched = set()
    for first in range(256):
        for prefix in (b"", origin, auth, auth + origin):
            for second in range(256):
                # The first octet of the datagram, and the one after it (which picks the indicator).
                data = bytes([first, second]) + (prefix + v6)[2:]
                if teredo_offset(data) is not None:
                    matched.add(first)
    assert matched == TEREDO_FIRST_OCTETS
