"""QUIC Initial edge cases found in review, each checked against tshark when it is installed:
a shorter re-sent CRYPTO frame, the late drafts' salt, a Version Negotiation round before the
real Initial, and the bounds on Initials per datagram and CRYPTO pieces per flow."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from analyzer.flows import MAX_QUIC_INITIALS, PROTO_UDP, Flow
from analyzer.pipeline import analyze
from fixtures.builders.packets import CLIENT as C
from fixtures.builders.packets import SERVER as S
from fixtures.builders.packets import write_frames, write_udp
from fixtures.builders.quic import client_hello, crypto, seal_initial
from tests.support.oracles import HAVE_TSHARK, tshark_sni

DUP_NAME = "dup.example.com"


def _datagrams() -> list[bytes]:
    ch = client_hello(DUP_NAME)
    first = seal_initial(crypto(0, ch[:200]), pn=0, pad_to=1200)  # bytes 0..200
    # retransmission of 0..100 (shorter) plus the rest from 200: every byte has been sent
    second = seal_initial(crypto(0, ch[:100]) + crypto(200, ch[200:]), pn=1, pad_to=1200)
    return [first, second]


def test_a_shorter_resent_crypto_frame_keeps_the_longer_piece(tmp_path: Path) -> None:
    path = tmp_path / "dup.pcap"
    write_udp(path, _datagrams())
    if HAVE_TSHARK:
        assert tshark_sni(path) == [DUP_NAME]
    assert [r["sni"] for r in analyze(path).flows.rows] == [DUP_NAME]  # a shorter re-send must not leave a gap


NAME = "ver.example.com"


@pytest.mark.parametrize("version", [0xFF000021, 0xFF000022], ids=["draft-33", "draft-34"])
def test_late_drafts_use_the_v1_salt(tmp_path: Path, version: int) -> None:
    path = tmp_path / "draft.pcap"
    write_udp(path, [seal_initial(crypto(0, client_hello(NAME)), version=version, pad_to=1200)])
    if HAVE_TSHARK:
        assert tshark_sni(path) == [NAME]
    assert [(r["protocol"], r["sni"]) for r in analyze(path).flows.rows] == [("QUIC", NAME)]


def test_v1_initial_after_version_negotiation(tmp_path: Path) -> None:
    probe = bytes([0xC0]) + bytes.fromhex("0a1a2a3a") + b"\x08" + b"\x33" * 8 + b"\x04" + b"\x11" * 4 + os.urandom(1180)
    vn = b"\xbf" + b"\x00" * 4 + b"\x04" + b"\x11" * 4 + b"\x08" + b"\x33" * 8 + (1).to_bytes(4, "big")
    v1 = seal_initial(crypto(0, client_hello(NAME)), dcid=b"\x44" * 8, pad_to=1200)
    pkts = [
        Ether() / IP(src=C, dst=S) / UDP(sport=50001, dport=443) / probe,
        Ether() / IP(src=S, dst=C) / UDP(sport=443, dport=50001) / vn,
        Ether() / IP(src=C, dst=S) / UDP(sport=50001, dport=443) / v1,
    ]
    path = tmp_path / "vn.pcap"
    write_frames(path, [bytes(p) for p in pkts])
    if HAVE_TSHARK:
        assert tshark_sni(path) == [NAME]
    for fast in (True, False):
        assert [(r["protocol"], r["sni"]) for r in analyze(path, fast=fast).flows.rows] == [("QUIC", NAME)]


def _flow() -> Flow:
    return Flow(1, PROTO_UDP, 4, "10.0.0.5", 50001, "203.0.113.80", 443, 0)


def test_initials_cap_applies_inside_a_datagram() -> None:
    stream = b"\x01\x00\xff\xf0" + b"\x00" * 70000  # a ClientHello header announcing 65,520 bytes
    pkts, off = [], 0
    while sum(map(len, pkts)) < 64000:
        frames = b"".join(crypto(off + i, stream[off + i : off + i + 1]) for i in range(4))
        pkts.append(seal_initial(frames, dcid=b"", scid=b"", pn=len(pkts)))
        off += 4
    flow = _flow()
    flow.udp_packet(True, b"".join(pkts), 65000, 0, lambda e: None, lambda *a: None)
    assert flow.quic_initials <= MAX_QUIC_INITIALS  # not ~1,400 for one 64 KB datagram


def test_crypto_pieces_are_bounded() -> None:
    datagrams, off = [], 1
    for pn in range(MAX_QUIC_INITIALS - 1):
        frames = bytearray()
        while len(frames) < 65000 and off < 65536:
            frames += crypto(off, b"")
            off += 1
        datagrams.append(seal_initial(bytes(frames), dcid=b"", scid=b"", pn=pn))
    tracemalloc.start()
    flow = _flow()
    for d in datagrams:
        flow.udp_packet(True, d, len(d), 0, lambda e: None, lambda *a: None)
    retained, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert flow.quic_crypto is None or len(flow.quic_crypto) <= 1024
    assert retained < 1 << 20  # a flow holds little, whatever it is sent
