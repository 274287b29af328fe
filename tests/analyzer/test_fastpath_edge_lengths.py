"""Known-flow packets are counted from the IPv4 total length without checking it against the
captured bytes or the TCP/UDP headers: fast and full disagree (flows table, parse_errors)."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from fixtures.builders.packets import established
from tests.support.fastpath_cases import VLANS, diff, fast_taken, pcap, seq_pcap, tables
from tests.support.vlan import tag

T0 = 1_700_000_000_000_000
LAST = bytes(
    Ether()
    / IP(src="203.0.113.9", dst="10.0.0.5")
    / TCP(sport=9000, dport=40000, flags="PA", seq=515, ack=125)
    / (b"y" * 100)
)


def _total(frame: bytes, total: int) -> bytes:
    return frame[:16] + struct.pack("!H", total) + frame[18:]


TCP_CASES = {
    "snaplen_cut_after_tcp_header": (LAST[: 14 + 40 + 10], len(LAST)),  # fast 100 payload bytes, full 10
    "tso_total_length_0": (_total(LAST, 0), len(LAST)),  # fast 0, full 100
    "total_shorter_than_ip_header": (_total(LAST, 19), len(LAST)),  # full: parse error, not counted
    "total_shorter_than_tcp_header": (_total(LAST, 30), len(LAST)),  # full: "TCP header cut short"
    "tcp_data_offset_0": (LAST[: 14 + 32] + b"\x00" + LAST[14 + 33 :], len(LAST)),  # full: "data offset 0 < 20"
}


@pytest.mark.parametrize("vlan", VLANS)
@pytest.mark.parametrize("case", sorted(TCP_CASES))
def test_tcp_packet_of_settled_flow(case: str, vlan: str) -> None:
    frames = [(f, len(f)) for f in established()] + [TCP_CASES[case]]
    raw = pcap([(T0 + i * 1000, d, w) for i, (d, w) in enumerate(frames)], vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(pcap([(T0 + i * 1000, d, w) for i, (d, w) in enumerate(frames)]))


def _u(data: bytes) -> bytes:
    return bytes(Ether() / IP(src="10.0.0.5", dst="198.51.100.7") / UDP(sport=5000, dport=7777) / data)


UDP_BASE = [
    _u(b"hello there"),
    bytes(Ether() / IP(src="198.51.100.7", dst="10.0.0.5") / UDP(sport=7777, dport=5000) / b"ok"),
]


def _udp_len(frame: bytes, n: int) -> bytes:
    f = bytearray(frame)
    f[14 + 20 + 4 : 14 + 20 + 6] = struct.pack("!H", n)
    return bytes(f)


@pytest.mark.parametrize("vlan", VLANS)
@pytest.mark.parametrize("ulen", [12, 3])  # shorter than the IP packet says; below the UDP header
def test_udp_length_field_is_ignored(ulen: int, vlan: str) -> None:
    frames = [*UDP_BASE, _udp_len(_u(b"z" * 40), ulen)]
    raw = seq_pcap(frames, vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(seq_pcap(frames))


@pytest.mark.parametrize("vlan", VLANS)
def test_udp_snaplen_cut(vlan: str) -> None:
    big = _u(b"q" * 200)
    frames = [(T0 + i * 1000, f, len(f)) for i, f in enumerate(UDP_BASE)] + [(T0 + 5000, big[:70], len(big))]
    raw = pcap(frames, vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(pcap(frames))


@pytest.mark.parametrize("vlan", VLANS)
def test_same_in_pcapng(vlan: str) -> None:
    from fixtures.builders.pcapng import epb, idb, shb

    def ng(variant: str) -> bytes:
        frames = [tag(variant, 1, f) for f in [*established(), _total(LAST, 0)]]
        out = shb("<") + idb("<", frames[0][0])
        for i, (_, f) in enumerate(frames):
            out += epb("<", 0, T0 + i * 1000, f, len(f))
        return out

    out = ng(vlan)
    assert diff(tables(out, True), tables(out, False)) == {}
    assert fast_taken(out) == fast_taken(ng("untagged"))
