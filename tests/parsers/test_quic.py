"""parsers.quic.parse_long_header against scapy's QUIC long-header layers (RFC 9000 17.2, RFC 9369)."""

from __future__ import annotations

import pytest
from scapy.config import conf
from scapy.layers.quic import QUIC, QUIC_0RTT, QUIC_Handshake, QUIC_Initial, QUIC_Retry

from parsers.errors import ParseError
from parsers.quic import QUIC_V1, QUIC_V2, LongHeader, parse_long_header

conf.verb = 0

# RFC 9369 3.2: QUIC v2 long packet type bits -> the v1 meaning (0 Initial, 1 0-RTT, 2 Handshake, 3 Retry).
V2_BITS_TO_TYPE = {0b01: 0, 0b10: 1, 0b11: 2, 0b00: 3}

LAYERS = {"initial": QUIC_Initial, "0rtt": QUIC_0RTT, "handshake": QUIC_Handshake, "retry": QUIC_Retry}
VERSIONS = {
    "v1": QUIC_V1,
    "v2": QUIC_V2,
    "draft-29": 0xFF00001D,
    "draft-34": 0xFF000022,
    "google-Q050": int.from_bytes(b"Q050", "big"),
    "google-T051": int.from_bytes(b"T051", "big"),
}
CIDS = {
    "8-and-0": (bytes(range(1, 9)), b""),
    "0-and-20": (b"", bytes(range(20))),
    "20-and-5": (b"\xee" * 20, b"\x05" * 5),
}


def _expected(raw: bytes) -> LongHeader:
    view = QUIC(raw)
    version = view.Version
    bits = (raw[0] >> 4) & 0x3
    ptype = V2_BITS_TO_TYPE[bits] if version == QUIC_V2 else view.LongPacketType
    return LongHeader(version, ptype, bytes(view.DstConnID), bytes(view.SrcConnID))


@pytest.mark.parametrize("cids", sorted(CIDS))
@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_long_header_three_ways(layer: str, version: str, cids: str, stream_check) -> None:
    dcid, scid = CIDS[cids]
    built = bytes(LAYERS[layer](Version=VERSIONS[version], DstConnID=dcid, SrcConnID=scid)) + b"\x41" * 24
    header_len = 7 + len(dcid) + len(scid)
    header, rest = built[:header_len], built[header_len:]
    # Whatever follows the connection ids (token, length, packet number, payload) is trailing data.
    got = stream_check(parse_long_header, header, trailers=(rest, b"\x00" * 1200, bytes(range(256))))
    assert got == _expected(built)
    assert got.dcid == dcid and got.scid == scid


def test_v2_packet_type_mapping_from_rfc9369() -> None:
    for bits, ptype in V2_BITS_TO_TYPE.items():
        raw = bytes([0xC0 | bits << 4]) + QUIC_V2.to_bytes(4, "big") + b"\x01\xaa\x00"
        assert parse_long_header(raw) == LongHeader(QUIC_V2, ptype, b"\xaa", b"")
        raw_v1 = bytes([0xC0 | bits << 4]) + QUIC_V1.to_bytes(4, "big") + b"\x00\x00"
        assert parse_long_header(raw_v1).packet_type == bits  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\x40" + b"\x00" * 30, id="short-header"),
        pytest.param(b"\x80\x00\x00\x00\x01\x00\x00", id="fixed-bit-clear"),
        pytest.param(b"\xc0\x00\x00\x00\x00\x00\x00", id="version-negotiation"),
        pytest.param(b"\xc0\x12\x34\x56\x78\x00\x00", id="unknown-version"),
        pytest.param(b"\xc0\x00\x00\x00\x01\x15" + b"\x00" * 40, id="dcid-21-bytes"),
        pytest.param(b"\xc0\x00\x00\x00\x01\x00\x15" + b"\x00" * 40, id="scid-21-bytes"),
        pytest.param(b"\xc0\x00\x00\x00\x01\x15", id="dcid-21-bytes-before-the-id-arrives"),
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc", id="tls-record"),
    ],
)
def test_not_quic_raises(raw: bytes) -> None:
    if len(raw) < 7:
        # Fewer than 7 bytes cannot tell yet.
        assert parse_long_header(raw) is None
        return
    with pytest.raises(ParseError) as info:
        parse_long_header(raw)
    assert info.value.layer == "quic"


def test_dcid_length_20_waits_for_scid_length() -> None:
    raw = b"\xc0\x00\x00\x00\x01\x14" + b"\x01" * 20
    assert parse_long_header(raw) is None
    assert parse_long_header(raw + b"\x00") == LongHeader(QUIC_V1, 0, b"\x01" * 20, b"")
