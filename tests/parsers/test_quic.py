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


# -- Initial packet protection (RFC 9001 section 5, RFC 9369 section 3.3) ----------------------------

from aioquic.quic.packet import QuicProtocolVersion  # noqa: E402

from fixtures.builders.quic import client_flight  # noqa: E402
from parsers.quic import (  # noqa: E402
    InitialKeys,
    client_initial_keys,
    crypto_frames,
    long_packet_length,
    open_initial,
    read_varint,
)
from parsers.tls import parse_client_hello_message  # noqa: E402

RFC_DCID = bytes.fromhex("8394c8f03e515708")


def test_client_initial_keys_match_the_rfc_examples() -> None:
    # RFC 9001 appendix A.1 and RFC 9369 appendix A.1.
    assert client_initial_keys(QUIC_V1, RFC_DCID) == InitialKeys(
        bytes.fromhex("1f369613dd76d5467730efcbe3b1a22d"),
        bytes.fromhex("fa044b2f42a3fd3b46fb255c"),
        bytes.fromhex("9f50449e04a0e810283a1e9933adedd2"),
    )
    assert client_initial_keys(QUIC_V2, RFC_DCID) == InitialKeys(
        bytes.fromhex("8b1a0bc121284290a29e0971b5cd045d"),
        bytes.fromhex("91f73e2351d8fa91660e909f"),
        bytes.fromhex("45b95e15235d6f45a6b19cbcb0294ba9"),
    )
    assert client_initial_keys(int.from_bytes(b"Q050", "big"), RFC_DCID) is None  # Google QUIC: not IETF crypto


def _hello_from(datagrams: list[bytes]) -> tuple[str | None, int]:
    pieces: dict[int, bytes] = {}
    packets = 0
    for d in datagrams:
        pos = 0
        while pos < len(d) and d[pos] & 0xC0 == 0xC0:
            packet = open_initial(d[pos:])
            packets += 1
            pieces.update(crypto_frames(packet.payload))
            pos += packet.length
    stream = b"".join(pieces[o] for o in sorted(pieces))
    hello = parse_client_hello_message(stream)
    assert hello is not None
    return hello.sni, packets


@pytest.mark.parametrize("version", [QuicProtocolVersion.VERSION_1, QuicProtocolVersion.VERSION_2], ids=["v1", "v2"])
def test_aioquic_initial_three_ways(version: int, packet_check) -> None:
    datagram = client_flight("registry-1.docker.io", version)[0]
    end = long_packet_length(datagram)
    packet = packet_check(open_initial, datagram[:end])
    assert packet.header.version == version and packet.length == end and packet.packet_number == 0
    assert _hello_from([datagram]) == ("registry-1.docker.io", 1)


def test_a_client_hello_over_several_initials() -> None:
    """Many long ALPN names make the ClientHello larger than one datagram: CRYPTO frames at
    increasing offsets in several Initial packets, as with post-quantum key shares."""
    alpn = [f"protocol-{i:03d}-" + "x" * 40 for i in range(40)]
    datagrams = client_flight("images.lxd.canonical.com", QUIC_V1, alpn)
    sni, packets = _hello_from(datagrams)
    assert sni == "images.lxd.canonical.com" and packets >= 2


def test_wrong_keys_do_not_decrypt() -> None:
    datagram = client_flight("ghcr.io")[0]
    with pytest.raises(ParseError, match="does not decrypt"):
        open_initial(datagram, client_initial_keys(QUIC_V1, b"\x00" * 8))
    tampered = bytearray(datagram)
    tampered[60] ^= 0x01  # one ciphertext bit: the AEAD tag no longer verifies
    with pytest.raises(ParseError):
        open_initial(bytes(tampered))


def _varint(v: int) -> bytes:
    for size, prefix in ((1, 0), (2, 0x40), (4, 0x80), (8, 0xC0)):
        if v < 1 << (8 * size - 2):
            return (v | prefix << (8 * size - 8)).to_bytes(size, "big")
    raise ValueError(v)


@pytest.mark.parametrize("value", [0, 37, 63, 64, 15293, 16383, 16384, 494878333, 1 << 30, (1 << 62) - 1])
def test_varints_of_every_size(value: int) -> None:
    raw = _varint(value)
    assert read_varint(raw + b"\xff", 0) == (value, len(raw))
    for i in range(len(raw)):
        with pytest.raises(ParseError):
            read_varint(raw[:i], 0)


def test_crypto_frames_among_the_frames_an_initial_may_carry() -> None:
    ack = (
        b"\x02"
        + _varint(1000)
        + _varint(25)
        + _varint(2)
        + _varint(3)
        + _varint(1)
        + _varint(1)
        + _varint(0)
        + _varint(4)
    )
    ack_ecn = b"\x03" + _varint(5) + _varint(0) + _varint(0) + _varint(5) + _varint(1) + _varint(2) + _varint(3)
    close = b"\x1c" + _varint(0x0A) + _varint(0x06) + _varint(5) + b"oops!"
    payload = (
        b"\x00\x00\x01"  # padding, ping
        + ack
        + b"\x06"
        + _varint(100)
        + _varint(4)
        + b"tail"
        + ack_ecn
        + b"\x06"
        + _varint(0)
        + _varint(3)
        + b"abc"
        + close
        + b"\x00" * 30
    )
    assert crypto_frames(payload) == [(100, b"tail"), (0, b"abc")]
    with pytest.raises(ParseError, match="not allowed"):
        crypto_frames(b"\x08" + _varint(0) + b"stream data")  # a STREAM frame in an Initial
    with pytest.raises(ParseError):
        crypto_frames(b"\x06" + _varint(0) + _varint(10) + b"short")
