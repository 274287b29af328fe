"""An IPv6 EtherType (or loopback family) is trusted without the version nibble: decode_ipv6
rejects the packet ("IPv6 header with version N"), the fast path counts it into the flow."""

from __future__ import annotations

import functools

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from tests.support.fastpath_cases import VLANS, diff, fast_taken, seq_pcap, tables


# Cached: scapy looks for the MAC of an IPv6 destination (a second's timeout each) and every VLAN
# variant of the test below needs the same frames.
@functools.cache
def _p(src, dst, sport, dport, flags, seq, ack, data=b""):
    return bytes(Ether() / IPv6(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / data)


def _unicast(src: str, dst: str, sport: int, dport: int, flags: str, seq: int, ack: int, data: bytes = b"") -> bytes:
    """As _p, with the MACs given (nothing to look up)."""
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    return bytes(eth / IPv6(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / data)


@pytest.mark.parametrize("vlan", VLANS)
def test_ethernet_ipv6_with_version_5(vlan: str) -> None:
    c, s = "fd00::5", "2001:db8::9"
    frames = [
        _p(c, s, 40000, 9000, "S", 100, 0),
        _p(s, c, 9000, 40000, "SA", 500, 101),
        _p(c, s, 40000, 9000, "PA", 101, 501, b"hello, not TLS or HTTP\r\n"),
        _p(s, c, 9000, 40000, "PA", 501, 125, b"binary reply\r\n"),
    ]
    bad = bytearray(_p(s, c, 9000, 40000, "A", 515, 125, b"y" * 100))
    bad[14] = 0x50 | (bad[14] & 0x0F)  # version nibble 5
    raw = seq_pcap([*frames, bytes(bad)], vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(seq_pcap([*frames, bytes(bad)]))


@pytest.mark.parametrize("vlan", VLANS)
def test_ipv6_bulk_of_a_settled_connection(vlan: str) -> None:
    """IPv6 takes the byte-by-byte test of the fast path, tagged or not: its bulk is counted there."""
    c, s = "fd00::5", "2001:db8::9"
    frames = [
        _unicast(c, s, 40000, 9000, "S", 100, 0),
        _unicast(s, c, 9000, 40000, "SA", 500, 101),
        _unicast(c, s, 40000, 9000, "PA", 101, 501, b"hello, not TLS or HTTP\r\n"),
        _unicast(s, c, 9000, 40000, "PA", 501, 125, b"binary reply\r\n"),
        *[_unicast(s, c, 9000, 40000, "A", 515 + 100 * i, 125, b"y" * 100) for i in range(20)],
    ]
    raw = seq_pcap(frames, vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(seq_pcap(frames))
    assert fast_taken(raw)[0] >= 20
