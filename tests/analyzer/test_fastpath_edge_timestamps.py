"""Out-of-order timestamps (normal across pcapng interfaces, or NIC timestamping jitter)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from fixtures.builders.packets import established
from tests.support.fastpath_cases import VLANS, diff, fast_taken, pcap, tables

T0 = 1_700_000_000_000_000
LAST = bytes(
    Ether()
    / IP(src="203.0.113.9", dst="10.0.0.5")
    / TCP(sport=9000, dport=40000, flags="A", seq=515, ack=125)
    / (b"y" * 100)
)


@pytest.mark.parametrize("vlan", VLANS)
def test_older_packet_of_a_settled_flow_flow_last_ts(vlan: str) -> None:
    # full: Flow._count sets last_ns = ts unconditionally; fast keeps the max
    frames = [(T0 + i * 1000, f, len(f)) for i, f in enumerate(established())] + [(T0 + 2500, LAST, len(LAST))]
    raw = pcap(frames, vlan=vlan)
    assert diff(tables(raw, True), tables(raw, False)) == {}
    assert fast_taken(raw) == fast_taken(pcap(frames))


@pytest.mark.parametrize("vlan", VLANS)
def test_counted_packet_older_than_every_decoded_one_capture_first_ts(vlan: str) -> None:
    # full: first_ts is that packet's; fast never lowers stats.first_ns for packets it counts
    frames = [(T0 + 10_000 + i * 1000, f, len(f)) for i, f in enumerate(established())] + [(T0, LAST, len(LAST))]
    raw = pcap(frames, vlan=vlan)
    fast, full = tables(raw, True), tables(raw, False)
    assert fast["capture"]["first_ts"] == full["capture"]["first_ts"]
    assert diff(fast, full) == {}
    assert fast_taken(raw) == fast_taken(pcap(frames))
